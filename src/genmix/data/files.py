"""Reading one 2-D image file: PNG/JPEG/TIFF (Pillow), DICOM (pydicom), NIfTI (nibabel)."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from ..errors import GenmixError

RASTER = {".png", ".jpg", ".jpeg", ".tif", ".tiff", ".bmp"}
DICOM = {".dcm", ".dicom"}
NIFTI = {".nii", ".nii.gz"}


def suffix(path: Path) -> str:
    name = path.name.lower()
    return ".nii.gz" if name.endswith(".nii.gz") else path.suffix.lower()


def is_image(path: Path) -> bool:
    return suffix(path) in RASTER | DICOM | NIFTI


def _window(x: np.ndarray, center: float | None, width: float | None) -> np.ndarray:
    """Map intensities to [0,1]: a window (center, width) when given, else min-max of the image."""
    if center is not None and width is not None and width > 0:
        lo, hi = center - width / 2.0, center + width / 2.0
    else:
        lo, hi = float(x.min()), float(x.max())
    if hi <= lo:
        return np.zeros_like(x, dtype=np.float32)
    return np.clip((x - lo) / (hi - lo), 0.0, 1.0).astype(np.float32)


def _first(v):
    try:
        return float(v[0])
    except TypeError:
        return float(v)


def read_image(path: str | Path, window: tuple[float, float] | None = None) -> np.ndarray:
    """One image as uint8 (C,H,W). ``window`` = (center, width) for DICOM/NIfTI intensities."""
    path = Path(path)
    kind = suffix(path)
    try:
        if kind in RASTER:
            from PIL import Image

            with Image.open(path) as im:
                im.load()
                if im.mode in ("I", "I;16", "I;16B", "F"):
                    arr = np.asarray(im, dtype=np.float32)
                    _check_finite(path, arr)
                    arr = _window(arr, *(window or (None, None)))[None]
                    return (arr * 255).round().astype(np.uint8)
                if im.mode not in ("L", "RGB"):
                    im = im.convert("RGB" if im.mode in ("RGBA", "P", "CMYK", "YCbCr", "LA") else "L")
                arr = np.asarray(im)
            arr = arr[None] if arr.ndim == 2 else arr.transpose(2, 0, 1)
            return np.array(arr, dtype=np.uint8, copy=True, order="C")
        if kind in DICOM:
            import pydicom

            ds = pydicom.dcmread(str(path))
            arr = ds.pixel_array.astype(np.float32)
            arr = arr * float(getattr(ds, "RescaleSlope", 1.0)) + float(getattr(ds, "RescaleIntercept", 0.0))
            if window is None and "WindowCenter" in ds and "WindowWidth" in ds:
                window = (_first(ds.WindowCenter), _first(ds.WindowWidth))
        elif kind in NIFTI:
            import nibabel as nib

            arr = np.asarray(nib.load(str(path)).dataobj, dtype=np.float32)
            arr = np.squeeze(arr)
            if arr.ndim != 2:
                raise GenmixError(f"{path}: NIfTI image is {arr.ndim}-D {arr.shape}; genmix reads 2-D slices")
            arr = arr.T  # NIfTI stores (x, y); images are (row, column)
        else:
            raise GenmixError(f"{path}: unsupported image type '{kind}'")
    except GenmixError:
        raise
    except Exception as exc:
        raise GenmixError(f"{path}: unreadable or corrupt image ({_cause(exc)})") from None
    if arr.ndim != 2:
        raise GenmixError(f"{path}: expected a 2-D image, got shape {arr.shape}")
    _check_finite(path, arr)
    arr = _window(arr, *(window or (None, None)))
    return (arr * 255).round().astype(np.uint8)[None]


def _cause(exc: Exception) -> str:
    """A decoder's message, on one line (pydicom's and Pillow's may span several)."""
    from ..errors import one_line

    name = type(exc).__name__
    if name == "InvalidDicomError":
        return "not a DICOM file (no DICOM header)"
    return one_line(exc)


def _check_finite(path, arr):
    if not np.isfinite(arr).all():
        raise GenmixError(f"{path}: image has NaN or infinite pixel values")
