import io

import numpy as np
import pytest
import torch

from genmix.data import load_dataset
from genmix.errors import GenmixError


def test_breastmnist_official_splits(medmnist_root):
    ds = load_dataset("medmnist:breastmnist", medmnist_root("breastmnist"))
    assert [len(ds[s]) for s in ("train", "val", "test")] == [546, 78, 156]
    assert ds["train"].counts(2) == [147, 399]
    assert ds.class_names == ["malignant", "normal, benign"]
    assert ds.channels == 1 and ds.image_size == 28


def test_bloodmnist_is_rgb(medmnist_root):
    ds = load_dataset("medmnist:bloodmnist", medmnist_root("bloodmnist"))
    assert ds.channels == 3 and ds.num_classes == 8


def test_organamnist_fll3_exact_counts(medmnist_root):
    root = medmnist_root("organamnist")
    ds = load_dataset("organamnist-fll3", root)
    assert ds.class_names == ["liver", "pancreas", "spleen"]
    assert ds["train"].counts(3) == [433, 70, 178]
    assert ds["val"].counts(3) == [115, 30, 157]
    assert ds["test"].counts(3) == [128, 30, 149]
    again = load_dataset("organamnist-fll3", root)
    assert (again["train"].images == ds["train"].images).all()


@pytest.mark.parametrize("name,flag", [("pneumoniamnist-small", "pneumoniamnist"),
                                       ("bloodmnist-small", "bloodmnist")])
def test_small_subsets_draw_from_the_official_train_split_only(medmnist_root, name, flag):
    """Class-stratified draw of the training split (official proportions within one image per
    class), official validation and test splits whole, every training image from the official
    train split and none repeated."""
    root = medmnist_root(flag)
    full = load_dataset(f"medmnist:{flag}", root)
    ds = load_dataset(name, root)
    k = full.num_classes
    assert ds.class_names == full.class_names and ds.channels == full.channels
    def picked(split):
        assert all(src.split("/")[-2] == split for src in ds[split].sources)
        index = [int(src.rsplit("/", 1)[1]) for src in ds[split].sources]
        assert len(set(index)) == len(index)
        assert (full[split].images[index] == ds[split].images).all()
        assert (full[split].labels[index] == ds[split].labels).all()
        return index

    for split in ("val", "test"):
        assert sorted(picked(split)) == list(range(len(full[split])))
    small, big = ds["train"].counts(k), full["train"].counts(k)
    frac = sum(small) / sum(big)
    assert 0.05 < frac < 0.2 and sum(small) >= 600 and len(picked("train")) == sum(small)
    assert all(abs(s - b * frac) <= 1 for s, b in zip(small, big))


def test_missing_file_names_file_url_and_md5(tmp_path):
    with pytest.raises(GenmixError) as e:
        load_dataset("medmnist:dermamnist", tmp_path)
    msg = str(e.value)
    assert str(tmp_path / "dermamnist.npz") in msg and "https://" in msg and "MD5" in msg


def test_unknown_flag_and_kind():
    with pytest.raises(GenmixError, match="unknown MedMNIST flag"):
        load_dataset("medmnist:nosuchmnist")
    with pytest.raises(GenmixError, match="unknown dataset kind"):
        load_dataset("zip:foo")


def _write_npz(path, images):
    buf = io.BytesIO()
    np.savez(buf, **{f"{s}_images": images[s] for s in images},
             **{f"{s}_labels": np.array([[0], [1], [0], [1]], np.uint8) for s in images})
    path.write_bytes(buf.getvalue())


@pytest.mark.parametrize("scale", [1.0, 255.0])
def test_float_medmnist_images_become_uint8(tmp_path, scale):
    """Floats in [0, 1] are scaled by 255, floats in [0, 255] kept, both rounded; a uint8 split in
    the same file is left as it is."""
    rng = np.random.default_rng(0)
    want = {s: rng.integers(0, 256, (4, 8, 8), dtype=np.uint8) for s in ("train", "val", "test")}
    jitter = rng.uniform(-0.4, 0.4, (4, 8, 8))  # rounding takes these back to the integers
    floats = {s: ((want[s] + jitter).clip(0, 255) * (scale / 255)).astype(np.float32) for s in ("train", "val")}
    _write_npz(tmp_path / "breastmnist.npz", {**floats, "test": want["test"]})
    ds = load_dataset("medmnist:breastmnist", tmp_path)
    for s in ("train", "val", "test"):
        assert ds[s].images.dtype == torch.uint8
        assert (ds[s].images[:, 0].numpy() == want[s]).all()
