"""Turn lists of files + labels into a validated ImageDataset (shared by folder: and csv:)."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import torch

from ..errors import GenmixError
from .base import SPLITS, ImageDataset, Split, resize_uint8
from .files import read_image


def load_stack(paths: list[Path], image_size=None, channels=None, window=None) -> torch.Tensor:
    """Read files into one uint8 (N,C,H,W) stack. Mixed sizes or channel counts are an error
    unless ``image_size`` / ``channels`` ask for an explicit conversion."""
    out, first = [], None
    for p in paths:
        x = torch.from_numpy(read_image(p, window))[None]
        if image_size is not None or channels is not None:
            x = resize_uint8(x, image_size, channels)
        if first is None:
            first = (p, tuple(x.shape[1:]))
        elif tuple(x.shape[1:]) != first[1]:
            what = "channel count" if x.shape[1] != first[1][0] else "size"
            raise GenmixError(
                f"{p}: image {what} {tuple(x.shape[1:])} (C,H,W) differs from {first[0]} {first[1]}; "
                "pass --image-size N and/or --channels N to convert explicitly")
        out.append(x)
    return torch.cat(out)


def split_indices(labels: np.ndarray, groups: np.ndarray | None, seed: int = 0,
                  val_fraction: float = 0.15, test_fraction: float = 0.15) -> dict[str, np.ndarray]:
    """Stratified train/val/test split that keeps every group (patient) inside one split."""
    from sklearn.model_selection import StratifiedGroupKFold

    n = len(labels)
    groups = np.arange(n) if groups is None else groups
    idx = np.arange(n)

    def take(sub, frac, rs):
        k = max(2, int(round(1.0 / frac)))
        min_count = np.bincount(labels[sub]).max(initial=0)
        if min_count == 0:
            return sub, sub[:0]
        cv = StratifiedGroupKFold(n_splits=k, shuffle=True, random_state=rs)
        rest, held = next(cv.split(sub, labels[sub], groups[sub]))
        return sub[rest], sub[held]

    import warnings

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # sklearn warns when a class has fewer members than folds
        rest, test = take(idx, test_fraction, seed)
        train, val = take(rest, val_fraction / (1.0 - test_fraction), seed + 1)
    return {"train": np.sort(train), "val": np.sort(val), "test": np.sort(test)}


def assemble(spec: str, origin: str, class_names: list[str], records: dict[str, list[tuple[Path, int]]],
             image_size=None, channels=None, window=None) -> ImageDataset:
    splits = {}
    for s in SPLITS:
        recs = records.get(s, [])
        if not recs:
            raise GenmixError(f"{origin}: split '{s}' has no images")
        paths = [p for p, _ in recs]
        labels = torch.tensor([y for _, y in recs], dtype=torch.long)
        splits[s] = Split(s, load_stack(paths, image_size, channels, window), labels, [str(p) for p in paths])
    shapes = {tuple(sp.images.shape[1:]) for sp in splits.values()}
    if len(shapes) > 1:
        raise GenmixError(f"{origin}: splits differ in image shape {sorted(shapes)}; "
                          "pass --image-size N and/or --channels N to convert explicitly")
    return ImageDataset(spec, class_names, splits, info={"root": origin}).validate(origin)
