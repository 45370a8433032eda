"""Classifier registry. Every model is a ``Classifier``: ``backbone`` -> penultimate features,
``head`` -> logits, so t-SNE and evaluation see the same features.

- ``vgg16``: the GenMix paper's model (torchvision). First conv adapted to the channel count,
  last layer to the class count; max-pools that would shrink a small input below 1x1 are
  dropped, so it runs at 28-64 px as well as 224.
- ``resnet18``: torchvision ResNet-18 (the MedMNIST benchmark model), first conv adapted.
- ``resnet18-cifar``: the same with a 3x3 stride-1 stem and no max-pool (MedMNIST's variant;
  ~8x slower on CPU at 28 px).
- ``smallcnn``: a tiny CNN for tests.
"""

from __future__ import annotations

import os
from pathlib import Path

import torch
from torch import nn

from ..errors import GenmixError, UnavailableInput, one_line

MODELS: dict = {}


def register(name):
    def deco(fn):
        MODELS[name] = fn
        return fn
    return deco


class Classifier(nn.Module):
    def __init__(self, backbone: nn.Module, head: nn.Linear):
        super().__init__()
        self.backbone, self.head = backbone, head

    def features(self, x):
        return self.backbone(x)

    def forward(self, x):
        return self.head(self.backbone(x))


# ImageNet statistics, applied inside the model so images stay in [0,1] everywhere else
class _Normalize(nn.Module):
    def __init__(self, channels):
        super().__init__()
        mean = torch.tensor([0.485, 0.456, 0.406]) if channels == 3 else torch.full((channels,), 0.449)
        std = torch.tensor([0.229, 0.224, 0.225]) if channels == 3 else torch.full((channels,), 0.226)
        self.register_buffer("mean", mean.view(1, -1, 1, 1), persistent=False)
        self.register_buffer("std", std.view(1, -1, 1, 1), persistent=False)

    def forward(self, x):
        return (x - self.mean) / self.std


