"""Your own data, safely: patient-grouped splits, leakage checks, the split manifest, too-small data."""

import csv
import os

import numpy as np
import pytest
import yaml

from genmix.cli import main
from genmix.data import load_dataset, write_split_manifest
from genmix.errors import GenmixError
from tests.helpers import write_png

SPLITS = ("train", "val", "test")


def _img(rng, size=8):
    return rng.integers(0, 256, (size, size), dtype=np.uint8)  # distinct random pixels per file


def _patients(root, per_class=(("benign", 10), ("malignant", 6)), seed=0, size=8):
    """root/<class>/<patient>/<k>.png with 1-3 images per patient; returns {patient: class}."""
    rng = np.random.default_rng(seed)
    owner = {}
    for c, n in per_class:
        for p in range(n):
            pid = f"{c[0]}{p:02d}"
            owner[pid] = c
            for k in range(int(rng.integers(1, 4))):
                write_png(root / c / pid / f"{k}.png", _img(rng, size))
    return owner


def _split_of_groups(ds):
    where = {}
    for s in SPLITS:
        for g in ds[s].groups:
            where.setdefault(g, set()).add(s)
    return where


def _run(argv, capsys):
    rc = main(argv)
    out = capsys.readouterr()
    return rc, out.out, out.err


def _err_line(err):
    lines = err.strip().splitlines()
    assert len(lines) == 1, err
    return lines[0]


def test_patient_subfolders_never_span_splits_and_every_split_has_each_class(tmp_path):
    owner = _patients(tmp_path)
    ds = load_dataset(f"folder:{tmp_path}")
    where = _split_of_groups(ds)
    assert set(where) == set(owner)
    assert all(len(v) == 1 for v in where.values())
    for s in SPLITS:
        assert min(ds[s].counts(2)) >= 1
        # every image's group is the first sub-folder under its class folder
        for src, g, y in zip(ds[s].sources, ds[s].groups, ds[s].labels.tolist()):
            assert src.split(os.sep)[-2] == g and owner[g] == ds.class_names[y]
    d = ds.describe()
    assert d["groups"]["n"] == len(owner) and d["groups"]["by"] == "first sub-folder under each class"
    assert sum(d["splits"][s]["groups"] for s in SPLITS) == len(owner)


def test_automatic_split_is_deterministic_and_flat_folders_stay_ungrouped(tmp_path):
    _patients(tmp_path / "g")
    a, b = load_dataset(f"folder:{tmp_path / 'g'}"), load_dataset(f"folder:{tmp_path / 'g'}")
    assert all(a[s].sources == b[s].sources for s in SPLITS)
    rng = np.random.default_rng(1)
    for c in ("x", "y"):
        for i in range(10):
            write_png(tmp_path / "flat" / c / f"{i}.png", _img(rng))
    flat = load_dataset(f"folder:{tmp_path / 'flat'}")
    assert flat.describe()["groups"] is None and flat["train"].groups is None


def test_random_small_grouped_sets_always_split_cleanly():
    from genmix.data.splitting import check_enough, split_indices

    rng = np.random.default_rng(0)
    checked = 0
    for _ in range(60):
        labels, groups = [], []
        for c in range(int(rng.integers(2, 4))):
            for _ in range(int(rng.integers(3, 9))):  # 3..8 patients per class
                m = int(rng.integers(1, 4))
                labels += [c] * m
                groups += [len(set(groups))] * m
        labels, groups = np.array(labels), np.array(groups)
        check_enough(labels, groups, [str(c) for c in range(labels.max() + 1)], "x", "patients")
        idx = split_indices(labels, groups, 0)
        assert sorted(np.concatenate(list(idx.values())).tolist()) == list(range(len(labels)))
        sets = [set(groups[idx[s]].tolist()) for s in SPLITS]
        assert not (sets[0] & sets[1] or sets[0] & sets[2] or sets[1] & sets[2])
        assert all(len(set(labels[idx[s]].tolist())) == labels.max() + 1 for s in SPLITS)
        checked += 1
    assert checked == 60


