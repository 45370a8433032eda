"""``folder:<path>``: one sub-folder per class, optionally under ``train/ val/ test/``."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from ..errors import GenmixError
from .assemble import assemble, split_indices
from .base import SPLITS
from .files import is_image


def _class_dirs(root: Path) -> list[Path]:
    return sorted(d for d in root.iterdir() if d.is_dir() and not d.name.startswith("."))


def _files(d: Path) -> list[Path]:
    return sorted(p for p in d.rglob("*") if p.is_file() and is_image(p))


def load_folder(path: str, image_size=None, channels=None, window=None, seed: int = 0):
    root = Path(path).expanduser()
    if not root.is_dir():
        raise GenmixError(f"{root}: folder not found")
    spec = f"folder:{path}"
    if all((root / s).is_dir() for s in SPLITS):
        names = [d.name for d in _class_dirs(root / "train")]
        if not names:
            raise GenmixError(f"{root / 'train'}: no class sub-folders")
        records = {}
        for s in SPLITS:
            recs = []
            for d in _class_dirs(root / s):
                if d.name not in names:
                    raise GenmixError(f"{d}: unknown label '{d.name}' (not a class of {root / 'train'})")
                recs += [(p, names.index(d.name)) for p in _files(d)]
            for c in names:
                if not (root / s / c).is_dir() or not _files(root / s / c):
                    raise GenmixError(f"{root / s}: class '{c}' is missing from split '{s}'")
            records[s] = recs
        return assemble(spec, str(root), names, records, image_size, channels, window)
    dirs = _class_dirs(root)
    if not dirs:
        raise GenmixError(f"{root}: empty folder (expected one sub-folder of images per class)")
    names = [d.name for d in dirs]
    recs = []
    for i, d in enumerate(dirs):
        files = _files(d)
        if not files:
            raise GenmixError(f"{d}: empty class folder (no PNG/JPEG/TIFF/DICOM/NIfTI images)")
        recs += [(p, i) for p in files]
    labels = np.array([y for _, y in recs])
    idx = split_indices(labels, None, seed)
    records = {s: [recs[i] for i in idx[s]] for s in SPLITS}
    return assemble(spec, str(root), names, records, image_size, channels, window)
