"""A classifier backbone pretrained, supervised, on a public image corpus (the offline stand-in
for the paper's ImageNet-pretrained classifier).

The corpus is the union of several labelled datasets: every image converted to 3 channels (gray
replicated) and one size, each dataset's labels offset into one label space (class
``"<spec>/<name>"``). A torchvision ``resnet18`` or ``vgg16`` (genmix's ``Classifier``) is trained
with cross-entropy, Adam and a cosine schedule; held-out corpus images (the datasets' own
validation splits) measure it after every epoch, and ``keep="best"`` writes the epoch they rank first
(the number of epochs chosen on held-out corpus images, never on the target). The file is a genmix checkpoint (safetensors): the state_dict and a
config (kind, model, channels, image size, corpus, exclusions, epochs, final loss/accuracy) in
its metadata. ``train-classifier --pretrained FILE`` loads the backbone (models.py) and
``corpus.check_disjoint`` refuses it for data that shares a source with its corpus.
"""

from __future__ import annotations

import math
import sys
import time
from pathlib import Path

import torch
import torch.nn.functional as F

from ..errors import GenmixError
from ..optim import adam
from ..pretrained import BACKBONE_KIND as KIND
from ..pretrained import backbone_config, check_backbone  # noqa: F401  (re-exported: this module's public API)

MODELS = ("resnet18", "vgg16", "smallcnn")  # smallcnn: tests and quick checks; it loads nowhere


