"""``synthetic:<dir>``: a folder written by ``genmix synthesize`` (read through its manifest).

It holds a training pool only: ``ImageDataset.splits`` has a single ``train`` split, and
``info`` records the generator, the dataset and the split (always ``train``) it came from.
"""

from __future__ import annotations

import csv
import json
from pathlib import Path

import torch

from ..errors import GenmixError
from .assemble import load_stack
from .base import ImageDataset, Split


def load_synthetic(path) -> ImageDataset:
    root = Path(path)
    info_p, man = root / "synth.json", root / "manifest.csv"
    if not info_p.is_file() or not man.is_file():
        raise GenmixError(f"{root}: not a synthetic set (no synth.json/manifest.csv; write one with genmix synthesize)")
    try:
        info = json.loads(info_p.read_text())
    except json.JSONDecodeError as exc:
        raise GenmixError(f"{info_p}: unreadable ({exc})") from None
    if info.get("source_split") != "train":
        raise GenmixError(f"{root}: synthesised from split '{info.get('source_split')}', not 'train'; refusing it")
    with open(man, newline="") as f:
        rows = list(csv.DictReader(f))
    names = info["class_names"]
    paths, labels = [], []
    base = root.resolve()
    for i, r in enumerate(rows, start=2):
        if r.get("source_split") != "train":
            raise GenmixError(f"{man}: line {i}: image from split '{r.get('source_split')}', not 'train'")
        p = (base / r["path"]).resolve()
        if not p.is_relative_to(base):
            raise GenmixError(f"{man}: line {i}: path '{r['path']}' escapes {base}")
        lab = int(r["label"])
        if not 0 <= lab < len(names):
            raise GenmixError(f"{man}: line {i}: unknown label {lab}")
        paths.append(p)
        labels.append(lab)
    if not paths:
        images = torch.zeros(0, info["channels"], info["image_size"], info["image_size"], dtype=torch.uint8)
    else:
        images = load_stack(paths)
    split = Split("train", images, torch.tensor(labels, dtype=torch.long), [str(p) for p in paths])
    return ImageDataset(f"synthetic:{path}", list(names), {"train": split},
                        info={**info, "synthetic": True, "dir": str(root)})
