"""The resolved split of a dataset as a CSV ``path,label,split,group`` a user can audit.

``path`` is the image file, or for images without one (MedMNIST, simulated) a stable pseudo-path
``<spec>/<split>/<index in that split, 6 digits>``, e.g. ``medmnist:breastmnist/train/000123``;
``label`` is the class name; ``group`` the patient id, empty when the source names none.
"""

from __future__ import annotations

import csv
import io
import os
from pathlib import Path

from ..errors import GenmixError
from .base import SPLITS, ImageDataset, Split

COLUMNS = ("path", "label", "split", "group")


def pseudo_paths(spec: str, split: str, n: int) -> list[str]:
    return [f"{spec}/{split}/{i:06d}" for i in range(n)]


def image_paths(ds: ImageDataset, split: str) -> list[str]:
    s: Split = ds[split]
    return list(s.sources) if s.sources else pseudo_paths(ds.spec, split, len(s))


def split_manifest_rows(ds: ImageDataset) -> list[tuple[str, str, str, str]]:
    rows = []
    for name in [n for n in SPLITS if n in ds.splits] + [n for n in ds.splits if n not in SPLITS]:
        s = ds[name]
        groups = s.groups or [""] * len(s)
        for p, y, g in zip(image_paths(ds, name), s.labels.tolist(), groups):
            rows.append((p, ds.class_names[y], name, g))
    return rows


def write_split_manifest(ds: ImageDataset, path) -> Path:
    """Write the split manifest atomically (``PATH.partial``, then rename); an OS error is a
    GenmixError naming the file and nothing is left behind."""
    path = Path(path)
    buf = io.StringIO()
    w = csv.writer(buf, lineterminator="\n")
    w.writerow(COLUMNS)
    w.writerows(split_manifest_rows(ds))
    tmp = path.with_name(path.name + ".partial")
    try:
        if path.is_dir():
            raise IsADirectoryError(21, "is a directory")
        tmp.write_text(buf.getvalue(), encoding="utf-8")
        os.replace(tmp, path)
    except OSError as exc:
        try:
            tmp.unlink(missing_ok=True)
        except OSError:
            pass
        raise GenmixError(f"{path}: cannot write the split manifest ({exc.strerror or exc})") from None
    return path
