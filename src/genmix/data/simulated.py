"""``simulated:fll``: a deterministic, project-written SIMULATION of focal liver lesion CT patches.

Not real patient data. It mimics the shape of the GenMix paper's private dataset (cyst /
hemangioma / metastasis with the paper's per-split counts, 64x64 grayscale) so that the whole
pipeline runs offline. The appearance follows textbook contrast-enhanced CT descriptions:

- cyst: round, sharp-edged, dark (water-like), homogeneous;
- hemangioma: peripheral nodular enhancement (bright blobs along the rim) and bright vessels;
- metastasis: ill-defined irregular margin, heterogeneous interior, rim enhancement.

Lesion size, contrast, noise and the strength of each sign vary per image so that small
lesions are ambiguous: classes are not trivially separable. Images are rendered at 64 px and
resized with antialiasing for other sizes (``simulated:fll@28``), as a scanner patch would be.
"""

from __future__ import annotations

import numpy as np
import torch
from scipy.ndimage import gaussian_filter

from .base import ImageDataset, Split, resize_uint8

CLASSES = ["cyst", "hemangioma", "metastasis"]
COUNTS = {"train": (433, 70, 178), "val": (115, 30, 157), "test": (128, 30, 149)}
_SPLIT_ID = {"train": 0, "val": 1, "test": 2}


def _sigmoid(z):
    return 1.0 / (1.0 + np.exp(-np.clip(z, -30, 30)))


def _vessel(rng, yy, xx, size, s, near=None):
    """A bright curved tube (a portal/hepatic vessel branch)."""
    if near is None:
        y0, x0 = rng.uniform(0, size, 2)
    else:
        y0, x0 = near
    ang = rng.uniform(0, np.pi)
    curv = rng.uniform(-0.03, 0.03) / s
    u = (xx - x0) * np.cos(ang) + (yy - y0) * np.sin(ang)
    v = -(xx - x0) * np.sin(ang) + (yy - y0) * np.cos(ang) - curv * u ** 2
    width = rng.uniform(0.6, 1.4) * s
    length = rng.uniform(8, 30) * s
    return np.exp(-(v / width) ** 2) * _sigmoid((length - np.abs(u)) / (2 * s))


def _background(rng: np.random.Generator, yy, xx, size: int, s: float) -> np.ndarray:
    """Liver parenchyma: smooth low-frequency texture around a per-image enhancement level, sometimes the liver
    edge (darker fat / neighbouring tissue) across a corner, and background vessels (in every class)."""
    base = rng.uniform(0.46, 0.6)
    img = base + 0.05 * gaussian_filter(rng.standard_normal((size, size)), 5 * s) / 0.06
    img += 0.015 * gaussian_filter(rng.standard_normal((size, size)), 1.2 * s) / 0.2
    if rng.random() < 0.35:
        ang = rng.uniform(0, 2 * np.pi)
        off = rng.uniform(0.3, 0.5) * size
        d = (xx - size / 2) * np.cos(ang) + (yy - size / 2) * np.sin(ang) - off
        img = img * (1 - _sigmoid(d / (1.5 * s))) + rng.uniform(0.1, 0.25) * _sigmoid(d / (1.5 * s))
    for _ in range(rng.poisson(1.0)):
        img += rng.uniform(0.1, 0.25) * _vessel(rng, yy, xx, size, s)
    return img


