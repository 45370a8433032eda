"""Memorisation: is a synthetic image a near-copy of a training image?

Distances, both to the nearest image of the whole real training split (any class):

- pixel space (the near-copy test): root-mean-square difference of the [0,1] pixels,
  ``||a - b||_2 / sqrt(C*H*W)``, 0 for an exact copy, comparable across image sizes;
- feature space: Euclidean distance of the audit's encoder features (reported beside it).

Baseline: the same nearest-neighbour distance from each real *test* image to the training split
(a held-out image is not a copy). Near-copy threshold: the 1st percentile of those test -> train
pixel distances; a synthetic image at or below it is a near-copy (about 1 % of held-out images are,
by construction). The set is flagged as memorising when more than ``FLAG_FRACTION`` (5 %, five
times the held-out rate) of its images are near-copies.
"""

from __future__ import annotations

import torch

PERCENTILE = 1.0
FLAG_FRACTION = 0.05


def nearest(query: torch.Tensor, bank: torch.Tensor, chunk: int = 512) -> tuple[torch.Tensor, torch.Tensor]:
    """Distance to, and index of, the nearest row of ``bank`` (M, D) for each row of ``query`` (N, D)."""
    q, b = query.double(), bank.double()
    dist, idx = [], []
    for i in range(0, len(q), chunk):
        d = torch.cdist(q[i:i + chunk], b, compute_mode="donot_use_mm_for_euclid_dist")  # exact 0 for copies
        v, j = d.min(1)
        dist.append(v)
        idx.append(j)
    if not dist:
        return torch.zeros(0, dtype=torch.float64), torch.zeros(0, dtype=torch.long)
    return torch.cat(dist), torch.cat(idx)


def pixel_vectors(images: torch.Tensor) -> torch.Tensor:
    """(N,C,H,W) in [0,1] -> (N, D) scaled so that Euclidean distance is the pixel RMS difference."""
    flat = images.flatten(1).double()
    return flat / flat.shape[1] ** 0.5


def threshold(baseline_pixel: torch.Tensor, percentile: float = PERCENTILE) -> float:
    return float(torch.quantile(baseline_pixel, percentile / 100.0))


def worst_pairs_png(path, synthetic: torch.Tensor, train: torch.Tensor, dist: torch.Tensor, idx: torch.Tensor,
                    n: int = 8, scale: int = 4) -> list[dict]:
    """The ``n`` synthetic images closest to a training image (top row) above that training image
    (bottom row), upscaled ``scale`` x with nearest-neighbour; returns the pairs shown."""
    from PIL import Image
    from torchvision.utils import make_grid

    order = torch.argsort(dist)[:n]
    if len(order) == 0:
        return []
    tiles = torch.cat([synthetic[order], train[idx[order]]])
    grid = make_grid(tiles, nrow=len(order), padding=2, pad_value=1.0)
    arr = (grid.clamp(0, 1) * 255).round().byte().permute(1, 2, 0).numpy()
    img = Image.fromarray(arr)  # make_grid gives 3 channels
    img = img.resize((img.width * scale, img.height * scale), Image.NEAREST)
    img.save(path)
    return [{"synthetic_index": int(i), "train_index": int(idx[i]), "pixel_rms": float(dist[i])} for i in order]
