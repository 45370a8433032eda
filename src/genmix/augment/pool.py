"""Real ∪ synthetic training pools at a ratio (shared by the synthetic and genmix plug-ins)."""

from __future__ import annotations

import torch

from ..data.base import Split
from ..errors import GenmixError


def synthetic_counts(real_counts: list[int], ratio: float) -> list[int]:
    """Per-class synthetic counts with synthetic / (real + synthetic) = ratio."""
    if not 0 <= ratio < 1:
        raise GenmixError(f"ratio must be in [0, 1), got {ratio}")
    return [int(round(ratio / (1 - ratio) * n)) for n in real_counts]


def build_pool(real: Split, synth_dir: str, num_classes: int, ratio: float | None, generator: torch.Generator,
               source_spec: str | None = None) -> tuple[Split, torch.Tensor]:
    """Real images plus, per class, enough synthetic images (drawn without replacement) to reach
    ``ratio``. Returns the pool and a bool mask of its synthetic members."""
    from ..data import same_dataset
    from ..data.synthetic import load_synthetic

    syn = load_synthetic(synth_dir)
    s = syn["train"]
    where = syn.info.get("dir", synth_dir)
    if syn.num_classes != num_classes:
        raise GenmixError(f"{where}: synthetic set has {syn.num_classes} classes, the data has {num_classes}")
    made_from = syn.info.get("source_dataset")
    if source_spec is not None and made_from is not None and not same_dataset(made_from, source_spec):
        raise GenmixError(f"{where}: synthesised from '{syn.info['source_dataset']}', but training uses "
                          f"'{source_spec}'")
    if len(s) and s.images.shape[1:] != real.images.shape[1:]:
        raise GenmixError(f"{where}: synthetic images are {tuple(s.images.shape[1:])}, real ones "
                          f"{tuple(real.images.shape[1:])} (C,H,W)")
    have = s.counts(num_classes)
    want = have if ratio is None else synthetic_counts(real.counts(num_classes), ratio)  # None: all of them
    picks = []
    for c, (w, h) in enumerate(zip(want, have)):
        if w > h:
            raise GenmixError(f"{where}: ratio {ratio} needs {w} synthetic images of class "
                              f"'{syn.class_names[c]}', the set has {h}")
        idx = torch.nonzero(s.labels == c).flatten()
        picks.append(idx[torch.randperm(len(idx), generator=generator)[:w]])
    chosen = s.subset(torch.cat(picks)) if picks else s.subset([])
    pool = Split("train", torch.cat([real.images, chosen.images]), torch.cat([real.labels, chosen.labels]))
    mask = torch.cat([torch.zeros(len(real), dtype=torch.bool), torch.ones(len(chosen), dtype=torch.bool)])
    return pool, mask
