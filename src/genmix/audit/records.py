"""What every audit writes: the columns of audit.csv, the JSON and CSV writers, the overall mean over classes."""

from __future__ import annotations

import csv
import json
import math
from pathlib import Path

COLUMNS = ["class", "n_synthetic", "n_realism", "n_reference", "fd", "fd_floor", "kid", "kid_std", "kid_floor",
           "precision", "recall", "density", "coverage", "precision_floor", "recall_floor", "density_floor",
           "coverage_floor", "gan_test", "gan_test_floor", "gan_train", "gan_train_floor",
           "nn_pixel_median", "nn_pixel_baseline_median", "nn_feature_median", "nn_feature_baseline_median",
           "nn_calibrated_median", "nn_calibrated_baseline_median",
           "near_copies", "near_copy_fraction", "near_copy_fraction_baseline", "memorising"]


def balanced(per_class: list[float], classes: list[int]) -> float:
    """Mean of the per-class accuracies over ``classes`` (nan when none)."""
    return sum(per_class[c] for c in classes) / len(classes) if classes else math.nan


def clean(v):
    if isinstance(v, float) and not math.isfinite(v):
        return None
    if isinstance(v, dict):
        return {k: clean(x) for k, x in v.items()}
    if isinstance(v, list):
        return [clean(x) for x in v]
    return v


def write_json(path: Path, obj):
    tmp = path.with_suffix(".json.tmp")
    tmp.write_text(json.dumps(clean(obj), indent=2))
    tmp.replace(path)


def write_csv(path: Path, rows: list[dict], extra: dict | None = None):
    tmp = path.with_suffix(".csv.tmp")
    cols = [*(extra or {}), *COLUMNS]
    with open(tmp, "w", newline="") as f:
        w = csv.DictWriter(f, fieldnames=cols)
        w.writeheader()
        for r in rows:
            w.writerow({**(extra or {}), **{k: fmt(r[k]) for k in COLUMNS}})
    tmp.replace(path)


def fmt(v):
    if isinstance(v, float):
        return "" if not math.isfinite(v) else f"{v:.6g}"
    return v
