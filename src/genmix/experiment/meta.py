"""``genmix meta RUN_DIR... --out DIR``: the GenMix − Baseline differences of several runs (datasets) pooled
by a random-effects meta-analysis.

Each run contributes, per comparison, its paired difference and that difference's standard error from its
table (experiment.compare: the spread of the replicate differences and the test set's own error). The pooling
is statsmodels' ``combine_effects`` with the DerSimonian–Laird τ² (``method_re="dl"``): the pooled effect and
its 95 % interval (normal, as statsmodels and metafor report it), τ² (the variance of the true effect between
datasets), I² (the share of the spread that is heterogeneity, not sampling error), Cochran's Q, and the 95 %
prediction interval for the effect on a new dataset, μ ± t_{k−2} √(τ² + SE(μ)²) (Higgins, Thompson &
Spiegelhalter 2009; it needs k ≥ 3 datasets). Comparisons: each generator's verdict row
(experiment.compare.verdict_rows: the ``select: val`` GenMix row where it finished), and every row that runs
share by name, on macro-F1 and accuracy.

An input may also be an earlier ``genmix meta``'s meta.json: its per-dataset inputs (each dataset's Δ and SE,
kept under ``inputs`` for every comparison, a single dataset's too) join the pool, so a dataset is added to a published meta-analysis without its run folders. A dataset in two
inputs is an error (it would be counted twice).

Writes meta.csv, meta.json, meta.md, forest_<comparison>.png (macro-F1) and meta.html (one file).
"""

from __future__ import annotations

import json
import math
from pathlib import Path

from ..errors import GenmixError

METRICS = ("f1_macro", "accuracy")
LABEL = {"f1_macro": "ΔF1", "accuracy": "ΔAcc"}


def dataset_name(run: Path) -> str:
    cfg = run / "config.json"
    c = json.loads(cfg.read_text()) if cfg.is_file() else {}
    return str(c.get("name") or c.get("data") or run.name)


def collect(runs) -> tuple[list[str], dict]:
    """(dataset names, {comparison: {metric: [(dataset, effect, se), ...]}}) from the runs' tables (a run
    without table.csv has it built from its results: genmix report's tables) and earlier meta.json files."""
    names, found, from_meta = [], {}, set()
    for r in runs:
        path = Path(r)
        if path.is_file():
            got_names, got = read_meta_json(path)
        else:
            got_names, got = read_run(path, taken=[n for n in names if n not in from_meta])
        for name in got_names:
            if name in names:  # an earlier meta-analysis's dataset given again (two run folders are told apart)
                raise GenmixError(f"{path}: dataset {name!r} is already in another input (it would be pooled twice)")
        names += got_names
        if path.is_file():
            from_meta.update(got_names)
        for key, by_metric in got.items():
            for m, studies in by_metric.items():
                found.setdefault(key, {}).setdefault(m, []).extend(studies)
    return names, found


def read_run(run: Path, taken=()) -> tuple[list[str], dict]:
    """A run folder's dataset name (``NAME (RUN)`` when another run folder has the name) and comparisons."""
    from .compare import verdict_label, verdict_rows
    from .tables import build_tables, load_table

    if not (run / "plan.json").is_file() or not (run / "results.csv").is_file():
        raise GenmixError(f"{run}: not an experiment folder (no plan.json/results.csv; run genmix run first) "
                          "nor a meta.json")
    if not (run / "table.csv").is_file():
        build_tables(run)
    table = load_table(run)
    name = dataset_name(run)
    if name in taken:
        name = f"{name} ({run})"
    keyed = [(f"verdict: GenMix ({verdict_label(g)})", e) for g, e in verdict_rows(table).items()]
    keyed += [(e["row"], e) for e in table if e.get("status") == "done" and e["row"] != "Baseline"]
    found: dict = {}
    for key, e in keyed:
        for m in METRICS:
            d, se = e.get(f"delta_{m}_mean"), e.get(f"delta_{m}_se")
            if d in ("", None) or se in ("", None) or not se > 0:
                continue
            label = name if key == e["row"] else f"{name}: {e['row']}"
            found.setdefault(key, {}).setdefault(m, []).append((label, float(d), float(se)))
    return [name], found


