import json

import pytest
import torch

from genmix.classify.train import TrainConfig, train_classifier
from genmix.data import load_dataset


@pytest.fixture(scope="module")
def small_sim():
    return load_dataset("simulated:fll@16")


def _cfg(**kw):
    base = dict(data="simulated:fll@16", model="smallcnn", epochs=3, batch_size=64, lr=3e-3, patience=10, seed=0)
    base.update(kw)
    return TrainConfig(**base)


def test_resume_after_interruption_gives_same_metrics(tmp_path, small_sim):
    full = train_classifier(small_sim, _cfg(augment="mixup"), tmp_path / "full", "cpu", progress=False)
    part = tmp_path / "part"
    assert train_classifier(small_sim, _cfg(augment="mixup"), part, "cpu", progress=False, stop_after=1) == {}
    assert (part / "checkpoint.safetensors").is_file() and not (part / "metrics.json").exists()
    resumed = train_classifier(small_sim, _cfg(augment="mixup"), part, "cpu", progress=False)
    assert resumed == full
    assert (part / "history.csv").read_text() == (tmp_path / "full" / "history.csv").read_text()
    assert not (part / "checkpoint.safetensors").exists()


def test_checkpoint_interval_changes_no_number_and_a_stop_always_checkpoints(tmp_path, small_sim):
    from genmix.checkpoint import load_state

    cfg = _cfg(epochs=3)
    every = train_classifier(small_sim, cfg, tmp_path / "every", "cpu", progress=False, checkpoint_every_s=0)
    never = train_classifier(small_sim, cfg, tmp_path / "never", "cpu", progress=False, checkpoint_every_s=1e9)
    assert every == never
    part = tmp_path / "part"  # no checkpoint by time, but the stop after 2 validations writes one
    train_classifier(small_sim, cfg, part, "cpu", progress=False, stop_after=2, checkpoint_every_s=1e9)
    assert load_state(part / "checkpoint.safetensors")["epoch"] == 2
    assert train_classifier(small_sim, cfg, part, "cpu", progress=False, checkpoint_every_s=1e9) == every


def test_same_seed_same_metrics_other_seed_differs(tmp_path, small_sim):
    a = train_classifier(small_sim, _cfg(epochs=1), tmp_path / "a", "cpu", progress=False)
    b = train_classifier(small_sim, _cfg(epochs=1), tmp_path / "b", "cpu", progress=False)
    train_classifier(small_sim, _cfg(epochs=1, seed=1), tmp_path / "c", "cpu", progress=False)
    assert a == b
    assert json.loads((tmp_path / "a" / "metrics.json").read_text()) == json.loads(
        (tmp_path / "b" / "metrics.json").read_text())
    assert (tmp_path / "a" / "history.csv").read_text() != (tmp_path / "c" / "history.csv").read_text()


def test_resume_refuses_a_checkpoint_of_another_config(tmp_path, small_sim):
    from genmix.errors import GenmixError

    train_classifier(small_sim, _cfg(), tmp_path, "cpu", progress=False, stop_after=1)
    with pytest.raises(GenmixError, match="another config"):
        train_classifier(small_sim, _cfg(lr=1e-2), tmp_path, "cpu", progress=False)


def test_breastmnist_resnet18_beats_majority_on_balanced_accuracy(tmp_path, medmnist_root):
    ds = load_dataset("medmnist:breastmnist", medmnist_root("breastmnist"))
    cfg = TrainConfig(data="medmnist:breastmnist", model="resnet18", epochs=6, batch_size=32, lr=1e-3,
                      patience=6, seed=0)
    m = train_classifier(ds, cfg, tmp_path, "cpu", progress=False)
    # the majority class predictor has balanced accuracy 0.5
    assert m["balanced_accuracy"] > 0.6
    assert m["n"] == 156 and sum(map(sum, m["confusion_matrix"])) == 156
    for f in ("config.yaml", "history.csv", "model.safetensors", "metrics.json"):
        assert (tmp_path / f).is_file()


