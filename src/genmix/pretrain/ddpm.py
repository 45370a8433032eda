"""A class-agnostic diffusion model pretrained on a public corpus (the offline stand-in for the
ImageNet diffusion model the paper fine-tunes, its Fig. 2).

The corpus images (every dataset converted to one size and channel count) train genmix's ``ddpm``
generator with a single class and no label dropout, through the shared fit loop (checkpoints,
resume, divergence stop, EMA). The EMA UNet is then exported class-agnostic: its one class
embedding row is folded into the time embedding's bias (the same function, no class input) and
saved with its scheduler as a diffusers ``DDPMPipeline`` folder
(``DDPMPipeline.from_pretrained(MODEL_DIR)`` loads it), with ``genmix.json`` recording the corpus,
exclusions, steps and final loss. ``ddpm`` fine-tunes from it with ``init: MODEL_DIR``.
"""

from __future__ import annotations

import json
from pathlib import Path

import torch

from ..errors import GenmixError


def class_agnostic_unet(unet):
    """A copy of a 1-class (+ null) ``UNet2DModel`` without class embedding, equal to it for label 0."""
    import copy

    u = copy.deepcopy(unet)
    if u.class_embedding is not None:
        with torch.no_grad():
            u.time_embedding.linear_2.bias += u.class_embedding.weight[0]
        u.class_embedding = None
        u.register_to_config(num_class_embeds=None)
    return u


def pretrain_ddpm(specs: list[str], out, exclude: list[str] = (), image_size: int = 28, channels: int = 1,
                  preset: str | None = "quick", overrides: dict | None = None, data_root=None, device="cpu",
                  max_per_dataset: int | None = None, progress: bool = True) -> dict:
    """Pretrain on the corpus and write MODEL_DIR (a DDPMPipeline folder + genmix.json). Returns the metadata."""
    from ..data.base import ImageDataset
    from ..generate import build_generator, resolve_config
    from ..generate.fit import train_generator
    from .classifier import load_corpus, resolve_corpus

    out = Path(out)
    kept, dropped = resolve_corpus(list(specs), list(exclude))
    cfg = resolve_config("ddpm", preset, {**(overrides or {}), "label_dropout": 0.0})
    if cfg.get("init"):
        raise GenmixError("pretrain-ddpm starts from scratch; 'init' is for fine-tuning")
    build_generator("ddpm", cfg, 1, channels, image_size)  # every setting checked before anything loads or writes
    corpus = load_corpus(kept, data_root, image_size, channels, max_per_dataset, int(cfg.get("seed", 0)))
    for s in corpus.splits.values():
        s.labels = torch.zeros_like(s.labels)  # class-agnostic
    ds = ImageDataset(",".join(kept), ["image"], corpus.splits, {"corpus": kept})
    model = train_generator(ds, "ddpm", cfg, out / "training", device, progress=progress)
    unet = class_agnostic_unet(model.sampling_module()).cpu()
    from diffusers import DDPMPipeline

    DDPMPipeline(unet=unet, scheduler=model.scheduler).save_pretrained(out)
    log = (out / "training" / "log.csv").read_text().strip().splitlines()
    last = dict(zip(log[0].split(","), log[-1].split(","))) if len(log) > 1 else {}
    meta = {"kind": "genmix-pretrained-ddpm", "corpus": kept, "excluded_targets": list(exclude),
            "dropped": dropped, "image_size": image_size, "channels": channels, "train_images": len(ds["train"]),
            "steps": model_steps(out), "final_loss": float(last["loss"]) if "loss" in last else None,
            "config": json.loads((out / "training" / "generator.json").read_text())["config"]}
    (out / "genmix.json").write_text(json.dumps(meta, indent=2))
    return meta


def model_steps(out) -> int:
    return int(json.loads((Path(out) / "training" / "generator.json").read_text())["config"]["steps"])
