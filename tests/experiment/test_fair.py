"""Equal budgets across a grid, replicate: full, select: val, the bootstraps, Holm, the verdict."""
import csv
import json
import math
from pathlib import Path

import numpy as np
import pytest
import yaml

from genmix.experiment.config import load_config
from genmix.experiment.run import plan, run_experiment, write_results
from genmix.experiment.tables import build_tables
from genmix.experiment.verdict import verdict
from genmix.stats.bootstrap import bootstrap_p, confusion_metric, hierarchical_bootstrap, holm

GRID = {
    "data": "simulated:fll@16",
    "seeds": [0],
    "classifier": {"model": "smallcnn", "epochs": 2, "batch_size": 64, "lr": 0.003, "patience": 50},
    "generators": {"dcgan": {"preset": "quick", "steps": 10, "batch_size": 32, "ngf": 8, "ndf": 8, "nz": 16}},
    "rows": ["baseline", "synthetic:dcgan", "genmix:dcgan",
             {"augment": "genmix", "generator": "dcgan", "select": "val", "candidates": {"alpha": [0.3, 1.0]}}],
}


def _write(tmp_path, **over):
    p = tmp_path / "grid.yaml"
    p.write_text(yaml.safe_dump({**GRID, **over}))
    return load_config(p)


def _rows(path):
    with open(path) as f:
        return list(csv.DictReader(f))