def _adapt_conv(conv: nn.Conv2d, channels: int, **overrides) -> nn.Conv2d:
    """A copy of ``conv`` taking ``channels`` inputs; pretrained RGB weights are summed (1 channel)
    or tiled and rescaled (other counts), as timm's adapt_input_conv does."""
    kw = dict(in_channels=channels, out_channels=conv.out_channels, kernel_size=conv.kernel_size,
              stride=conv.stride, padding=conv.padding, bias=conv.bias is not None)
    kw.update(overrides)
    new = nn.Conv2d(**kw)
    if channels != conv.in_channels or overrides:
        if not overrides:
            w = conv.weight.data
            if channels == 1:
                new.weight.data = w.sum(1, keepdim=True)
            else:
                reps = -(-channels // w.shape[1])
                new.weight.data = w.repeat(1, reps, 1, 1)[:, :channels] * (w.shape[1] / channels)
            if conv.bias is not None:
                new.bias.data = conv.bias.data.clone()
        return new
    return conv


def _weights_file(weights_enum) -> Path:
    from torch.hub import get_dir

    return Path(get_dir()) / "checkpoints" / os.path.basename(weights_enum.url)


# the parameters of each torchvision model that a genmix backbone file does not carry (its head)
_HEADS = {"resnet18": ("fc.weight", "fc.bias"), "vgg16": ("classifier.6.weight", "classifier.6.bias")}
_FIRST_CONV = {"resnet18": "conv1", "vgg16": "features.0"}


def load_backbone_file(model: nn.Module, path, name: str) -> None:
    """Load a ``genmix pretrain-classifier`` file into the torchvision ``model`` (``name``):
    every backbone weight, the head left as initialised. Its first conv is first shaped to the
    file's channel count; the caller adapts it to the data's afterwards."""
    from ..checkpoint import load_state
    from ..pretrained import backbone_config

    cfg = backbone_config(path)
    if cfg is None:
        raise GenmixError(f"{path}: not a genmix classifier backbone (write one with genmix pretrain-classifier)")
    if name not in _HEADS:
        raise GenmixError(f"{path}: a backbone file loads into {' or '.join(_HEADS)}, not {name}")
    if cfg["model"] != name:
        raise GenmixError(f"{path}: a {cfg['model']} backbone cannot load into {name}")
    prefix = "backbone.1."  # Classifier.backbone = Sequential(_Normalize, torchvision model)
    sd = {k[len(prefix):]: v for k, v in load_state(path)["model"].items() if k.startswith(prefix)}
    first = _FIRST_CONV[name]
    c0 = sd[f"{first}.weight"].shape[1]
    if c0 != model.get_submodule(first).in_channels:
        parent, _, attr = first.rpartition(".")
        holder = model.get_submodule(parent) if parent else model
        conv = model.get_submodule(first)
        new = nn.Conv2d(c0, conv.out_channels, conv.kernel_size, conv.stride, conv.padding, bias=conv.bias is not None)
        if isinstance(holder, nn.Sequential):
            holder[int(attr)] = new
        else:
            setattr(holder, attr, new)
    missing, unexpected = model.load_state_dict(sd, strict=False)
    if unexpected or set(missing) != set(_HEADS[name]):
        raise GenmixError(f"{path}: weights do not fit {name} (missing {sorted(set(missing) - set(_HEADS[name]))[:3]}, "
                          f"unexpected {sorted(unexpected)[:3]})")


def load_pretrained(model: nn.Module, weights_enum, pretrained, name: str | None = None) -> None:
    """``pretrained``: True (torchvision weights from the local torch cache), a torchvision
    weights file, or a genmix backbone file (``.safetensors``, genmix pretrain-classifier)."""
    path = _weights_file(weights_enum) if pretrained is True else Path(pretrained)
    if path.suffix == ".safetensors" and path.is_file():
        return load_backbone_file(model, path, name)
    if not path.is_file():
        raise UnavailableInput(
            f"{path}: ImageNet weights not found. Download {weights_enum.url} into "
            f"{path.parent} (torchvision does this when online: torchvision.models.get_weight('"
            f"{weights_enum}').get_state_dict()), or pass --pretrained FILE")
    try:
        sd = torch.load(path, map_location="cpu", weights_only=True)
    except Exception as exc:
        raise GenmixError(f"{path}: {_refusal(exc)}") from None
    if isinstance(sd, dict) and "state_dict" in sd:
        sd = sd["state_dict"]
    try:
        model.load_state_dict(sd)
    except RuntimeError as exc:
        raise GenmixError(f"{path}: weights do not fit {type(model).__name__} ({one_line(exc)})") from None


def _refusal(exc: Exception) -> str:
    """torch's weights-only refusal spans many lines and suggests turning the protection off;
    genmix says what the file holds instead (and never loads arbitrary pickled objects)."""
    import re

    from ..errors import one_line

    text = str(exc)
    if "Weights only load failed" in text:
        found = re.search(r"Unsupported global: GLOBAL ([\w.]+)", text) or re.search(r"Unsupported operand \d+", text)
        what = f" ({found.group(1) if found.groups() else found.group(0)})" if found else ""
        return (f"holds pickled Python objects{what}, not only tensors; genmix loads plain weight files only "
                "(a state_dict of tensors, .pth or .safetensors)")
    return f"unreadable weights file ({one_line(exc)})"


@register("vgg16")
def vgg16(num_classes: int, channels: int = 1, image_size: int = 64, pretrained=False) -> Classifier:
    from torchvision.models import VGG16_Weights
    from torchvision.models import vgg16 as tv_vgg16

    m = tv_vgg16(weights=None)
    if pretrained:
        load_pretrained(m, VGG16_Weights.IMAGENET1K_V1, pretrained, "vgg16")
    m.features[0] = _adapt_conv(m.features[0], channels)
    size = image_size
    for i, layer in enumerate(m.features):
        if isinstance(layer, nn.MaxPool2d):
            if size // 2 >= 1:
                size //= 2
            else:
                m.features[i] = nn.Identity()
    last = m.classifier[-1]
    head = nn.Linear(last.in_features, num_classes)
    m.classifier[-1] = nn.Identity()
    return Classifier(nn.Sequential(_Normalize(channels), m), head)


def _resnet18(num_classes, channels, pretrained, cifar):
    from torchvision.models import ResNet18_Weights
    from torchvision.models import resnet18 as tv_resnet18

    m = tv_resnet18(weights=None)
    if pretrained:
        if cifar and str(pretrained).endswith(".safetensors"):
            raise GenmixError(f"{pretrained}: a genmix backbone loads into resnet18 or vgg16, not resnet18-cifar")
        load_pretrained(m, ResNet18_Weights.IMAGENET1K_V1, pretrained, "resnet18")
    if cifar:
        m.conv1 = _adapt_conv(m.conv1, channels, kernel_size=3, stride=1, padding=1)
        m.maxpool = nn.Identity()
    else:
        m.conv1 = _adapt_conv(m.conv1, channels)
    head = nn.Linear(m.fc.in_features, num_classes)
    m.fc = nn.Identity()
    return Classifier(nn.Sequential(_Normalize(channels), m), head)


@register("resnet18")
def resnet18(num_classes: int, channels: int = 1, image_size: int = 28, pretrained=False) -> Classifier:
    return _resnet18(num_classes, channels, pretrained, cifar=False)


@register("resnet18-cifar")
def resnet18_cifar(num_classes: int, channels: int = 1, image_size: int = 28, pretrained=False) -> Classifier:
    return _resnet18(num_classes, channels, pretrained, cifar=True)


@register("smallcnn")
def smallcnn(num_classes: int, channels: int = 1, image_size: int = 28, pretrained=False) -> Classifier:
    if pretrained:
        raise GenmixError("smallcnn has no pretrained weights")

    def block(i, o):
        return nn.Sequential(nn.Conv2d(i, o, 3, padding=1), nn.BatchNorm2d(o), nn.ReLU(inplace=True),
                             nn.MaxPool2d(2))

    backbone = nn.Sequential(block(channels, 16), block(16, 32), block(32, 64),
                             nn.AdaptiveAvgPool2d(1), nn.Flatten())
    return Classifier(backbone, nn.Linear(64, num_classes))


def create_model(name: str, num_classes: int, channels: int, image_size: int, pretrained=False) -> Classifier:
    if name not in MODELS:
        raise GenmixError(f"unknown model '{name}' (known: {', '.join(MODELS)})")
    return MODELS[name](num_classes=num_classes, channels=channels, image_size=image_size, pretrained=pretrained)
