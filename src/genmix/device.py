"""Choose the device once (CUDA when present) and pass it around."""

import ctypes
import os
import sys

import torch

# glibc mallopt parameters (malloc.h)
M_TRIM_THRESHOLD, M_TOP_PAD, M_MMAP_MAX = -1, -2, -4
HOST_MEMORY = {M_MMAP_MAX: 0,  # no block of its own mmap (glibc maps each block above <= 32 MiB, unmaps it on free)
               M_TRIM_THRESHOLD: 1 << 30,  # free memory kept at the top of a heap before it goes back to the kernel
               M_TOP_PAD: 64 << 20}  # a heap grows by 64 MiB more than asked, not page by page


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
    mantissa bits in the products; the Ampere-and-later default of most training code); freed host memory kept
    for reuse on any device (:func:`keep_freed_memory`)."""
    keep_freed_memory()
    if device.type == "cuda":
        torch.backends.cuda.matmul.allow_tf32 = True
        torch.backends.cudnn.allow_tf32 = True
        torch.set_float32_matmul_precision("high")


def keep_freed_memory() -> bool:
    """Let glibc's malloc keep freed tensor memory in the process for the next step instead of handing it back
    to the kernel, which faults every page in again (zeroed) on the next allocation: a training step frees and
    reallocates the same activations and gradients each time; with several threads oneDNN's per-thread buffers
    exceed glibc's largest mmap threshold (32 MiB), so every convolution maps and unmaps them. Sets (``mallopt``):
    blocks from the heap, never a mapping of their own; 1 GiB of free heap top kept; heaps grown 64 MiB at a time
    (a ResNet-18 step at 28 px, batch 32: ~4,800 page faults -> ~80 on 1 thread, ~21,000 -> ~80 on 2). Exact:
    only where the bytes live changes, not what is computed (benchmarks/speed/allocator.py checks the trained
    state bit for bit and times it). ``GENMIX_HOST_MEMORY=system`` leaves malloc as it is (``keep`` or unset: the default; anything else is
    refused); off Linux nothing is
    set, and an allocator preloaded in glibc's place (tcmalloc, jemalloc) serves malloc itself, so the settings
    do not reach it (harmless). True if ``mallopt`` accepted every setting."""
    mode = os.environ.get("GENMIX_HOST_MEMORY", "").strip().lower()
    if mode not in ("", "keep", "system"):
        from .errors import GenmixError

        raise GenmixError(f"GENMIX_HOST_MEMORY={os.environ['GENMIX_HOST_MEMORY']!r}: expected 'system' (leave "
                          "malloc as it is) or 'keep' (the default)")
    if mode == "system" or not sys.platform.startswith("linux"):
        return False
    try:
        libc = ctypes.CDLL(None)
        mallopt = libc.mallopt
    except (OSError, AttributeError):
        return False
    mallopt.argtypes, mallopt.restype = [ctypes.c_int, ctypes.c_int], ctypes.c_int
    return all([bool(mallopt(k, v)) for k, v in HOST_MEMORY.items()])
