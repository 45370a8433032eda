"""table.csv / table.md / table.tex / verdict.json from what an experiment left on disk.

Table 1 as the paper lays it out — Acc, F1 and per-class sensitivity / specificity as mean ± std over
replicates, 95 % t-intervals of the replicate mean — then every row against Baseline (experiment.compare:
the paired test with the test set's error, Holm over the table, detectable effect and replicates needed), led
by the verdict in words per generator (experiment.verdict).
"""

from __future__ import annotations

import csv
import json
import math
from pathlib import Path

from . import compare as cmp
from .config import start_label
from .labels import column_labels
from .verdict import verdict, verdict_summary

TEXT_COLUMNS = ("row", "augment", "generator", "status", "reason", "chosen", "select", "mcnemar_p_per_seed", "steps",
                "delta_interval", "start", "baseline", "replicates_needed_accuracy", "replicates_needed_f1_macro", "sequential_state",
                "sequential_plan")


def effect_of_interest(exp: Path) -> float:
    """The config's ``effect`` (F1 points), else experiment.compare.EFFECT."""
    f = exp / "config.json"
    v = json.loads(f.read_text()).get("effect") if f.is_file() else None
    return float(v) if v is not None else cmp.EFFECT


def _row_entry(row: dict, runs: list[dict], classes, base: dict | None, preds) -> tuple[dict, dict]:
    name = row["name"]
    done = sorted((r for r in runs if r["status"] == "done"), key=lambda r: int(r["seed"]))
    entry = {"row": name, "augment": row["augment"], "generator": row.get("generator", ""),
             "ratio": row.get("ratio", ""), "alpha": row.get("alpha", ""), "n_seeds": len(done),
             "select": "val" if row.get("select") else "", "start": start_label(row.get("classifier"))}
    if not done:
        entry["status"] = "not run" if any(r["status"] == "not run" for r in runs) else "pending"
        entry["reason"] = next((r["reason"] for r in runs if r.get("reason")), "")
        return entry, {}
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
            mean, std, lo, hi = cmp.summary(vals)
            entry.update({f"{m}_mean": mean, f"{m}_std": std, f"{m}_ci_low": lo, f"{m}_ci_high": hi})
    own = [preds(r["unit"]) for r in done]
    if all(p is not None for p in own):  # Acc and F1 intervals: replicate spread + the test set's own error
        for m in cmp.METRICS:
            lo, hi = cmp.mean_interval([float(r[m]) for r in done], own, len(classes or []), m)
            entry.update({f"{m}_ci_low": lo, f"{m}_ci_high": hi})
    tests = {}
    if base:
        pairs = [(r, base[int(r["seed"])]) for r in done if int(r["seed"]) in base]
        if pairs:
            tests = {(name, m): r for m, r in cmp.compare(entry, pairs, preds, len(classes or [])).items()}
    return entry, tests


def build_tables(exp: Path) -> list[dict]:
    exp = Path(exp)
    plan = json.loads((exp / "plan.json").read_text())
    with open(exp / "results.csv") as f:
        results = list(csv.DictReader(f))
    classes = next(([k[: -len("/sensitivity")] for k in r if k.endswith("/sensitivity")]
                    for r in results if r["status"] == "done"), None)
    dirs = {u["id"]: u.get("dir") for u in plan["units"]["clf"]}
    cache: dict = {}

    def preds(unit):
        if unit not in cache:
            cache[unit] = cmp.read_predictions(dirs.get(unit, ""))
        return cache[unit]

    by_row: dict[str, list[dict]] = {}
    for r in results:
        by_row.setdefault(r["row"], []).append(r)
    # each row is compared with the Baseline (augment: none) of the same classifier start
    bases = {}
    for row in plan["rows"]:
        if row["augment"] == "none" and not row.get("select"):
            bases.setdefault(start_label(row.get("classifier")), row["name"])
    table, tests = [], {}
    for row in plan["rows"]:
        bname = bases.get(start_label(row.get("classifier")))
        base = None if bname is None or bname == row["name"] else \
            {int(r["seed"]): r for r in by_row.get(bname, []) if r["status"] == "done"}
        entry, t = _row_entry(row, by_row.get(row["name"], []), classes, base, preds)
        if base is not None and bname != "Baseline":
            entry["baseline"] = bname
        table.append(entry)
        tests.update(t)
    cmp.holm_family(table, tests, "holm")  # secondary: every row x metric
    chosen = cmp.verdict_rows(table)
    primary = {(e["row"], "f1_macro"): tests[(e["row"], "f1_macro")] for e in chosen.values()}
    cmp.holm_family(table, primary, "verdict")
    cmp.add_power(table, tests, len(primary), effect_of_interest(exp))
    for e in chosen.values():
        e["verdict_row"] = 1
    state = cmp.read_state(exp)
    if state is not None:  # adaptive replicates: the verdicts are the sequential design's decisions
        cmp.judge(table, tests, state)
    info = {"budget": plan.get("budget"), "replicate": plan.get("replicate", "classifier"),
            "steps": sorted({int(r["steps"]) for r in results if r["status"] == "done" and r.get("steps")})}
    write_table_files(exp, table, classes or [], info)
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
                e[k] = float(v) if k not in TEXT_COLUMNS and v != "" else v
            except ValueError:
                e[k] = v
        out.append(e)
    return out


