"""``csv:<path>``: a manifest with columns path,label[,split][,group].

Paths are relative to the manifest's folder and may not escape it. Without a split column,
a stratified split keeps each group (patient) inside one split.
"""

from __future__ import annotations

import csv
from pathlib import Path

import numpy as np

from ..errors import GenmixError
from .assemble import assemble, split_indices
from .base import SPLITS


def load_manifest(path: str, image_size=None, channels=None, window=None, seed: int = 0):
    mpath = Path(path).expanduser()
    if not mpath.is_file():
        raise GenmixError(f"{mpath}: manifest not found")
    base = mpath.parent.resolve()
    try:
        with open(mpath, newline="", encoding="utf-8-sig") as f:  # -sig: Excel's CSV export starts with a BOM
            rows = list(csv.DictReader(f))
            cols = set(rows[0].keys()) if rows else set()
    except (UnicodeDecodeError, csv.Error) as exc:
        raise GenmixError(f"{mpath}: not a readable CSV manifest ({exc})") from None
    if not rows:
        raise GenmixError(f"{mpath}: empty manifest (no rows)")
    missing = {"path", "label"} - cols
    if missing:
        raise GenmixError(f"{mpath}: missing column(s) {sorted(missing)}; expected path,label[,split][,group]")
    entries = []
    for i, r in enumerate(rows, start=2):
        rel, label = (r.get("path") or "").strip(), (r.get("label") or "").strip()
        if not rel or not label:
            raise GenmixError(f"{mpath}: line {i}: empty path or label")
        p = (base / rel).resolve()
        if not p.is_relative_to(base):
            raise GenmixError(f"{mpath}: line {i}: path '{rel}' escapes the manifest's folder {base}")
        if not p.is_file():
            raise GenmixError(f"{p}: file not found (manifest {mpath}, line {i})")
        split = (r.get("split") or "").strip().lower() if "split" in cols else ""
        if split and split not in SPLITS:
            raise GenmixError(f"{mpath}: line {i}: unknown split '{split}' (train, val or test)")
        entries.append((p, label, split, (r.get("group") or "").strip() or f"row{i}"))
    if "split" in cols and any(e[2] for e in entries):
        if not all(e[2] for e in entries):
            raise GenmixError(f"{mpath}: some rows have an empty split")
        names = sorted({e[1] for e in entries if e[2] == "train"}, key=_label_key)
        records = {s: [] for s in SPLITS}
        for p, label, split, _ in entries:
            if label not in names:
                raise GenmixError(f"{mpath}: unknown label '{label}' in split '{split}' "
                                  f"(not a class of the training split: {names})")
            records[split].append((p, names.index(label)))
        for s in SPLITS:
            present = {y for _, y in records[s]}
            for c, name in enumerate(names):
                if c not in present:
                    raise GenmixError(f"{mpath}: class '{name}' is missing from split '{s}'")
    else:
        names = sorted({e[1] for e in entries}, key=_label_key)
        labels = np.array([names.index(e[1]) for e in entries])
        groups = np.array([e[3] for e in entries])
        idx = split_indices(labels, groups, seed)
        records = {s: [(entries[i][0], int(labels[i])) for i in idx[s]] for s in SPLITS}
    return assemble(f"csv:{path}", str(mpath), names, records, image_size, channels, window)


def _label_key(label: str):
    return (0, int(label), "") if label.lstrip("-").isdigit() else (1, 0, label)