def test_data_info_says_patients_are_the_first_subfolder(tmp_path, capsys):
    owner = _patients(tmp_path)
    rc, out, _ = _run(["data-info", f"folder:{tmp_path}"], capsys)
    assert rc == 0
    assert f"groups    {len(owner)} patients (first sub-folder under each class)" in out


def test_explicit_layout_with_patients_and_a_patient_in_two_splits(tmp_path):
    rng = np.random.default_rng(2)
    for s in SPLITS:
        for c in ("a", "b"):
            for p in range(2):
                write_png(tmp_path / s / c / f"{s}{c}{p}" / "0.png", _img(rng))
    ds = load_dataset(f"folder:{tmp_path}")
    assert ds.describe()["groups"]["n"] == 12
    moved = tmp_path / "test" / "a" / "traina0" / "1.png"  # patient traina0 also in test
    write_png(moved, _img(rng))
    with pytest.raises(GenmixError) as e:
        load_dataset(f"folder:{tmp_path}")
    msg = str(e.value)
    assert "'traina0'" in msg and str(moved) in msg and str(tmp_path / "train" / "a" / "traina0" / "0.png") in msg


def _csv(tmp_path, rows, header="path,label,split,group", name="m.csv", bom=False):
    p = tmp_path / name
    p.write_text(("\ufeff" if bom else "") + header + "\n" + "\n".join(rows) + "\n", encoding="utf-8")
    return p


def _csv_images(tmp_path, n=12, seed=3):
    rng = np.random.default_rng(seed)
    for i in range(n):
        write_png(tmp_path / f"{i}.png", _img(rng))


def test_csv_group_in_two_splits_names_group_and_lines(tmp_path):
    _csv_images(tmp_path)
    rows = [f"{i}.png,{'ab'[i % 2]},{SPLITS[i // 4]},p{i // 2}" for i in range(12)]
    assert load_dataset(f"csv:{_csv(tmp_path, rows)}")["test"].groups == ["p4", "p4", "p5", "p5"]
    rows[4] = "4.png,a,val,p1"  # line 6: patient p1 (train, lines 4-5) also in val
    m = _csv(tmp_path, rows)
    with pytest.raises(GenmixError) as e:
        load_dataset(f"csv:{m}")
    msg = str(e.value)
    assert msg.startswith(str(m)) and "'p1'" in msg and "line 4" in msg and "line 5" in msg and "line 6" in msg


def test_csv_same_path_in_train_and_test_names_both(tmp_path):
    _csv_images(tmp_path)
    rows = [f"{i}.png,{'ab'[i % 2]},{SPLITS[i // 4]}" for i in range(12)] + ["sub/../0.png,a,test"]
    m = _csv(tmp_path, rows, "path,label,split")
    with pytest.raises(GenmixError, match="same file") as e:
        load_dataset(f"csv:{m}")
    assert "line 2" in str(e.value) and "line 14" in str(e.value) and str(tmp_path / "0.png") in str(e.value)


@pytest.mark.parametrize("split", [True, False], ids=["explicit_split", "automatic_split"])
def test_csv_path_listed_twice_is_one_image_and_its_lines_are_named(tmp_path, capsys, split):
    _csv_images(tmp_path)
    rows = [f"{i}.png,{'ab'[i % 2]}" + (f",{SPLITS[i // 4]}" if split else "") for i in range(12)]
    rows += [rows[3], "./" + rows[6]]  # lines 14 and 15 repeat lines 5 and 8
    m = _csv(tmp_path, rows, "path,label,split" if split else "path,label")
    ds = load_dataset(f"csv:{m}")
    assert sum(len(ds[s]) for s in SPLITS) == 12 and ds.describe()["identical_images"] == 0
    assert ds.describe()["repeated_rows"] == [[5, 14], [8, 15]]
    rc, out, _ = _run(["data-info", f"csv:{m}"], capsys)
    assert rc == 0 and "note      manifest lines 5 and 14, 8 and 15 list the same file; each such file counted " \
                       "once" in out and "byte-identical" not in out


