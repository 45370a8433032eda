"""Successive halving of select: val candidates: rungs, the decision on validation, exact continuation."""
import csv
import json
from pathlib import Path

import pytest
import yaml

from genmix.experiment.config import load_config
from genmix.experiment.halving import rung_score
from genmix.experiment.run import plan, run_experiment

SELECT = {"augment": "genmix", "generator": "dcgan", "select": "val",
          "candidates": {"alpha": [0.3, 1.0], "epoch": ["pool", "real"]}}
GRID = {
    "data": "simulated:fll@16",
    "seeds": [0],
    "classifier": {"model": "smallcnn", "epochs": 4, "batch_size": 64, "lr": 0.003, "patience": 50},
    "generators": {"dcgan": {"preset": "quick", "steps": 10, "batch_size": 32, "ngf": 8, "ndf": 8, "nz": 16}},
    "rows": ["baseline", "genmix:dcgan", SELECT],
}


def _config(tmp_path, name, **row):
    p = tmp_path / f"{name}.yaml"
    p.write_text(yaml.safe_dump({**GRID, "rows": ["baseline", "genmix:dcgan", {**SELECT, **row}]}))
    return load_config(p)


def _rows(path):
    with open(path) as f:
        return list(csv.DictReader(f))


@pytest.fixture(scope="module")
def runs(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("halving")
    full, half = tmp / "full", tmp / "half"
    run_experiment(_config(tmp, "full"), full, progress=False)
    run_experiment(_config(tmp, "half", halving={"at": 0.5, "keep": 1}), half, progress=False)
    return tmp, full, half


def test_the_plan_gates_only_the_rows_own_candidates(tmp_path):
    p = plan(_config(tmp_path, "h", halving={"at": 0.5, "keep": 1}), tmp_path / "e", [0, 1])
    rungs = [u for u in p["units"]["halving"] if u["kind"] == "rung"]
    decisions = [u for u in p["units"]["halving"] if u["kind"] == "halving"]
    assert len(decisions) == 2 and len(rungs) == 6  # per seed: 3 own candidates (Baseline, GenMix are shared)
    assert {u["stop_after"] for u in rungs} == {2}  # half of 4 validations
    gated = [u for u in p["units"]["clf"] if u.get("rung")]
    assert len(gated) == 6 and all(u["candidate"] for u in gated)
    assert not any(u.get("rung") for u in p["units"]["clf"] if not u.get("candidate"))
    # the same candidate units (ids) as without halving: cached full runs are reused either way
    plain = plan(_config(tmp_path, "p"), tmp_path / "e", [0, 1])
    assert [u["id"] for u in p["units"]["clf"]] == [u["id"] for u in plain["units"]["clf"]]
    # keep >= candidates, or a rung at the full budget: nothing to gain, no halving units
    assert "halving" not in plan(_config(tmp_path, "k", halving={"keep": 5}), tmp_path / "e", [0])["units"]
    with pytest.raises(Exception, match=r"rows\[2\]\.halving\.at"):
        _config(tmp_path, "bad", halving={"at": 1.5})
    with pytest.raises(Exception, match=r"'halving' needs 'select: val'"):
        p = tmp_path / "bad2.yaml"
        p.write_text(yaml.safe_dump({**GRID, "rows": ["baseline", {"augment": "genmix", "generator": "dcgan",
                                                                    "halving": {"at": 0.5}}]}))
        load_config(p)


def test_halving_continues_the_rung_winner_bit_identically_and_stops_the_rest(runs):
    tmp, full, half = runs
    pf = json.loads((full / "plan.json").read_text())
    ph = json.loads((half / "plan.json").read_text())
    dec = next(u for u in ph["units"]["halving"] if u["kind"] == "halving")
    decision = json.loads((Path(dec["dir"]) / "decision.json").read_text())
    sel = pf["select"][0]
    full_dir = {u["id"]: Path(u["dir"]) for u in pf["units"]["clf"]}
    # the ranking is what the uninterrupted runs' first 2 validations say (validation split only)
    score = {c["unit"]: rung_score(full_dir[c["unit"]], 2) for c in sel["candidates"]}
    expect = max(sel["candidates"], key=lambda c: (score[c["unit"]][0], -score[c["unit"]][1]))
    assert decision["promoted"] == [expect["unit"]]
    own = {u["id"] for u in ph["units"]["clf"] if u.get("rung")}
    for uid in own:
        d = Path(half / "units" / uid)
        if uid in decision["promoted"]:  # resumed from its rung: the same run as without halving
            a = json.loads((d / "metrics.json").read_text())
            b = json.loads((full_dir[uid] / "metrics.json").read_text())
            assert a == b
            assert (d / "history.csv").read_text() == (full_dir[uid] / "history.csv").read_text()
            # ...because it went on from its rung's checkpoint, not from the start
            assert json.loads((d / "resumed_from.json").read_text()) == {"rung": f"rung2-{uid}", "validations": 2}
        else:
            assert (d / "STOPPED.json").is_file() and not (d / "metrics.json").exists()
    # the row chooses, on full-budget validation, among the candidates trained in full
    trained = [c for c in sel["candidates"] if c["unit"] not in own or c["unit"] in decision["promoted"]]
    best = max(trained, key=lambda c: (json.loads((full_dir[c["unit"]] / "metrics.json").read_text())["best_val"]
                                       ["f1_macro"], -json.loads((full_dir[c["unit"]] / "metrics.json")
                                                                 .read_text())["best_val"]["loss"]))
    row = next(r for r in _rows(half / "results.csv") if r["row"] == "GenMix (DCGAN, selected)")
    assert row["status"] == "done" and row["chosen"] == best["label"]
    cands = _rows(half / "candidates.csv")
    assert {c["rung"] for c in cands} == {"2/4"}
    assert sum(int(c["stopped_at_rung"]) for c in cands) == len(own) - 1
    # the rung units and the decision are timed with the rest
    kinds = {r["kind"] for r in _rows(half / "timings.csv")}
    assert {"rung", "halving"} <= kinds


def test_a_resumed_halving_run_reuses_every_unit(runs):
    tmp, full, half = runs
    before = (half / "results.csv").read_text()
    executed = run_experiment(_config(tmp, "half", halving={"at": 0.5, "keep": 1}), half, progress=False)
    assert executed == [] and (half / "results.csv").read_text() == before


def test_turning_halving_off_finishes_the_stopped_candidates_from_their_rungs(runs, tmp_path):
    import shutil

    tmp, full, half = runs
    again = tmp_path / "again"
    shutil.copytree(half, again)
    executed = run_experiment(_config(tmp, "full"), again, progress=False)
    stopped = [u for u in json.loads((half / "plan.json").read_text())["units"]["clf"]
               if (half / "units" / u["id"] / "STOPPED.json").is_file()]
    assert sorted(executed) == sorted(u["id"] for u in stopped) and stopped
    for u in stopped:  # each finished from where its rung stopped
        assert json.loads((again / "units" / u["id"] / "resumed_from.json").read_text())["validations"] == 2
    # every result, the selected row's included, is the one of the run that never halved
    assert (again / "results.csv").read_text() == (full / "results.csv").read_text()
    assert (again / "candidates.csv").read_text() == (full / "candidates.csv").read_text()
