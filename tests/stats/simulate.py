"""Two rows of the same quality scored on one test set, as real ones are: every test image has its own
difficulty shared by every model (so predictions correlate across rows and replicates), each (replicate, row)
model its own quality (replicate-level spread of a few accuracy points), and a (replicate) effect shared by
both rows of a replicate (the pairing). ``effect`` shifts the row's quality (probit units)."""

from __future__ import annotations

import numpy as np


def draw_test_set(rng, n: int = 156, rare: float = 0.27):
    labels = (rng.random(n) < rare).astype(np.int64)
    labels[:2] = [0, 1]  # both classes present
    return labels, rng.normal(size=n)


def predictions(rng, labels, difficulty, replicates: int, effect: float = 0.0, spread: float = 0.15,
                image_weight: float = 1.0, base_quality: float = 1.3):
    """(row, base) predicted classes (R, n) for a 2-class test set."""
    r, n = replicates, len(labels)
    shared = rng.normal(0, spread, size=(r, 1))  # the replicate's seed: same data order, same generator
    out = []
    for shift in (effect, 0.0):
        own = rng.normal(0, spread, size=(r, 1))
        z = base_quality + shift + shared + own + image_weight * difficulty[None, :] + rng.normal(size=(r, n))
        correct = z > 0
        out.append(np.where(correct, labels[None, :], 1 - labels[None, :]))
    return out[0], out[1]


def replicate_diffs(labels, row, base, metric: str):
    from genmix.stats.bootstrap import confusion_metric

    def per_rep(p):
        k = 2
        codes = labels[None, :] * k + p
        cm = np.stack([np.bincount(c, minlength=k * k).reshape(k, k) for c in codes])
        return confusion_metric(cm, metric)

    return per_rep(row) - per_rep(base), per_rep(base)
