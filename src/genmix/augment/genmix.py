"""GenMix (Lee, Lee & Hong), the paper's Eq. 1.

For each training sample, x_R comes from the real training images and x_S from the pool
real ∪ synthetic (at ``ratio``; pairs cross classes at random as in mixup); λ ~ Beta(α, 1) with α = 0.3 by default, and

    x = λ·x_S + (1−λ)·x_R,    y = λ·y_S + (1−λ)·y_R     (soft labels, soft-target loss).

λ is drawn per sample by default (Eq. 1 is written per sample); ``per_sample=False`` draws one
λ per batch.

``epoch`` says what one epoch runs over (the paper does not say): ``"pool"`` (default) iterates
over the pool as x_S and draws x_R from the real images, so an epoch has as many steps as the
synthetic-blending rows at the same ratio; ``"real"`` iterates over the real images as x_R and
draws x_S from the pool (half the steps at ratio 50 %). On BreastMNIST validation, epochs over the
pool lifted GenMix's macro-F1 from 78.9 to 87.9 (Diffusion) — BENCHMARKS.md, schedule study.
Beta(α, 1) with α < 1 puts most mass near 0, so most mixed images stay close to a
real image and carry a small admixture of the pool.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F

from .base import AugBatch, Augmentation, beta_sample, mix
from .pool import build_pool


class GenMix(Augmentation):
    name = "genmix"

    def __init__(self, synthetic: str | None = None, ratio: float = 0.5, alpha: float = 0.3, per_sample: bool = True,
                 epoch: str = "pool"):
        if alpha <= 0:
            raise ValueError("genmix alpha must be > 0")
        if epoch not in ("real", "pool"):
            raise ValueError(f"genmix epoch must be 'real' or 'pool', not {epoch!r}")
        self.synthetic, self.alpha, self.per_sample, self.epoch = synthetic, float(alpha), per_sample, epoch
        self.ratio = None if ratio is None else float(ratio)  # None: every synthetic image
        self.pool = None

    def prepare(self, train, num_classes, generator, source_spec=None):
        self.num_classes = num_classes
        if self.synthetic is None:
            self.pool, self.is_synthetic = train, torch.zeros(len(train), dtype=torch.bool)
        else:
            self.pool, self.is_synthetic = build_pool(train, self.synthetic, num_classes, self.ratio, generator,
                                                      source_spec)
        self.real = train
        # the batches (x) come from one side, the partners are drawn from the other
        self.drawn = train if self.epoch == "pool" else self.pool
        return self.pool if self.epoch == "pool" else train

    def sample(self, x, y, generator):
        n = x.shape[0]
        return {"lam": beta_sample(self.alpha, 1.0, (n,) if self.per_sample else (), generator),
                "pool_index": torch.randint(len(self.drawn), (n,), generator=generator)}  # index into drawn

    def apply(self, x, y, params):
        xo, yo = self.drawn.batch(params["pool_index"])
        xo = xo.to(x.device)
        yo = F.one_hot(yo, y.shape[1]).to(y)
        if self.epoch == "pool":  # the batch is x_S, the drawn images are x_R
            xm, ym = mix(x, xo, y, yo, params["lam"].to(x.device))
        else:
            xm, ym = mix(xo, x, yo, y, params["lam"].to(x.device))
        return AugBatch(xm, ym)

    def describe(self):
        return {"name": self.name, "synthetic": self.synthetic, "ratio": self.ratio, "alpha": self.alpha,
                "per_sample": self.per_sample, "epoch": self.epoch}
