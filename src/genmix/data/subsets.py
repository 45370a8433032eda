"""Derived subsets: chosen classes drawn at fixed per-split counts with a seed.

A subset is a config ``{base, classes, names, counts: {split: [n per class]}, seed}``; named
ones ship here. ``organamnist-fll3`` mirrors the GenMix paper's liver-lesion counts on real CT:
OrganAMNIST liver (cyst role) / pancreas (hemangioma role) / spleen (metastasis role).
"""

from __future__ import annotations

import torch

from ..errors import GenmixError
from .base import SPLITS, ImageDataset

NAMED = {
    "organamnist-fll3": {
        "base": "medmnist:organamnist",
        "classes": [6, 9, 10],
        "names": ["liver", "pancreas", "spleen"],
        "counts": {"train": [433, 70, 178], "val": [115, 30, 157], "test": [128, 30, 149]},
        "seed": 0,
    },
}


def derive_subset(base: ImageDataset, classes: list[int], counts: dict, seed: int = 0,
                  names: list[str] | None = None, spec: str | None = None) -> ImageDataset:
    """Draw ``counts[split][i]`` images of base class ``classes[i]`` (without replacement, seeded);
    labels become 0..len(classes)-1."""
    names = names or [base.class_names[c] for c in classes]
    out = {}
    for si, split in enumerate(SPLITS):
        s = base[split]
        g = torch.Generator().manual_seed(seed * 1000 + si)
        picks, labels = [], []
        for new, (c, n) in enumerate(zip(classes, counts[split])):
            pool = torch.nonzero(s.labels == c).flatten()
            if len(pool) < n:
                raise GenmixError(f"{base.spec}: split '{split}' has {len(pool)} images of class "
                                  f"{base.class_names[c]}, subset asks for {n}")
            picks.append(pool[torch.randperm(len(pool), generator=g)[:n]].sort().values)
            labels.append(torch.full((n,), new))
        index = torch.cat(picks)
        sub = s.subset(index)
        if sub.sources is None:  # trace each image to the base set (see split_manifest.pseudo_paths)
            sub.sources = [f"{base.spec}/{split}/{i:06d}" for i in index.tolist()]
        sub.labels = torch.cat(labels)
        out[split] = sub
    return ImageDataset(spec or f"subset:{base.spec}", names, out, info={"base": base.spec, "seed": seed})
