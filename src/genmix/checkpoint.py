"""Checkpoints as safetensors: tensors in the file body, everything else as JSON metadata.

Nested dicts/lists (model, optimizer and RNG states, counters, config) are flattened to
``a.b.0.c`` keys; nothing is pickled. Writes are atomic (temp file, then rename), so an
interrupted save never leaves a half-written checkpoint.
"""

from __future__ import annotations

import hashlib
import json
import os
from pathlib import Path
from typing import Any

import torch

_SEP = "/"


def _flatten(obj: Any, prefix: str, tensors: dict, meta: dict) -> Any:
    if isinstance(obj, torch.Tensor):
        key = prefix or "_"
        tensors[key] = obj.detach().cpu().contiguous()
        return {"__tensor__": key}
    if isinstance(obj, dict):
        return {"__dict__": [[k if isinstance(k, str) else {"__int__": k},
                              _flatten(v, f"{prefix}{_SEP}{k}", tensors, meta)] for k, v in obj.items()]}
    if isinstance(obj, (list, tuple)):
        kind = "__tuple__" if isinstance(obj, tuple) else "__list__"
        return {kind: [_flatten(v, f"{prefix}{_SEP}{i}", tensors, meta) for i, v in enumerate(obj)]}
    if obj is None or isinstance(obj, (bool, int, float, str)):
        return obj
    raise TypeError(f"cannot store {type(obj).__name__} at {prefix!r} in a checkpoint")


def _unflatten(obj: Any, tensors: dict) -> Any:
    if isinstance(obj, dict):
        if "__tensor__" in obj:
            return tensors[obj["__tensor__"]]
        if "__dict__" in obj:
            out = {}
            for k, v in obj["__dict__"]:
                if isinstance(k, dict):
                    k = k["__int__"]
                out[k] = _unflatten(v, tensors)
            return out
        if "__list__" in obj:
            return [_unflatten(v, tensors) for v in obj["__list__"]]
        if "__tuple__" in obj:
            return tuple(_unflatten(v, tensors) for v in obj["__tuple__"])
    return obj


def save_state(path: str | os.PathLike, state: dict) -> None:
    """Save a nested dict of tensors and plain values to ``path`` (safetensors), atomically."""
    from safetensors.torch import save_file

    tensors: dict[str, torch.Tensor] = {}
    tree = _flatten(state, "", tensors, {})
    # safetensors refuses shared storage; clone views so every entry owns its memory
    tensors = {k: v.clone() for k, v in tensors.items()}
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(path.name + ".tmp")
    try:
        save_file(tensors, str(tmp), metadata={"genmix_tree": json.dumps(tree)})
        os.replace(tmp, path)
    except BaseException as exc:
        tmp.unlink(missing_ok=True)
        err = _os_error(exc, path)
        if err is None:
            raise
        raise err from None


def _os_error(exc: BaseException, path: Path) -> OSError | None:
    """A failed write (a full disk, no permission) as an OSError naming ``path``, which the CLI turns
    into one line, exit status 2. safetensors reports I/O failures as a SafetensorError whose text
    carries the OS error number ('... No space left on device (os error 28)'). An OSError, not a
    GenmixError: a full disk is no fault of the input, so ``genmix run`` must not record it as the
    unit's failure (it stops, and a rerun resumes)."""
    import errno
    import re

    if isinstance(exc, OSError):
        code = exc.errno
    else:
        m = re.search(r"os error (\d+)|code: (\d+)", str(exc))
        if m is None or type(exc).__name__ != "SafetensorError":
            return None
        code = int(m.group(1) or m.group(2))
    if code is None:
        return None
    return OSError(code, os.strerror(code) if code != errno.ENOSPC else "No space left on device", str(path))


def load_state(path: str | os.PathLike, device: str | torch.device = "cpu") -> dict:
    from safetensors import safe_open
    from safetensors.torch import load_file

    from .errors import fail

    path = Path(path)
    if not path.is_file():
        fail(path, "checkpoint not found")
    try:
        with safe_open(str(path), framework="pt") as f:
            meta = f.metadata() or {}
        tensors = load_file(str(path), device=str(device))
    except Exception as exc:  # corrupt or foreign file
        from .errors import one_line

        fail(path, f"not a readable safetensors checkpoint ({one_line(exc)})")
    if "genmix_tree" not in meta:
        fail(path, "not a genmix checkpoint (no genmix metadata)")
    return _unflatten(json.loads(meta["genmix_tree"]), tensors)


def file_hash(path: str | os.PathLike, n: int = 16) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for chunk in iter(lambda: f.read(1 << 20), b""):
            h.update(chunk)
    return h.hexdigest()[:n]


# what a pretrained model folder is loaded from (diffusers / transformers layouts); its ``training/``
# resume checkpoints are not part of the model
_MODEL_SUFFIXES = {".json", ".safetensors", ".bin", ".txt", ".model", ".pt", ".pth", ".ckpt"}


def model_fingerprint(path: str | os.PathLike, n: int = 16) -> str:
    """The content of a local model file or folder as a short hash, so cached results keyed by it are
    not reused after the model is rebuilt; "absent" when nothing is there (e.g. a hub id, or a model
    not built yet)."""
    p = Path(path)
    if not p.exists():
        return "absent"
    files = [p] if p.is_file() else sorted(
        f for f in p.rglob("*") if f.is_file() and f.suffix in _MODEL_SUFFIXES
        and "training" not in f.relative_to(p).parts[:-1])
    h = hashlib.sha256()
    for f in files:
        h.update(f"{f.relative_to(p) if f != p else f.name}\0{file_hash(f, 64)}\0".encode())
    return h.hexdigest()[:n]


def config_hash(cfg: Any, n: int = 12) -> str:
    return hashlib.sha256(json.dumps(cfg, sort_keys=True, default=str).encode()).hexdigest()[:n]


def rng_state(generator: torch.Generator) -> dict:
    return {"generator": generator.get_state(), "torch": torch.get_rng_state()}


def set_rng_state(generator: torch.Generator, state: dict) -> None:
    generator.set_state(state["generator"])
    torch.set_rng_state(state["torch"])


def load_entry(path: str | os.PathLike, key: str) -> Any:
    """One plain (tensor-free) top-level entry of a genmix checkpoint, read from its header alone;
    None when the file is no genmix checkpoint or lacks the key."""
    from safetensors import safe_open

    try:
        with safe_open(str(path), framework="pt") as f:
            meta = f.metadata() or {}
        tree = json.loads(meta["genmix_tree"])
    except Exception:
        return None
    for k, v in tree.get("__dict__", []) if isinstance(tree, dict) else []:
        if k == key:
            return _unflatten(v, {})
    return None
