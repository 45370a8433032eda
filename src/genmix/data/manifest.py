"""``csv:<path>``: a manifest with columns path,label[,split][,group].

Paths are relative to the manifest's folder and may not escape it. Without a split column,
a stratified split keeps each group (patient) inside one split; with one, a group in two
splits or byte-identical images in two splits is an error. A file listed twice is one image
(the repeat is noted); listed twice with another label, split or group, an error.
Column names are matched without case or surrounding spaces; a UTF-8 BOM is ignored.
"""

from __future__ import annotations

import csv
from pathlib import Path

from ..errors import GenmixError
from .assemble import Entry, build_dataset
from .base import SPLITS


def load_manifest(path: str, image_size=None, channels=None, window=None, seed: int = 0):
    mpath = Path(path).expanduser()
    rows, cols = _read_rows(mpath)
    entries = _entries(mpath, rows, cols)
    if "split" in cols and any(e[2] for e in entries):
        names = _check_splits(mpath, entries)
        entries, repeated = _once(entries, mpath)
        _check_split_classes(mpath, entries, names)
    else:
        entries, repeated = _once(entries, mpath)
        names = sorted({e[1] for e in entries}, key=_label_key)
    recs = [Entry(p, names.index(label), split, group, f"line {i}") for p, label, split, group, i in entries]
    groups_by = "csv column 'group'" if any(e.group for e in recs) else None
    ds = build_dataset(f"csv:{path}", str(mpath), names, recs, image_size, channels, window, seed, groups_by)
    if repeated:
        ds.info["repeated_rows"] = repeated
    return ds


def _read_rows(mpath: Path) -> tuple[list[dict], set]:
    """The manifest's rows and its (stripped, lower-case) column names; one-line errors for what is not one."""
    if not mpath.is_file():
        raise GenmixError(f"{mpath}: manifest not found")
    try:
        with open(mpath, newline="", encoding="utf-8-sig") as f:  # utf-8-sig: a BOM (Excel) is not a column name
            reader = csv.DictReader(f)
            if reader.fieldnames:
                reader.fieldnames = [(c or "").strip().lower() for c in reader.fieldnames]
            rows = list(reader)
            cols = set(reader.fieldnames or ())
    except (UnicodeDecodeError, csv.Error) as exc:
        raise GenmixError(f"{mpath}: not a readable CSV manifest ({exc})") from None
    if not rows:
        raise GenmixError(f"{mpath}: empty manifest (no rows)")
    missing = {"path", "label"} - cols
    if missing:
        raise GenmixError(f"{mpath}: missing column(s) {sorted(missing)}; expected path,label[,split][,group]")
    return rows, cols


def _entries(mpath: Path, rows: list[dict], cols: set) -> list[tuple]:
    """(file, label, split, group, line) per row, each file checked to exist inside the manifest's folder."""
    base = mpath.parent.resolve()
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
        entries.append((p, label, split, (r.get("group") or "").strip(), i))
    return entries


def _check_splits(mpath: Path, entries: list[tuple]) -> list[str]:
    """With a split column: every row has a split and a label of the training split. Returns the class names."""
    empty = [e[4] for e in entries if not e[2]]
    if empty:
        raise GenmixError(f"{mpath}: line {empty[0]}: empty split (every row needs train, val or test "
                          "when some have one)")
    names = sorted({e[1] for e in entries if e[2] == "train"}, key=_label_key)
    if not names:
        raise GenmixError(f"{mpath}: split 'train' has no rows")
    for _p, label, split, _, i in entries:
        if label not in names:
            raise GenmixError(f"{mpath}: line {i}: unknown label '{label}' in split '{split}' "
                              f"(not a class of the training split: {names})")
    return names


def _check_split_classes(mpath: Path, entries: list[tuple], names: list[str]) -> None:
    """Every split has rows, and every class in every split."""
    for s in SPLITS:
        present = {e[1] for e in entries if e[2] == s}
        if not present:
            raise GenmixError(f"{mpath}: split '{s}' has no rows (the split column must use train, val "
                              "and test)")
        for name in names:
            if name not in present:
                raise GenmixError(f"{mpath}: class '{name}' is missing from split '{s}' (it has "
                                  f"{', '.join(n for n in names if n in present)})")


def _once(entries: list, mpath: Path) -> tuple[list, list[list[int]]]:
    """Rows naming the same file (resolved path) are one image: the first is kept, and each repeat
    is listed as [first line, line]. Repeats that disagree on label, split or group are an error
    naming both lines."""
    first: dict = {}
    kept, repeated = [], []
    for e in entries:
        p, label, split, group, i = e
        if p not in first:
            first[p] = e
            kept.append(e)
            continue
        f = first[p]
        for what, a, b in (("labels", f[1], label), ("splits", f[2], split), ("groups", f[3], group)):
            if a != b:
                raise GenmixError(f"{mpath}: line {f[4]} and line {i} list the same file {p} with two {what} "
                                  f"('{a}', '{b}'); list it once")
        repeated.append([f[4], i])
    return kept, repeated


def _label_key(label: str):
    return (0, int(label), "") if label.lstrip("-").isdigit() else (1, 0, label)
