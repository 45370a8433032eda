import json

import pytest
import torch

from genmix.cli import main
from genmix.data import load_dataset
from genmix.errors import GenmixError
from genmix.generate.fit import train_generator
from genmix.generate.synthesize import plan_counts, synthesize
from tests.generate.toy import toy_dataset


@pytest.fixture(scope="module")
def gen_dir(tmp_path_factory):
    out = tmp_path_factory.mktemp("gen")
    ds = toy_dataset(24)
    ds.splits["train"] = ds["train"].subset(torch.cat([torch.arange(0, 24), torch.arange(24, 34)]))  # 24 / 10
    cfg = dict(steps=5, batch_size=8, ngf=8, ndf=8, nz=8, embed_dim=4)
    train_generator(ds, "dcgan", cfg, out, "cpu", progress=False)
    return out


def test_plan_counts():
    assert plan_counts([24, 10], 0.5) == [24, 10]
    assert plan_counts([30, 10], 0.25) == [10, 3]
    assert plan_counts([24, 10], 0.5, balance=True) == [10, 24]  # totals 34 / 34, synthetic total 34
    assert plan_counts([100, 10], 0.5, balance=True) == [10, 100]  # 110 / 110
    assert plan_counts([100, 10], 0.2, balance=True) == [0, 90]  # never below the largest real class
    assert plan_counts([3, 4], per_class=[1, 2]) == [1, 2]
    with pytest.raises(GenmixError):
        plan_counts([3, 4], 1.0)


def test_synthesize_writes_counts_manifest_and_grid(gen_dir, tmp_path):
    info = synthesize(gen_dir, tmp_path / "s", ratio=0.5, seed=0, progress=False)
    assert info["counts"] == [24, 10]
    ds = load_dataset(f"synthetic:{tmp_path / 's'}")
    assert ds["train"].counts(2) == [24, 10] and ds.info["source_split"] == "train"
    assert (tmp_path / "s" / "grid.png").is_file()
    rows = (tmp_path / "s" / "manifest.csv").read_text().splitlines()
    assert rows[0] == "path,label,class_name,generator,checkpoint_hash,seed,source_split,source_dataset"
    assert len(rows) == 35 and rows[1].endswith(",dcgan," + info["request"]["checkpoint_hash"] + ",0,train,toy:bars")
    # the same folder reads as a folder: dataset too (one sub-folder per class)
    assert sorted(p.name for p in (tmp_path / "s").iterdir() if p.is_dir()) == ["0_dark", "1_bright"]


def test_synthesize_resumes_an_interrupted_run_identically(gen_dir, tmp_path):
    full = synthesize(gen_dir, tmp_path / "a", per_class=[70, 5], seed=3, progress=False)
    assert synthesize(gen_dir, tmp_path / "b", per_class=[70, 5], seed=3, progress=False, stop_after_chunks=1) == {}
    assert (tmp_path / "b.partial").is_dir() and not (tmp_path / "b").exists()
    synthesize(gen_dir, tmp_path / "b", per_class=[70, 5], seed=3, progress=False)
    a, b = load_dataset(f"synthetic:{tmp_path / 'a'}"), load_dataset(f"synthetic:{tmp_path / 'b'}")
    assert torch.equal(a["train"].images, b["train"].images) and full["counts"] == [70, 5]


def test_synthetic_set_from_another_split_is_refused(gen_dir, tmp_path):
    synthesize(gen_dir, tmp_path / "s", per_class=[2, 2], progress=False)
    info = json.loads((tmp_path / "s" / "synth.json").read_text())
    info["source_split"] = "test"
    (tmp_path / "s" / "synth.json").write_text(json.dumps(info))
    with pytest.raises(GenmixError, match="refusing"):
        load_dataset(f"synthetic:{tmp_path / 's'}")


def test_cli_synthesize_balance(gen_dir, tmp_path, capsys):
    rc = main(["synthesize", str(gen_dir), "--out", str(tmp_path / "s"), "--balance", "--quiet"])
    assert rc == 0
    assert json.loads(capsys.readouterr().out)["counts"] == {"dark": 10, "bright": 24}
    rc = main(["synthesize", str(tmp_path / "nope"), "--out", str(tmp_path / "t")])
    assert rc == 2 and not (tmp_path / "t").exists()
