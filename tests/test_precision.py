"""The GPU path's logic, run on the CPU: precision choice, autocast + gradient scaling, channels-last, TF32,
unit placement on GPUs. The same code runs on a GPU (benchmarks/gpu/check.sh times it there)."""

import os

import pytest
import torch

from genmix.classify.train import TrainConfig, train_classifier
from genmix.data import load_dataset
from genmix.errors import GenmixError
from genmix.experiment.graph import LocalBackend, visible_gpus
from genmix.generate.fit import train_generator
from genmix.precision import Precision, resolve_precision


@pytest.fixture(scope="module")
def ds():
    return load_dataset("simulated:fll@16")


def test_auto_is_fp32_on_the_cpu_and_bf16_or_fp16_on_cuda(monkeypatch):
    assert resolve_precision("auto", torch.device("cpu")) == "fp32"
    assert resolve_precision(None, torch.device("cpu")) == "fp32"
    monkeypatch.setattr(torch.cuda, "is_bf16_supported", lambda *a, **k: True)
    assert resolve_precision("auto", torch.device("cuda")) == "bf16"
    monkeypatch.setattr(torch.cuda, "is_bf16_supported", lambda *a, **k: False)
    assert resolve_precision("auto", torch.device("cuda")) == "fp16"
    assert resolve_precision("fp16", torch.device("cpu")) == "fp16"  # named: kept
    with pytest.raises(GenmixError, match="precision must be one of"):
        resolve_precision("fp8", torch.device("cpu"))
    # channels-last by default where tensor cores want it; generators never take fp16
    assert Precision("auto", "cpu").channels_last is False
    assert Precision("fp32", "cuda").channels_last is True
    assert Precision("fp16", "cpu").for_generators().name == "fp32"
    assert Precision("bf16", "cpu").for_generators().name == "bf16"


def test_autocast_runs_convolutions_in_the_lower_precision_and_fp32_not_at_all():
    conv = torch.nn.Conv2d(1, 4, 3)
    x = torch.rand(2, 1, 8, 8)
    with Precision("bf16", "cpu").autocast():
        assert conv(x).dtype == torch.bfloat16
    with Precision("fp32", "cpu").autocast():
        assert conv(x).dtype == torch.float32


def test_channels_last_changes_the_layout_not_the_output():
    torch.manual_seed(0)
    net = torch.nn.Sequential(torch.nn.Conv2d(3, 8, 3), torch.nn.ReLU(), torch.nn.Conv2d(8, 4, 3))
    x = torch.rand(2, 3, 12, 12)
    ref = net(x)
    p = Precision("fp32", "cpu", channels_last=True)
    net = p.model(net)
    xb = p.batch(x)
    assert net[0].weight.is_contiguous(memory_format=torch.channels_last)
    assert xb.is_contiguous(memory_format=torch.channels_last)
    torch.testing.assert_close(net(xb), ref, rtol=1e-5, atol=1e-5)


def test_fp32_precision_is_the_default_bit_for_bit(ds, tmp_path):
    cfg = TrainConfig(data=ds.spec, model="smallcnn", epochs=2, batch_size=32, lr=3e-3, seed=0)
    a = train_classifier(ds, cfg, tmp_path / "default", "cpu", progress=False)
    b = train_classifier(ds, cfg, tmp_path / "fp32", "cpu", progress=False, precision=Precision("fp32", "cpu"))
    assert a == b


@pytest.mark.parametrize("name", ["bf16", "fp16"])
def test_mixed_precision_trains_a_classifier_that_agrees_with_fp32(ds, tmp_path, name):
    """bf16 autocast / fp16 with gradient scaling (as on a GPU, here on the CPU): the run finishes, its first
    validation loss is close to fp32's, and it learns (beats chance on validation like fp32 does)."""
    cfg = TrainConfig(data=ds.spec, model="smallcnn", epochs=4, batch_size=32, lr=3e-3, seed=0)
    ref = train_classifier(ds, cfg, tmp_path / "fp32", "cpu", progress=False)
    m = train_classifier(ds, cfg, tmp_path / name, "cpu", progress=False, precision=name)
    import csv

    def first_val_loss(d):
        with open(d / "history.csv") as f:
            return float(next(csv.DictReader(f))["val_loss"])

    assert abs(first_val_loss(tmp_path / name) - first_val_loss(tmp_path / "fp32")) < 0.1
    chance = 1 / ds.num_classes
    assert ref["best_val"]["accuracy"] > chance + 0.1
    assert m["best_val"]["accuracy"] > chance + 0.1


def test_fp16_scaler_state_is_checkpointed_and_resumed(ds, tmp_path):
    """An fp16 run stopped after one validation resumes with its loss scale and ends where an
    uninterrupted fp16 run ends."""
    cfg = TrainConfig(data=ds.spec, model="smallcnn", epochs=3, batch_size=32, lr=3e-3, seed=0)
    full = train_classifier(ds, cfg, tmp_path / "full", "cpu", progress=False, precision="fp16")
    assert train_classifier(ds, cfg, tmp_path / "cut", "cpu", progress=False, precision="fp16", stop_after=1) == {}
    from genmix.checkpoint import load_state

    saved = load_state(tmp_path / "cut" / "checkpoint.safetensors")
    assert saved["scaler"]["scale"] > 0
    resumed = train_classifier(ds, cfg, tmp_path / "cut", "cpu", progress=False, precision="fp16")
    assert resumed == full


