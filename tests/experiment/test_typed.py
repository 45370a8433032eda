"""The typed plan: every unit kind that a plan makes matches its typed dict, and a unit that drifts from it
(a field missing, misspelt, of the wrong type, or an unknown kind) is refused at plan time by name."""

import copy

import pytest
import yaml

from genmix.experiment.config import load_config
from genmix.experiment.planner import plan
from genmix.experiment.typed import check_plan

CFG = {
    "data": "simulated:fll@16",
    "seeds": [0, 1],
    "replicate": "full",
    "classifier": {"model": "smallcnn", "epochs": 2, "batch_size": 64},
    "generators": {"dcgan": {"preset": "quick", "steps": 20}, "textual-inversion": {}},
    "rows": ["baseline", "genmix:dcgan", "genmix:textual-inversion",
             {"augment": "genmix", "generator": "dcgan", "select": "val", "candidates": {"alpha": [0.3, 1.0]},
              "halving": {"at": 0.5, "keep": 1}}],
    "audit": {"samples_per_class": 4, "epochs": 1},
}


@pytest.fixture(scope="module")
def units(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("typed")
    (tmp / "c.yaml").write_text(yaml.safe_dump(CFG))
    cfg = load_config(tmp / "c.yaml")
    return plan(cfg, tmp / "exp", cfg["seeds"])["units"]


def test_a_plan_has_every_kind_and_passes(units):
    kinds = {u["kind"] for g in units.values() for u in (g.values() if isinstance(g, dict) else g)}
    assert kinds == {"gen", "synth", "clf", "rung", "halving", "audit-real-classifier", "audit"}
    check_plan(units)


@pytest.mark.parametrize("kind, edit, message", [
    ("gen", lambda u: u.pop("gen_key"), r"gen-dcgan-\w+ \(gen\): gen_key: Field required"),
    ("synth", lambda u: u.update(ratio="half"), r"\(synth\): ratio: Input should be a valid number"),
    ("clf", lambda u: u.update(seeed=1), r"\(clf\): seeed: Extra inputs are not permitted"),
    ("clf", lambda u: u["data"].update(size="big"), r"data\.size: Input should be a valid integer"),
    ("halving", lambda u: u.update(kind="halve"), r"\(halve\): .*does not match any of the expected tags"),
])
def test_a_drifted_unit_is_refused_by_name(units, kind, edit, message):
    bad = copy.deepcopy(units)
    group = bad["gen"] if kind == "gen" else bad["synth"] if kind == "synth" else bad["clf"] if kind == "clf" \
        else bad["halving"]
    members = list(group.values()) if isinstance(group, dict) else group
    edit(next(u for u in members if u["kind"] == kind and u.get("status", "planned") == "planned"))
    with pytest.raises(TypeError, match=message):
        check_plan(bad)