@pytest.mark.parametrize("column,other", [("label", "b"), ("split", "test"), ("group", "p9")])
def test_csv_path_listed_twice_with_another_label_split_or_group_names_both_lines(tmp_path, capsys, column,
                                                                                   other):
    _csv_images(tmp_path)
    rows = [f"{i}.png,{'ab'[i % 2]},{SPLITS[i // 4]},p{i}" for i in range(12)]
    row = dict(zip(("path", "label", "split", "group"), rows[2].split(",")))  # line 4: 2.png,a,train,p2
    rows.append(",".join({**row, column: other}.values()))  # line 14
    m = _csv(tmp_path, rows)
    rc, out, err = _run(["data-info", f"csv:{m}"], capsys)
    plural = {"label": "labels", "split": "splits", "group": "groups"}[column]
    assert rc == 2 and out == "" and _err_line(err) == (
        f"genmix: error: {m}: line 4 and line 14 list the same file {tmp_path / '2.png'} with two {plural} "
        f"('{row[column]}', '{other}'); list it once")


@pytest.mark.parametrize("layout", ["csv", "folder"])
def test_byte_identical_pixels_in_two_splits_names_both_files(tmp_path, layout):
    rng = np.random.default_rng(4)
    files = {}
    for s in SPLITS:
        for c in ("a", "b"):
            files[s, c] = tmp_path / s / c / "0.png"
            write_png(files[s, c], _img(rng))
    twin = tmp_path / "test" / "b" / "copy.png"
    twin.write_bytes(files["train", "a"].read_bytes())  # another file, same pixels, other split and class
    if layout == "csv":
        rows = [f"{s}/{c}/0.png,{c},{s}" for s, c in files] + ["test/b/copy.png,b,test"]
        spec = f"csv:{_csv(tmp_path, rows, 'path,label,split')}"
    else:
        spec = f"folder:{tmp_path}"
    with pytest.raises(GenmixError, match="byte-identical") as e:
        load_dataset(spec)
    assert str(files["train", "a"]) in str(e.value) and str(twin) in str(e.value)


def test_identical_images_without_patient_stay_in_one_automatic_split(tmp_path):
    rng = np.random.default_rng(5)
    for c in ("a", "b"):
        for i in range(12):
            write_png(tmp_path / c / f"{i}.png", _img(rng))
    for k in range(4):  # four copies of one image
        (tmp_path / "a" / f"dup{k}.png").write_bytes((tmp_path / "a" / "0.png").read_bytes())
    ds = load_dataset(f"folder:{tmp_path}")
    homes = {s for s in SPLITS for p in ds[s].sources if "dup" in p or p.endswith(f"{os.sep}a{os.sep}0.png")}
    assert len(homes) == 1 and ds.describe()["identical_images"] == 5


def test_class_folder_linked_to_the_root_is_refused(tmp_path):
    _patients(tmp_path / "d")
    (tmp_path / "d" / "all").symlink_to(tmp_path / "d", target_is_directory=True)
    with pytest.raises(GenmixError, match="read twice") as e:
        load_dataset(f"folder:{tmp_path / 'd'}")
    assert str(tmp_path / "d" / "all") in str(e.value)


def test_linked_folders_are_followed_once(tmp_path):
    owner = _patients(tmp_path / "d")
    # a link inside a class folder to a patient of that class: its images are not read twice
    (tmp_path / "d" / "benign" / "zlink").symlink_to(tmp_path / "d" / "benign" / "b00", target_is_directory=True)
    ds = load_dataset(f"folder:{tmp_path / 'd'}")
    n_files = sum(1 for p in (tmp_path / "d").rglob("*.png"))  # rglob does not enter the link
    assert sum(len(ds[s]) for s in SPLITS) == n_files and ds.describe()["groups"]["n"] == len(owner)
    # a second class folder that links to the first: the same file under two labels
    (tmp_path / "d" / "zcopy").symlink_to(tmp_path / "d" / "malignant", target_is_directory=True)
    with pytest.raises(GenmixError, match="two classes") as e:
        load_dataset(f"folder:{tmp_path / 'd'}")
    first = sorted((tmp_path / "d" / "malignant").rglob("*.png"))[0]
    assert str(first) in str(e.value) and str(tmp_path / "d" / "zcopy" / first.relative_to(
        tmp_path / "d" / "malignant")) in str(e.value)


