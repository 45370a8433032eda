"""The generator check (genmix.audit.health): a deliberately collapsed generator and real held-out images,
audited for real on BreastMNIST at 16 px; the thresholds' edges; the marker in the
verdict, table.md and verdict.json."""

import csv
import json
import math
import os

import pytest
import torch

from genmix.audit import COLUMNS, audit_synthetic
from genmix.audit.health import generator_health, health_note, health_notes
from genmix.data import load_dataset
from tests.audit.fakes import per_class_pick, write_synth_dir

N = 20
KW = dict(encoder_model="smallcnn", encoder_epochs=2, samples_per_class=N, seed=0)


def _write_audit(path, rows):
    """audit.csv as genmix.audit.experiment writes it: synthesis, generator, ratio, balance + COLUMNS."""
    with open(path, "w", newline="") as f:
        w = csv.writer(f)
        w.writerow(["synthesis", "generator", "ratio", "balance", *COLUMNS])
        for sid, g, r in rows:
            w.writerow([sid, g, 0.5, False, *[r.get(k, "") for k in COLUMNS]])


@pytest.fixture(scope="module")
def audited(tmp_path_factory):
    from tests.conftest import data_root

    root = data_root()
    root = root / "medmnist" if (root / "medmnist").is_dir() else root
    if not (root / "breastmnist.npz").is_file():
        msg = f"{root / 'breastmnist.npz'} missing"
        if os.environ.get("CI", "").lower() == "true":
            pytest.fail(msg)
        pytest.skip(msg)
    torch.set_num_threads(2)
    tmp = tmp_path_factory.mktemp("health")
    ds = load_dataset("medmnist:breastmnist", root, image_size=16)
    names, tr, va = ds.class_names, ds["train"], ds["val"]
    ci, vi = per_class_pick(tr, N, seed=5), per_class_pick(va, N, seed=5)
    y = tr.labels[ci]
    one = torch.stack([tr.images[ci][y == c][0] for c in range(2)])  # one image per class, repeated
    sets = {"collapsed": (one[y], y), "heldout": (va.images[vi], va.labels[vi])}
    rows = []
    for name, (x, lab) in sets.items():
        d = write_synth_dir(tmp / name, x, lab, names)
        res = audit_synthetic(d, ds, tmp / f"{name}-audit", classifier_dir=tmp / "classifiers", **KW)
        rows += [(f"synth-{name}", name, r) for r in res["rows"]]
    _write_audit(tmp / "audit.csv", rows)
    return generator_health(tmp / "audit.csv"), tmp


def test_a_collapsed_generator_is_named_collapsed(audited):
    h, _ = audited
    assert h["collapsed"]["state"] == "collapsed" and h["collapsed"]["recall"] < 0.1
    assert health_note("DCGAN", h["collapsed"]).startswith("DCGAN collapsed: recall ")
    assert h["collapsed"]["state"] != h["heldout"]["state"]


def test_real_held_out_images_are_not_collapsed(audited):
    # (label-unfaithful is checked on made-up audit rows below: at 20 images per class and 2 epochs the audit's
    # classifiers are too weak for a per-class GAN-train floor on BreastMNIST's rare class)
    h, _ = audited
    assert h["heldout"]["state"] in ("ok", "below the bar") and h["heldout"]["recall"] > 0.3, h["heldout"]


def _row(cls, **v):
    return {"class": cls, **v}


@pytest.mark.parametrize("recall,coverage,gan_train,state", [
    (0.09, 0.9, 0.9, "collapsed"), (0.9, 0.09, 0.9, "collapsed"), (0.1, 0.1, 0.9, "below the bar"),
    (0.9, 0.9, 0.39, "label-unfaithful"), (0.9, 0.9, 0.4, "below the bar"), (0.49, 0.9, 0.9, "below the bar"),
    (0.5, 0.3, 0.65, "ok")])
def test_thresholds(tmp_path, recall, coverage, gan_train, state):
    # floor 0.8: label-unfaithful below 0.4 (0.5 x), the bar at 0.64 (0.8 x)
    _write_audit(tmp_path / "audit.csv", [("s1", "dcgan", _row("a", gan_train=gan_train, gan_train_floor=0.8)),
                                          ("s1", "dcgan", _row("b", gan_train=0.8, gan_train_floor=0.8)),
                                          ("s1", "dcgan", _row("overall", recall=recall, coverage=coverage))])
    assert generator_health(tmp_path / "audit.csv")["dcgan"]["state"] == state


def test_syntheses_are_averaged_and_no_audit_is_no_marker(tmp_path):
    _write_audit(tmp_path / "audit.csv", [("s1", "dcgan", _row("overall", recall=0.02, coverage=0.5)),
                                          ("s2", "dcgan", _row("overall", recall=0.3, coverage=0.5))])
    h = generator_health(tmp_path / "audit.csv")["dcgan"]
    assert h["recall"] == pytest.approx(0.16) and h["state"] == "below the bar" and math.isnan(h["gan_train"])
    assert generator_health(tmp_path / "none.csv") == {} and health_notes(tmp_path / "nowhere") == {}


def test_by_synthesis_judges_each_replicate_alone(tmp_path):
    # two replicates of one generator: averaged they pass the bar, alone the first one does not
    _write_audit(tmp_path / "audit.csv", [("s1", "dcgan", _row("overall", recall=0.45, coverage=0.5)),
                                          ("s1", "dcgan", _row("a", gan_train=0.9, gan_train_floor=0.9)),
                                          ("s2", "dcgan", _row("overall", recall=0.75, coverage=0.5)),
                                          ("s2", "dcgan", _row("a", gan_train=0.6, gan_train_floor=0.9))])
    assert generator_health(tmp_path / "audit.csv")["dcgan"]["state"] == "ok"
    h = generator_health(tmp_path / "audit.csv", by="synthesis")
    assert {k: (v["generator"], v["state"]) for k, v in h.items()} == {
        "s1": ("dcgan", "below the bar"), "s2": ("dcgan", "below the bar")}
    assert h["s1"]["recall"] == 0.45 and h["s2"]["gan_train"] == pytest.approx(0.6)
    with pytest.raises(ValueError, match="by must be"):
        generator_health(tmp_path / "audit.csv", by="class")


def test_the_marker_leads_the_verdict_line_and_verdict_json(tmp_path):
    from genmix.experiment.tables import build_tables

    from ..experiment.test_verdict_power import _experiment

    exp = _experiment(tmp_path, 0, 3, 200)
    _write_audit(exp / "audit.csv", [("s1", "dcgan", _row("overall", recall=0.02, coverage=0.04))])
    build_tables(exp)
    line = (exp / "table.md").read_text().split("\n")[2]
    assert line.startswith("- DCGAN: ⚠ DCGAN collapsed: recall 0.02, coverage 0.04 — its rows test noise, not "
                           "GenMix. **GenMix (DCGAN)"), line
    assert json.loads((exp / "verdict.json").read_text())[0]["generator_state"] == "collapsed"