def read_meta_json(path: Path) -> tuple[list[str], dict]:
    """An earlier meta.json's datasets and per-dataset inputs; a row it pooled once as a verdict
    (``pooled_as``) gets its inputs back under its own name, labelled by dataset as read_run labels them."""
    try:
        m = json.loads(path.read_text())
        names = list(m["datasets"])
        if "inputs" in m:  # every comparison's inputs, those of a single dataset too
            return names, {key: {metric: [(s["dataset"], float(s["effect"]), float(s["se"])) for s in st]
                                 for metric, st in by_metric.items()} for key, by_metric in m["inputs"].items()}
        found = {key: {metric: [(s["dataset"], float(s["effect"]), float(s["se"])) for s in r["studies"]]
                       for metric, r in by_metric.items()} for key, by_metric in m["comparisons"].items()}
    except (ValueError, KeyError, TypeError) as e:
        raise GenmixError(f"{path}: not a meta.json written by genmix meta ({type(e).__name__}: {e})") from None
    # an older meta.json: only the pooled comparisons (in 2+ datasets), rows pooled once as a verdict restored
    for row, verdict in m.get("pooled_as", {}).items():
        found[row] = {metric: [(label.split(": ", 1)[0], d, se) for label, d, se in studies]
                      for metric, studies in found.get(verdict, {}).items()}
    return names, found


def same_as_verdict(found: dict) -> dict:
    """{row: verdict key} for the rows whose inputs, every metric, are a verdict comparison's (the row was its
    generator's verdict row in every run), so that the same numbers are not pooled and printed twice."""
    def numbers(key):
        return {m: [(e, se) for _, e, se in st] for m, st in found[key].items()}

    verdicts = [k for k in found if k.startswith("verdict: ")]
    return {k: v for k in found if not k.startswith("verdict: ")
            for v in verdicts if numbers(k) == numbers(v)}


def pool(studies: list[tuple[str, float, float]]) -> dict:
    """Random-effects (DerSimonian–Laird) pooling of (name, effect, se) by statsmodels.combine_effects."""
    import numpy as np
    from scipy import stats
    from statsmodels.stats.meta_analysis import combine_effects

    eff = np.array([s[1] for s in studies])
    var = np.array([s[2] for s in studies]) ** 2
    k = len(studies)
    with np.errstate(divide="ignore", invalid="ignore"):
        res = combine_effects(eff, var, method_re="dl", row_names=[s[0] for s in studies])
    ci = res.conf_int(alpha=0.05, use_t=False)  # [0] fixed effect, [1] random effects (DL)
    tau2 = float(res.tau2)
    if tau2 > 0:
        mu, se, (lo, hi), weights = float(res.mean_effect_re), float(res.sd_eff_w_re), ci[1], res.weights_rel_re
    else:  # statsmodels leaves DL's tau^2 untruncated; DerSimonian-Laird truncates at 0: the fixed-effect pool
        tau2, mu, se, (lo, hi), weights = 0.0, float(res.mean_effect_fe), float(res.sd_eff_w_fe), ci[0], \
            res.weights_rel_fe
    lo, hi = float(lo), float(hi)
    q = float(res.q)
    i2 = max(0.0, (q - (k - 1)) / q) if q > 0 else 0.0
    if k >= 3:
        half = float(stats.t.ppf(0.975, k - 2)) * math.sqrt(tau2 + se * se)
        pi = (mu - half, mu + half)
    else:
        pi = (math.nan, math.nan)
    z = mu / se if se > 0 else math.nan
    p = float(2 * stats.norm.sf(abs(z))) if se > 0 else math.nan
    return {"k": k, "effect": mu, "se": se, "ci_low": lo, "ci_high": hi, "p": p, "tau2": tau2,
            "i2": i2, "q": q, "pi_low": pi[0], "pi_high": pi[1], "weights": [float(w) for w in weights],
            "studies": [{"dataset": s[0], "effect": s[1], "se": s[2]} for s in studies]}


def forest_plot(key: str, m: str, r: dict, path: Path) -> Path:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    st = r["studies"]
    fig, ax = plt.subplots(figsize=(7.5, 1.4 + 0.4 * (len(st) + 1)))
    for i, s in enumerate(st):
        y = len(st) - i
        ax.plot([100 * (s["effect"] - 1.96 * s["se"]), 100 * (s["effect"] + 1.96 * s["se"])], [y, y], color="#333")
        ax.plot(100 * s["effect"], y, "s", color="#333", ms=3 + 9 * r["weights"][i])
    mu, lo, hi = 100 * r["effect"], 100 * r["ci_low"], 100 * r["ci_high"]
    ax.fill([lo, mu, hi, mu], [0, 0.25, 0, -0.25], color="#b03030", label="pooled (random effects, 95 %)")
    if not math.isnan(r["pi_low"]):
        ax.plot([100 * r["pi_low"], 100 * r["pi_high"]], [0, 0], color="#b03030", lw=1, ls=":",
                label="95 % prediction interval, new dataset")
    ax.axvline(0, color="#000", lw=0.8)
    ax.set_yticks(range(len(st) + 1), ["pooled"] + [s["dataset"] for s in reversed(st)], fontsize=8)
    ax.set_xlabel(f"{LABEL[m]} vs Baseline (points)")
    ax.set_title(f"{key}: τ² = {1e4 * r['tau2']:.2g} points², I² = {100 * r['i2']:.0f} %", fontsize=9)
    ax.legend(fontsize=7, loc="best")
    fig.savefig(path, dpi=110, bbox_inches="tight")
    plt.close(fig)
    return path


