"""Adaptive replicates in genmix run: looks at min..max, cached replicates reused, the sequential decision in
the verdict, and the config checks. The error rate of the procedure is simulated in tests/stats."""

import csv
import json

import pytest
import yaml

from genmix.cli import main
from genmix.experiment.config import load_config

TINY = {
    "data": "simulated:fll@16",
    "classifier": {"model": "smallcnn", "epochs": 4, "batch_size": 32, "lr": 0.003, "patience": 50},
    "generators": {"dcgan": {"preset": "quick", "steps": 10, "batch_size": 32, "ngf": 8, "ndf": 8, "nz": 16}},
    "rows": ["baseline", "genmix:dcgan"],
    "audit": False,
    "figures": False,
}


def _config(tmp_path, **over):
    p = tmp_path / "adaptive.yaml"
    p.write_text(yaml.safe_dump({**TINY, **over}))
    return p


def _seeds(exp):
    with open(exp / "results.csv") as f:
        return sorted({int(r["seed"]) for r in csv.DictReader(f)})


def test_runs_looks_until_max_when_nothing_is_decided_and_reuses_cached_replicates(tmp_path, capsys):
    # an effect of interest of 0.01 F1 points is never ruled out: every look continues to max
    cfg = _config(tmp_path, replicates={"min": 2, "max": 3}, effect=0.01)
    exp = tmp_path / "exp"
    assert main(["run", str(cfg), "--out", str(exp), "--quiet", "--no-figures"]) == 0
    state = json.loads((exp / "sequential.json").read_text())
    assert state["plan"] == [2, 3] and [lk["replicates"] for lk in state["looks"]] == [2, 3]
    assert state["looks"][0]["states"] == {"GenMix (DCGAN)": "continue"}
    final = state["looks"][1]["states"]["GenMix (DCGAN)"]
    assert final in ("undecided", "different") and _seeds(exp) == [0, 1, 2]
    v = json.loads((exp / "verdict.json").read_text())[0]
    assert v["sequential_state"] == final and v["sequential_n"] == 3
    assert "Adaptive replicates (looks at 2 3)" in (exp / "table.md").read_text()
    # a rerun finds every unit cached: nothing is trained again
    from genmix.experiment.adaptive import run_adaptive
    from genmix.experiment.run import run_experiment

    ran = []
    run_adaptive(load_config(cfg), exp, lambda *a, **k: ran.extend(run_experiment(*a, **k)), progress=False)
    assert ran == []


def test_stops_at_the_first_look_when_every_verdict_is_decided(tmp_path, monkeypatch):
    from genmix.experiment import compare
    from genmix.stats import sequential

    real = sequential.decide

    def decided(r, plan, effect, alpha=0.05):  # as if the effect of interest were ruled out at once
        d = real(r, plan, effect, alpha)
        return sequential.Look("no-larger", d.n, d.p, d.level, d.detectable)

    monkeypatch.setattr(sequential, "decide", decided)
    exp = tmp_path / "exp"
    assert main(["run", str(_config(tmp_path, replicates={"min": 2, "max": 4, "step": 2})), "--out", str(exp),
                 "--quiet", "--no-figures"]) == 0
    assert _seeds(exp) == [0, 1]
    state = json.loads((exp / "sequential.json").read_text())
    assert state["plan"] == [2, 4] and len(state["looks"]) == 1
    assert compare.read_state(exp)["looks"][0]["states"] == {"GenMix (DCGAN)": "no-larger"}


@pytest.mark.parametrize("over,msg", [
    ({"replicates": {"min": 1}}, "replicates.min"),
    ({"replicates": {"min": 5, "max": 3}}, "max (3) is below min (5)"),
    ({"replicates": {"min": 2}, "seeds": [0, 1]}, "not both"),
    ({"effect": 0}, "effect"),
])
def test_bad_adaptive_settings_are_one_line_errors(tmp_path, capsys, over, msg):
    assert main(["run", str(_config(tmp_path, **over)), "--out", str(tmp_path / "e"), "--quiet"]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and msg in err[0] and "adaptive.yaml" in err[0], err
    assert not (tmp_path / "e").exists()
