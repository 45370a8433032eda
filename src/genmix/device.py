"""Choose the device once (CUDA when present) and pass it around."""

import torch


def choose_device(name: str | None = None) -> torch.device:
    """``auto`` / None: CUDA when present, else the CPU; any torch device name otherwise. A CUDA device gets
    TF32 matmuls and convolutions (:func:`configure_device`)."""
    if name in (None, "", "auto"):
        device = torch.device("cuda" if torch.cuda.is_available() else "cpu")
    else:
        device = torch.device(name)
    configure_device(device)
    return device


def configure_device(device: torch.device) -> None:
    """For the chosen device: TF32 matmuls and convolutions on CUDA (fp32 inputs and fp32 accumulation, ~10
    mantissa bits in the products; the Ampere-and-later default of most training code). Nothing on the CPU."""
    if device.type == "cuda":
        torch.backends.cuda.matmul.allow_tf32 = True
        torch.backends.cudnn.allow_tf32 = True
        torch.set_float32_matmul_precision("high")
