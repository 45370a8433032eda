"""``synthetic``: train on real ∪ synthetic images at ``ratio`` (synthetic / (real + synthetic),
per class), without mixing — the GenMix paper's "DCGAN (50 %)"-style rows."""

from __future__ import annotations

from .base import Augmentation
from .pool import build_pool


class SyntheticBlend(Augmentation):
    name = "synthetic"

    def __init__(self, synthetic: str, ratio: float = 0.5):
        self.synthetic, self.ratio = str(synthetic), None if ratio is None else float(ratio)

    def prepare(self, train, num_classes, generator, source_spec=None):
        pool, self.is_synthetic = build_pool(train, self.synthetic, num_classes, self.ratio, generator, source_spec)
        return pool

    def describe(self):
        return {"name": self.name, "synthetic": self.synthetic, "ratio": self.ratio}