@pytest.fixture(scope="module")
def grid(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("grid")
    cfg = _write(tmp)
    exp = tmp / "exp"
    run_experiment(cfg, exp, progress=False)
    build_tables(exp)
    return cfg, exp


def test_equal_budget_gives_pool_and_real_rows_the_same_steps(grid, tmp_path):
    from genmix.experiment.units import cached_dataset

    cfg, exp = grid
    n_real = len(cached_dataset(cfg["data"], None, None, None)["train"])
    want = 2 * math.ceil(n_real / 64)
    rows = {r["row"]: r for r in _rows(exp / "results.csv")}
    assert set(rows) == {"Baseline", "DCGAN (50%)", "GenMix (DCGAN)", "GenMix (DCGAN, selected)"}
    assert {r["steps"] for r in rows.values()} == {str(want)}
    # the pool rows saw about twice the images per pass, yet made the same number of steps
    assert all(int(r["images_seen"]) <= want * 64 for r in rows.values())
    assert f"Budget: {want} optimizer steps per run (2 epochs of the {n_real} real" in (exp / "table.md").read_text()
    # budget: per-epoch keeps the old behaviour: the pool rows make more steps
    p = plan(_write(tmp_path, budget="per-epoch"), tmp_path / "pe", [0])
    assert all(u["train_config"]["max_steps"] is None for u in p["units"]["clf"])
    with pytest.raises(Exception, match=r"budget: must be 'equal' or 'per-epoch', got 'lots'"):
        _write(tmp_path, budget="lots")


def test_replicate_full_trains_a_generator_and_synthesis_per_seed(tmp_path):
    shared = plan(_write(tmp_path), tmp_path / "a", [0, 1])
    full = plan(_write(tmp_path, replicate="full"), tmp_path / "b", [0, 1])
    assert len(shared["units"]["gen"]) == 1 and len(shared["units"]["synth"]) == 1
    gens = sorted(full["units"]["gen"].values(), key=lambda g: g["gen_key"])
    assert [g.get("config", {}).get("seed", 0) for g in gens] == [0, 1] and gens[0]["id"] != gens[1]["id"]
    assert sorted(s["seed"] for s in full["units"]["synth"].values()) == [0, 1]
    # seed 0's generator and synthesis are the shared ones (cached units stay valid); seed 1's are its own
    assert gens[0]["id"] == next(iter(shared["units"]["gen"].values()))["id"]
    ids = lambda p, s: {u["id"] for u in p["units"]["clf"] if u["seed"] == s and u.get("synth")}
    assert ids(full, 0) == ids(shared, 0) and not ids(full, 1) & ids(shared, 1)
    # units are shared across rows: the select row's alpha=0.3 candidate is the GenMix (DCGAN) row's unit
    sel = next(s for s in full["select"] if s["seed"] == 1)
    gm = next(u["id"] for u in full["units"]["clf"] if u["row"] == "GenMix (DCGAN)" and u["seed"] == 1)
    base = next(u["id"] for u in full["units"]["clf"] if u["row"] == "Baseline" and u["seed"] == 1)
    assert [c["unit"] for c in sel["candidates"]][:2] == [base, gm]
    assert len({c["unit"] for c in sel["candidates"]}) == 3


def test_select_val_chooses_on_validation_and_the_test_split_never_matters(grid):
    cfg, exp = grid
    p = json.loads((exp / "plan.json").read_text())
    sel = p["select"][0]
    dirs = {u["id"]: u["dir"] for u in p["units"]["clf"]}
    val = {c["label"]: json.loads(open(f"{dirs[c['unit']]}/metrics.json").read())["best_val"] for c in sel["candidates"]}
    best = max(val, key=lambda k: (val[k]["f1_macro"], -val[k]["loss"]))
    row = next(r for r in _rows(exp / "results.csv") if r["row"] == "GenMix (DCGAN, selected)")
    assert row["chosen"] == best
    chosen_unit = next(c["unit"] for c in sel["candidates"] if c["label"] == best)
    assert row["unit"] == chosen_unit
    assert float(row["f1_macro"]) == json.loads(open(f"{dirs[chosen_unit]}/metrics.json").read())["f1_macro"]
    cand = _rows(exp / "candidates.csv")
    assert [c["chosen"] for c in cand] == [str(int(c["candidate"] == best)) for c in cand]
    assert "accuracy" not in cand[0] and "f1_macro" not in cand[0]
    assert "chosen on validation macro-F1" in (exp / "table.md").read_text()
    # make every other candidate's test scores perfect and the chosen one's dreadful: the choice stays
    plan_obj = {**p, "units": p["units"]}
    for c in sel["candidates"]:
        f = f"{dirs[c['unit']]}/metrics.json"
        m = json.loads(open(f).read())
        m["accuracy"] = m["f1_macro"] = 0.0 if c["label"] == best else 1.0
        open(f, "w").write(json.dumps(m))
    write_results(exp, plan_obj)
    row = next(r for r in _rows(exp / "results.csv") if r["row"] == "GenMix (DCGAN, selected)")
    assert row["chosen"] == best and float(row["f1_macro"]) == 0.0
    # ...while a better validation score does move it
    other = next(c for c in sel["candidates"] if c["label"] != best)
    f = f"{dirs[other['unit']]}/metrics.json"
    m = json.loads(open(f).read())
    m["best_val"]["f1_macro"] = 2.0
    open(f, "w").write(json.dumps(m))
    write_results(exp, plan_obj)
    assert next(r for r in _rows(exp / "results.csv") if r["row"] == "GenMix (DCGAN, selected)")["chosen"] == \
        other["label"]


def test_a_failed_candidate_makes_the_selected_row_not_run_with_its_reason(grid, tmp_path):
    cfg, exp = grid
    p = json.loads((exp / "plan.json").read_text())
    cand = p["select"][0]["candidates"][-1]
    broken = tmp_path / "failed-unit"
    broken.mkdir()
    (broken / "FAILED.json").write_text(json.dumps({"reason": "classifier training diverged (loss nan) at step 3"}))
    units = [{**u, "dir": str(broken)} if u["id"] == cand["unit"] else u for u in p["units"]["clf"]]
    try:
        write_results(exp, {**p, "units": {**p["units"], "clf": units}})
        row = next(r for r in _rows(exp / "results.csv") if r["row"] == "GenMix (DCGAN, selected)")
        assert row["status"] == "not run"
        assert row["reason"] == "a candidate could not run: classifier training diverged (loss nan) at step 3"
        assert not row.get("f1_macro")  # no test score from any candidate
    finally:
        write_results(exp, p)
    assert next(r for r in _rows(exp / "results.csv") if r["row"] == "GenMix (DCGAN, selected)")["status"] == "done"


def test_bad_select_rows_are_clear_errors(tmp_path):
    bad = {"augment": "genmix", "generator": "dcgan", "select": "val", "candidates": {"alpha": [0]}}
    with pytest.raises(Exception, match=r"rows\[1\]\.candidates\.alpha\[0\]: must be > 0, got 0"):
        _write(tmp_path, rows=["baseline", bad])
    with pytest.raises(Exception, match="not settings of synthetic rows"):
        _write(tmp_path, rows=[{"augment": "synthetic", "generator": "dcgan", "select": "val",
                                "candidates": {"alpha": [1.0]}}])
    with pytest.raises(Exception, match=r"rows\[0\]\.select: must be 'val', got 'test'"):
        _write(tmp_path, rows=[{"augment": "genmix", "generator": "dcgan", "select": "test"}])


def test_confusion_metrics_match_sklearn():
    from sklearn.metrics import accuracy_score, confusion_matrix, f1_score

    rng = np.random.default_rng(0)
    y, p = rng.integers(0, 4, 50), rng.integers(0, 3, 50)  # class 3 never predicted
    cm = confusion_matrix(y, p, labels=range(4))
    assert confusion_metric(cm, "accuracy") == pytest.approx(accuracy_score(y, p))
    assert confusion_metric(cm, "f1_macro") == pytest.approx(
        f1_score(y, p, labels=range(4), average="macro", zero_division=0))


def _preds(rng, n, r, acc):
    y = rng.integers(0, 3, n)
    p = np.where(rng.random((r, n)) < acc, y, (y + 1) % 3)
    return y, p


def test_hierarchical_bootstrap_interval_contains_the_mean_and_narrows_with_more_images():
    rng = np.random.default_rng(1)
    widths = []
    for n in (100, 1600):
        y, p = _preds(rng, n, 3, 0.8)
        dist = hierarchical_bootstrap(y, p, 3, "accuracy", n_boot=2000, seed=0)
        lo, hi = np.percentile(dist, [2.5, 97.5])
        mean = float((p == y).mean())
        assert lo < mean < hi
        widths.append(hi - lo)
    assert widths[1] < 0.5 * widths[0]
    assert np.array_equal(dist, hierarchical_bootstrap(y, p, 3, "accuracy", n_boot=2000, seed=0))  # seeded


def test_paired_bootstrap_difference_and_p_values():
    rng = np.random.default_rng(2)
    y, base = _preds(rng, 300, 3, 0.7)
    same = hierarchical_bootstrap(y, base, 3, "f1_macro", base_preds=base, n_boot=500)
    assert np.all(same == 0) and bootstrap_p(same) == 1.0
    better = np.where(rng.random(base.shape) < 0.5, y, base)  # fixes about half the base's errors
    d = hierarchical_bootstrap(y, better, 3, "f1_macro", base_preds=base, n_boot=500)
    assert np.percentile(d, 2.5) > 0 and bootstrap_p(d) == pytest.approx(2 / 501)
    assert bootstrap_p(-d) == pytest.approx(2 / 501)


def test_holm_matches_a_hand_worked_example():
    # sorted: 0.005 x4 = 0.02, 0.01 x3 = 0.03, 0.03 x2 = 0.06, 0.04 x1 = 0.04 -> kept monotone at 0.06
    assert np.allclose(holm([0.01, 0.04, 0.03, 0.005]), [0.03, 0.06, 0.06, 0.02])
    assert np.allclose(holm([0.5, 0.9]), [1.0, 1.0])


def _entry(row, gen, d, p, select=""):
    return {"row": row, "augment": "genmix", "generator": gen, "status": "done", "select": select,
            "delta_f1_macro_mean": d, "verdict_p_f1_macro": p, "verdict_low_f1_macro": d - 0.02,
            "verdict_high_f1_macro": d + 0.02, "f1_macro_mean": 0.7 + d, "n_paired": 5, "n_seeds": 5,
            "detectable_f1_macro": 0.03, "replicates_needed_f1_macro": 4, "effect": 5.0}


def _audit_csv(path, rows):
    """audit.csv as genmix.audit.experiment writes it (its real header), with the GAN-test columns filled."""
    from genmix.audit import COLUMNS

    with open(path, "w", newline="") as f:
        w = csv.writer(f)
        w.writerow(["synthesis", "generator", "ratio", "balance", *COLUMNS])
        for sid, g, c, acc, floor in rows:
            vals = {"class": c, "gan_test": acc, "gan_test_floor": floor}
            w.writerow([sid, g, 0.5, False, *[vals.get(k, "") for k in COLUMNS]])


def test_verdict_words_numbers_and_audit_pointer(tmp_path):
    base = {"row": "Baseline", "augment": "none", "generator": "", "status": "done", "f1_macro_mean": 0.7,
            "accuracy_mean": 0.8}
    table = [base, _entry("GenMix (DCGAN)", "dcgan", -0.05, 0.001),
             _entry("GenMix (DCGAN, selected)", "dcgan", 0.04, 0.01, "val"),
             _entry("GenMix (Diffusion)", "ddpm", 0.01, 0.4), _entry("GenMix (StyleGAN)", "stylegan2", -0.04, 0.02)]
    lines = verdict(table, tmp_path)
    text = "\n".join(lines)
    assert "DCGAN: **GenMix (DCGAN, selected) beats Baseline** — ΔF1 +4.0 points" in text  # the selected row
    assert "Diffusion: **GenMix (Diffusion) is indistinguishable from Baseline**" in text
    assert "StyleGAN: **GenMix (StyleGAN) is worse than Baseline**" in text and "audit" not in text
    _audit_csv(tmp_path / "audit.csv", [  # two DCGAN replicates: its rare class is labelled wrong in both
        ("s1", "dcgan", "rare", 0.10, 0.40), ("s1", "dcgan", "common", 0.99, 0.97), ("s1", "dcgan", "overall", 0.8, 0.8),
        ("s2", "dcgan", "rare", 0.30, 0.40), ("s2", "dcgan", "common", 0.95, 0.97), ("s2", "dcgan", "overall", 0.8, 0.8),
        ("s3", "ddpm", "rare", 0.35, 0.40), ("s3", "ddpm", "common", 0.90, 0.97), ("s3", "ddpm", "overall", 0.3, 0.8),
        ("s4", "stylegan2", "rare", float("nan"), 0.40)])
    lines = verdict(table, tmp_path)
    assert "unfaithful to their labels — see audit.csv (GAN-test accuracy on rare 0.20, below 0.8 x the 0.40 " \
           "of real test images" in lines[2]
    # per class, not overall: DDPM's classes are within 0.8 x their floors (0.35 vs 0.32, 0.90 vs 0.78)
    assert "unfaithful" not in lines[3] and "see audit.csv" in lines[3]
    assert "unfaithful" not in lines[4]  # a class without synthetic images (NaN) is not read as low
    assert "equal-budget Baseline" in lines[0]
    (tmp_path / "plan.json").write_text(json.dumps({"budget": {"mode": "per-epoch"}}))
    assert "budgets differ between rows" in verdict(table, tmp_path)[0]


def test_verdict_says_when_it_falls_back_to_the_fixed_row_and_when_replicates_are_unpaired(tmp_path):
    base = {"row": "Baseline", "augment": "none", "generator": "", "status": "done", "f1_macro_mean": 0.7,
            "accuracy_mean": 0.8, "n_seeds": 5}
    pending = {"row": "GenMix (DCGAN, selected)", "augment": "genmix", "generator": "dcgan", "select": "val",
               "status": "not run", "reason": "a candidate could not run: diverged"}
    fixed = {**_entry("GenMix (DCGAN)", "dcgan", 0.01, 0.5), "n_seeds": 4, "n_paired": 4}
    line = verdict([base, fixed, pending], tmp_path)[2]
    assert line.startswith("- DCGAN: **GenMix (DCGAN) is indistinguishable from Baseline**")
    assert "(GenMix (DCGAN, selected) has no finished run — a candidate could not run: diverged — so this is the " \
           "fixed-setting row.)" in line
    assert "the F1 means are over 4 and 5 replicates, ΔF1 over the 4 paired" in line
    done = {**_entry("GenMix (DCGAN, selected)", "dcgan", 0.04, 0.01, "val")}
    line = verdict([{**base}, fixed, done], tmp_path)[2]
    assert "GenMix (DCGAN, selected) beats Baseline" in line and "fixed-setting" not in line and "over 5 and" not in line


def test_a_comparison_without_test_predictions_stays_in_the_holm_family(grid):
    from genmix.experiment.tables import load_table

    cfg, exp = grid
    before = {e["row"]: e for e in load_table(exp)}
    family = int(before["GenMix (DCGAN)"]["holm_family"])
    assert family == 6  # 3 rows compared with Baseline x (accuracy, macro-F1)
    p = json.loads((exp / "plan.json").read_text())
    unit = next(u for u in p["units"]["clf"] if u["row"] == "DCGAN (50%)")
    f = Path(unit["dir"]) / "predictions_test.csv"
    f.rename(f.with_suffix(".bak"))
    try:
        after = {e["row"]: e for e in build_tables(exp)}
        row = after["DCGAN (50%)"]
        assert row["holm_p_f1_macro"] == 1.0 and "holm_low_f1_macro" not in row
        assert row["delta_interval"] == "t (predictions missing)"
        assert after["GenMix (DCGAN)"]["holm_family"] == family  # the family did not shrink
        assert after["GenMix (DCGAN)"]["holm_p_f1_macro"] >= before["GenMix (DCGAN)"]["holm_p_f1_macro"] - 1e-12
    finally:
        f.with_suffix(".bak").rename(f)
        build_tables(exp)


def test_verdict_without_test_predictions_names_the_paired_t_interval(tmp_path):
    base = {"row": "Baseline", "augment": "none", "generator": "", "status": "done", "f1_macro_mean": 0.7}
    e = {**_entry("GenMix (DCGAN)", "dcgan", 0.01, 1.0), "delta_f1_macro_ci_low": -0.03, "delta_f1_macro_ci_high": 0.05}
    del e["verdict_low_f1_macro"], e["verdict_high_f1_macro"]
    line = verdict([base, e], tmp_path)[2]
    assert "ΔF1 +1.0 points, paired t-interval (test predictions missing) [-3.0, +5.0], Holm p = 1" in line
