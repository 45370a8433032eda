"""Sample-quality distances that need no pretrained network (usable offline, at any size)."""

from __future__ import annotations

import torch


def sliced_wasserstein(a: torch.Tensor, b: torch.Tensor, n_proj: int = 256,
                       generator: torch.Generator | None = None) -> float:
    """Sliced Wasserstein-1 distance between two image sets (N,C,H,W) and (M,C,H,W)."""
    a, b = a.flatten(1).double(), b.flatten(1).double()
    g = generator or torch.Generator().manual_seed(0)
    proj = torch.randn(a.shape[1], n_proj, generator=g, dtype=torch.float64)
    proj /= proj.norm(dim=0, keepdim=True)
    pa, pb = (a @ proj).sort(0).values, (b @ proj).sort(0).values
    n = max(len(pa), len(pb))
    q = torch.linspace(0, 1, n, dtype=torch.float64)
    ia = (q * (len(pa) - 1)).round().long()
    ib = (q * (len(pb) - 1)).round().long()
    return float((pa[ia] - pb[ib]).abs().mean())
