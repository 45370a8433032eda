"""``medmnist:<flag>[@size]``: MedMNIST v2 / MedMNIST+ 2-D sets with their official splits."""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np
import torch

from ..errors import GenmixError
from .base import SPLITS, ImageDataset, Split


def default_root() -> Path:
    env = os.environ.get("GENMIX_DATA_ROOT")
    if env:
        return Path(env)
    return Path(os.environ.get("XDG_CACHE_HOME", Path.home() / ".cache")) / "genmix" / "medmnist"


def resolve_root(root: str | os.PathLike | None) -> Path:
    """--data-root, else GENMIX_DATA_ROOT, else the user cache. A root holding a ``medmnist``
    folder (like ../shared/data) is accepted as well as the folder itself."""
    root = Path(root) if root else default_root()
    if (root / "medmnist").is_dir():
        root = root / "medmnist"
    return root


def medmnist_channels(spec: str) -> int | None:
    """The channel count MedMNIST's metadata gives a ``medmnist:<flag>[@size]`` spec (3 = colour), or None
    for any other spec or an unknown flag. Reads no image file."""
    if not spec.startswith("medmnist:"):
        return None
    from medmnist import INFO

    info = INFO.get(spec.split(":", 1)[1].split("@", 1)[0].lower())
    return int(info["n_channels"]) if info else None


def _check_pixels(imgs: np.ndarray, path, key: str) -> float:
    """Refuse what cannot be an 8-bit image; return the largest value (0 for an empty array).
    Accepted: uint8, integers in 0..255, finite floats in [0, 255]."""
    if imgs.dtype.kind not in "iuf":
        raise GenmixError(f"{path}: {key} has dtype {imgs.dtype}; expected uint8 (or floats in [0, 1] or [0, 255])")
    if imgs.size == 0:
        return 0.0
    if imgs.dtype.kind == "f":
        nan, inf = int(np.isnan(imgs).sum()), int(np.isinf(imgs).sum())
        if nan or inf:
            what = " and ".join(f"{n} {w}" for n, w in ((nan, "NaN"), (inf, "infinite")) if n)
            raise GenmixError(f"{path}: {key} holds {what} value{'s' if nan + inf > 1 else ''}; "
                              "expected floats in [0, 1] or [0, 255]")
    lo, hi = imgs.min(), imgs.max()
    if lo < 0 or hi > 255:
        kind = "floats" if imgs.dtype.kind == "f" else "integers"
        raise GenmixError(f"{path}: {key} holds {kind} from {lo:g} to {hi:g}; expected "
                          + ("[0, 1] or [0, 255]" if kind == "floats" else "0..255"))
    return float(hi)


def _as_uint8(imgs: np.ndarray, scale: float) -> np.ndarray:
    """Checked pixels as uint8: floats times ``scale`` (255 for a file in [0, 1], else 1), rounded."""
    if imgs.dtype == np.uint8:
        return imgs
    if imgs.dtype.kind == "f":
        return np.rint(imgs.astype(np.float64) * scale).astype(np.uint8)
    return imgs.astype(np.uint8)


def load_medmnist(flag: str, size: int | None = None, root=None, download: bool | None = None) -> ImageDataset:
    import medmnist
    from medmnist import INFO

    flag = flag.lower()
    if flag not in INFO:
        known = ", ".join(k for k in INFO if not k.endswith("3d"))
        raise GenmixError(f"medmnist:{flag}: unknown MedMNIST flag (known 2-D flags: {known})")
    info = INFO[flag]
    if flag.endswith("3d"):
        raise GenmixError(f"medmnist:{flag}: 3-D MedMNIST sets are not supported (2-D images only)")
    if info["task"].startswith("multi-label"):
        raise GenmixError(f"medmnist:{flag}: multi-label sets are not supported (one label per image)")
    size = size or 28
    root = resolve_root(root)
    fname = f"{flag}.npz" if size == 28 else f"{flag}_{size}.npz"
    path = root / fname
    url = info["url"] if size == 28 else info.get(f"url_{size}")
    md5 = info["MD5"] if size == 28 else info.get(f"MD5_{size}")
    if url is None:
        raise GenmixError(f"medmnist:{flag}@{size}: MedMNIST has no {size}px version (28, 64, 128, 224)")
    if download is None:
        download = os.environ.get("GENMIX_DOWNLOAD", "") == "1"
    if not path.is_file():
        if download:
            root.mkdir(parents=True, exist_ok=True)
            try:
                getattr(medmnist, info["python_class"])(split="train", root=str(root), download=True, size=size)
            except Exception as exc:
                raise GenmixError(f"{path}: download failed ({exc}); fetch {url} by hand "
                                  f"(MD5 {md5}) into {root}") from None
        else:
            raise GenmixError(
                f"{path}: file not found. Fetch {url} (MD5 {md5}) into {root}, set GENMIX_DATA_ROOT "
                f"or --data-root to the folder that holds it, or pass --download when online")
    try:
        npz = np.load(path)
        arrays = {s: (npz[f"{s}_images"], npz[f"{s}_labels"]) for s in SPLITS}
    except Exception as exc:
        raise GenmixError(f"{path}: not a readable MedMNIST file ({exc})") from None
    # float images in [0, 1] across the whole file are scaled by 255; in [0, 255], only rounded
    tops = {s: _check_pixels(imgs, path, f"{s}_images") for s, (imgs, _) in arrays.items()}
    scale = 255.0 if all(tops[s] <= 1 for s, (imgs, _) in arrays.items() if imgs.dtype.kind == "f") else 1.0
    splits = {}
    for s, (imgs, labels) in arrays.items():
        if imgs.ndim not in (3, 4) or len(imgs) != len(labels) or (imgs.ndim == 4 and imgs.shape[-1] not in (1, 3)):
            raise GenmixError(f"{path}: {s}_images has shape {imgs.shape} and {s}_labels {labels.shape}; expected "
                              "(N, H, W) or (N, H, W, 3) images and N labels")
        imgs = _as_uint8(imgs, scale)
        x = torch.from_numpy(np.ascontiguousarray(imgs))
        x = x.unsqueeze(1) if x.ndim == 3 else x.permute(0, 3, 1, 2).contiguous()
        splits[s] = Split(s, x, torch.from_numpy(labels.astype(np.int64)).reshape(-1))
    names = [info["label"][str(i)] for i in range(len(info["label"]))]
    spec = f"medmnist:{flag}" + (f"@{size}" if size != 28 else "")
    return ImageDataset(spec, names, splits, info={"file": str(path), "task": info["task"]})