def test_a_generator_trains_under_bf16_autocast_and_one_without_support_stays_fp32(ds, tmp_path):
    cfg = {"steps": 6, "batch_size": 16, "ngf": 8, "ndf": 8, "nz": 16, "log_every": 2}
    model = train_generator(ds, "dcgan", cfg, tmp_path / "dcgan", "cpu", progress=False, precision="bf16")
    assert model.mixed_precision
    import csv

    with open(tmp_path / "dcgan" / "log.csv") as f:
        rows = list(csv.DictReader(f))
    assert rows and all(torch.isfinite(torch.tensor(float(v))) for r in rows for k, v in r.items() if k != "step")
    x = model.sample(4, torch.arange(4) % ds.num_classes, generator=torch.Generator().manual_seed(0))
    assert x.dtype == torch.float32 and x.shape == (4, ds.channels, ds.image_size, ds.image_size)
    from genmix.generate import generator_class

    assert generator_class("stylegan2").mixed_precision is False  # R1's double backward stays fp32


def _fake_gpus(monkeypatch, n):
    monkeypatch.setattr(torch.cuda, "is_available", lambda: n > 0)
    monkeypatch.setattr(torch.cuda, "device_count", lambda: n)


def test_units_share_gpus_up_to_units_per_gpu_and_carry_device_and_precision(monkeypatch, tmp_path):
    monkeypatch.delenv("GENMIX_DEVICE", raising=False)
    _fake_gpus(monkeypatch, 2)
    assert LocalBackend(8, threads=1, units_per_gpu=2).capacity == 4  # 2 GPUs x 2 units
    assert LocalBackend(3, threads=1, units_per_gpu=2).capacity == 3  # never more than the workers
    assert LocalBackend(8, threads=1, device="cuda:1").gpus == [1]
    assert LocalBackend(8, threads=1, device="cpu").capacity == 8  # the CPU: no GPU limit
    seen = []

    def execute(unit, threads, progress):
        seen.append((unit["id"], os.environ.get("GENMIX_DEVICE"), os.environ.get("GENMIX_PRECISION")))
        return {"id": unit["id"]}

    b = LocalBackend(1, threads=1, precision="bf16", units_per_gpu=2)
    handles = [b.submit(execute, {"id": f"u{i}"}, tmp_path) for i in range(3)]
    assert [b.busy[g] for g in (0, 1)] == [2, 1]  # the least busy GPU each time
    while handles:
        for h, _ in b.wait(handles):
            handles.remove(h)
    assert seen == [("u0", "cuda:0", "bf16"), ("u1", "cuda:1", "bf16"), ("u2", "cuda:0", "bf16")]
    assert b.busy == {0: 0, 1: 0}
    assert "GENMIX_PRECISION" not in os.environ  # set for the unit's call only


def test_a_device_that_is_not_there_is_a_clear_error(monkeypatch, capsys, tmp_path):
    _fake_gpus(monkeypatch, 0)
    assert visible_gpus("auto") == [] and visible_gpus("cpu") == []
    with pytest.raises(GenmixError, match="no such CUDA device"):
        visible_gpus("cuda")
    for bad in ("tpu", "cuda:x", "cuda:-1", "cuda:"):
        with pytest.raises(GenmixError, match="--device must be"):
            visible_gpus(bad)
    from genmix.cli import main

    cfg = tmp_path / "c.yaml"
    cfg.write_text("data: simulated:fll@16\nclassifier: {model: smallcnn, epochs: 1}\nrows: [baseline]\n")
    assert main(["run", str(cfg), "--out", str(tmp_path / "exp"), "--device", "cuda:3", "--quiet"]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert err == ["genmix: error: --device cuda:3: no such CUDA device here (0 visible)"]


def test_genmix_run_trains_every_unit_in_the_asked_precision_and_says_so_in_results(tmp_path):
    import csv
    import json

    from genmix.cli import main

    cfg = tmp_path / "c.yaml"
    cfg.write_text("data: simulated:fll@16\nseeds: [0]\naudit: false\n"
                   "classifier: {model: smallcnn, epochs: 1, batch_size: 64}\n"
                   "generators: {dcgan: {steps: 4, batch_size: 16, ngf: 8, ndf: 8, nz: 16}}\n"
                   "rows: [baseline, synthetic:dcgan]\n")
    assert main(["run", str(cfg), "--out", str(tmp_path / "exp"), "--precision", "bf16", "--no-figures",
                 "--quiet"]) == 0
    with open(tmp_path / "exp" / "results.csv") as f:
        rows = list(csv.DictReader(f))
    assert [(r["status"], r["precision"], r["device"]) for r in rows] == [("done", "bf16", "cpu")] * 2
    walls = {p.parent.name.split("-")[0]: json.loads(p.read_text()) for p in (tmp_path / "exp" / "units").glob("*/wall.json")}
    assert walls["gen"]["precision"] == "bf16" and walls["synth"]["precision"] == "fp32"
