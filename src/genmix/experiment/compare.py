"""Each row against Baseline, as table.md, table.csv, verdict.json and report.html state it.

Per row and metric (accuracy, macro-F1): the paired replicate differences d_r = row_r − Baseline_r (replicate
r of both from seed r) and the test set's own sampling error se_img — the SD of the mean difference over
bootstrap draws of the test images, one draw shared by every replicate and both rows — enter the paired
test of genmix.stats.paired (t on the differences with se² = s_d²/R + se_img², Welch–Satterthwaite df). Its
false-positive rate under no effect is 5.0 / 4.0 / 3.7 % at 3, 5 and 10 replicates in simulation
(benchmarks/stats/false_positive_rate.py; tests/stats/test_paired.py bounds it).

Two families for Holm: the table's, every row x metric compared (secondary comparisons), and the verdict's,
one pre-specified comparison per generator — the ``select: val`` GenMix row (else the fixed GenMix row) on
macro-F1 — which decides "beats / worse / indistinguishable". For every comparison the detectable effect
(80 % power at the verdict's level α/m, from the observed spread) and the replicates a stated effect needs.
"""

from __future__ import annotations

import csv
import math
from pathlib import Path

import numpy as np

from ..stats.bootstrap import image_bootstrap
from ..stats.paired import Paired, paired_test
from ..stats.power import POWER, detectable_effect, replicates_needed

METRICS = ("accuracy", "f1_macro")
BOOTSTRAPS = 1000
LEVEL = 0.05
EFFECT = 5.0  # F1 points: the effect of interest when the config states none


def summary(values) -> tuple[float, float, float, float]:
    """mean, SD (ddof 1), and the 95 % t-interval of the mean of replicate values."""
    from scipy import stats

    v = np.asarray(values, dtype=float)
    n = len(v)
    mean = float(v.mean())
    std = float(v.std(ddof=1)) if n > 1 else 0.0
    half = float(stats.t.ppf(0.975, n - 1) * std / math.sqrt(n)) if n > 1 else float("nan")
    return mean, std, mean - half, mean + half


def mcnemar(base_pred, row_pred, truth) -> float:
    """McNemar's exact test of two classifiers' test predictions (one replicate)."""
    from scipy.stats import binomtest

    b = int(((base_pred == truth) & (row_pred != truth)).sum())
    c = int(((base_pred != truth) & (row_pred == truth)).sum())
    return 1.0 if b + c == 0 else float(binomtest(min(b, c), b + c, 0.5).pvalue)


def read_predictions(unit_dir):
    """(labels, predicted classes) of a classifier unit's test split, or None when it left none."""
    p = Path(unit_dir) / "predictions_test.csv"
    if not p.is_file():
        return None
    with open(p) as f:
        rows = list(csv.DictReader(f))
    return np.array([int(r["label"]) for r in rows]), np.array([int(r["pred"]) for r in rows])


def mean_interval(values, own_preds, num_classes: int, metric: str) -> tuple[float, float]:
    """95 % interval of a row's replicate-mean metric: t on the replicate values with the test set's sampling
    error (a bootstrap of the test images shared by every replicate) added, as in stats.paired."""
    labels = own_preds[0][0]
    dist = image_bootstrap(labels, np.stack([p[1] for p in own_preds]), num_classes, metric, n_boot=BOOTSTRAPS,
                           seed=0)
    lo, hi = paired_test(values, float(dist.std(ddof=1))).interval(LEVEL)
    return max(0.0, lo), min(1.0, hi)  # the metric is a proportion


def compare(entry: dict, pairs, preds, num_classes: int) -> dict:
    """Fill ``entry`` with the paired comparison of (row, Baseline) results.csv rows ``pairs``; ``preds(unit)``
    gives a unit's test predictions. Returns {metric: Paired} for the Holm families; a comparison without test
    predictions is the plain paired t (no test-set error) with p = 1, so it stays in its family conservatively."""
    entry["n_paired"] = len(pairs)
    pp = [(preds(a["unit"]), preds(b["unit"])) for a, b in pairs]
    have = all(x is not None and y is not None for x, y in pp)
    out = {}
    for m in METRICS:
        d = [float(a[m]) - float(b[m]) for a, b in pairs]
        se_img = 0.0
        if have:
            dist = image_bootstrap(pp[0][0][0], np.stack([x[1] for x, _ in pp]), num_classes, m,
                                   base_preds=np.stack([y[1] for _, y in pp]), n_boot=BOOTSTRAPS, seed=0)
            se_img = float(dist.std(ddof=1))
        r = paired_test(d, se_img)
        if not have:
            r = Paired(r.mean, r.sd, r.n, 0.0, r.se, r.df, 1.0)
            entry["delta_interval"] = "t (predictions missing)"
        lo, hi = r.interval(LEVEL)
        entry.update({f"delta_{m}_mean": r.mean, f"delta_{m}_ci_low": lo, f"delta_{m}_ci_high": hi,
                      f"delta_{m}_sd": r.sd, f"delta_{m}_se": r.se, f"se_img_{m}": r.se_img, f"df_{m}": r.df,
                      f"p_{m}": r.p})
        out[m] = r
    entry["mcnemar_p_per_seed"] = " ".join(f"{mcnemar(y[1], x[1], x[0]):.3g}" for x, y in pp
                                           if x is not None and y is not None)
    return out


