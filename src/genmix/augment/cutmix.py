"""CutMix (Yun et al. 2019): paste a box of a partner image; labels mixed by the box's area."""

from __future__ import annotations

import math

import torch

from .base import AugBatch, Augmentation, beta_sample


class CutMix(Augmentation):
    name = "cutmix"

    def __init__(self, alpha: float = 1.0):
        if alpha <= 0:
            raise ValueError("cutmix alpha must be > 0")
        self.alpha = float(alpha)

    def sample(self, x, y, generator):
        n, _, h, w = x.shape
        lam = float(beta_sample(self.alpha, self.alpha, (), generator))
        cut = math.sqrt(1.0 - lam)
        ch, cw = int(h * cut), int(w * cut)
        cy = int(torch.randint(h, (), generator=generator))
        cx = int(torch.randint(w, (), generator=generator))
        y0, y1 = max(cy - ch // 2, 0), min(cy + ch // 2, h)
        x0, x1 = max(cx - cw // 2, 0), min(cx + cw // 2, w)
        return {"box": (y0, y1, x0, x1), "perm": torch.randperm(n, generator=generator)}

    def apply(self, x, y, params):
        y0, y1, x0, x1 = params["box"]
        p = params["perm"]
        out = x.clone()
        out[:, :, y0:y1, x0:x1] = x[p][:, :, y0:y1, x0:x1]
        lam = 1.0 - (y1 - y0) * (x1 - x0) / (x.shape[-1] * x.shape[-2])  # the area actually kept
        return AugBatch(out, lam * y + (1 - lam) * y[p])

    def describe(self):
        return {"name": self.name, "alpha": self.alpha}