def _fmt(r: dict) -> list[str]:
    pi = "–" if math.isnan(r["pi_low"]) else f"[{100 * r['pi_low']:+.1f}, {100 * r['pi_high']:+.1f}]"
    return [f"{r['k']}", f"{100 * r['effect']:+.1f} [{100 * r['ci_low']:+.1f}, {100 * r['ci_high']:+.1f}]",
            f"{r['p']:.3g}", f"{1e4 * r['tau2']:.3g}", f"{100 * r['i2']:.0f} %", pi]


def inputs_json(found: dict) -> dict:
    """collect's inputs as meta.json keeps them: {comparison: {metric: [{dataset, effect, se}, ...]}}."""
    return {key: {m: [{"dataset": d, "effect": e, "se": se} for d, e, se in st] for m, st in by_metric.items()}
            for key, by_metric in found.items()}


def meta(runs, out) -> dict:
    """Pool the runs' comparisons (see the module docstring) and write the files into ``out``."""
    import csv

    from .html import figure_html, markdown_html, page

    if len(runs) < 2:
        raise GenmixError("genmix meta: give at least two run folders (one per dataset) to pool")
    names, found = collect(runs)
    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    same = same_as_verdict(found)
    result = {"datasets": names, "method": "random effects, DerSimonian-Laird (statsmodels combine_effects)",
              "comparisons": {}, "pooled_as": same,
              "inputs": inputs_json(found)}
    lines = [f"# Meta-analysis over {len(names)} datasets: {', '.join(names)}", "",
             "Random effects (DerSimonian–Laird τ², statsmodels `combine_effects`); Δ in points; τ² in points²; "
             "prediction interval for a new dataset: μ ± t(k−2) √(τ² + SE²), needs 3 datasets.", "",
             "| Comparison | metric | datasets | pooled Δ [95 % CI] | p | τ² | I² | prediction interval |",
             "|---|---|---|---|---|---|---|---|"]
    figs = []
    rows = []
    for key in sorted(found, key=lambda k: (not k.startswith("verdict"), k)):
        if key in same:
            continue
        for m in METRICS:
            st = found[key].get(m, [])
            if len(st) < 2:
                continue
            r = pool(st)
            result["comparisons"].setdefault(key, {})[m] = r
            lines.append(f"| {key} | {LABEL[m]} | " + " | ".join(_fmt(r)) + " |")
            rows.append({"comparison": key, "metric": m, **{k: v for k, v in r.items() if k not in ("studies",
                                                                                                  "weights")}})
            if m == "f1_macro":
                slug = "".join(c if c.isalnum() else "_" for c in key).strip("_").lower()
                figs.append((key, forest_plot(key, m, r, out / f"forest_{slug}.png")))
    if not rows:
        raise GenmixError("genmix meta: no comparison with Baseline is in two or more of these runs")
    pooled_once = {k: v for k, v in same.items() if v in result["comparisons"]}  # (one dataset's: not pooled)
    if pooled_once:
        lines += ["", "Rows that are their generator's verdict row in every run are pooled once, as the verdict: "
                  + "; ".join(f"{k} = {v}" for k, v in sorted(pooled_once.items())) + "."]
    lines += ["", "Per dataset (the inputs: Δ ± SE in points, each run's paired test):", "",
              "| Comparison | metric | " + " | ".join(names) + " |", "|---|---|" + "---|" * len(names)]
    for key, by_metric in result["comparisons"].items():
        for m, r in by_metric.items():
            cells = [next((f"{100 * s['effect']:+.1f} ± {100 * s['se']:.1f}" for s in r["studies"]
                           if s["dataset"] == n or s["dataset"].startswith(f"{n}: ")), "–") for n in names]
            lines.append(f"| {key} | {LABEL[m]} | " + " | ".join(cells) + " |")
    with open(out / "meta.csv", "w", newline="") as f:
        w = csv.DictWriter(f, fieldnames=list(rows[0]))
        w.writeheader()
        w.writerows(rows)
    (out / "meta.json").write_text(json.dumps(result, indent=1) + "\n")
    (out / "meta.md").write_text("\n".join(lines) + "\n")
    body = markdown_html("\n".join(lines)) + "".join(figure_html(p, f"{k}: ΔF1 per dataset and pooled")
                                                     for k, p in figs)
    page(out / "meta.html", f"genmix meta-analysis: {', '.join(names)}", body)
    return result
