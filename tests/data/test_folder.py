import numpy as np
import pytest

from genmix.data import load_dataset
from genmix.errors import GenmixError
from tests.helpers import make_folder_dataset, write_dicom, write_nifti, write_png


def test_folder_with_splits_reads_classes_and_pixels(tmp_path):
    names = make_folder_dataset(tmp_path, (3, 4))
    ds = load_dataset(f"folder:{tmp_path}")
    assert ds.class_names == sorted(names)
    assert ds["train"].counts(2) == [4, 3]  # sorted: bright, dark
    # bright class really is brighter
    bright = ds["train"].images[ds["train"].labels == 0].float().mean()
    dark = ds["train"].images[ds["train"].labels == 1].float().mean()
    assert bright > dark + 80


def test_folder_without_splits_is_split_stratified(tmp_path):
    make_folder_dataset(tmp_path, (20, 20), splits=False)
    ds = load_dataset(f"folder:{tmp_path}")
    assert sum(len(ds[s]) for s in ("train", "val", "test")) == 40
    for s in ("train", "val", "test"):
        assert min(ds[s].counts(2)) >= 1
    files = [set(ds[s].sources) for s in ("train", "val", "test")]
    assert not (files[0] & files[1]) and not (files[0] & files[2]) and not (files[1] & files[2])


def test_dicom_rescale_and_window(tmp_path):
    # stored values v -> HU = v - 1024; window 40/400 maps HU -160..240 to 0..255
    for k, s in enumerate(("train", "val", "test")):
        for c, stored in (("fat", 1024 - 100), ("bone", 1024 + 1000)):
            arr = np.full((8, 8), stored)
            arr[7, 7] = 1024 + 20 * k  # distinct images per split (identical ones in two splits are refused)
            write_dicom(tmp_path / s / c / "a.dcm", arr)
    ds = load_dataset(f"folder:{tmp_path}")
    img = {ds.class_names[int(y)]: x for x, y in zip(ds["train"].images, ds["train"].labels)}
    assert int(img["bone"].max()) == 255  # 1000 HU is above the window
    expected = round((-100 - (-160)) / 400 * 255)
    assert abs(int(img["fat"][0, 0, 0]) - expected) <= 1


def test_nifti_slices(tmp_path):
    for k, s in enumerate(("train", "val", "test")):
        for c, v in (("a", 0.0), ("b", 1.0)):
            arr = np.zeros((10, 12))
            arr[:5] = v
            arr[5:] = 1 - v
            arr[9, 11] = 0.2 + 0.1 * k  # distinct images per split
            write_nifti(tmp_path / s / c / "x.nii.gz", arr)
    ds = load_dataset(f"folder:{tmp_path}")
    assert ds["train"].images.shape[1:] == (1, 10, 12)
    a = ds["train"].images[ds["train"].labels == 0][0, 0]
    assert int(a[0, 0]) == 0 and int(a[9, 0]) == 255  # row order preserved


@pytest.mark.parametrize("case", ["corrupt", "mixed_size", "mixed_channels", "empty", "missing_class",
                                  "unknown_label", "nan"])
def test_bad_folders_name_file_and_cause(tmp_path, case):
    make_folder_dataset(tmp_path, (2, 2))
    bad = tmp_path / "train" / "dark" / "bad.png"
    if case == "corrupt":
        bad.write_bytes(b"not a png at all")
        msg = "corrupt"
    elif case == "mixed_size":
        write_png(bad, np.zeros((20, 20), np.uint8))
        msg = "size"
    elif case == "mixed_channels":
        write_png(bad, np.zeros((16, 16, 3), np.uint8))
        msg = "channel"
    elif case == "empty":
        for p in (tmp_path).rglob("*.png"):
            p.unlink()
        bad = tmp_path / "train"
        msg = "missing"
    elif case == "missing_class":
        for p in (tmp_path / "val" / "dark").glob("*"):
            p.unlink()
        bad = tmp_path / "val"
        msg = "missing from split 'val'"
    elif case == "unknown_label":
        write_png(tmp_path / "test" / "zebra" / "z.png", np.zeros((16, 16), np.uint8))
        bad = tmp_path / "test" / "zebra"
        msg = "unknown label"
    elif case == "nan":
        bad = tmp_path / "train" / "dark" / "nan.nii.gz"
        write_nifti(bad, np.full((16, 16), np.nan))
        msg = "NaN"
    with pytest.raises(GenmixError) as e:
        load_dataset(f"folder:{tmp_path}")
    assert str(bad) in str(e.value) and msg in str(e.value)


def test_mixed_sizes_convert_only_when_asked(tmp_path):
    make_folder_dataset(tmp_path, (2, 2))
    write_png(tmp_path / "train" / "dark" / "big.png", np.zeros((20, 20, 3), np.uint8))
    ds = load_dataset(f"folder:{tmp_path}", image_size=16, channels=1)
    assert ds["train"].images.shape[1:] == (1, 16, 16)


def test_empty_root_folder(tmp_path):
    with pytest.raises(GenmixError, match="empty folder"):
        load_dataset(f"folder:{tmp_path}")
