import csv

import pytest

from genmix.classify.train import TrainConfig, train_classifier
from tests.generate.toy import toy_dataset

pytest.importorskip("tensorboard")


def _cfg():
    return TrainConfig(data="toy:bars", model="smallcnn", epochs=2, batch_size=32, lr=1e-3, seed=0)


def test_training_curves_go_to_tensorboard_event_files(tmp_path, monkeypatch):
    from tensorboard.backend.event_processing.event_accumulator import EventAccumulator

    monkeypatch.delenv("GENMIX_TENSORBOARD", raising=False)
    train_classifier(toy_dataset(16), _cfg(), tmp_path / "run", "cpu", progress=False)
    acc = EventAccumulator(str(tmp_path / "run" / "tensorboard"))
    acc.Reload()
    with open(tmp_path / "run" / "history.csv") as f:
        hist = list(csv.DictReader(f))
    for tag, key in (("train/loss", "train_loss"), ("val/f1_macro", "val_f1_macro")):
        ev = acc.Scalars(tag)
        assert [e.step for e in ev] == [1, 2]
        assert [e.value for e in ev] == pytest.approx([float(h[key]) for h in hist], rel=1e-5)
    assert len(acc.Scalars("train/lr")) == 2


def test_tensorboard_can_be_turned_off(tmp_path, monkeypatch):
    monkeypatch.setenv("GENMIX_TENSORBOARD", "0")
    train_classifier(toy_dataset(16), _cfg(), tmp_path / "run", "cpu", progress=False)
    assert (tmp_path / "run" / "history.csv").is_file() and not (tmp_path / "run" / "tensorboard").exists()
