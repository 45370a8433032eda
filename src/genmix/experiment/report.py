"""Tables and figures from what an experiment left on disk (``genmix report`` reruns this).

- ``table.md`` / ``table.csv`` / ``table.tex``: a verdict in words per generator, then the paper's
  Table 1 layout — Acc, F1 and per-class sensitivity / specificity as mean ± std over replicates,
  95 % hierarchical-bootstrap intervals for Acc and F1 (replicates drawn with replacement, then
  test images with replacement within each) — the training budget, and a comparison of every row
  with Baseline: paired bootstrap differences (same replicate and image draws), two-sided
  bootstrap p-values, Holm-adjusted across every row x metric, and McNemar's exact test on the
  test predictions of each seed.
- ``figures/fig3_<generator>.png``: per class, real / synthetic / GenMix training images.
- ``figures/fig4_tsne_<row>.png``: t-SNE of the trained classifier's penultimate features on its
  training data: real (dots), synthetic (triangles), GenMix images (circles), colour = class.
- ``figures/curves_<row>.png``: training loss and validation macro-F1 per epoch, per seed.
"""

from __future__ import annotations

import csv
import json
import math
import re
from pathlib import Path

import numpy as np

from ..errors import GenmixError


def _stats(values):
    from scipy import stats

    v = np.asarray(values, dtype=float)
    n = len(v)
    mean = float(v.mean())
    std = float(v.std(ddof=1)) if n > 1 else 0.0
    half = float(stats.t.ppf(0.975, n - 1) * std / math.sqrt(n)) if n > 1 else float("nan")
    return mean, std, mean - half, mean + half


def _mcnemar(base_pred, row_pred, truth) -> float:
    from scipy.stats import binomtest

    b = int(((base_pred == truth) & (row_pred != truth)).sum())
    c = int(((base_pred != truth) & (row_pred == truth)).sum())
    return 1.0 if b + c == 0 else float(binomtest(min(b, c), b + c, 0.5).pvalue)


def _preds(unit_dir):
    p = Path(unit_dir) / "predictions_test.csv"
    if not p.is_file():
        return None
    with open(p) as f:
        rows = list(csv.DictReader(f))
    return np.array([int(r["label"]) for r in rows]), np.array([int(r["pred"]) for r in rows])


BOOT_METRICS = ("accuracy", "f1_macro")
BOOTSTRAPS = 2000
LEVEL = 0.05


def confusion_metric(cm: np.ndarray, metric: str) -> np.ndarray:
    """Accuracy or macro-F1 (F1 of a class with no true and no predicted image counts 0, as in evaluate)
    from confusion matrices (..., K, K) — rows true, columns predicted."""
    tp = np.diagonal(cm, axis1=-2, axis2=-1).astype(float)
    n = cm.sum((-2, -1))
    if metric == "accuracy":
        return tp.sum(-1) / n
    if metric == "f1_macro":
        denom = cm.sum(-1) + cm.sum(-2)  # 2tp + fn + fp
        return np.where(denom > 0, 2 * tp / np.maximum(denom, 1), 0.0).mean(-1)
    raise GenmixError(f"no bootstrap for metric '{metric}'")


