"""Numeric precision and memory layout of training, for the device chosen once (the GPU path, issue 29 item 4).

``Precision(name, device)`` wraps what a training step needs: an autocast context, a gradient scaler (fp16
only), the model's and the batch's memory layout. ``auto`` means bf16 autocast on a CUDA device that has
bf16 (Ampere and later), fp16 with gradient scaling on an older one, and fp32 on the CPU: there bf16 autocast
and channels-last make ResNet-18 at 28 px *slower* even with AMX, while DCGAN and DDPM steps are 1.45x / 1.55x
faster under bf16 on an AMX CPU (benchmarks/speed/cpu_bf16.py); fp32 keeps the published CPU numbers until a
paired check over replicates shows bf16 generators change nothing (benchmarks/speed/RESULTS.md). On a CPU
without native bf16 (AVX2 only) bf16 autocast is emulated and 10-50x slower, so a CPU rule would key on AMX.
The same code runs on either device (tests run bf16 and fp16 on the CPU).

Generators take bf16 at most: an fp16 GAN or diffusion step without per-loss scaling can underflow, so
``for_generators`` turns fp16 into fp32.
"""

from __future__ import annotations

import contextlib

import torch

from .errors import GenmixError

PRECISIONS = ("auto", "fp32", "bf16", "fp16")
DTYPES = {"bf16": torch.bfloat16, "fp16": torch.float16}


def resolve_precision(name: str | None, device: torch.device) -> str:
    """``auto`` (or None) -> the precision this device trains in; a named one is checked and kept."""
    name = name or "auto"
    if name not in PRECISIONS:
        raise GenmixError(f"precision must be one of {PRECISIONS}, not {name!r}")
    if name != "auto":
        return name
    if device.type == "cuda":
        return "bf16" if torch.cuda.is_bf16_supported() else "fp16"
    return "fp32"


class Precision:
    """Autocast, gradient scaling and memory layout for one training run on ``device``.

    ``channels_last``: None = on for CUDA (tensor cores want NHWC), off on the CPU."""

    def __init__(self, name: str | None = "auto", device: torch.device | str = "cpu",
                 channels_last: bool | None = None):
        self.device = torch.device(device)
        self.name = resolve_precision(name, self.device)
        self.channels_last = self.device.type == "cuda" if channels_last is None else bool(channels_last)
        self.scaler = torch.amp.GradScaler(self.device.type, enabled=self.name == "fp16")

    def __repr__(self) -> str:
        return f"Precision({self.name!r}, {str(self.device)!r}, channels_last={self.channels_last})"

    @property
    def dtype(self) -> torch.dtype:
        return DTYPES.get(self.name, torch.float32)

    def for_generators(self) -> Precision:
        """The same settings with fp16 turned into fp32 (see the module's note)."""
        return Precision("fp32" if self.name == "fp16" else self.name, self.device, self.channels_last)

    def autocast(self):
        if self.name == "fp32":
            return contextlib.nullcontext()
        return torch.autocast(device_type=self.device.type, dtype=self.dtype)

    @property
    def memory_format(self) -> torch.memory_format:
        return torch.channels_last if self.channels_last else torch.contiguous_format

    def model(self, module: torch.nn.Module) -> torch.nn.Module:
        """``module`` on the device, in this layout (weights stay fp32: autocast casts per op)."""
        return module.to(self.device, memory_format=self.memory_format)

    def batch(self, x: torch.Tensor) -> torch.Tensor:
        x = x.to(self.device, non_blocking=True)
        return x.contiguous(memory_format=self.memory_format) if x.ndim == 4 else x

    def step(self, loss: torch.Tensor, optimizer: torch.optim.Optimizer) -> None:
        """backward + optimizer step, scaled under fp16 (a step with inf/NaN gradients is skipped there)."""
        self.scaler.scale(loss).backward()
        self.scaler.step(optimizer)
        self.scaler.update()

    def state_dict(self) -> dict:
        return self.scaler.state_dict() if self.scaler.is_enabled() else {}

    def load_state_dict(self, state: dict) -> None:
        if state and self.scaler.is_enabled():
            self.scaler.load_state_dict(state)
