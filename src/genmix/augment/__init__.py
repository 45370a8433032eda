"""Augmentation plug-ins (one per file), all with the sample-then-apply interface of ``base``."""

from __future__ import annotations

from ..errors import GenmixError
from .base import AugBatch, Augmentation, beta_sample, mix

NAMES = ("none", "mixup", "cutmix", "augmix", "synthetic", "genmix")


def create_augmentation(name: str, **opts) -> Augmentation:
    """Build an augmentation by name; ``opts`` that do not apply to it are ignored."""
    def pick(*keys):
        return {k: opts[k] for k in keys if opts.get(k) is not None}

    if name == "none":
        return Augmentation()
    if name == "mixup":
        from .mixup import MixUp

        return MixUp(**pick("alpha", "per_sample"))
    if name == "cutmix":
        from .cutmix import CutMix

        return CutMix(**pick("alpha"))
    if name == "augmix":
        from .augmix import AugMixAug

        return AugMixAug(**pick("jsd", "jsd_weight", "severity"))
    if name in ("synthetic", "genmix"):
        if not opts.get("synthetic"):
            raise GenmixError(f"--augment {name} needs --synthetic SYNTH_DIR (written by genmix synthesize)")
        ratio = {"ratio": None} if opts.get("ratio") == "all" else pick("ratio")  # all: every synthetic image
        if name == "synthetic":
            from .synthetic import SyntheticBlend

            return SyntheticBlend(opts["synthetic"], **ratio)
        from .genmix import GenMix

        return GenMix(opts["synthetic"], **ratio, **pick("alpha", "per_sample", "epoch"))
    raise GenmixError(f"unknown augmentation '{name}' (known: {', '.join(NAMES)})")


__all__ = ["AugBatch", "Augmentation", "beta_sample", "mix", "create_augmentation", "NAMES"]