def hierarchical_bootstrap(labels, preds, num_classes: int, metric: str, base_preds=None, n_boot: int = BOOTSTRAPS,
                           seed: int = 0, chunk: int = 200) -> np.ndarray:
    """Bootstrap distribution of the replicate-mean ``metric`` (or, with ``base_preds``, of the mean paired
    difference preds − base_preds): each draw picks R replicates with replacement, then, within each picked
    replicate, n test images with replacement; a difference uses the same replicate and image draws for both.
    ``preds``/``base_preds``: (R, n) predicted classes, replicate r of both from the same seed."""
    labels = np.asarray(labels, dtype=np.int64)
    preds = np.asarray(preds, dtype=np.int64)
    r, n = preds.shape
    k = num_classes
    rng = np.random.default_rng(seed)
    chunk = max(1, min(chunk, 2_000_000 // max(1, r * n)))  # bounded memory for big test sets
    out = np.empty(n_boot)
    for start in range(0, n_boot, chunk):
        b = min(chunk, n_boot - start)
        reps = rng.integers(0, r, size=(b, r))
        imgs = rng.integers(0, n, size=(b, r, n))

        def stat(p):
            codes = labels[imgs] * k + p[reps[..., None], imgs]
            codes += (np.arange(b * r) * k * k).reshape(b, r, 1)
            cm = np.bincount(codes.ravel(), minlength=b * r * k * k).reshape(b, r, k, k)
            return confusion_metric(cm, metric)  # (b, r)

        v = stat(preds)
        if base_preds is not None:
            v = v - stat(np.asarray(base_preds, dtype=np.int64))
        out[start:start + b] = v.mean(1)
    return out


def bootstrap_p(diffs) -> float:
    """Two-sided bootstrap p-value of a zero difference: twice the smaller tail, with the +1 correction."""
    d = np.asarray(diffs)
    lo, hi = (1 + np.sum(d <= 0)) / (len(d) + 1), (1 + np.sum(d >= 0)) / (len(d) + 1)
    return float(min(1.0, 2 * min(lo, hi)))


def holm(pvalues) -> np.ndarray:
    """Holm's step-down adjusted p-values (statsmodels' multipletests(method="holm") would pull pandas
    and statsmodels into the core install for these five lines)."""
    p = np.asarray(pvalues, dtype=float)
    m = len(p)
    adj, running = np.empty(m), 0.0
    for rank, i in enumerate(np.argsort(p, kind="stable")):
        running = max(running, min(1.0, (m - rank) * p[i]))
        adj[i] = running
    return adj


def build_tables(exp: Path) -> list[dict]:
    plan = json.loads((exp / "plan.json").read_text())
    with open(exp / "results.csv") as f:
        results = list(csv.DictReader(f))
    classes = None
    for r in results:
        if r["status"] == "done":
            classes = [k[: -len("/sensitivity")] for k in r if k.endswith("/sensitivity")]
            break
    dirs = {u["id"]: u.get("dir") for u in plan["units"]["clf"]}
    preds_cache: dict = {}

    def preds(unit):
        if unit not in preds_cache:
            preds_cache[unit] = _preds(dirs.get(unit, ""))
        return preds_cache[unit]

    by_row: dict[str, list[dict]] = {}
    for r in results:
        by_row.setdefault(r["row"], []).append(r)
    base = {int(r["seed"]): r for r in by_row.get("Baseline", []) if r["status"] == "done"}
    table, diffs = [], {}
    for row in plan["rows"]:
        name = row["name"]
        runs = by_row.get(name, [])
        done = sorted((r for r in runs if r["status"] == "done"), key=lambda r: int(r["seed"]))
        entry = {"row": name, "augment": row["augment"], "generator": row.get("generator", ""),
                 "ratio": row.get("ratio", ""), "alpha": row.get("alpha", ""), "n_seeds": len(done),
                 "select": "val" if row.get("select") else ""}
        if not done:
            entry["status"] = "not run" if any(r["status"] == "not run" for r in runs) else "pending"
            entry["reason"] = next((r["reason"] for r in runs if r.get("reason")), "")
            table.append(entry)
            continue
        entry["status"] = "done"
        if row.get("select"):
            entry["chosen"] = "; ".join(f"s{r['seed']}: {r.get('chosen', '')}" for r in done)
        entry["steps"] = " ".join(sorted({r.get("steps", "") for r in done}, key=lambda v: (len(v), v)))
        metrics = ["accuracy", "f1_macro", "balanced_accuracy", "auc_macro"]
        for c in classes or []:
            metrics += [f"{c}/sensitivity", f"{c}/specificity"]
        for m in metrics:
            vals = [float(r[m]) for r in done if r.get(m) not in ("", "nan", None)]
            if vals:
                mean, std, lo, hi = _stats(vals)
                entry.update({f"{m}_mean": mean, f"{m}_std": std, f"{m}_ci_low": lo, f"{m}_ci_high": hi})
        own = [preds(r["unit"]) for r in done]
        if all(p is not None for p in own):
            for m in BOOT_METRICS:  # the intervals of the table: hierarchical bootstrap, not the t-interval
                dist = hierarchical_bootstrap(own[0][0], np.stack([p[1] for p in own]), len(classes), m)
                entry[f"{m}_ci_low"], entry[f"{m}_ci_high"] = (float(v) for v in np.percentile(dist, [2.5, 97.5]))
        if name != "Baseline" and base:
            pairs = [(r, base[int(r["seed"])]) for r in done if int(r["seed"]) in base]
            if pairs:
                entry["n_paired"] = len(pairs)
                pp = [(preds(a["unit"]), preds(b["unit"])) for a, b in pairs]
                for m in BOOT_METRICS:
                    d = [float(a[m]) - float(b[m]) for a, b in pairs]
                    mean, std, lo, hi = _stats(d)
                    entry.update({f"delta_{m}_mean": mean, f"delta_{m}_ci_low": lo, f"delta_{m}_ci_high": hi})
                    if all(x is not None and y is not None for x, y in pp):
                        dist = hierarchical_bootstrap(pp[0][0][0], np.stack([x[1] for x, _ in pp]), len(classes), m,
                                                      base_preds=np.stack([y[1] for _, y in pp]))
                        lo, hi = np.percentile(dist, [2.5, 97.5])
                        entry.update({f"delta_{m}_ci_low": float(lo), f"delta_{m}_ci_high": float(hi),
                                      f"p_boot_{m}": bootstrap_p(dist)})
                        diffs[(name, m)] = dist
                    else:  # a run's predictions are missing: no bootstrap, but the comparison stays in the family
                        diffs[(name, m)] = None
                        entry[f"p_boot_{m}"] = 1.0
                        entry["delta_interval"] = "t (predictions missing)"
                    if len(d) > 1:
                        from scipy.stats import ttest_rel

                        x = [float(a[m]) for a, _ in pairs]
                        y = [float(b[m]) for _, b in pairs]
                        p = float(ttest_rel(x, y).pvalue) if any(abs(v) > 0 for v in d) else 1.0
                        entry[f"p_paired_t_{m}"] = p
                mc = []
                for x, y in pp:
                    if x is not None and y is not None:
                        mc.append(f"{_mcnemar(y[1], x[1], x[0]):.3g}")
                entry["mcnemar_p_per_seed"] = " ".join(str(v) for v in mc)
        table.append(entry)
    # Holm across every row's comparison x metric; the Holm-level interval of the comparison ranked i-th
    # (ascending p) is the bootstrap interval at level 1 - LEVEL / (m - i)
    keys = list(diffs)
    if keys:
        by_name = {e["row"]: e for e in table}
        raw = [by_name[n][f"p_boot_{m}"] for n, m in keys]
        adj = holm(raw)
        for rank, i in enumerate(np.argsort(raw, kind="stable")):
            n, m = keys[i]
            by_name[n][f"p_holm_{m}"] = float(adj[i])
            if diffs[keys[i]] is None:
                continue  # counted in the family (p = 1), no interval to widen
            a = LEVEL / (len(keys) - rank)
            lo, hi = np.percentile(diffs[keys[i]], [100 * a / 2, 100 * (1 - a / 2)])
            by_name[n].update({f"delta_{m}_holm_low": float(lo), f"delta_{m}_holm_high": float(hi)})
        for e in table:
            e["holm_family"] = len(keys) if "p_holm_f1_macro" in e or "p_holm_accuracy" in e else ""
    info = {"budget": plan.get("budget"), "replicate": plan.get("replicate", "classifier"),
            "steps": sorted({int(r["steps"]) for r in results if r["status"] == "done" and r.get("steps")})}
    _write_table_files(exp, table, classes or [], info)
    return table


def load_table(exp_dir) -> list[dict]:
    """table.csv as written by build_tables (numbers as floats where they parse)."""
    with open(Path(exp_dir) / "table.csv") as f:
        rows = list(csv.DictReader(f))
    out = []
    for r in rows:
        e = {}
        for k, v in r.items():
            try:
                e[k] = float(v) if k not in ("row", "augment", "generator", "status", "reason", "chosen", "select",
                                             "mcnemar_p_per_seed", "steps") and v != "" else v
            except ValueError:
                e[k] = v
        out.append(e)
    return out


def _unpaired_note(e: dict, base: dict) -> str:
    """When a row or Baseline has replicates the other lacks, the two F1 means are over different sets."""
    vals = [x.get(k) for x, k in ((e, "n_seeds"), (base, "n_seeds"), (e, "n_paired"))]
    if any(v in ("", None) for v in vals):
        return ""
    n, b, paired = (int(float(v)) for v in vals)
    return "" if n == b == paired else f"; the F1 means are over {n} and {b} replicates, ΔF1 over the {paired} paired"


def verdict(table: list[dict], exp_dir=None, level: float = LEVEL) -> list[str]:
    """For each generator: does GenMix (the ``select: val`` row when there is one, else the GenMix row) beat the
    equal-budget Baseline on macro-F1 — Holm-adjusted p < ``level`` with the difference above zero — is it
    indistinguishable, or worse; the numbers behind it; and a pointer to audit.csv when it exists. Lines of
    markdown (the HTML report reuses them)."""
    from .config import DISPLAY

    def num(e, k):
        v = e.get(k, "")
        return None if v in ("", None) else float(v)

    base = next((e for e in table if e["row"] == "Baseline" and e.get("status") == "done"), None)
    gens = list(dict.fromkeys(e["generator"] for e in table if e.get("augment") == "genmix" and e.get("generator")))
    if not gens:
        return []
    audit = _read_audit(Path(exp_dir) / "audit.csv") if exp_dir is not None else None
    mode = "equal"
    if exp_dir is not None and (Path(exp_dir) / "plan.json").is_file():
        mode = (json.loads((Path(exp_dir) / "plan.json").read_text()).get("budget") or {}).get("mode", "per-epoch")
    against = "the equal-budget Baseline" if mode == "equal" else \
        "Baseline — budgets differ between rows (budget: per-epoch), so a difference is not the augmentation's alone"
    lines = [f"**Verdict** (macro-F1 against {against}; hierarchical-bootstrap intervals, "
             "Holm-adjusted over every row x metric compared):", ""]
    for g in gens:
        disp = DISPLAY.get(g, g)
        cands = [e for e in table if e.get("augment") == "genmix" and e.get("generator") == g]
        sel = next((c for c in cands if c.get("select")), None)
        e = sel if sel is not None and sel.get("status") == "done" else \
            next((c for c in cands if not c.get("select") and c.get("status") == "done"), None)
        instead = "" if sel is None or e is sel or e is None else \
            f" ({sel['row']} has no finished run — {sel.get('reason') or sel.get('status')} — so this is the fixed-setting row.)"
        if base is None:
            lines.append(f"- {disp}: no verdict — the Baseline row has no finished run.")
            continue
        if e is None or num(e, "p_holm_f1_macro") is None:
            why = cands[0].get("reason") or cands[0].get("status", "") if cands else "no GenMix row"
            lines.append(f"- {disp}: no verdict — GenMix has no finished comparison with Baseline ({why}).")
            continue
        d, p = num(e, "delta_f1_macro_mean"), num(e, "p_holm_f1_macro")
        lo, hi = num(e, "delta_f1_macro_holm_low"), num(e, "delta_f1_macro_holm_high")
        kind = "Holm-adjusted interval"
        if lo is None:  # predictions missing: no bootstrap; the paired t-interval, and p = 1 in the family
            lo, hi, kind = num(e, "delta_f1_macro_ci_low"), num(e, "delta_f1_macro_ci_high"), \
                "paired t-interval (test predictions missing)"
        if p < level and d > 0:
            word = "beats Baseline"
        elif p < level and d < 0:
            word = "is worse than Baseline"
        else:
            word = "is indistinguishable from Baseline"
        span = "n/a" if lo is None else f"[{100 * lo:+.1f}, {100 * hi:+.1f}]"
        line = (f"- {disp}: **{e['row']} {word}** — ΔF1 {100 * d:+.1f} points, {kind} "
                f"{span}, Holm p = {p:.3g} (F1 {100 * num(e, 'f1_macro_mean'):.1f} vs "
                f"{100 * num(base, 'f1_macro_mean'):.1f}, {int(num(e, 'n_paired') or num(e, 'n_seeds'))} paired "
                f"replicate(s){_unpaired_note(e, base)}).{instead}")
        if audit is not None:
            low = audit.get(g)
            if low:
                c, acc, floor = low
                line += (f" Synthetic images may be unfaithful to their labels — see audit.csv (GAN-test accuracy on "
                         f"{column_label(c)} {acc:.2f}, below {AUDIT_LOW} x the {floor:.2f} of real test images, "
                         f"mean over this generator's syntheses).")
            else:
                line += " Synthetic-data audit: see audit.csv."
        lines.append(line)
    return lines


AUDIT_LOW = 0.8  # a class's GAN-test accuracy below this fraction of its floor (real test images) counts as low


def _read_audit(path: Path) -> dict | None:
    """generator -> (class, GAN-test accuracy, floor) of its class furthest below ``AUDIT_LOW`` x the floor
    (the same real-train classifier on the real test images of that class), each the mean over the generator's
    syntheses (one per replicate); None for a generator with no such class; None when audit.csv is absent."""
    if not path.is_file():
        return None
    acc: dict = {}
    with open(path) as f:
        for r in csv.DictReader(f):
            if r.get("class") == "overall":
                continue
            try:
                a, fl = float(r["gan_test"]), float(r["gan_test_floor"])
            except (KeyError, ValueError):
                continue
            if a == a and fl == fl:  # not NaN (a class without synthetic images has none)
                acc.setdefault(r["generator"], {}).setdefault(r["class"], []).append((a, fl))
    out = {}
    for g, by_class in acc.items():
        means = {c: (sum(a for a, _ in v) / len(v), sum(f for _, f in v) / len(v)) for c, v in by_class.items()}
        low = [(a / fl, c, a, fl) for c, (a, fl) in means.items() if fl > 0 and a < AUDIT_LOW * fl]
        out[g] = min(low)[1:] if low else None
    return out


def _pct(e, m, ci=False):
    if f"{m}_mean" not in e:
        return "–"
    one = e.get("n_seeds", 0) < 2  # one seed: no spread to show (the bootstrap interval still has test images)
    s = f"{100 * e[f'{m}_mean']:.1f}" if one else f"{100 * e[f'{m}_mean']:.1f} ± {100 * e[f'{m}_std']:.1f}"
    if ci and not math.isnan(e[f"{m}_ci_low"]):
        s += f" [{100 * e[f'{m}_ci_low']:.1f}, {100 * e[f'{m}_ci_high']:.1f}]"
    return s


def budget_line(info: dict) -> str:
    b, steps = info.get("budget") or {}, info.get("steps") or []
    if b.get("mode") == "equal" and b.get("max_steps"):
        s = (f"Budget: {b['max_steps']} optimizer steps per run ({b['epochs']} epochs of the {b['n_real_train']} real "
             f"training images, batch {b['batch_size']}), equal for every row; validated every {b['eval_every']} "
             "steps")
        early = [v for v in steps if v < b["max_steps"]]
        return s + (f" (some runs stopped early on validation patience: {min(early)} steps at least; "
                    "steps per run in results.csv)." if early else ".")
    if steps:
        rng = f"{steps[0]}" if len(steps) == 1 else f"{steps[0]}–{steps[-1]}"
        return (f"Budget: per epoch — each row ran its own passes over its own training split ({rng} optimizer "
                "steps per run; rows over a bigger pool ran more steps), so rows differ in budget as well as in "
                "augmentation.")
    return "Budget: not recorded (runs written before budgets were recorded)."


def variance_line(info: dict) -> str:
    full = info.get("replicate") == "full"
    return (f"Intervals: hierarchical bootstrap ({BOOTSTRAPS} draws, seed 0) — replicates drawn with replacement, "
            "then test images with replacement within each — so they contain the variance between replicates "
            + ("(classifier initialisation and data order, and each replicate's own generator training and "
               "synthetic set: replicate: full)" if full else
               "(classifier initialisation and data order only: replicate: classifier shares one generator and one "
               "synthetic set across seeds, so generator variance is NOT in them)")
            + " and the sampling of the test images.")


def column_label(class_name: str) -> str:
    """A class name as a table column: parenthesised detail dropped ('immature granulocytes(myelocytes, ...)'
    -> 'immature granulocytes'), the name kept whole when nothing else is left."""
    return re.sub(r"\s*\(.*?\)", "", class_name).strip() or class_name


def column_labels(classes) -> list[str]:
    """column_label of every class, or the full names when shortening would make two columns alike."""
    labels = [column_label(c) for c in classes]
    return labels if len(set(labels)) == len(labels) else list(classes)


def plan_notes(exp_dir) -> list[str]:
    """What ``genmix run`` noted about the experiment before running it (plan.json ``notes``)."""
    f = Path(exp_dir) / "plan.json"
    return list(json.loads(f.read_text()).get("notes") or []) if f.is_file() else []


def _write_table_files(exp: Path, table, classes, info=None):
    info = info or {}
    keys = list(dict.fromkeys(k for e in table for k in e))
    with open(exp / "table.csv", "w", newline="") as f:
        w = csv.DictWriter(f, fieldnames=keys)
        w.writeheader()
        w.writerows(table)
    head = (["Method", "Acc (%)", "F1 (%)"] + [f"{s} {c}" for c in column_labels(classes) for s in ("Sens", "Spec")]
            + ["AUC (%)", "seeds"])
    lines = verdict(table, exp)
    for n in plan_notes(exp):
        lines += ([""] if lines else []) + [f"**Note:** {n}"]
    lines += [""] if lines else []
    lines += ["| " + " | ".join(head) + " |", "|" + "---|" * len(head)]
    tex = ["\\begin{tabular}{l" + "c" * (len(head) - 1) + "}", "\\hline",
           " & ".join(h.replace("%", "\\%") for h in head) + " \\\\", "\\hline"]
    for e in table:
        if e["status"] != "done":
            cells = [e["row"], f"{e['status']}: {e.get('reason', '')}"[:120]] + [""] * (len(head) - 2)
        else:
            cells = [e["row"], _pct(e, "accuracy", True), _pct(e, "f1_macro", True)]
            for c in classes:
                cells += [_pct(e, f"{c}/sensitivity"), _pct(e, f"{c}/specificity")]
            cells += [_pct(e, "auc_macro"), str(e["n_seeds"])]
        lines.append("| " + " | ".join(cells) + " |")
        tex.append(" & ".join(c.replace("±", "$\\pm$").replace("%", "\\%").replace("_", "\\_") for c in cells)
                   + " \\\\")
    lines += ["", "Mean ± std over replicates (a single value when one ran); [95 % hierarchical-bootstrap interval] "
              "for Acc and F1.", "", budget_line(info), "", variance_line(info)]
    for e in table:
        if e.get("chosen"):
            lines += ["", f"{e['row']}: chosen on validation macro-F1 (ties: lower validation loss) per replicate — "
                      f"{e['chosen']}."]
    fam = next((e["holm_family"] for e in table if e.get("holm_family")), "")
    lines += ["", "Comparison with Baseline (paired by seed, same bootstrap draws): Δ = row − Baseline, percentage "
              "points; two-sided bootstrap p-values, Holm-adjusted across "
              f"{fam or 'the'} row x metric comparisons; the Holm interval is the bootstrap interval at the "
              "comparison's Holm level.", "",
              "| Method | ΔAcc [95% CI] | ΔF1 [95% CI] | ΔF1 [Holm interval] | p F1 | p F1 (Holm) | p Acc (Holm) | "
              "McNemar p per seed |", "|---|---|---|---|---|---|---|---|"]

    def fmt(p):
        return "–" if p is None else f"{p:.3g}"

    for e in table:
        if e["status"] != "done" or "delta_f1_macro_mean" not in e:
            continue

        def d(m, lo="ci_low", hi="ci_high"):
            s = f"{100 * e[f'delta_{m}_mean']:+.1f}"
            if f"delta_{m}_{lo}" in e and not math.isnan(e[f"delta_{m}_{lo}"]):
                s += f" [{100 * e[f'delta_{m}_{lo}']:+.1f}, {100 * e[f'delta_{m}_{hi}']:+.1f}]"
            return s

        lines.append(f"| {e['row']} | {d('accuracy')} | {d('f1_macro')} | {d('f1_macro', 'holm_low', 'holm_high')} | "
                     f"{fmt(e.get('p_boot_f1_macro'))} | {fmt(e.get('p_holm_f1_macro'))} | "
                     f"{fmt(e.get('p_holm_accuracy'))} | {e.get('mcnemar_p_per_seed', '')} |")
    tex += ["\\hline", "\\end{tabular}"]
    (exp / "table.md").write_text("\n".join(lines) + "\n")
    (exp / "table.tex").write_text("\n".join(tex) + "\n")


def make_figures(exp: Path, max_points: int = 300):
    import matplotlib

    matplotlib.use("Agg")
    plan = json.loads((exp / "plan.json").read_text())
    figdir = exp / "figures"
    figdir.mkdir(exist_ok=True)
    clf = plan["units"]["clf"]
    for row in plan["rows"]:
        runs = [u for u in clf if u["row"] == row["name"] and u.get("dir") and (Path(u["dir"]) / "history.csv").is_file()]
        if runs:
            _curves(runs, figdir / f"curves_{slug(row['name'])}.png", row["name"])
    done_synth = {}
    for u in clf:
        if u.get("synth") and (Path(u["dir"]) / "model.safetensors").is_file():
            done_synth.setdefault(u["generator"], u)
    for gname, u in done_synth.items():
        _fig3(u, figdir / f"fig3_{gname}.png")
    for row in plan["rows"]:
        if row["augment"] not in ("genmix", "synthetic") or row.get("select"):
            continue  # a select: val row's units are several candidates
        runs = sorted((u for u in clf if u["row"] == row["name"] and u.get("dir")
                       and (Path(u["dir"]) / "model.safetensors").is_file()), key=lambda u: u["seed"])
        if runs:
            _fig4(runs[0], figdir / f"fig4_tsne_{slug(row['name'])}.png", row["name"], max_points)


def slug(s):
    from .run import slug

    return slug(s)


def _curves(runs, path, title):
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(1, 2, figsize=(9, 3.2))
    for u in runs:
        with open(Path(u["dir"]) / "history.csv") as f:
            h = list(csv.DictReader(f))
        ep = [int(r["epoch"]) for r in h]
        ax[0].plot(ep, [float(r["train_loss"]) for r in h], label=f"seed {u['seed']}")
        ax[1].plot(ep, [float(r["val_f1_macro"]) for r in h], label=f"seed {u['seed']}")
    ax[0].set(title=f"{title}: train loss", xlabel="epoch")
    ax[1].set(title="validation macro-F1", xlabel="epoch")
    ax[1].legend(fontsize=7)
    fig.tight_layout()
    fig.savefig(path, dpi=100)
    plt.close(fig)


def _training_views(unit, n_each: int, seed: int = 0):
    """Real, synthetic and GenMix training images (float, labels) as the classifier saw them."""
    import torch

    from ..augment.genmix import GenMix
    from ..classify.train import TrainConfig
    from .run import cached_dataset

    cfg = TrainConfig.from_dict(unit["train_config"])
    data = unit["data"]
    ds = cached_dataset(data["spec"], data["root"], data["size"], data["channels"])
    opts = cfg.augment_opts
    g = torch.Generator().manual_seed(seed)
    gm = GenMix(opts["synthetic"], ratio=None if opts.get("ratio") == "all" else opts.get("ratio", 0.5),
                alpha=opts.get("alpha", 0.3), per_sample=opts.get("per_sample", True),
                epoch="real")  # batches of real images as x_R, x_S from the pool: Eq. 1's mixed images
    gm.prepare(ds["train"], ds.num_classes, g, ds.spec)
    real = gm.real
    syn_idx = torch.nonzero(gm.is_synthetic).flatten()
    ri = torch.randperm(len(real), generator=g)[:n_each]
    si = syn_idx[torch.randperm(len(syn_idx), generator=g)[:n_each]]
    xr, yr = real.batch(ri)
    xs, ys = gm.pool.batch(si)
    xm_idx = torch.randperm(len(real), generator=g)[:n_each]
    x, y = real.batch(xm_idx)
    mixed = gm(x, torch.nn.functional.one_hot(y, ds.num_classes).float(), g)
    return ds, (xr, yr), (xs, ys), (mixed.x, mixed.y.argmax(1), y)


def _fig3(unit, path, per: int = 4):
    import matplotlib.pyplot as plt
    from torchvision.utils import make_grid

    ds, (xr, yr), (xs, ys), (xm, _, ym_real) = _training_views(unit, 400)
    k = ds.num_classes
    names = column_labels(ds.class_names)
    fig, axes = plt.subplots(k, 3, figsize=(9, 1.0 + 1.4 * k), squeeze=False)
    for c in range(k):
        for j, (x, y, title) in enumerate(((xr, yr, "real"), (xs, ys, "synthetic"), (xm, ym_real, "GenMix"))):
            sel = x[y == c][:per]
            ax = axes[c, j]
            ax.axis("off")
            if len(sel):
                grid = make_grid(sel, nrow=per, padding=1, pad_value=1.0)
                ax.imshow(grid.permute(1, 2, 0).squeeze(-1).numpy() if grid.shape[0] == 3 else grid[0].numpy(),
                          cmap="gray", vmin=0, vmax=1)
            if c == 0:
                ax.set_title(title)
        axes[c, 0].text(-0.02, 0.5, names[c], transform=axes[c, 0].transAxes, ha="right", va="center",
                        fontsize=8)
    fig.suptitle(f"{unit['generator']}: real / synthetic / GenMix training images per class")
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)


def _fig4(unit, path, title, n):
    import matplotlib.pyplot as plt
    import torch
    from sklearn.manifold import TSNE

    from ..classify.train import load_model

    ds, (xr, yr), (xs, ys), (xm, ym, _) = _training_views(unit, n)
    model, cfg = load_model(unit["dir"], "cpu")
    model.eval()
    with torch.no_grad():
        feats = [model.features(x).numpy() for x in (xr, xs, xm)]
    kinds = [("real", yr, "."), ("synthetic", ys, "^"), ("GenMix", ym, "o")]
    if cfg.augment != "genmix":
        feats, kinds = feats[:2], kinds[:2]
    allf = np.concatenate(feats)
    emb = TSNE(n_components=2, init="pca", random_state=0, perplexity=min(30, len(allf) - 1)).fit_transform(allf)
    fig, ax = plt.subplots(figsize=(6, 5))
    cmap = plt.get_cmap("tab10")
    names = column_labels(ds.class_names)
    start = 0
    for (name, y, marker), f in zip(kinds, feats):
        e = emb[start:start + len(f)]
        start += len(f)
        for c in range(ds.num_classes):
            m = (y == c).numpy()
            kw = dict(facecolors="none", edgecolors=cmap(c)) if marker == "o" else dict(color=cmap(c))
            ax.scatter(e[m, 0], e[m, 1], marker=marker, s=14 if marker != "." else 30, alpha=0.7,
                       label=f"{name}: {names[c]}", **kw)
    ax.set(title=f"t-SNE of classifier features: {title}", xticks=[], yticks=[])
    ax.legend(fontsize=6, ncol=2, loc="best")
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)


def report(exp_dir, figures: bool = True, html: bool = False) -> list[dict]:
    exp = Path(exp_dir)
    if not (exp / "plan.json").is_file() or not (exp / "results.csv").is_file():
        raise GenmixError(f"{exp}: not an experiment folder (no plan.json/results.csv; run genmix run first)")
    table = build_tables(exp)
    if (exp / "audit.md").is_file():  # the synthetic-data audit (genmix.audit.experiment) next to Table 1
        with open(exp / "table.md", "a") as f:
            f.write("\n" + (exp / "audit.md").read_text())
    if figures:
        make_figures(exp)
    if html:
        from .html import write_html

        write_html(exp)
    return table
