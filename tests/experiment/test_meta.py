"""genmix meta: the random-effects pooling checked against a published worked example, and the command on
run folders made from known predictions."""

import json
import math

import numpy as np
import pytest

from genmix.cli import main
from genmix.experiment.meta import pool

from .test_verdict_power import _experiment

# BCG vaccine trials (Colditz et al. 1994; metafor's dat.bcg): tpos, tneg, cpos, cneg per trial
BCG = [(4, 119, 11, 128), (6, 300, 29, 274), (3, 228, 11, 209), (62, 13536, 248, 12619), (33, 5036, 47, 5761),
       (180, 1361, 372, 1079), (8, 2537, 10, 619), (505, 87886, 499, 87892), (29, 7470, 45, 7232),
       (17, 1699, 65, 1600), (186, 50448, 141, 27197), (5, 2493, 3, 2338), (27, 16886, 29, 17825)]


def test_pooling_reproduces_the_published_bcg_dersimonian_laird_result():
    tp, tn, cp, cn = np.array(BCG, dtype=float).T
    yi = np.log((tp / (tp + tn)) / (cp / (cp + cn)))  # log risk ratios
    vi = 1 / tp - 1 / (tp + tn) + 1 / cp - 1 / (cp + cn)
    r = pool([(f"trial {i}", y, math.sqrt(v)) for i, (y, v) in enumerate(zip(yi, vi))])
    # metafor: rma(yi, vi, data = escalc("RR", ...dat.bcg), method = "DL"): estimate -0.7141 (SE 0.1787),
    # 95 % CI -1.0644 to -0.3638, tau^2 = 0.3088, I^2 = 92.12 %, Q(df = 12) = 152.2330
    assert r["effect"] == pytest.approx(-0.7141, abs=1e-4) and r["se"] == pytest.approx(0.1787, abs=1e-4)
    assert (r["ci_low"], r["ci_high"]) == pytest.approx((-1.0644, -0.3638), abs=1e-4)
    assert r["tau2"] == pytest.approx(0.3088, abs=1e-4) and r["i2"] == pytest.approx(0.9212, abs=1e-4)
    assert r["q"] == pytest.approx(152.2330, abs=1e-3) and r["k"] == 13
    # prediction interval (Higgins et al. 2009): mu +- t(11) sqrt(tau^2 + SE^2)
    half = 2.200985 * math.sqrt(0.30876 + 0.17874 ** 2)
    assert (r["pi_low"], r["pi_high"]) == pytest.approx((-0.7141 - half, -0.7141 + half), abs=1e-3)
    assert sum(r["weights"]) == pytest.approx(1.0)


@pytest.mark.parametrize("effects", [(0.02, 0.02, 0.02), (0.02, 0.021, 0.019)])
def test_less_spread_than_sampling_error_truncates_tau2_at_zero(effects):
    # Q below its df: DerSimonian-Laird's tau^2 is max(0, ...) -> the fixed-effect (inverse-variance) pool
    r = pool([(n, e, 0.01) for n, e in zip("abc", effects)])
    assert r["tau2"] == 0 and r["i2"] == 0 and r["effect"] == pytest.approx(np.mean(effects))
    assert r["se"] == pytest.approx(0.01 / math.sqrt(3))


def _three_runs(tmp_path, seed):
    """Three run folders (datasets set0-set2) with known effects 0.3 / 0.5 / 0.0 on 300 / 400 / 200 test images."""
    runs = []
    for i, (n, eff) in enumerate([(300, 0.3), (400, 0.5), (200, 0.0)]):
        d = tmp_path / f"run{i}"
        d.mkdir()
        _experiment(d, seed + i, 4, n, effect=eff, spread=0.1)
        (d / "config.json").write_text(json.dumps({"name": f"set{i}"}))
        runs.append(str(d))
    return runs


def test_meta_command_pools_runs_and_writes_the_forest_plot(tmp_path, capsys):
    runs = _three_runs(tmp_path, 10)
    out = tmp_path / "meta"
    assert main(["meta", *runs, "--out", str(out)]) == 0
    text = capsys.readouterr().out
    assert "Meta-analysis over 3 datasets: set0, set1, set2" in text and "verdict: GenMix (DCGAN)" in text
    m = json.loads((out / "meta.json").read_text())
    r = m["comparisons"]["verdict: GenMix (DCGAN)"]["f1_macro"]
    # the pooled effect is the statsmodels pooling of the three runs' own differences and standard errors
    from genmix.experiment.tables import load_table

    studies = []
    for d in runs:
        e = next(e for e in load_table(d) if e["row"] == "GenMix (DCGAN)")
        studies.append((d, e["delta_f1_macro_mean"], e["delta_f1_macro_se"]))
    assert r["effect"] == pytest.approx(pool(studies)["effect"]) and r["k"] == 3
    assert min(s[1] for s in studies) <= r["effect"] <= max(s[1] for s in studies)
    assert r["pi_low"] <= r["ci_low"] and r["pi_high"] >= r["ci_high"]
    # the fixed GenMix row is the verdict row in every run here: pooled once, and its inputs are listed
    assert "GenMix (DCGAN)" not in m["comparisons"]
    md = (out / "meta.md").read_text()
    assert "GenMix (DCGAN) = verdict: GenMix (DCGAN)" in md
    per_dataset = next(line for line in md.splitlines() if line.startswith("| verdict: GenMix (DCGAN) | ΔF1 |")
                       and "±" in line)
    assert [c.strip() for c in per_dataset.split("|")[3:6]] == [
        f"{100 * s[1]:+.1f} ± {100 * s[2]:.1f}" for s in studies]
    png = out / "forest_verdict__genmix__dcgan.png"
    assert png.is_file() and png.stat().st_size > 5000
    html = (out / "meta.html").read_text()
    assert "data:image/png;base64," in html and "<script" not in html
    assert (out / "meta.csv").read_text().startswith("comparison,metric,k,effect")


