"""Power in every verdict: the detectable effect and replicates needed in table.csv, table.md, verdict.json and
the verdict's words, on experiment folders made from known predictions (tests/stats/simulate.py)."""

import csv
import json
import math

import numpy as np
import pytest

from genmix.experiment.compare import power_words
from genmix.experiment.tables import build_tables
from genmix.stats.power import detectable_effect, replicates_needed

from ..stats.simulate import draw_test_set, predictions


def _metrics(labels, pred):
    from sklearn.metrics import accuracy_score, f1_score, recall_score

    out = {"accuracy": accuracy_score(labels, pred), "f1_macro": f1_score(labels, pred, average="macro"),
           "balanced_accuracy": recall_score(labels, pred, average="macro"), "auc_macro": ""}
    for c, name in enumerate(("common", "rare")):
        out[f"{name}/sensitivity"] = float(((pred == c) & (labels == c)).sum() / max(1, (labels == c).sum()))
        out[f"{name}/specificity"] = float(((pred != c) & (labels != c)).sum() / max(1, (labels != c).sum()))
    return out


def _experiment(tmp_path, seed, replicates, n_images, effect=0.0, spread=0.15, effect_points=None):
    """An experiment folder (plan.json, results.csv, predictions) with Baseline and one GenMix row."""
    rng = np.random.default_rng(seed)
    labels, difficulty = draw_test_set(rng, n_images)
    row, base = predictions(rng, labels, difficulty, replicates, effect=effect, spread=spread)
    rows = [{"name": "Baseline", "augment": "none"},
            {"name": "GenMix (DCGAN)", "augment": "genmix", "generator": "dcgan", "ratio": 0.5, "alpha": 0.3}]
    units, results = [], []
    for name, preds in (("Baseline", base), ("GenMix (DCGAN)", row)):
        for s in range(replicates):
            uid = f"clf-{name[:4]}-{s}"
            d = tmp_path / "units" / uid
            d.mkdir(parents=True)
            with open(d / "predictions_test.csv", "w", newline="") as f:
                w = csv.writer(f)
                w.writerow(["label", "pred"])
                w.writerows(zip(labels.tolist(), preds[s].tolist()))
            units.append({"id": uid, "row": name, "seed": s, "dir": str(d)})
            results.append({"row": name, "seed": s, "unit": uid, "status": "done", "steps": 100,
                            **_metrics(labels, preds[s])})
    (tmp_path / "plan.json").write_text(json.dumps({"rows": rows, "units": {"clf": units}}))
    if effect_points is not None:
        (tmp_path / "config.json").write_text(json.dumps({"effect": effect_points}))
    with open(tmp_path / "results.csv", "w", newline="") as f:
        w = csv.DictWriter(f, fieldnames=list(results[0]))
        w.writeheader()
        w.writerows(results)
    return tmp_path


def _genmix(table):
    return next(e for e in table if e["row"] == "GenMix (DCGAN)")


def test_detectable_effect_and_replicates_needed_are_the_stats_answer_for_the_observed_spread(tmp_path):
    e = _genmix(build_tables(_experiment(tmp_path, 0, 4, 600, spread=0.1)))
    # one generator: the verdict family has one comparison, its level is 0.05
    assert e["verdict_family"] == 1 and e["power_level"] == pytest.approx(0.05) and e["verdict_row"] == 1
    sd, se_img = e["delta_f1_macro_sd"], e["se_img_f1_macro"]
    assert se_img > 0 and sd > 0
    assert e["detectable_f1_macro"] == pytest.approx(detectable_effect(sd, 4, se_img, 0.05))
    need = replicates_needed(0.05, sd, se_img, 0.05)
    assert isinstance(need, int) and e["replicates_needed_f1_macro"] == need
    md = (tmp_path / "table.md").read_text()
    assert "detectable ΔF1 | replicates for ±5" in md and f"±{100 * e['detectable_f1_macro']:.1f}" in md
    v = json.loads((tmp_path / "verdict.json").read_text())
    assert v[0]["generator"] == "dcgan" and v[0]["detectable_f1_macro"] == pytest.approx(e["detectable_f1_macro"])


def test_indistinguishable_says_no_effect_larger_than_x_when_the_replicates_rule_it_out(tmp_path):
    table = build_tables(_experiment(tmp_path, 1, 10, 3000, spread=0.05))
    e = _genmix(table)
    assert 100 * e["detectable_f1_macro"] < 5
    line = (tmp_path / "table.md").read_text().split("\n")[2]
    assert "is indistinguishable from Baseline" in line, line
    assert f"No effect larger than ±{100 * e['detectable_f1_macro']:.1f} F1 points (10 replicates" in line


def test_indistinguishable_says_how_many_replicates_would_decide(tmp_path):
    table = build_tables(_experiment(tmp_path, 2, 3, 400, spread=0.35))
    e = _genmix(table)
    need = e["replicates_needed_f1_macro"]
    assert 100 * e["detectable_f1_macro"] > 5 and isinstance(need, int) and need > 3
    line = (tmp_path / "table.md").read_text().split("\n")[2]
    assert f"Too few replicates: 3 detect only ±{100 * e['detectable_f1_macro']:.1f} F1 points; about {need} would " \
           "decide ±5." in line, line


def test_a_small_test_set_no_replicate_count_decides(tmp_path):
    table = build_tables(_experiment(tmp_path, 3, 3, 40, spread=0.1, effect_points=2))
    e = _genmix(table)
    assert e["effect"] == 2 and e["replicates_needed_f1_macro"] == ""  # the config's effect, and no n reaches it
    assert "no replicate count decides ±2 on this test set" in (tmp_path / "table.md").read_text()


def test_a_real_effect_beats_baseline(tmp_path):
    build_tables(_experiment(tmp_path, 4, 5, 400, effect=1.0, spread=0.1))
    line = (tmp_path / "table.md").read_text().split("\n")[2]
    assert "**GenMix (DCGAN) beats Baseline**" in line and "detect" not in line


def test_power_words_for_one_replicate():
    e = {"detectable_f1_macro": math.nan, "n_paired": 1, "effect": 5.0}
    assert power_words(e).startswith("one replicate")
