"""Turn lists of files + labels into a validated ImageDataset (shared by folder: and csv:)."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch

from ..errors import GenmixError
from .base import SPLITS, ImageDataset, Split, resize_uint8
from .files import read_image


def load_stack(paths: list[Path], image_size=None, channels=None, window=None,
               digests: list[str] | None = None) -> torch.Tensor:
    """Read files into one uint8 (N,C,H,W) stack. Mixed sizes or channel counts are an error
    unless ``image_size`` / ``channels`` ask for an explicit conversion. When ``digests`` is a
    list, the hash of each decoded image (before any conversion) is appended to it."""
    from .leakage import pixel_digest

    out, first = [], None
    for p in paths:
        arr = read_image(p, window)
        if digests is not None:
            digests.append(pixel_digest(arr))
        x = torch.from_numpy(arr)[None]
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


@dataclass
class Entry:
    """One image of a file-based dataset before it is read."""

    path: Path
    label: int
    split: str = ""  # "" = to be assigned by the automatic split
    group: str = ""  # patient id; "" = none known (the image is its own group)
    where: str = ""  # how messages name it (a path, or "line N")


def build_dataset(spec: str, origin: str, class_names: list[str], entries: list[Entry], image_size=None,
                  channels=None, window=None, seed: int = 0, groups_by: str | None = None) -> ImageDataset:
    """Read ``entries`` into a validated ImageDataset. Explicit splits (every entry has one) must
    not share a group, a file or identical pixels; otherwise an automatic stratified split keeps
    each group inside one split, ties images without a group to their byte-identical twins, and
    refuses twins of two different groups that end up in two splits."""
    from . import leakage, splitting

    where = [e.where or str(e.path) for e in entries]
    paths = [str(e.path) for e in entries]
    groups = [e.group for e in entries]
    labels = np.array([e.label for e in entries], dtype=np.int64)
    explicit = bool(entries) and all(e.split for e in entries)
    unit = "patients" if groups_by else "images"
    note = f" ({groups_by})" if groups_by else ""
    if explicit:
        splits = [e.split for e in entries]
        leakage.check_groups_disjoint(splits, groups, where, origin, "patient" if groups_by else "group")
        leakage.check_files_disjoint(splits, paths, where, origin)
    else:
        # before any file is read: enough groups per class for three splits
        splitting.check_enough(labels, splitting.group_ids(groups, len(entries)), class_names, origin, unit, note)
    digests: list[str] = []
    images = load_stack([e.path for e in entries], image_size, channels, window, digests)
    info = {"root": origin}
    if explicit:
        leakage.check_pixels_disjoint(splits, paths, where, digests, origin)
    else:
        tied, twins = leakage.tie_groups(groups, digests)
        if twins:
            info["identical_images"] = twins
            splitting.check_enough(labels, tied, class_names, origin, unit,
                                   note + " once byte-identical images are tied together")
        idx = splitting.split_indices(labels, tied, seed, class_names=class_names, origin=origin)
        splits = [""] * len(entries)
        for s, part in idx.items():
            for i in part.tolist():
                splits[i] = s
        # twins in two named groups may still have parted: refuse that, naming both files
        leakage.check_files_disjoint(splits, paths, where, origin)
        leakage.check_pixels_disjoint(splits, paths, where, digests, origin)
    if groups_by:
        info["groups_by"] = groups_by
    out = {}
    for s in SPLITS:
        part = [i for i, t in enumerate(splits) if t == s]
        if not part:
            raise GenmixError(f"{origin}: split '{s}' has no images")
        index = torch.tensor(part, dtype=torch.long)
        out[s] = Split(s, images[index], torch.from_numpy(labels[part]), [paths[i] for i in part],
                       [groups[i] for i in part] if groups_by else None)
    return ImageDataset(spec, class_names, out, info=info).validate(origin)
