"""A toy two-class image distribution: class 0 dark with a bright left bar, class 1 bright with a dark
right bar, both with pixel noise. Small enough to learn in seconds."""

import torch

from genmix.data.base import ImageDataset, Split


def toy_images(n, label, size=16, seed=0):
    g = torch.Generator().manual_seed(seed * 10 + label)
    x = torch.full((n, 1, size, size), 0.25 if label == 0 else 0.75)
    if label == 0:
        x[..., :, 2:5] = 0.9
    else:
        x[..., :, size - 5:size - 2] = 0.1
    x = x + 0.05 * torch.randn(x.shape, generator=g)
    return x.clamp(0, 1)


def toy_dataset(n=128, size=16):
    splits = {}
    for i, s in enumerate(("train", "val", "test")):
        xs = torch.cat([toy_images(n, 0, size, i), toy_images(n, 1, size, i)])
        ys = torch.cat([torch.zeros(n), torch.ones(n)]).long()
        splits[s] = Split(s, (xs * 255).round().byte(), ys)
    return ImageDataset("toy:bars", ["dark", "bright"], splits)
