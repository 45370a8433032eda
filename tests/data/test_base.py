"""genmix.data.base helpers."""

import torch

from genmix.data.base import is_colour, resize_uint8


def test_greyscale_stored_as_rgb_is_not_colour():
    g = torch.Generator().manual_seed(0)
    grey = torch.randint(0, 256, (5, 1, 8, 8), dtype=torch.uint8, generator=g)
    rgb_grey = resize_uint8(grey, channels=3)
    assert rgb_grey.shape == (5, 3, 8, 8) and not is_colour(grey) and not is_colour(rgb_grey)
    tinted = rgb_grey.clone()
    tinted[3, 2, 4, 5] ^= 1  # one pixel of one image differs in one channel
    assert is_colour(tinted)
