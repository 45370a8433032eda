"""Datasets: one spec string everywhere.

- ``medmnist:<flag>[@size]``   MedMNIST 2-D sets, official splits
- ``folder:<path>``            one sub-folder per class (optionally under train/ val/ test/);
                               a sub-folder inside a class folder is a patient (group)
- ``csv:<path>``               manifest path,label[,split][,group]

Automatic splits are stratified and patient-grouped; leakage between splits is refused
(see ``splitting`` and ``leakage``); ``write_split_manifest`` writes the resolved split.
- ``simulated:fll[@size]``     embedded simulated focal-liver-lesion CT patches (not real data)
- ``synthetic:<dir>``          a folder written by ``genmix synthesize`` (reads its manifest)
- ``organamnist-fll3``, ``pneumoniamnist-small``, ``bloodmnist-small`` (or ``named:<name>``)
                               shipped derived subsets (``subsets.NAMED``)
- ``subset:<file.yaml>``       a derived subset: base, classes, counts, seed
"""

from __future__ import annotations

from pathlib import Path

from ..errors import GenmixError
from .base import SPLITS, ImageDataset, Split, resize_uint8, to_uint8

__all__ = ["load_dataset", "parse_spec", "canonical_spec", "same_dataset", "ImageDataset", "Split", "SPLITS", "to_uint8", "write_split_manifest"]

def write_split_manifest(ds: ImageDataset, path) -> Path:
    """Write ``path,label,split,group`` for every image of ``ds`` to ``path`` (atomically)."""
    from .split_manifest import write_split_manifest as write

    return write(ds, path)


KINDS = ("medmnist", "folder", "csv", "simulated", "synthetic", "named", "subset")


def parse_spec(spec: str) -> tuple[str, str, int | None]:
    """``kind:value[@size]`` -> (kind, value, size)."""
    if not isinstance(spec, str) or not spec.strip():
        raise GenmixError("empty dataset spec")
    spec = spec.strip()
    from .subsets import NAMED

    if spec in NAMED:
        return "named", spec, None
    if ":" not in spec:
        raise GenmixError(f"{spec}: not a dataset spec (expected one of {', '.join(k + ':' for k in KINDS)} "
                          f"or a named set: {', '.join(NAMED)})")
    kind, value = spec.split(":", 1)
    if kind not in KINDS:
        raise GenmixError(f"{spec}: unknown dataset kind '{kind}' (known: {', '.join(KINDS)})")
    size = None
    if kind in ("medmnist", "simulated", "named") and "@" in value:
        value, s = value.rsplit("@", 1)
        if not s.isdigit():
            raise GenmixError(f"{spec}: size after '@' must be an integer")
        size = int(s)
    return kind, value, size


def canonical_spec(spec: str) -> str:
    """One spelling per dataset: a path kind's path resolved (``folder:DIR/``, ``folder:./DIR`` and
    ``folder:/abs/DIR`` are one folder), a MedMNIST flag lower-cased with its default size dropped
    (``medmnist:BreastMNIST@28`` is ``medmnist:breastmnist``), a named set without ``named:``."""
    kind, value, size = parse_spec(spec)
    if kind in ("folder", "csv", "synthetic", "subset"):
        return f"{kind}:{Path(value).expanduser().resolve()}"
    if kind == "medmnist":
        value, size = value.lower(), None if size == 28 else size
    if kind == "named":
        return value + (f"@{size}" if size else "")
    return f"{kind}:{value}" + (f"@{size}" if size else "")


def same_dataset(a: str, b: str) -> bool:
    """Whether two specs name one dataset (see ``canonical_spec``); a spec that does not parse is only
    equal to itself. Paths resolve against the working directory."""
    if a == b:
        return True
    try:
        return canonical_spec(a) == canonical_spec(b)
    except GenmixError:
        return a == b


def load_dataset(spec: str, data_root=None, image_size: int | None = None, channels: int | None = None,
                 window: tuple[float, float] | None = None, download: bool | None = None) -> ImageDataset:
    """Load a dataset spec into memory. ``image_size``/``channels`` convert explicitly."""
    kind, value, size = parse_spec(spec)
    if kind == "medmnist":
        from .medmnist import load_medmnist

        ds = load_medmnist(value, size, data_root, download)
    elif kind == "simulated":
        from .simulated import load_simulated

        ds = load_simulated(value, size)
    elif kind == "folder":
        from .folder import load_folder

        return load_folder(value, image_size, channels, window)
    elif kind == "csv":
        from .manifest import load_manifest

        return load_manifest(value, image_size, channels, window)
    elif kind == "synthetic":
        from .synthetic import load_synthetic

        return load_synthetic(value)  # a training pool: one split, no validation of val/test
    elif kind in ("named", "subset"):
        from .subsets import NAMED, derive_subset

        if kind == "named":
            if value not in NAMED:
                raise GenmixError(f"{spec}: unknown named set (known: {', '.join(NAMED)})")
            cfg = NAMED[value]
        else:
            import yaml

            p = Path(value)
            if not p.is_file():
                raise GenmixError(f"{p}: subset config not found")
            cfg = yaml.safe_load(p.read_text()) or {}
            for key in ("base", "classes", "counts"):
                if key not in cfg:
                    raise GenmixError(f"{p}: subset config lacks '{key}'")
        base = load_dataset(cfg["base"] + (f"@{size}" if size else ""), data_root, download=download)
        ds = derive_subset(base, cfg["classes"], cfg["counts"], cfg.get("seed", 0), cfg.get("names"), spec)
    if image_size is not None or channels is not None:
        for s in ds.splits.values():
            s.images = resize_uint8(s.images, image_size, channels)
    return ds.validate()
