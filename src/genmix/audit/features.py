"""The audit's feature encoder: domain features without any hub download.

Two sources, stated in the audit's output:

- ``trained`` (default): a classifier (``resnet18`` or ``smallcnn`` from :mod:`genmix.classify`)
  trained briefly, seeded, on the real training split and cached in its own folder; its
  penultimate layer (``Classifier.features``) is the feature space. The same classifier is the
  real-train classifier of GAN-test (see :mod:`genmix.audit.class_fidelity`).
- ``file``: a backbone file (``--features FILE``, loaded exactly as ``--pretrained FILE`` is,
  e.g. one written by ``genmix pretrain-classifier``); its penultimate features, no training.

The real-train classifier selects its epoch on its own training split (never on validation or
test), so the validation split stays an honest evaluation set for GAN-train and its floor.
"""

from __future__ import annotations

import hashlib
from dataclasses import asdict
from pathlib import Path

import torch

from ..errors import GenmixError

ENCODER_MODELS = ("resnet18", "smallcnn", "resnet18-cifar", "vgg16")


def split_fingerprint(split) -> str:
    h = hashlib.sha256()
    h.update(split.images.numpy().tobytes())
    h.update(split.labels.numpy().tobytes())
    return h.hexdigest()[:16]


def fit_classifier(train, evaluate, class_names, cache_dir, device, model="resnet18", epochs=10, seed=0,
                   batch_size=32, lr=1e-3, tag="audit", progress=False):
    """Train ``model`` on the Split ``train`` (epoch chosen on ``train`` itself), cached in
    ``cache_dir/<tag>-<hash of settings and image content>`` so that audits sharing a cache train
    each classifier once. ``evaluate`` is the Split its final test metrics are written for.
    Audits running at the same time (graph units in other processes) take a file lock on that
    folder: one trains, the others wait and load it. Returns the loaded model (eval mode) and its
    settings.
    """
    from filelock import FileLock

    from ..checkpoint import config_hash
    from ..classify.train import TrainConfig, load_model, train_classifier
    from ..data.base import ImageDataset

    if model not in ENCODER_MODELS:
        raise GenmixError(f"unknown encoder model '{model}' (known: {', '.join(ENCODER_MODELS)})")
    if epochs < 1:
        raise GenmixError("encoder epochs must be >= 1")
    # data names the content, so a cached classifier is reused only for the same images
    cfg = TrainConfig(data=f"{tag}:{split_fingerprint(train)}", model=model, epochs=epochs, batch_size=batch_size,
                      lr=lr, schedule="cosine", patience=epochs + 1, seed=seed).validate()
    ds = ImageDataset(cfg.data, list(class_names), {"train": train, "val": train, "test": evaluate})
    out_dir = Path(cache_dir) / f"{tag.split(':')[0]}-{config_hash([asdict(cfg), split_fingerprint(evaluate)])}"
    out_dir.parent.mkdir(parents=True, exist_ok=True)
    with FileLock(out_dir.with_name(out_dir.name + ".lock")):
        train_classifier(ds, cfg, out_dir, device, progress=progress)
        net, _ = load_model(out_dir, device)
    net.eval()
    return net, asdict(cfg)


def load_backbone(path, model, num_classes, channels, image_size, device):
    """A backbone from a weights file, loaded like ``--pretrained FILE``."""
    from ..classify.models import create_model

    p = Path(path)
    if not p.is_file():
        raise GenmixError(f"{p}: features file not found")
    try:
        net = create_model(model, num_classes, channels, image_size, pretrained=str(p)).to(device)
    except GenmixError as exc:  # torch's load errors run over several lines: keep the first
        lines = str(exc).splitlines()
        raise GenmixError(lines[0] + (" ...)" if len(lines) > 1 else "")) from None
    net.eval()
    return net


@torch.no_grad()
def extract(net, images: torch.Tensor, device, batch_size: int = 256) -> torch.Tensor:
    """Penultimate features (N, D) float64 of float images (N,C,H,W) in [0,1]."""
    net.eval()
    out = [net.features(images[i:i + batch_size].to(device)).double().cpu() for i in range(0, len(images), batch_size)]
    return torch.cat(out) if out else torch.zeros(0, 0, dtype=torch.float64)


@torch.no_grad()
def predict_labels(net, images: torch.Tensor, device, batch_size: int = 256) -> torch.Tensor:
    net.eval()
    out = [net(images[i:i + batch_size].to(device)).argmax(1).cpu() for i in range(0, len(images), batch_size)]
    return torch.cat(out) if out else torch.zeros(0, dtype=torch.long)
