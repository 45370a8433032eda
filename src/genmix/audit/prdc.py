"""Precision, recall, density and coverage (Naeem et al., "Reliable Fidelity and Diversity
Metrics for Generative Models", ICML 2020), by the authors' ``prdc`` package on the audit's
features. k = ``nearest_k`` nearest neighbours (5 as in the paper), lowered when a set has
fewer than k + 2 images (nan below 3 images).
"""

from __future__ import annotations

import contextlib
import io
import math

import torch

KEYS = ("precision", "recall", "density", "coverage")


def prdc(real: torch.Tensor, fake: torch.Tensor, nearest_k: int = 5) -> dict:
    from prdc import compute_prdc

    k = min(nearest_k, len(real) - 2, len(fake) - 2)  # the package needs k + 1 < set size (self is a neighbour)
    if k < 1:
        return {key: math.nan for key in KEYS}
    with contextlib.redirect_stdout(io.StringIO()):  # the package prints the set sizes
        out = compute_prdc(real.numpy(), fake.numpy(), nearest_k=k)
    return {key: float(out[key]) for key in KEYS}
