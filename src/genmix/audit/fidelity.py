"""Fréchet distance and KID on the audit's features, computed by torchmetrics.

``FrechetInceptionDistance`` / ``KernelInceptionDistance`` accept a custom ``feature=`` module;
the audit extracts its domain features once (:mod:`genmix.audit.features`) and hands them to
torchmetrics through an identity module that declares ``num_features``, so every distance (per
class, overall, and the real-train vs real-test floor) reuses the same features.
"""

from __future__ import annotations

import math

import torch
from torch import nn


class PrecomputedFeatures(nn.Module):
    """Identity ``feature`` module for torchmetrics: the inputs already are (N, D) features."""

    def __init__(self, dim: int):
        super().__init__()
        self.num_features = int(dim)

    def forward(self, x):
        return x


def frechet_distance(real: torch.Tensor, fake: torch.Tensor) -> float:
    """FD between two (N, D) feature sets (nan when either has fewer than 2 rows)."""
    from torchmetrics.image.fid import FrechetInceptionDistance

    if len(real) < 2 or len(fake) < 2:
        return math.nan
    fid = FrechetInceptionDistance(feature=PrecomputedFeatures(real.shape[1]), reset_real_features=True)
    fid.set_dtype(torch.float64)
    fid.update(real.double(), real=True)
    fid.update(fake.double(), real=False)
    return float(fid.compute())


def kernel_distance(real: torch.Tensor, fake: torch.Tensor, seed: int = 0, subsets: int = 25,
                    subset_size: int = 100) -> tuple[float, float]:
    """KID (mean, std over subsets) between two (N, D) feature sets; subsets drawn under ``seed``."""
    from torchmetrics.image.kid import KernelInceptionDistance

    n = min(len(real), len(fake), subset_size)
    if n < 2:
        return math.nan, math.nan
    import warnings

    with warnings.catch_warnings():
        warnings.filterwarnings("ignore", message=".*will save all extracted features in buffer.*")
        kid = KernelInceptionDistance(feature=PrecomputedFeatures(real.shape[1]), subsets=subsets, subset_size=n)
    kid.update(real.double(), real=True)
    kid.update(fake.double(), real=False)
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(seed)
        mean, std = kid.compute()
    return float(mean), float(std)
