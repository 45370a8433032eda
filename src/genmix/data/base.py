"""In-memory labelled image sets: uint8 (N,C,H,W) per split, converted to float [0,1] per batch."""

from __future__ import annotations

from dataclasses import dataclass, field

import torch
import torch.nn.functional as F

from ..errors import GenmixError

SPLITS = ("train", "val", "test")


@dataclass
class Split:
    name: str
    images: torch.Tensor  # uint8 (N, C, H, W)
    labels: torch.Tensor  # int64 (N,)
    sources: list[str] | None = None  # where each image came from (file path), when known
    groups: list[str] | None = None  # patient id per image ("" = none known), when the source has groups

    def __post_init__(self):
        if self.images.dtype != torch.uint8 or self.images.ndim != 4:
            raise ValueError("Split.images must be uint8 (N,C,H,W)")
        self.labels = self.labels.long().reshape(-1)
        if len(self.labels) != len(self.images):
            raise ValueError("Split.images and Split.labels differ in length")
        for name in ("sources", "groups"):
            v = getattr(self, name)
            if v is not None and len(v) != len(self.labels):
                raise ValueError(f"Split.{name} and Split.labels differ in length")

    def __len__(self) -> int:
        return len(self.labels)

    def batch(self, index) -> tuple[torch.Tensor, torch.Tensor]:
        """Float images in [0,1] and integer labels for ``index``."""
        return self.images[index].float().div_(255.0), self.labels[index]

    def counts(self, num_classes: int) -> list[int]:
        return torch.bincount(self.labels, minlength=num_classes).tolist()

    def subset(self, index) -> Split:
        index = torch.as_tensor(index, dtype=torch.long)
        src = [self.sources[i] for i in index.tolist()] if self.sources else None
        grp = [self.groups[i] for i in index.tolist()] if self.groups else None
        return Split(self.name, self.images[index], self.labels[index], src, grp)

    def group_count(self) -> int:
        """Distinct known groups (patients) in this split; 0 when none are known."""
        return len({g for g in self.groups if g}) if self.groups else 0


@dataclass
class ImageDataset:
    spec: str
    class_names: list[str]
    splits: dict[str, Split]
    info: dict = field(default_factory=dict)

    @property
    def num_classes(self) -> int:
        return len(self.class_names)

    @property
    def channels(self) -> int:
        return int(self.splits["train"].images.shape[1])

    @property
    def image_size(self) -> int:
        return int(self.splits["train"].images.shape[-1])

    def __getitem__(self, split: str) -> Split:
        return self.splits[split]

    def validate(self, origin: str | None = None) -> ImageDataset:
        """Every split present, non-empty, with every class; one image shape throughout."""
        origin = origin or self.spec
        shapes = set()
        for name in SPLITS:
            if name not in self.splits:
                raise GenmixError(f"{origin}: split '{name}' is missing")
            s = self.splits[name]
            if len(s) == 0:
                raise GenmixError(f"{origin}: split '{name}' has no images")
            bad = (s.labels < 0) | (s.labels >= self.num_classes)
            if bad.any():
                raise GenmixError(f"{origin}: unknown label {int(s.labels[bad][0])} in split '{name}'")
            counts = s.counts(self.num_classes)
            for c, n in enumerate(counts):
                if n == 0:
                    raise GenmixError(
                        f"{origin}: class '{self.class_names[c]}' is missing from split '{name}'")
            shapes.add(tuple(s.images.shape[1:]))
        if len(shapes) > 1:
            raise GenmixError(f"{origin}: splits differ in image shape {sorted(shapes)}; "
                              "pass --image-size/--channels to convert explicitly")
        return self

    def describe(self) -> dict:
        """Sizes and class counts per split; ``groups`` (patients) when the source names them:
        ``{"n", "by", "ungrouped_images"}`` overall and ``groups`` per split, else None."""
        grouped = bool(self.info.get("groups_by"))
        splits = {}
        for n, s in self.splits.items():
            splits[n] = {"n": len(s), "counts": dict(zip(self.class_names, s.counts(self.num_classes)))}
            if grouped:
                splits[n]["groups"] = s.group_count()
        groups = None
        if grouped:
            all_groups = [g for s in self.splits.values() for g in (s.groups or [])]
            groups = {"n": len({g for g in all_groups if g}), "by": self.info["groups_by"],
                      "ungrouped_images": sum(1 for s in self.splits.values() for g in (s.groups or [""] * len(s))
                                              if not g)}
        return {
            "spec": self.spec,
            "classes": self.class_names,
            "image_size": self.image_size,
            "channels": self.channels,
            "splits": splits,
            "groups": groups,
            "identical_images": self.info.get("identical_images", 0),
            "repeated_rows": self.info.get("repeated_rows", []),
        }


def is_colour(images: torch.Tensor) -> bool:
    """True when a (N,C,H,W) stack has a pixel whose channels differ (greyscale stored as RGB is not colour)."""
    return images.shape[1] > 1 and bool((images[:, 1:] != images[:, :1]).any())


def resize_uint8(images: torch.Tensor, size: int | None = None, channels: int | None = None) -> torch.Tensor:
    """Explicit conversion of a uint8 (N,C,H,W) stack to ``size`` x ``size`` and ``channels``."""
    x = images
    if channels is not None and x.shape[1] != channels:
        if channels == 1:
            w = torch.tensor([0.299, 0.587, 0.114])[: x.shape[1]]
            x = (x.float() * (w / w.sum()).view(1, -1, 1, 1)).sum(1, keepdim=True).round().clamp(0, 255).byte()
        elif x.shape[1] == 1:
            x = x.expand(-1, channels, -1, -1).contiguous()
        else:
            raise GenmixError(f"cannot convert {x.shape[1]} channels to {channels}")
    if size is not None and tuple(x.shape[-2:]) != (size, size):
        x = F.interpolate(x.float(), size=(size, size), mode="bilinear", antialias=True,
                          align_corners=False).round().clamp(0, 255).byte()
    return x


def to_uint8(x: torch.Tensor) -> torch.Tensor:
    """float [0,1] (B,C,H,W) -> uint8."""
    return (x.clamp(0, 1) * 255).round().byte()