def test_adding_a_dataset_to_an_earlier_meta_json_equals_pooling_all_runs(tmp_path, capsys):
    runs = _three_runs(tmp_path, 20)
    assert main(["meta", *runs, "--out", str(tmp_path / "all")]) == 0
    assert main(["meta", runs[0], runs[1], "--out", str(tmp_path / "two")]) == 0
    assert main(["meta", str(tmp_path / "two" / "meta.json"), runs[2], "--out", str(tmp_path / "added")]) == 0
    capsys.readouterr()
    full, added = (json.loads((tmp_path / d / "meta.json").read_text()) for d in ("all", "added"))
    assert added["datasets"] == full["datasets"] == ["set0", "set1", "set2"]
    # every comparison, the row pooled once as its verdict included, comes out the same as from the three runs
    assert full["pooled_as"] == added["pooled_as"] == {"GenMix (DCGAN)": "verdict: GenMix (DCGAN)"}
    assert added["comparisons"].keys() == full["comparisons"].keys()
    for key, by_metric in full["comparisons"].items():
        for m, r in by_metric.items():
            assert added["comparisons"][key][m]["effect"] == pytest.approx(r["effect"])
            assert added["comparisons"][key][m]["studies"] == r["studies"]
    # meta.json keeps every comparison's inputs (the row pooled once as its verdict too)
    two = json.loads((tmp_path / "two" / "meta.json").read_text())
    assert two["inputs"].keys() == two["comparisons"].keys() | {"GenMix (DCGAN)"}
    # an older meta.json (no inputs): its pooled comparisons, the row pooled once as its verdict restored
    older = {k: v for k, v in two.items() if k != "inputs"}
    (tmp_path / "older.json").write_text(json.dumps(older))
    assert main(["meta", str(tmp_path / "older.json"), runs[2], "--out", str(tmp_path / "added2")]) == 0
    capsys.readouterr()
    again = json.loads((tmp_path / "added2" / "meta.json").read_text())
    assert {k: v["f1_macro"]["studies"] for k, v in again["comparisons"].items()} == {
        k: v["f1_macro"]["studies"] for k, v in full["comparisons"].items()}
    # the same dataset from two inputs would be counted twice: refused, naming the input and the dataset
    assert main(["meta", str(tmp_path / "two" / "meta.json"), runs[1], "--out", str(tmp_path / "x")]) == 2
    err = capsys.readouterr().err.strip()
    assert runs[1] in err and "'set1' is already in another input" in err and not (tmp_path / "x").exists()
    # order does not matter: the meta.json after the run folder is refused the same way
    assert main(["meta", runs[1], str(tmp_path / "two" / "meta.json"), "--out", str(tmp_path / "x")]) == 2
    assert "'set1' is already in another input" in capsys.readouterr().err
    # two run folders of one name are told apart by their folder, as before
    assert main(["meta", runs[0], runs[1], runs[0], "--out", str(tmp_path / "same")]) == 0
    capsys.readouterr()
    assert json.loads((tmp_path / "same" / "meta.json").read_text())["datasets"] == ["set0", "set1",
                                                                                   f"set0 ({runs[0]})"]
    (tmp_path / "bad.json").write_text('{"datasets": ["a"]}')
    assert main(["meta", str(tmp_path / "bad.json"), runs[1], "--out", str(tmp_path / "x")]) == 2
    assert "bad.json: not a meta.json written by genmix meta" in capsys.readouterr().err


def test_meta_bad_input_is_one_line(tmp_path, capsys):
    assert main(["meta", str(tmp_path), str(tmp_path / "x"), "--out", str(tmp_path / "m")]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and "not an experiment folder" in err[0] and str(tmp_path) in err[0]
    assert not (tmp_path / "m").exists()
    assert main(["meta", str(tmp_path), "--out", str(tmp_path / "m")]) == 2
    assert "at least two run folders" in capsys.readouterr().err


@pytest.mark.parametrize("key, label", [("dcgan", "DCGAN"), ("ddpm [scratch]", "Diffusion [scratch]"),
                                        ("mygen [pretrained=bb]", "mygen [pretrained=bb]")])
def test_verdicts_with_a_classifier_start_are_named_like_the_table(key, label):
    # the meta-analysis and the verdict text name a verdict the same way: the generator's display name + its start
    from genmix.experiment.compare import verdict_label

    assert verdict_label(key) == label
