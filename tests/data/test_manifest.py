import numpy as np
import pytest

from genmix.data import load_dataset
from genmix.errors import GenmixError
from tests.helpers import write_png


def _manifest(tmp_path, rows, header="path,label,group"):
    p = tmp_path / "m.csv"
    p.write_text(header + "\n" + "\n".join(rows) + "\n")
    return p


def test_grouped_split_keeps_patients_whole(tmp_path):
    rows = []
    rng = np.random.default_rng(0)
    for patient in range(40):
        label = "lesion" if patient % 3 == 0 else "normal"
        for k in range(int(rng.integers(1, 5))):
            f = f"img/p{patient}_{k}.png"
            arr = np.full((8, 8), 50 if label == "normal" else 200, np.uint8)
            arr[0, :2] = (patient, k)  # distinct images (identical ones of two patients may not part)
            write_png(tmp_path / f, arr)
            rows.append(f"{f},{label},p{patient}")
    ds = load_dataset(f"csv:{_manifest(tmp_path, rows)}")
    owner = {}
    for s in ("train", "val", "test"):
        for src in ds[s].sources:
            patient = src.rsplit("/", 1)[1].split("_")[0]
            owner.setdefault(patient, set()).add(s)
    assert all(len(v) == 1 for v in owner.values())
    assert len(owner) == 40
    for s in ("train", "val", "test"):
        assert min(ds[s].counts(2)) >= 1


def test_split_column_and_unknown_label(tmp_path):
    rows = []
    for k, s in enumerate(("train", "val", "test")):
        for j, c in enumerate(("a", "b")):
            write_png(tmp_path / f"{s}{c}.png", np.full((8, 8), 10 * k + j, np.uint8))  # distinct images
            rows.append(f"{s}{c}.png,{c},{s}")
    ds = load_dataset(f"csv:{_manifest(tmp_path, rows, 'path,label,split')}")
    assert ds.class_names == ["a", "b"] and len(ds["val"]) == 2
    rows.append("testa.png,c,test")
    m = _manifest(tmp_path, rows, "path,label,split")
    with pytest.raises(GenmixError, match="unknown label 'c'") as e:
        load_dataset(f"csv:{m}")
    assert str(m) in str(e.value)


def test_path_escaping_manifest_folder_is_refused(tmp_path):
    sub = tmp_path / "inner"
    sub.mkdir()
    write_png(tmp_path / "outside.png", np.zeros((8, 8), np.uint8))
    m = _manifest(sub, ["../outside.png,a,g1"])
    with pytest.raises(GenmixError, match="escapes") as e:
        load_dataset(f"csv:{m}")
    assert str(m) in str(e.value)
