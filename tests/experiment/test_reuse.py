"""genmix run --reuse OTHER_EXP: finished units with the same content are linked in, not rerun."""
import csv

import pytest
import yaml

from genmix.cli import main
from genmix.experiment.config import load_config
from genmix.experiment.run import run_experiment

GRID = {
    "data": "simulated:fll@16",
    "seeds": [0],
    "classifier": {"model": "smallcnn", "epochs": 2, "batch_size": 64, "lr": 0.003},
    "generators": {"dcgan": {"preset": "quick", "steps": 10, "batch_size": 32, "ngf": 8, "ndf": 8, "nz": 16}},
    "audit": False,
}


def _config(tmp_path, name, rows):
    p = tmp_path / f"{name}.yaml"
    p.write_text(yaml.safe_dump({**GRID, "rows": rows}))
    return load_config(p)


def _results(exp):
    with open(exp / "results.csv") as f:
        return {r["row"]: r for r in csv.DictReader(f)}


def test_reused_units_are_not_rerun_and_give_the_same_results(tmp_path):
    first = tmp_path / "first"
    run_experiment(_config(tmp_path, "a", ["baseline", "genmix:dcgan"]), first, progress=False)
    # another config: the Baseline renamed (same content), the same GenMix row, and a new row
    rows = [{"augment": "none", "name": "Mine"}, "genmix:dcgan", "synthetic:dcgan"]
    second = tmp_path / "second"
    executed = run_experiment(_config(tmp_path, "b", rows), second, progress=False, reuse=[first])
    # only the new row's classifier ran; the generator, the synthesis (the blended row uses GenMix's) and both
    # classifiers with the first run's content were linked
    assert len(executed) == 1 and executed[0].startswith("clf-dcgan-50-s0-"), executed
    a, b = _results(first), _results(second)
    for ra, rb in (("Baseline", "Mine"), ("GenMix (DCGAN)", "GenMix (DCGAN)")):
        assert a[ra]["f1_macro"] == b[rb]["f1_macro"] and a[ra]["accuracy"] == b[rb]["accuracy"]
    assert "reused gen-dcgan-" in (second / "units.log").read_text()
    # without --reuse the same config trains everything
    assert len(run_experiment(_config(tmp_path, "c", rows), tmp_path / "third", progress=False)) == 5


def test_reuse_of_a_folder_that_is_not_an_experiment_is_one_line(tmp_path, capsys):
    cfg = tmp_path / "c.yaml"
    cfg.write_text(yaml.safe_dump({**GRID, "rows": ["baseline"]}))
    (tmp_path / "empty").mkdir()
    rc = main(["run", str(cfg), "--out", str(tmp_path / "exp"), "--reuse", str(tmp_path / "empty"), "--quiet"])
    err = capsys.readouterr().err.strip().splitlines()
    assert rc == 2 and len(err) == 1 and "empty: no units/ folder" in err[0], err
    assert not (tmp_path / "exp").exists()  # nothing written


@pytest.mark.parametrize("uid,key", [("clf-genmix-dcgan-s0-1a2b3c", ("clf", "1a2b3c")),
                                     ("gen-textual-inversion-9f9f", ("gen", "9f9f"))])
def test_content_key(uid, key):
    from genmix.experiment.reuse import content_key

    assert content_key(uid) == key