def render(label: int, rng: np.random.Generator, size: int = 64) -> np.ndarray:
    s = size / 64.0
    yy, xx = np.mgrid[0:size, 0:size].astype(np.float64)
    img = _background(rng, yy, xx, size, s)
    # the lesion
    r = rng.uniform(2.5, 14.0) * s
    cy, cx = size / 2 + rng.uniform(-8, 8, 2) * s
    ang = rng.uniform(0, np.pi)
    ax = rng.uniform(0.8, 1.2)
    u = (xx - cx) * np.cos(ang) + (yy - cy) * np.sin(ang)
    v = -(xx - cx) * np.sin(ang) + (yy - cy) * np.cos(ang)
    theta = np.arctan2(v, u)
    rad = np.sqrt((u / ax) ** 2 + (v * ax) ** 2)
    contrast = rng.uniform(0.6, 1.0)  # how conspicuous this lesion is
    if label == 0:  # cyst
        edge = rng.uniform(0.4, 0.9) * s
        m = _sigmoid((r - rad) / edge)
        level = rng.uniform(0.12, 0.3)
        inner = level + 0.01 * rng.standard_normal((size, size))
    elif label == 1:  # hemangioma
        wob = 1 + 0.08 * np.sin(3 * theta + rng.uniform(0, 6.3))
        edge = rng.uniform(0.7, 1.4) * s
        m = _sigmoid((r * wob - rad) / edge)
        level = rng.uniform(0.28, 0.45)
        inner = level + 0.03 * gaussian_filter(rng.standard_normal((size, size)), 1.0 * s) / 0.3
        k = rng.poisson(4.5 * min(1.0, r / (8 * s)) + 0.5)
        for phi in rng.uniform(0, 2 * np.pi, k):  # peripheral nodular enhancement
            rr = r * rng.uniform(0.7, 0.95)
            py, px = cy + rr * np.sin(phi), cx + rr * np.cos(phi)
            w = max(0.8 * s, r * rng.uniform(0.12, 0.25))
            inner = inner + rng.uniform(0.3, 0.5) * np.exp(-((yy - py) ** 2 + (xx - px) ** 2) / (2 * w ** 2))
        for _ in range(rng.poisson(1.2)):  # feeding vessels near the lesion
            img += rng.uniform(0.15, 0.35) * _vessel(rng, yy, xx, size, s, near=(cy, cx))
    else:  # metastasis
        harm = sum(rng.uniform(0.05, 0.18) * np.sin(h * theta + rng.uniform(0, 6.3)) for h in (2, 3, 5))
        edge = rng.uniform(1.5, 3.0) * s
        m = _sigmoid((r * (1 + harm) - rad) / edge)
        level = rng.uniform(0.3, 0.45)
        inner = level + 0.07 * gaussian_filter(rng.standard_normal((size, size)), 1.5 * s) / 0.2
        inner -= rng.uniform(0.0, 0.15) * np.exp(-(rad / (0.5 * r)) ** 2)  # central necrosis
        ring = np.exp(-((rad - r * (1 + harm) * 0.9) / (0.18 * r + 0.8 * s)) ** 2)
        img = img + rng.uniform(0.0, 0.25) * ring * contrast
    img = img * (1 - contrast * m) + inner * contrast * m
    # CT-like noise: correlated plus white, then a mild global window change
    sigma = rng.uniform(0.02, 0.05)
    img += sigma * gaussian_filter(rng.standard_normal((size, size)), 0.8 * s) / 0.35
    img += 0.015 * rng.standard_normal((size, size))
    img = (img - 0.5) * rng.uniform(0.85, 1.15) + 0.5 + rng.uniform(-0.05, 0.05)
    return (np.clip(img, 0, 1) * 255).round().astype(np.uint8)


NATIVE = 64  # images are rendered at 64 px and resized (antialiased) to other sizes


def load_simulated(name: str = "fll", size: int | None = None, seed: int = 20240) -> ImageDataset:
    from ..errors import GenmixError

    if name != "fll":
        raise GenmixError(f"simulated:{name}: unknown simulated set (known: fll)")
    size = size or 64
    if size < 16:
        raise GenmixError(f"simulated:fll@{size}: image size must be at least 16")
    splits = {}
    for split, counts in COUNTS.items():
        imgs, labels = [], []
        for c, n in enumerate(counts):
            for i in range(n):
                rng = np.random.default_rng([seed, _SPLIT_ID[split], c, i])
                imgs.append(render(c, rng, NATIVE))
                labels.append(c)
        x = torch.from_numpy(np.stack(imgs))[:, None]
        if size != NATIVE:
            x = resize_uint8(x, size)
        splits[split] = Split(split, x, torch.tensor(labels))
    spec = "simulated:fll" + (f"@{size}" if size != 64 else "")
    return ImageDataset(spec, list(CLASSES), splits, info={"simulated": True})