@pytest.mark.parametrize("target", ["../..", "../../.."], ids=["to_root", "above_root"])
def test_symlink_loop_inside_a_class_folder_is_named(tmp_path, capsys, target):
    """A patient folder's link back to the dataset root (or above) is a loop: refused in one line
    naming the link and where it points, not as a file under two classes."""
    _patients(tmp_path / "d")
    link = tmp_path / "d" / "benign" / "b00" / "up"
    link.symlink_to(target, target_is_directory=True)
    rc, out, err = _run(["data-info", f"folder:{tmp_path / 'd'}"], capsys)
    line = _err_line(err)
    assert rc == 2 and out == ""
    assert line.startswith(f"genmix: error: {link}: symlink loop: it points to {target} "
                           f"({(link.parent / target).resolve()})")
    assert "two classes" not in line


def test_link_to_its_own_class_folder_is_read_once_and_a_looping_image_link_is_named(tmp_path):
    owner = _patients(tmp_path / "d")
    n_files = sum(1 for _ in (tmp_path / "d").rglob("*.png"))
    (tmp_path / "d" / "benign" / "b00" / "up").symlink_to("..", target_is_directory=True)
    ds = load_dataset(f"folder:{tmp_path / 'd'}")
    assert sum(len(ds[s]) for s in SPLITS) == n_files and ds.describe()["groups"]["n"] == len(owner)
    a, b = tmp_path / "d" / "malignant" / "m00" / "a.png", tmp_path / "d" / "malignant" / "m00" / "b.png"
    a.symlink_to("b.png")
    b.symlink_to("a.png")
    with pytest.raises(GenmixError, match="symlink loop") as e:
        load_dataset(f"folder:{tmp_path / 'd'}")
    assert str(e.value).startswith(f"{a}: symlink loop (it points to b.png")


@pytest.mark.parametrize("grouped", [False, True])
def test_too_few_per_class_is_one_line_before_any_split(tmp_path, capsys, grouped):
    rng = np.random.default_rng(6)
    for c, n in (("benign", 5), ("malignant", 2)):
        for i in range(n):
            write_png(tmp_path / c / (f"p{i}/0.png" if grouped else f"{i}.png"), _img(rng))
    rc, out, err = _run(["data-info", f"folder:{tmp_path}"], capsys)
    line = _err_line(err)
    unit = "patients" if grouped else "images"
    assert rc == 2 and out == ""
    assert f"{tmp_path}: class 'malignant' has 2 {unit}" in line
    assert f"needs at least 3 {unit} per class (one per split)" in line


def test_three_per_class_is_enough_one_per_split(tmp_path):
    rng = np.random.default_rng(7)
    for c in ("benign", "malignant"):
        for i in range(3):
            write_png(tmp_path / c / f"{i}.png", _img(rng))
    ds = load_dataset(f"folder:{tmp_path}")
    assert all(ds[s].counts(2) == [1, 1] for s in SPLITS)


def test_explicit_split_missing_a_class_or_a_split(tmp_path, capsys):
    _csv_images(tmp_path, 6)
    rows = ["0.png,a,train", "1.png,b,train", "2.png,a,val", "3.png,a,test", "4.png,b,test"]
    m = _csv(tmp_path, rows, "path,label,split")
    rc, _, err = _run(["data-info", f"csv:{m}"], capsys)
    assert rc == 2 and _err_line(err).endswith(f"{m}: class 'b' is missing from split 'val' (it has a)")
    m = _csv(tmp_path, ["0.png,a,train", "1.png,b,train", "3.png,a,test", "4.png,b,test"], "path,label,split")
    rc, _, err = _run(["data-info", f"csv:{m}"], capsys)
    assert rc == 2 and "split 'val' has no rows" in _err_line(err)
    for s in ("train", "test"):
        write_png(tmp_path / "f" / s / "a" / "0.png", _img(np.random.default_rng(8)))
    rc, _, err = _run(["data-info", f"folder:{tmp_path / 'f'}"], capsys)
    assert rc == 2 and "no val/" in _err_line(err) and str(tmp_path / "f") in err


