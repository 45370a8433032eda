"""Memorisation: is a synthetic image a near-copy of a training image?

Distances, both to the nearest image of the whole real training split (any class):

- pixel space: root-mean-square difference of the [0,1] pixels, ``||a - b||_2 / sqrt(C*H*W)``,
  0 for an exact copy, comparable across image sizes (calibrated below);
- feature space: Euclidean distance of the audit's encoder features.

Near-copy test: the *calibrated* pixel distance of Carlini et al. ("Extracting Training Data from
Diffusion Models", USENIX Security 2023): the distance to the nearest training image divided by
the mean distance to the ``K`` = 50 nearest ones. A copy scores ~0; an image that is merely
smooth or blurry sits about equally far from many training images and scores near 1 (a plain
pixel threshold flags such images as copies). Calibration alone still flags images that are far
from the data but have one "hub" training image nearest (on organamnist-fll3, textual-inversion
blobs from a model that never saw CT sat nearer to a few flat grey training slices than to the
rest, at a calibrated 0.63 where held-out CT is >= 0.73), so a near-copy must *also* be as close
to its nearest training image in the encoder's feature space as held-out images rarely are.
Both thresholds are the 1st percentile of the same quantity over the real *validation* images
(-> train); a synthetic image at or below both is a near-copy. Baseline: the rate among the real
*test* images at those thresholds (a held-out image is not a copy; about 1 % in expectation).
The set is flagged as memorising when more than ``FLAG_FRACTION`` (5 %) of its images are
near-copies.
"""

from __future__ import annotations

import torch

PERCENTILE = 1.0
FLAG_FRACTION = 0.05
K = 50


def nearest(query: torch.Tensor, bank: torch.Tensor, k: int = 1, chunk: int = 512):
    """For each row of ``query`` (N, D): the distance to and index of the nearest row of ``bank``
    (M, D), and the mean distance to its ``k`` nearest rows."""
    q, b = query.double(), bank.double()
    k = max(1, min(k, len(b)))
    dist, idx, mean_k = [], [], []
    for i in range(0, len(q), chunk):
        d = torch.cdist(q[i:i + chunk], b, compute_mode="donot_use_mm_for_euclid_dist")  # exact 0 for copies
        v, j = d.topk(k, dim=1, largest=False)
        dist.append(v[:, 0])
        idx.append(j[:, 0])
        mean_k.append(v.mean(1))
    if not dist:
        empty = torch.zeros(0, dtype=torch.float64)
        return empty, torch.zeros(0, dtype=torch.long), empty
    return torch.cat(dist), torch.cat(idx), torch.cat(mean_k)


def calibrated(d1: torch.Tensor, mean_k: torch.Tensor) -> torch.Tensor:
    """Nearest distance / mean distance to the K nearest (0 for an exact copy)."""
    return d1 / mean_k.clamp_min(1e-12)


def pixel_vectors(images: torch.Tensor) -> torch.Tensor:
    """(N,C,H,W) in [0,1] -> (N, D) scaled so that Euclidean distance is the pixel RMS difference."""
    flat = images.flatten(1).double()
    return flat / flat.shape[1] ** 0.5


def threshold(baseline: torch.Tensor, percentile: float = PERCENTILE) -> float:
    return float(torch.quantile(baseline, percentile / 100.0))


def near_copies(calibrated_d: torch.Tensor, feature_d: torch.Tensor, thr_calibrated: float,
                thr_feature: float) -> torch.Tensor:
    """Boolean mask: near-copy by both the calibrated pixel distance and the feature distance."""
    return (calibrated_d <= thr_calibrated) & (feature_d <= thr_feature)


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
    return [{"synthetic_index": int(i), "train_index": int(idx[i]), "score": float(dist[i])} for i in order]
