"""Outputs appear complete or not at all: OUT.partial, renamed when done; removed after a user
error this command caused, kept after an interruption so the rerun resumes from it."""

import json

import pytest

from genmix.cli import main
from genmix.errors import GenmixError
from genmix.io import atomic_dir, atomic_file
from tests.helpers import make_folder_dataset


def test_atomic_dir_renames_when_complete(tmp_path):
    out = tmp_path / "a" / "b" / "out"
    with atomic_dir(out) as part:
        assert part == tmp_path / "a" / "b" / "out.partial" and part.is_dir() and not out.exists()
        (part / "f.txt").write_text("x")
    assert (out / "f.txt").read_text() == "x" and not part.exists()


def test_atomic_dir_cleans_up_what_it_created_on_a_user_error(tmp_path):
    out = tmp_path / "a" / "b" / "out"
    with pytest.raises(GenmixError, match="bad"):
        with atomic_dir(out) as part:
            (part / "f.txt").write_text("x")
            raise GenmixError("bad")
    assert not (tmp_path / "a").exists()  # parents created for it go too


def test_atomic_dir_keeps_the_partial_on_interruption_and_an_older_partial_on_error(tmp_path):
    out = tmp_path / "out"
    with pytest.raises(KeyboardInterrupt):
        with atomic_dir(out) as part:
            (part / "ckpt").write_text("1")
            raise KeyboardInterrupt
    assert (tmp_path / "out.partial" / "ckpt").read_text() == "1" and not out.exists()
    with pytest.raises(GenmixError):
        with atomic_dir(out) as part:  # resuming: the partial was not made by this call
            raise GenmixError("other config")
    assert (tmp_path / "out.partial" / "ckpt").read_text() == "1"


def test_atomic_file_leaves_the_old_file_on_error(tmp_path):
    f = tmp_path / "m.json"
    f.write_text("old")
    with pytest.raises(RuntimeError):
        with atomic_file(f) as h:
            h.write("new, half")
            raise RuntimeError
    assert f.read_text() == "old" and not (tmp_path / "m.json.partial").exists()


def test_interrupted_train_classifier_resumes_from_partial_to_the_same_result(tmp_path, capsys, monkeypatch):
    from genmix.classify import train

    monkeypatch.setenv("GENMIX_CHECKPOINT_EVERY_S", "0")  # a checkpoint after every validation
    data = tmp_path / "data"
    make_folder_dataset(data, (4, 4), size=8)
    argv = ["train-classifier", "--data", f"folder:{data}", "--model", "smallcnn", "--epochs", "3", "--batch-size", "4",
            "--quiet"]
    assert main(argv + ["--out", str(tmp_path / "whole")]) == 0
    out = tmp_path / "run"
    real, calls = train.Trainer._steps, []

    def interrupted(self, tqdm, state, n_steps):  # Ctrl-C during the third pass
        calls.append(state["step"])
        if len(calls) == 3:
            raise KeyboardInterrupt
        return real(self, tqdm, state, n_steps)

    monkeypatch.setattr(train.Trainer, "_steps", interrupted)
    assert main(argv + ["--out", str(out)]) == 130
    part = tmp_path / "run.partial"
    assert not out.exists() and (part / "checkpoint.safetensors").is_file()
    monkeypatch.setattr(train.Trainer, "_steps", real)
    assert main(argv + ["--out", str(out)]) == 0
    assert not part.exists()
    m, whole = (json.loads((d / "metrics.json").read_text()) for d in (out, tmp_path / "whole"))
    assert m == whole
    assert main(argv + ["--out", str(out)]) == 0  # finished: reused


def test_internal_errors_keep_their_traceback_and_exit_1(capsys, monkeypatch):
    import genmix.cli as cli

    def boom(args):
        raise ZeroDivisionError("a bug")

    monkeypatch.setattr(cli.experiment, "cmd_report", boom)
    assert cli.main(["report", "x"]) == 1
    err = capsys.readouterr().err
    assert "Traceback" in err and "ZeroDivisionError: a bug" in err
