"""MixUp (Zhang et al. 2018): λ ~ Beta(α, α), x = λ·x_i + (1−λ)·x_perm(i), soft labels alike."""

from __future__ import annotations

import torch

from .base import AugBatch, Augmentation, beta_sample, mix


class MixUp(Augmentation):
    name = "mixup"

    def __init__(self, alpha: float = 0.4, per_sample: bool = False):
        if alpha <= 0:
            raise ValueError("mixup alpha must be > 0")
        self.alpha, self.per_sample = float(alpha), per_sample

    def sample(self, x, y, generator):
        n = x.shape[0]
        lam = beta_sample(self.alpha, self.alpha, (n,) if self.per_sample else (), generator)
        return {"lam": lam, "perm": torch.randperm(n, generator=generator)}

    def apply(self, x, y, params):
        p = params["perm"]
        xm, ym = mix(x, x[p], y, y[p], params["lam"])
        return AugBatch(xm, ym)

    def describe(self):
        return {"name": self.name, "alpha": self.alpha, "per_sample": self.per_sample}
