"""Fixtures the tests write themselves: PNG, DICOM and NIfTI files."""

from pathlib import Path

import numpy as np


def write_png(path: Path, arr: np.ndarray):
    from PIL import Image

    path.parent.mkdir(parents=True, exist_ok=True)
    Image.fromarray(arr).save(path)


def write_dicom(path: Path, arr: np.ndarray, slope=1.0, intercept=-1024.0, center=40.0, width=400.0):
    from pydicom.dataset import Dataset, FileMetaDataset
    from pydicom.uid import CTImageStorage, ExplicitVRLittleEndian, generate_uid

    path.parent.mkdir(parents=True, exist_ok=True)
    meta = FileMetaDataset()
    meta.MediaStorageSOPClassUID = CTImageStorage
    meta.MediaStorageSOPInstanceUID = generate_uid()
    meta.TransferSyntaxUID = ExplicitVRLittleEndian
    ds = Dataset()
    ds.file_meta = meta
    ds.SOPClassUID = CTImageStorage
    ds.SOPInstanceUID = meta.MediaStorageSOPInstanceUID
    ds.Modality = "CT"
    ds.Rows, ds.Columns = arr.shape
    ds.SamplesPerPixel = 1
    ds.PhotometricInterpretation = "MONOCHROME2"
    ds.BitsAllocated, ds.BitsStored, ds.HighBit = 16, 16, 15
    ds.PixelRepresentation = 1
    ds.RescaleSlope, ds.RescaleIntercept = slope, intercept
    ds.WindowCenter, ds.WindowWidth = center, width
    ds.PixelData = arr.astype(np.int16).tobytes()
    ds.save_as(str(path), enforce_file_format=True)


def write_nifti(path: Path, arr: np.ndarray):
    import nibabel as nib

    path.parent.mkdir(parents=True, exist_ok=True)
    nib.Nifti1Image(arr.astype(np.float32).T, np.eye(4)).to_filename(str(path))


def make_folder_dataset(root: Path, n_per_class=(6, 6), size=16, splits=True, seed=0, colour=False):
    """Two classes: dark vs bright squares, as PNGs (greyscale, or RGB tinted red when ``colour``)."""
    rng = np.random.default_rng(seed)
    names = ["dark", "bright"]
    for s in (["train", "val", "test"] if splits else [None]):
        for c, name in enumerate(names):
            for i in range(n_per_class[c]):
                base = 60 if c == 0 else 180
                arr = np.clip(rng.normal(base, 10, (size, size)), 0, 255).astype(np.uint8)
                if colour:
                    arr = np.stack([arr, arr // 2, arr // 2], axis=-1)
                d = root / s / name if s else root / name
                write_png(d / f"{i}.png", arr)
    return names
