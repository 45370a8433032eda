"""GenMix (selected): the candidate settings of a ``select: val`` row and the choice on validation only."""

from __future__ import annotations

import csv
import json
from pathlib import Path


def candidate_label(settings: dict) -> str:
    """A candidate's settings in words, e.g. ``alpha=0.3 ratio=0.5 balance=off epoch=pool``."""
    if settings["augment"] == "none":
        return "no augmentation"
    keys = ("alpha", "ratio", "balance", "epoch") if settings["augment"] == "genmix" else ("ratio", "balance")
    out = []
    for k in keys:
        v = settings.get(k, False if k == "balance" else None)
        if v is None:
            continue
        out.append(f"{k}={'on' if v is True else 'off' if v is False else v}")
    return " ".join(out)


def choose_on_validation(candidates: list[dict]) -> dict | None:
    """The candidate (dicts with ``dir``) whose kept checkpoint has the best validation macro-F1 (ties: lower
    validation loss, then the first listed). Reads validation scores only; None if one has not finished."""
    best, best_key = None, None
    for c in candidates:
        v = best_validation(c["dir"])
        if v is None:
            return None
        key = (v["f1_macro"], -v["loss"])
        if best_key is None or key > best_key:
            best, best_key = {**c, "val_f1_macro": v["f1_macro"], "val_loss": v["loss"]}, key
    return best


def best_validation(unit_dir) -> dict | None:
    """Validation macro-F1 and loss of a finished classifier run's kept checkpoint (history.csv for runs
    written before metrics.json had them)."""
    d = Path(unit_dir)
    if not (d / "metrics.json").is_file():
        return None
    bv = json.loads((d / "metrics.json").read_text()).get("best_val")
    if bv:
        return {"f1_macro": float(bv["f1_macro"]), "loss": float(bv["loss"])}
    with open(d / "history.csv") as f:
        best = [r for r in csv.DictReader(f) if r["best"] == "1"][-1]
    return {"f1_macro": float(best["val_f1_macro"]), "loss": float(best["val_loss"])}