def holm_family(table: list[dict], tests: dict, prefix: str) -> None:
    """Holm over ``tests`` {(row, metric): Paired}: ``{prefix}_p_{metric}`` adjusted p-values and
    ``{prefix}_low/high_{metric}``, the interval at the comparison's Holm level (α / (m − rank), rank by
    ascending p), and ``{prefix}_family`` = m."""
    from ..stats.bootstrap import holm

    keys = list(tests)
    if not keys:
        return
    by_name = {e["row"]: e for e in table}
    raw = [tests[k].p for k in keys]
    adj = holm(raw)
    for rank, i in enumerate(np.argsort(raw, kind="stable")):
        name, m = keys[i]
        e = by_name[name]
        e[f"{prefix}_p_{m}"] = float(adj[i])
        e[f"{prefix}_family"] = len(keys)
        if e.get("delta_interval"):
            continue  # no test predictions: counted in the family (p = 1), no interval to widen
        lo, hi = tests[keys[i]].interval(LEVEL / (len(keys) - rank))
        e.update({f"{prefix}_low_{m}": lo, f"{prefix}_high_{m}": hi})


def verdict_key(e: dict) -> str:
    """The generator a GenMix row is about, with its classifier start when the row overrides it
    ('dcgan', 'dcgan [pretrained]'): one verdict each."""
    return e["generator"] + (f" [{e['start']}]" if e.get("start") else "")


def verdict_label(key: str) -> str:
    """A verdict key in words: 'dcgan [scratch]' -> 'DCGAN [scratch]'."""
    from .config import DISPLAY

    gen, _, start = key.partition(" [")
    return DISPLAY.get(gen, gen) + (f" [{start}" if start else "")


def verdict_rows(table: list[dict]) -> dict[str, dict]:
    """verdict key (verdict_key) -> the entry its verdict is about: the ``select: val`` GenMix row when it
    finished, else the fixed-setting GenMix row that finished; keys with neither are absent."""
    out = {}
    gens = dict.fromkeys(verdict_key(e) for e in table if e.get("augment") == "genmix" and e.get("generator"))
    for g in gens:
        cands = [e for e in table if e.get("augment") == "genmix" and verdict_key(e) == g]
        sel = next((c for c in cands if c.get("select") and c.get("status") == "done"), None)
        fixed = next((c for c in cands if not c.get("select") and c.get("status") == "done"), None)
        e = sel or fixed
        if e is not None and "delta_f1_macro_mean" in e:
            out[g] = e
    return out


def add_power(table: list[dict], tests: dict, m_verdict: int, effect_points: float) -> None:
    """``detectable_<metric>``: the |Δ| detected with 80 % power at the verdict's level α / m_verdict (the
    first Holm step: its strictest), from the observed spread and test-set error; ``replicates_needed_<metric>``
    for an effect of ``effect_points`` points ("" when no replicate count does on this test set)."""
    level = LEVEL / max(1, m_verdict)
    by_name = {e["row"]: e for e in table}
    for (name, m), r in tests.items():
        e = by_name[name]  # one replicate: its spread is unknown, so nothing to say what it could detect
        e[f"detectable_{m}"] = detectable_effect(r.sd, r.n, r.se_img, level) if r.n >= 2 else math.nan
        need = replicates_needed(effect_points / 100, r.sd, r.se_img, level) if r.n >= 2 else None
        e[f"replicates_needed_{m}"] = "" if need is None else need
        e["power_level"] = level
    for e in table:
        if "delta_f1_macro_mean" in e:
            e["effect"] = effect_points


def power_words(e: dict) -> str:
    """What an indistinguishable comparison can say: whether these replicates rule out the effect of interest
    ("no effect larger than ±X"), or how many would ("about N would decide ±E"), or that none would."""
    det = e.get("detectable_f1_macro")
    eff = float(e.get("effect") or EFFECT)
    n = int(float(e.get("n_paired") or e.get("n_seeds") or 0))
    if det in ("", None) or (isinstance(det, float) and math.isnan(det)):
        return f"one replicate: no spread to say what it could detect; {eff:g} F1 points need more replicates"
    det = 100 * float(det)
    if det <= eff:
        return (f"no effect larger than ±{det:.1f} F1 points ({n} replicates detect that with "
                f"{POWER:.0%} power), below the ±{eff:g} of interest")
    need = e.get("replicates_needed_f1_macro")
    if need in ("", None):
        return (f"too few replicates to tell: {n} detect only ±{det:.1f} F1 points, and no replicate count decides "
                f"±{eff:g} on this test set (its own sampling error is too large; a bigger test set would)")
    return f"too few replicates: {n} detect only ±{det:.1f} F1 points; about {int(float(need))} would decide ±{eff:g}"


STATE = "sequential.json"


def read_state(exp: Path) -> dict | None:
    """sequential.json of an adaptive run (experiment.adaptive), or None."""
    import json

    f = Path(exp) / STATE
    return json.loads(f.read_text()) if f.is_file() else None


def judge(table: list[dict], tests: dict, state: dict) -> None:
    """Mark each verdict row of ``table`` with the sequential decision at its replicate count (build_tables
    calls this when the experiment is adaptive)."""
    from ..stats.sequential import decide

    rows = verdict_rows(table)
    m = max(1, len(rows))
    for e in rows.values():
        r = tests.get((e["row"], "f1_macro"))
        if r is None or r.n not in state["plan"]:
            e["sequential_state"] = "not at a look"
            continue
        d = decide(r, state["plan"], state["effect"] / 100, LEVEL / m)
        e.update({"sequential_state": d.state, "sequential_level": d.level, "sequential_n": d.n,
                  "sequential_plan": " ".join(map(str, state["plan"]))})
