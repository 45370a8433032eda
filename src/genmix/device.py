"""Choose the device once (CUDA when present) and pass it around."""

import torch


def choose_device(name: str | None = None) -> torch.device:
    if name in (None, "", "auto"):
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    return torch.device(name)
