"""GenMix (Lee, Lee & Hong), the paper's Eq. 1.

For each training sample, x_R comes from the real training images (the epoch iterates over
them) and x_S from the pool real ∪ synthetic (at ``ratio``, drawn uniformly, so pairs cross
classes at random as in mixup); λ ~ Beta(α, 1) with α = 0.3 by default, and

    x = λ·x_S + (1−λ)·x_R,    y = λ·y_S + (1−λ)·y_R     (soft labels, soft-target loss).

λ is drawn per sample by default (Eq. 1 is written per sample); ``per_sample=False`` draws one
λ per batch. Beta(α, 1) with α < 1 puts most mass near 0, so most mixed images stay close to a
real image and carry a small admixture of the pool.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F

from .base import AugBatch, Augmentation, beta_sample, mix
from .pool import build_pool


class GenMix(Augmentation):
    name = "genmix"

    def __init__(self, synthetic: str | None = None, ratio: float = 0.5, alpha: float = 0.3, per_sample: bool = True):
        if alpha <= 0:
            raise ValueError("genmix alpha must be > 0")
        self.synthetic, self.alpha, self.per_sample = synthetic, float(alpha), per_sample
        self.ratio = None if ratio is None else float(ratio)  # None: every synthetic image
        self.pool = None

    def prepare(self, train, num_classes, generator, source_spec=None):
        self.num_classes = num_classes
        if self.synthetic is None:
            self.pool, self.is_synthetic = train, torch.zeros(len(train), dtype=torch.bool)
        else:
            self.pool, self.is_synthetic = build_pool(train, self.synthetic, num_classes, self.ratio, generator,
                                                      source_spec)
        return train  # the epoch runs over the real images (x_R)

    def sample(self, x, y, generator):
        n = x.shape[0]
        return {"lam": beta_sample(self.alpha, 1.0, (n,) if self.per_sample else (), generator),
                "pool_index": torch.randint(len(self.pool), (n,), generator=generator)}

    def apply(self, x, y, params):
        xs, ys = self.pool.batch(params["pool_index"])
        xs = xs.to(x.device)
        ys = F.one_hot(ys, y.shape[1]).to(y)
        xm, ym = mix(xs, x, ys, y, params["lam"].to(x.device))
        return AugBatch(xm, ym)

    def describe(self):
        return {"name": self.name, "synthetic": self.synthetic, "ratio": self.ratio, "alpha": self.alpha,
                "per_sample": self.per_sample}