def test_models_run_at_28_and_64_px():
    from genmix.classify.models import create_model

    for name in ("vgg16", "resnet18", "resnet18-cifar", "smallcnn"):
        for size, ch in ((28, 1), (64, 3)):
            m = create_model(name, 3, ch, size)
            out = m(torch.rand(2, ch, size, size))
            assert out.shape == (2, 3)


def test_pretrained_missing_weights_is_a_clear_error(tmp_path):
    from genmix.classify.models import create_model
    from genmix.errors import GenmixError

    with pytest.raises(GenmixError, match="ImageNet weights not found"):
        create_model("resnet18", 2, 1, 28, pretrained=tmp_path / "nope.pth")


def test_pretrained_weights_load_from_file_and_adapt_first_conv(tmp_path):
    from torchvision.models import resnet18

    from genmix.classify.models import create_model

    ref = resnet18(weights=None)
    torch.save(ref.state_dict(), tmp_path / "w.pth")
    m = create_model("resnet18", 2, 1, 28, pretrained=tmp_path / "w.pth")
    conv = m.backbone[1].conv1.weight
    assert torch.allclose(conv, ref.conv1.weight.sum(1, keepdim=True))
    assert torch.equal(m.backbone[1].layer1[0].conv1.weight, ref.layer1[0].conv1.weight)


def test_finished_run_is_not_retrained(tmp_path, small_sim):
    from genmix.errors import GenmixError

    first = train_classifier(small_sim, _cfg(epochs=1), tmp_path, "cpu", progress=False)
    stamp = (tmp_path / "model.safetensors").stat().st_mtime_ns
    assert train_classifier(small_sim, _cfg(epochs=1), tmp_path, "cpu", progress=False) == first
    assert (tmp_path / "model.safetensors").stat().st_mtime_ns == stamp
    with pytest.raises(GenmixError, match="finished run with another config"):
        train_classifier(small_sim, _cfg(epochs=2), tmp_path, "cpu", progress=False)


def test_cosine_schedule_decays_to_zero_and_resumes_exactly(tmp_path, small_sim):
    from genmix.classify.train import Trainer

    cfg = _cfg(schedule="cosine", epochs=2)
    full = train_classifier(small_sim, cfg, tmp_path / "full", "cpu", progress=False)
    part = tmp_path / "part"
    train_classifier(small_sim, cfg, part, "cpu", progress=False, stop_after=1)
    assert train_classifier(small_sim, cfg, part, "cpu", progress=False) == full
    t = Trainer(small_sim, cfg, tmp_path / "t", "cpu", progress=False)
    t._build()
    lrs = []
    for _ in range(2 * len(range(0, len(t.train_split), cfg.batch_size))):
        lrs.append(t.opt.param_groups[0]["lr"])
        t.opt.step()
        t.sched.step()
    assert lrs[0] == cfg.lr and lrs == sorted(lrs, reverse=True) and t.opt.param_groups[0]["lr"] < 1e-9
    with pytest.raises(Exception, match="schedule"):
        _cfg(schedule="step").validate()