def pct(e, m, ci=False):
    if f"{m}_mean" not in e:
        return "–"
    one = e.get("n_seeds", 0) < 2  # one seed: no spread to show
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
    return ("Comparisons: the paired test of genmix.stats.paired — the spread of the replicate-level differences "
            + ("(classifier initialisation and data order, and each replicate's own generator training and "
               "synthetic set: replicate: full)" if full else
               "(classifier initialisation and data order only: replicate: classifier shares one generator and one "
               "synthetic set across seeds, so generator variance is NOT in them)")
            + f" plus the test set's own sampling error (a bootstrap of the test images, {cmp.BOOTSTRAPS} draws "
            "shared by every replicate and both rows), on Student's t with Welch–Satterthwaite df "
            "(the replicate variance at its median-unbiased value).")


def plan_notes(exp_dir) -> list[str]:
    """What ``genmix run`` noted about the experiment before running it (plan.json ``notes``)."""
    f = Path(exp_dir) / "plan.json"
    return list(json.loads(f.read_text()).get("notes") or []) if f.is_file() else []


def _num(p):
    return "–" if p in ("", None) or (isinstance(p, float) and math.isnan(p)) else f"{p:.3g}"


def _delta(e, m, lo, hi):
    s = f"{100 * e[f'delta_{m}_mean']:+.1f}"
    a, b = e.get(lo), e.get(hi)
    if a not in ("", None) and not math.isnan(a):
        s += f" [{100 * a:+.1f}, {100 * b:+.1f}]"
    return s


def comparison_lines(table) -> list[str]:
    fam = next((e["holm_family"] for e in table if e.get("holm_family")), "")
    eff = next((e["effect"] for e in table if e.get("effect")), cmp.EFFECT)
    level = next((e["power_level"] for e in table if e.get("power_level")), cmp.LEVEL)
    lines = ["", "Comparison with Baseline (paired by seed): Δ = row − Baseline, percentage points; p from the paired "
             f"test, Holm-adjusted across {fam or 'the'} row x metric comparisons (the verdict's own family is one "
             "comparison per generator); the Holm interval is the interval at the comparison's Holm level. "
             f"Detectable: the |ΔF1| these replicates detect with 80 % power at the verdict level {level:.3g}; "
             f"replicates for ±{eff:g}: how many would detect an F1 effect of {eff:g} points (– : none would on "
             "this test set).", "",
             "| Method | ΔAcc [95% CI] | ΔF1 [95% CI] | ΔF1 [Holm interval] | p F1 | p F1 (Holm) | p Acc (Holm) | "
             f"detectable ΔF1 | replicates for ±{eff:g} | McNemar p per seed |", "|---|---|---|---|---|---|---|---|---|---|"]
    for e in table:
        if e["status"] != "done" or "delta_f1_macro_mean" not in e:
            continue
        det = e.get("detectable_f1_macro")
        det = "–" if det in ("", None) or math.isnan(det) else f"±{100 * det:.1f}"
        lines.append(f"| {e['row']} | {_delta(e, 'accuracy', 'delta_accuracy_ci_low', 'delta_accuracy_ci_high')} | "
                     f"{_delta(e, 'f1_macro', 'delta_f1_macro_ci_low', 'delta_f1_macro_ci_high')} | "
                     f"{_delta(e, 'f1_macro', 'holm_low_f1_macro', 'holm_high_f1_macro')} | "
                     f"{_num(e.get('p_f1_macro'))} | {_num(e.get('holm_p_f1_macro'))} | "
                     f"{_num(e.get('holm_p_accuracy'))} | {det} | {e.get('replicates_needed_f1_macro') or '–'} | "
                     f"{e.get('mcnemar_p_per_seed', '')} |")
    return lines


def write_table_files(exp: Path, table, classes, info=None):
    info = info or {}
    keys = list(dict.fromkeys(k for e in table for k in e))
    with open(exp / "table.csv", "w", newline="") as f:
        w = csv.DictWriter(f, fieldnames=keys)
        w.writeheader()
        w.writerows(table)
    (exp / "verdict.json").write_text(json.dumps(verdict_summary(table, exp), indent=1, default=str) + "\n")
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
            cells = [e["row"], pct(e, "accuracy", True), pct(e, "f1_macro", True)]
            for c in classes:
                cells += [pct(e, f"{c}/sensitivity"), pct(e, f"{c}/specificity")]
            cells += [pct(e, "auc_macro"), str(e["n_seeds"])]
        lines.append("| " + " | ".join(cells) + " |")
        tex.append(" & ".join(c.replace("±", "$\\pm$").replace("%", "\\%").replace("_", "\\_") for c in cells)
                   + " \\\\")
    lines += ["", "Mean ± std over replicates (a single value when one ran); [95 % interval of the replicate mean] for "
              "Acc and F1, holding the spread between replicates and the test set's own sampling error.", "", budget_line(info), "", variance_line(info)]
    for e in table:
        if e.get("chosen"):
            lines += ["", f"{e['row']}: chosen on validation macro-F1 (ties: lower validation loss) per replicate — "
                      f"{e['chosen']}."]
    lines += comparison_lines(table)
    tex += ["\\hline", "\\end{tabular}"]
    (exp / "table.md").write_text("\n".join(lines) + "\n")
    (exp / "table.tex").write_text("\n".join(tex) + "\n")
