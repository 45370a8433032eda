"""The augmentation plug-in interface.

An augmentation first *samples* its random parameters from a passed-in ``torch.Generator``
(``sample``), then *applies* them deterministically (``apply``), as MONAI splits random
transforms. Batches arrive as float (B,C,H,W) in [0,1] with soft labels (B,K) whose rows sum
to 1; ``apply`` returns an ``AugBatch`` of the same kind. ``prepare`` may change the training
pool once before training (the synthetic/genmix plug-ins add synthetic images there).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import torch


@dataclass
class AugBatch:
    x: torch.Tensor  # float (B,C,H,W) in [0,1]
    y: torch.Tensor  # soft labels (B,K), rows sum to 1
    views: tuple[torch.Tensor, ...] = ()  # extra views for a consistency loss (AugMix JSD)


class Augmentation:
    name = "none"
    consistency_weight = 0.0  # weight of the Jensen-Shannon consistency loss over ``views``

    def prepare(self, train, num_classes: int, generator: torch.Generator, source_spec: str | None = None):
        """Return the training split to iterate over (default: unchanged)."""
        return train

    def sample(self, x: torch.Tensor, y: torch.Tensor, generator: torch.Generator) -> dict:
        return {}

    def apply(self, x: torch.Tensor, y: torch.Tensor, params: dict) -> AugBatch:
        return AugBatch(x, y)

    def __call__(self, x, y, generator) -> AugBatch:
        return self.apply(x, y, self.sample(x, y, generator))

    def describe(self) -> dict:
        return {"name": self.name}


def beta_sample(a: float, b: float, shape, generator: torch.Generator) -> torch.Tensor:
    """Beta(a, b) samples driven by ``generator`` (inverse CDF of a uniform draw).

    Beta(a, 1) has CDF x**a, so its inverse is exact: u**(1/a)."""
    u = torch.rand(shape, generator=generator, dtype=torch.float64)
    if b == 1.0:
        lam = u.pow(1.0 / a)
    else:
        from scipy.special import betaincinv

        lam = torch.as_tensor(np.asarray(betaincinv(a, b, u.numpy())))
    return lam.float()


def mix(xa, xb, ya, yb, lam):
    """λ·a + (1−λ)·b for images and soft labels, λ scalar or per sample (B,)."""
    lam = torch.as_tensor(lam, dtype=xa.dtype)
    lx = lam.view(-1, 1, 1, 1) if lam.ndim else lam
    ly = lam.view(-1, 1) if lam.ndim else lam
    return lx * xa + (1 - lx) * xb, ly * ya + (1 - ly) * yb