def test_csv_with_bom_and_spaced_header(tmp_path):
    _csv_images(tmp_path, 9)
    rows = [f"{i}.png,{'ab'[i % 2]}" for i in range(9)] + ["9.png,b"]
    write_png(tmp_path / "9.png", _img(np.random.default_rng(9)))
    ds = load_dataset(f"csv:{_csv(tmp_path, rows, 'Path, Label', bom=True)}")
    assert sum(len(ds[s]) for s in SPLITS) == 10


def _read(path):
    with open(path, newline="") as f:
        return list(csv.DictReader(f))


def test_data_info_manifest_matches_the_loaded_split(tmp_path, capsys):
    _patients(tmp_path / "d")
    out_csv = tmp_path / "out" / "split.csv"
    out_csv.parent.mkdir()
    rc, out, _ = _run(["data-info", f"folder:{tmp_path / 'd'}", "--manifest", str(out_csv)], capsys)
    assert rc == 0 and str(out_csv) in out
    assert [p.name for p in out_csv.parent.iterdir()] == ["split.csv"]  # no .partial left
    rows = _read(out_csv)
    assert list(rows[0]) == ["path", "label", "split", "group"]
    ds = load_dataset(f"folder:{tmp_path / 'd'}")
    expected = [(p, ds.class_names[y], s, g) for s in SPLITS
                for p, y, g in zip(ds[s].sources, ds[s].labels.tolist(), ds[s].groups)]
    assert [(r["path"], r["label"], r["split"], r["group"]) for r in rows] == expected
    splits_of = {}
    for r in rows:
        splits_of.setdefault(r["group"], set()).add(r["split"])
    assert all(len(v) == 1 for v in splits_of.values())


def test_data_info_manifest_on_medmnist(tmp_path, capsys, medmnist_root):
    out_csv = tmp_path / "m.csv"
    rc, _, _ = _run(["data-info", "medmnist:breastmnist", "--data-root", str(medmnist_root("breastmnist")),
                     "--manifest", str(out_csv)], capsys)
    assert rc == 0
    rows = _read(out_csv)
    assert len(rows) == 780
    assert rows[0] == {"path": "medmnist:breastmnist/train/000000", "label": rows[0]["label"], "split": "train",
                       "group": ""}
    assert rows[0]["label"] in ("malignant", "normal, benign")
    assert {s: sum(r["split"] == s for r in rows) for s in SPLITS} == {"train": 546, "val": 78, "test": 156}
    assert len({r["path"] for r in rows}) == 780


def test_manifest_to_a_folder_is_one_line_and_nothing_written(tmp_path, capsys):
    _patients(tmp_path / "d")
    out = tmp_path / "out"
    out.mkdir()
    rc, _, err = _run(["data-info", f"folder:{tmp_path / 'd'}", "--manifest", str(out)], capsys)
    assert rc == 2 and _err_line(err).startswith(f"genmix: error: {out}: cannot write")
    assert list(out.iterdir()) == [] and sorted(p.name for p in tmp_path.iterdir()) == ["d", "out"]


def test_classifier_run_and_experiment_write_the_split_manifest(tmp_path):
    from genmix.classify.train import TrainConfig, train_classifier

    _patients(tmp_path / "d", size=16)
    spec = f"folder:{tmp_path / 'd'}"
    ds = load_dataset(spec)
    cfg = TrainConfig(data=spec, model="smallcnn", epochs=1, batch_size=16, lr=3e-3, patience=5, seed=0)
    train_classifier(ds, cfg, tmp_path / "run", "cpu", progress=False)
    write_split_manifest(ds, tmp_path / "expected.csv")
    assert (tmp_path / "run" / "split_manifest.csv").read_text() == (tmp_path / "expected.csv").read_text()

    exp_cfg = tmp_path / "exp.yaml"
    exp_cfg.write_text(yaml.safe_dump({"data": spec, "seeds": [0], "rows": ["baseline"], "figures": False,
                                       "classifier": {"model": "smallcnn", "epochs": 1, "batch_size": 16,
                                                      "lr": 0.003, "patience": 5}}))
    assert main(["run", str(exp_cfg), "--out", str(tmp_path / "exp"), "--quiet"]) == 0
    assert (tmp_path / "exp" / "split_manifest.csv").read_text() == (tmp_path / "expected.csv").read_text()
