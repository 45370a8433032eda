"""What genmix-pretrained artefacts record, read without loading any model.

Shared by their writers (``genmix.pretrain``) and their users (``genmix.classify`` loads backbone
files, ``genmix.generate.textual_inversion`` and ``genmix.experiment`` load text-to-image folders),
so neither side imports the other for it:

- a classifier backbone file (``genmix pretrain-classifier``): a genmix checkpoint (.safetensors)
  whose ``config`` entry has ``kind == BACKBONE_KIND``;
- a text-to-image model folder (``genmix pretrain-t2i``): a diffusers folder with ``T2I_METADATA``
  (genmix.json) recording its corpus.
"""

from __future__ import annotations

import json
from pathlib import Path

from .errors import GenmixError

BACKBONE_KIND = "genmix-classifier-backbone"
T2I_METADATA = "genmix.json"


def backbone_config(path) -> dict | None:
    """The config of a genmix backbone file (header only), or None when ``path`` is not one."""
    from .checkpoint import load_entry

    p = Path(path)
    if p.suffix != ".safetensors" or not p.is_file():
        return None
    cfg = load_entry(p, "config")
    return cfg if isinstance(cfg, dict) and cfg.get("kind") == BACKBONE_KIND else None


def check_backbone(path, data_spec: str) -> None:
    """Refuse (GenmixError) a backbone file whose corpus shares a source with ``data_spec``."""
    from .corpus import check_disjoint

    cfg = backbone_config(path)
    if cfg is not None:
        check_disjoint(list(cfg.get("corpus", [])), data_spec, model=f"{path}")


def check_pretrained(pretrained, target: str, what: str = "pretrained model") -> None:
    """Refuse a genmix-pretrained model folder whose recorded corpus shares a source with ``target``.
    Hub ids and folders without genmix metadata pass unchecked."""
    from .corpus import check_disjoint

    if not isinstance(pretrained, str):
        return
    meta = Path(pretrained) / T2I_METADATA
    if not meta.is_file():
        return
    try:
        corpus = json.loads(meta.read_text())["corpus"]
    except (json.JSONDecodeError, KeyError, TypeError) as exc:
        raise GenmixError(f"{meta}: unreadable genmix metadata ({type(exc).__name__}: {exc})") from None
    check_disjoint(list(corpus), target, f"{what} ({meta})")
