"""Confusion-matrix metrics and bootstraps over test images; Holm's step-down adjustment."""

from __future__ import annotations

import numpy as np

BOOT_METRICS = ("accuracy", "f1_macro")


def confusion_metric(cm: np.ndarray, metric: str) -> np.ndarray:
    """Accuracy or macro-F1 (F1 of a class with no true and no predicted image counts 0, as in evaluate)
    from confusion matrices (..., K, K) — rows true, columns predicted."""
    tp = np.diagonal(cm, axis1=-2, axis2=-1).astype(float)
    n = cm.sum((-2, -1))
    if metric == "accuracy":
        return tp.sum(-1) / n
    if metric == "f1_macro":
        denom = cm.sum(-1) + cm.sum(-2)  # 2tp + fn + fp
        return np.where(denom > 0, 2 * tp / np.maximum(denom, 1), 0.0).mean(-1)
    raise ValueError(f"no confusion-matrix formula for metric '{metric}'")


def _metric_of_draws(labels, preds, imgs, k, metric):
    """metric of every replicate under every image draw: preds (R, n), imgs (b, R, n) or (b, 1, n) -> (b, R)."""
    b, r = imgs.shape[0], preds.shape[0]
    imgs = np.broadcast_to(imgs, (b, r, imgs.shape[-1]))
    codes = labels[imgs] * k + preds[np.arange(r)[None, :, None], imgs]
    codes = codes + (np.arange(b * r) * k * k).reshape(b, r, 1)
    cm = np.bincount(codes.ravel(), minlength=b * r * k * k).reshape(b, r, k, k)
    return confusion_metric(cm, metric)


def image_bootstrap(labels, preds, num_classes: int, metric: str, base_preds=None, n_boot: int = 1000,
                    seed: int = 0) -> np.ndarray:
    """Bootstrap distribution of the replicate-mean ``metric`` (or, with ``base_preds``, of the mean paired
    difference preds − base_preds) over the test images alone: each draw takes n test images with replacement
    and applies the SAME draw to every replicate and to both rows, as the test set is one set shared by them all.
    Its standard deviation is the test-set sampling error of the mean, the part that more replicates do not
    shrink. ``preds``/``base_preds``: (R, n) predicted classes, replicate r of both from the same seed."""
    labels = np.asarray(labels, dtype=np.int64)
    preds = np.asarray(preds, dtype=np.int64)
    base = None if base_preds is None else np.asarray(base_preds, dtype=np.int64)
    r, n = preds.shape
    rng = np.random.default_rng(seed)
    chunk = max(1, min(n_boot, 2_000_000 // max(1, r * n)))  # bounded memory for big test sets
    out = np.empty(n_boot)
    for start in range(0, n_boot, chunk):
        b = min(chunk, n_boot - start)
        imgs = rng.integers(0, n, size=(b, 1, n))
        v = _metric_of_draws(labels, preds, imgs, num_classes, metric)
        if base is not None:
            v = v - _metric_of_draws(labels, base, imgs, num_classes, metric)
        out[start:start + b] = v.mean(1)
    return out


def hierarchical_bootstrap(labels, preds, num_classes: int, metric: str, base_preds=None, n_boot: int = 2000,
                           seed: int = 0) -> np.ndarray:
    """The table's intervals before 2026-12-04, kept for the benchmarks that compare with them: each draw picks
    R replicates with replacement, then, within each, n test images with replacement. At 3–5 replicates its
    p-values are anti-conservative (resampling 3 replicates understates their spread; see stats.paired)."""
    labels = np.asarray(labels, dtype=np.int64)
    preds = np.asarray(preds, dtype=np.int64)
    base = None if base_preds is None else np.asarray(base_preds, dtype=np.int64)
    r, n = preds.shape
    k = num_classes
    rng = np.random.default_rng(seed)
    chunk = max(1, min(200, 2_000_000 // max(1, r * n)))
    out = np.empty(n_boot)
    for start in range(0, n_boot, chunk):
        b = min(chunk, n_boot - start)
        reps = rng.integers(0, r, size=(b, r))
        imgs = rng.integers(0, n, size=(b, r, n))

        def stat(p):
            codes = labels[imgs] * k + p[reps[..., None], imgs]
            codes = codes + (np.arange(b * r) * k * k).reshape(b, r, 1)
            cm = np.bincount(codes.ravel(), minlength=b * r * k * k).reshape(b, r, k, k)
            return confusion_metric(cm, metric)

        v = stat(preds) if base is None else stat(preds) - stat(base)
        out[start:start + b] = v.mean(1)
    return out


def bootstrap_p(diffs) -> float:
    """Two-sided bootstrap p-value of a zero difference: twice the smaller tail, with the +1 correction."""
    d = np.asarray(diffs)
    lo, hi = (1 + np.sum(d <= 0)) / (len(d) + 1), (1 + np.sum(d >= 0)) / (len(d) + 1)
    return float(min(1.0, 2 * min(lo, hi)))


def holm(pvalues) -> np.ndarray:
    """Holm's step-down adjusted p-values (the same as statsmodels' multipletests(method="holm"))."""
    p = np.asarray(pvalues, dtype=float)
    m = len(p)
    adj, running = np.empty(m), 0.0
    for rank, i in enumerate(np.argsort(p, kind="stable")):
        running = max(running, min(1.0, (m - rank) * p[i]))
        adj[i] = running
    return adj