def load_corpus(specs: list[str], data_root=None, image_size: int = 28, channels: int = 3,
                max_per_dataset: int | None = None, seed: int = 0):
    """The union of ``specs`` as one ImageDataset (train/val/test concatenated per split), labels
    offset per dataset. ``max_per_dataset`` caps each dataset's training images (a seeded draw), and
    its validation/test images at a quarter of that."""
    from ..data import load_dataset
    from ..data.base import ImageDataset, Split

    if not specs:
        raise GenmixError("pretraining corpus is empty")
    names, parts = [], {"train": [], "val": [], "test": []}
    g = torch.Generator().manual_seed(seed)
    for spec in specs:
        ds = load_dataset(spec, data_root, image_size, channels)
        off = len(names)
        names += [f"{spec}/{c}" for c in ds.class_names]
        for split in parts:
            s = ds[split]
            cap = max_per_dataset if split == "train" else max(1, (max_per_dataset or 0) // 4)
            if max_per_dataset and len(s) > cap:
                s = s.subset(torch.randperm(len(s), generator=g)[:cap].sort().values)
            parts[split].append((s.images, s.labels + off))
    splits = {k: Split(k, torch.cat([p[0] for p in v]), torch.cat([p[1] for p in v])) for k, v in parts.items()}
    return ImageDataset(",".join(specs), names, splits, {"corpus": list(specs)})


def resolve_corpus(specs: list[str], exclude: list[str]) -> tuple[list[str], list[str]]:
    """(kept, dropped): the specs sharing no source with any excluded target, and the others."""
    from ..corpus import allowed_corpus

    kept = list(specs)
    for target in exclude:
        kept = allowed_corpus(target, kept)
    dropped = [s for s in specs if s not in kept]
    if not kept:
        raise GenmixError(f"pretraining corpus {','.join(specs)}: nothing left after excluding "
                          f"{','.join(exclude)} (every dataset shares its source)")
    return kept, dropped


def pretrain_classifier(specs: list[str], out, model: str = "resnet18", exclude: list[str] = (),
                        epochs: int = 5, image_size: int = 28, batch_size: int = 128, lr: float = 1e-3,
                        seed: int = 0, data_root=None, device="cpu", max_per_dataset: int | None = None,
                        keep: str = "last", progress: bool = True) -> dict:
    """Train a backbone on the corpus and write it to ``out`` (.safetensors). Returns its config.
    ``keep``: "last" writes the final epoch's weights, "best" those of the epoch with the best held-out accuracy."""
    from ..classify.models import create_model

    out = Path(out)
    check_settings(model, out, keep, epochs, batch_size, lr)
    kept, dropped = resolve_corpus(list(specs), list(exclude))
    ds = load_corpus(kept, data_root, image_size, 3, max_per_dataset, seed)
    torch.manual_seed(seed)
    net = create_model(model, ds.num_classes, 3, image_size).to(device)
    opt = adam(net.parameters(), lr=lr)
    train = ds["train"]
    n = len(train)
    steps_per_epoch = max(1, n // batch_size)  # drop the ragged last batch (BatchNorm)
    total = epochs * steps_per_epoch
    sched = torch.optim.lr_scheduler.LambdaLR(opt, lambda s: 0.5 * (1 + math.cos(math.pi * min(s, total) / total)))
    g = torch.Generator().manual_seed(seed + 1)
    history, best = [], None
    t0 = time.perf_counter()
    for epoch in range(epochs):
        order = torch.randperm(n, generator=g)[:steps_per_epoch * batch_size]  # the ragged last batch dropped
        train_loss, train_acc = train_epoch(net, opt, sched, train, order.split(batch_size), device, epoch)
        val_acc = accuracy(net, ds["val"], device)
        if best is None or val_acc > best[1]:
            best = (epoch + 1, val_acc, {k: v.detach().cpu().clone() for k, v in net.state_dict().items()}
                    if keep == "best" else None)
        history.append({"epoch": epoch + 1, "train_loss": round(train_loss, 5), "train_acc": round(train_acc, 5),
                        "val_acc": round(val_acc, 5)})
        if progress:
            print(f"epoch {epoch + 1}/{epochs} train_loss {train_loss:.4f} train_acc {train_acc:.4f} "
                  f"val_acc {val_acc:.4f} ({time.perf_counter() - t0:.0f}s)", file=sys.stderr)
    chosen = best[0] if keep == "best" else epochs
    if keep == "best":
        net.load_state_dict(best[2])
    config = {"kind": KIND, "model": model, "channels": 3, "image_size": image_size, "corpus": kept,
              "excluded_targets": list(exclude), "dropped": dropped, "class_names": ds.class_names,
              "train_images": n, "epochs": epochs, "batch_size": batch_size, "lr": lr, "seed": seed,
              "max_per_dataset": max_per_dataset, "final_train_loss": history[-1]["train_loss"],
              "final_train_acc": history[-1]["train_acc"], "final_val_acc": history[-1]["val_acc"],
              "keep": keep, "chosen_epoch": chosen, "chosen_val_acc": history[chosen - 1]["val_acc"],
              "history": history, "wall_s": round(time.perf_counter() - t0, 1)}
    save_backbone(out, net, config)
    return config


def check_settings(model: str, out: Path, keep: str, epochs: int, batch_size: int, lr: float) -> None:
    """One-line errors for settings pretraining cannot use."""
    if model not in MODELS:
        raise GenmixError(f"pretrain-classifier: model must be one of {', '.join(MODELS)}, not {model!r}")
    if out.suffix != ".safetensors":
        raise GenmixError(f"{out}: the backbone file must end in .safetensors")
    if keep not in ("last", "best"):
        raise GenmixError(f"pretrain-classifier: keep must be 'last' or 'best', not {keep!r}")
    if epochs < 1 or batch_size < 1 or lr <= 0:
        raise GenmixError("pretrain-classifier: epochs and batch size must be >= 1, lr > 0")


def train_epoch(net, opt, sched, train, batches, device, epoch: int) -> tuple[float, float]:
    """One pass of cross-entropy steps over ``batches`` (index tensors into ``train``): (mean loss, accuracy)."""
    net.train()
    tot, cnt, correct = 0.0, 0, 0
    for idx in batches:
        x, y = train.batch(idx)
        x, y = x.to(device), y.to(device)
        logits = net(x)
        loss = F.cross_entropy(logits, y)
        if not torch.isfinite(loss):
            raise GenmixError(f"pretrain-classifier diverged (loss {loss.item()}) in epoch {epoch + 1}; lower --lr")
        opt.zero_grad(set_to_none=True)
        loss.backward()
        opt.step()
        sched.step()
        tot += float(loss.detach()) * len(y)
        cnt += len(y)
        correct += int((logits.argmax(1) == y).sum())
    return tot / cnt, correct / cnt


def save_backbone(path, net, config: dict) -> None:
    """Write a backbone file: the Classifier's state_dict and ``config`` (``kind`` set)."""
    from ..checkpoint import save_state

    save_state(path, {"model": {k: v.cpu() for k, v in net.state_dict().items()}, "config": {**config, "kind": KIND}})


@torch.no_grad()
def accuracy(net, split, device, batch_size: int = 512) -> float:
    net.eval()
    correct = 0
    for i in range(0, len(split), batch_size):
        x, y = split.batch(torch.arange(i, min(i + batch_size, len(split))))
        correct += int((net(x.to(device)).argmax(1).cpu() == y).sum())
    return correct / max(len(split), 1)