def test_step_budget_fixes_steps_validation_points_and_cosine_whatever_the_split_size(tmp_path, small_sim):
    import csv
    import math

    from genmix.classify.train import Trainer

    n = len(small_sim["train"])
    per_pass = math.ceil(n / 64)
    cfg = _cfg(max_steps=per_pass + 2, eval_every=3, schedule="cosine", patience=100)
    m = train_classifier(small_sim, cfg, tmp_path / "a", "cpu", progress=False)
    assert m["steps"] == per_pass + 2 and m["max_steps"] == per_pass + 2
    with open(tmp_path / "a" / "history.csv") as f:
        steps = [int(r["step"]) for r in csv.DictReader(f)]
    assert steps == [*range(3, per_pass + 2, 3), per_pass + 2][: len(steps)] and steps[-1] == per_pass + 2
    # one full pass (with its last short batch) and two batches of the next
    assert m["images_seen"] == n + 2 * 64
    assert m["best_val"]["f1_macro"] == max(
        float(r["val_f1_macro"]) for r in csv.DictReader(open(tmp_path / "a" / "history.csv")))
    # the cosine schedule spans the step budget, not the epochs
    t = Trainer(small_sim, cfg, tmp_path / "t", "cpu", progress=False)
    t._build()
    lrs = []
    for _ in range(cfg.max_steps):
        lrs.append(t.opt.param_groups[0]["lr"])
        t.opt.step()
        t.sched.step()
    assert lrs[0] == cfg.lr and lrs == sorted(lrs, reverse=True) and lrs[-1] > 1e-6
    assert t.opt.param_groups[0]["lr"] < 1e-9
    assert abs(lrs[cfg.max_steps // 2] - cfg.lr * 0.5 * (1 + math.cos(math.pi * (cfg.max_steps // 2) / cfg.max_steps))) < 1e-12


def test_step_budget_resumes_mid_pass_exactly(tmp_path, small_sim):
    cfg = _cfg(augment="mixup", max_steps=5, eval_every=2, patience=100)  # validations fall mid-pass
    full = train_classifier(small_sim, cfg, tmp_path / "full", "cpu", progress=False)
    part = tmp_path / "part"
    assert train_classifier(small_sim, cfg, part, "cpu", progress=False, stop_after=1) == {}
    assert train_classifier(small_sim, cfg, part, "cpu", progress=False) == full
    assert (part / "history.csv").read_text() == (tmp_path / "full" / "history.csv").read_text()
    assert full["steps"] == 5 and full["epochs_run"] == 3


def test_patience_counts_validations_not_steps(tmp_path, small_sim):
    import csv

    m = train_classifier(small_sim, _cfg(max_steps=60, eval_every=1, patience=1, lr=3e-2), tmp_path, "cpu",
                         progress=False)
    with open(tmp_path / "history.csv") as f:
        h = list(csv.DictReader(f))
    assert m["steps"] < 60 and m["steps"] == len(h) and h[-1]["best"] == "0"
    assert all(r["best"] == "1" for r in h[:-1])
    with pytest.raises(Exception, match="max_steps must be >= 1"):
        _cfg(max_steps=0).validate()


def test_cli_steps_flag_sets_the_budget(tmp_path):
    from genmix.cli import main

    rc = main(["train-classifier", "--data", "simulated:fll@16", "--model", "smallcnn", "--preset", "quick",
               "--steps", "3", "--eval-every", "2", "--out", str(tmp_path), "--quiet"])
    m = json.loads((tmp_path / "metrics.json").read_text())
    assert rc in (0, None) and m["steps"] == 3 and m["epochs_run"] == 2 and m["images_seen"] == 3 * 32
    assert main(["train-classifier", "--data", "simulated:fll@16", "--steps", "0", "--out", str(tmp_path / "x")]) == 2


def test_a_moved_synthetic_folder_still_matches_the_checkpoint_config():
    """Resume compares configs with the synthetic set named by its folder, so an experiment folder that
    moved (or became absolute under Ray) resumes instead of refusing; another set is still another config."""
    from dataclasses import asdict

    from genmix.classify.train import TrainConfig, same_config

    cfg = TrainConfig(data="simulated:fll@16", model="smallcnn", augment="genmix",
                      augment_opts={"synthetic": "/abs/exp/units/synth-dcgan-abc", "alpha": 0.3})
    saved = asdict(cfg)
    saved["augment_opts"] = {**saved["augment_opts"], "synthetic": "exp/units/synth-dcgan-abc"}
    assert same_config(saved, cfg)
    saved["augment_opts"]["synthetic"] = "exp/units/synth-dcgan-other"
    assert not same_config(saved, cfg)
