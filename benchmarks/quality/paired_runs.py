"""Pair two runs of the same rows that differ in one setting (e.g. the classifier from scratch vs a pretrained
backbone, or a DDPM from scratch vs fine-tuned) by seed: per row, both means, and B's paired effect with the
hierarchical bootstrap (replicates, then test images) and Holm across rows x metrics; plus each run's GenMix -
Baseline.

usage: python benchmarks/quality/paired_runs.py A_EXP B_EXP [A_NAME B_NAME]  (markdown on stdout, JSON last)
       rows present in both runs are compared; the names label the two runs (default: scratch backbone).
"""

import csv
import json
import statistics as st
import sys
from pathlib import Path

import numpy as np

from genmix.experiment.selection import best_validation
from genmix.stats.bootstrap import bootstrap_p, hierarchical_bootstrap, holm

METRICS = ("accuracy", "f1_macro")


def load(exp: Path):
    with open(exp / "results.csv") as f:
        rows = [r for r in csv.DictReader(f) if r["status"] == "done"]
    plan = json.loads((exp / "plan.json").read_text())
    dirs = {u["id"]: Path(u["dir"]) for u in plan["units"]["clf"]}
    with open(exp / "table.csv") as f:
        table = {r["row"]: r for r in csv.DictReader(f)}
    runs = {}
    for r in rows:
        with open(dirs[r["unit"]] / "predictions_test.csv") as f:
            p = list(csv.DictReader(f))
        r["_labels"] = np.array([int(x["label"]) for x in p])
        r["_preds"] = np.array([int(x["pred"]) for x in p])
        r["val_f1"] = best_validation(dirs[r["unit"]])["f1_macro"]  # the score that kept this checkpoint
        r["_dir"] = dirs[r["unit"]].resolve()
        runs.setdefault(r["row"], {})[int(r["seed"])] = r
    return runs, table


def main(exp_a, exp_b, name_a="scratch", name_b="backbone"):
    a, ta = load(Path(exp_a))
    b, tb = load(Path(exp_b))
    rare = [k for k in next(iter(next(iter(a.values())).values())) if k.endswith("/sensitivity")]  # one per class
    sens = min(rare, key=lambda k: st.mean(float(r[k]) for r in a["Baseline"].values()))  # the rare class
    keys = ("val_f1", "accuracy", "f1_macro", "auc_macro", sens)
    out, dists = {}, {}
    for row in a:
        seeds = sorted(set(a[row]) & set(b.get(row, {})))
        if not seeds:
            continue
        e = out[row] = {"seeds": seeds}
        for name, runs in ((name_a, a[row]), (name_b, b[row])):
            e[name] = {k: [100 * float(runs[s][k]) for s in seeds] for k in keys}
        labels = a[row][seeds[0]]["_labels"]
        if all(a[row][s]["_dir"] == b[row][s]["_dir"] for s in seeds):
            e["shared"] = True  # the same units in both runs (e.g. a linked Baseline): nothing to compare
            continue
        for m in METRICS:
            d = hierarchical_bootstrap(labels, np.stack([b[row][s]["_preds"] for s in seeds]), len(rare), m,
                                       base_preds=np.stack([a[row][s]["_preds"] for s in seeds]))
            dists[(row, m)] = d
            lo, hi = np.percentile(100 * d, [2.5, 97.5])
            e[f"delta_{m}"] = {"mean": float(100 * np.mean([float(b[row][s][m]) - float(a[row][s][m]) for s in seeds])),
                               "ci": [float(lo), float(hi)], "p_boot": bootstrap_p(d)}
    adj = holm([out[r][f"delta_{m}"]["p_boot"] for r, m in dists])
    for (r, m), p in zip(dists, adj):
        out[r][f"delta_{m}"]["p_holm"] = float(p)

    def fmt(v):
        return f"{st.mean(v):.1f} ± {st.stdev(v):.1f}" if len(v) > 1 else f"{v[0]:.1f}"

    cls = sens.split("/")[0]
    print(f"| row | run | val F1 (%) | Acc (%) | F1 (%) | AUC (%) | Sens {cls} (%) | GenMix − Baseline F1 [95 % CI] | seeds |")
    print("|---|---|---|---|---|---|---|---|---|")
    for row, e in out.items():
        for name, t in ((name_a, ta), (name_b, tb)):
            vs = ""
            if row != "Baseline" and t[row].get("delta_f1_macro_mean"):
                vs = (f"{100 * float(t[row]['delta_f1_macro_mean']):+.1f} [{100 * float(t[row]['delta_f1_macro_ci_low']):+.1f}, "
                      f"{100 * float(t[row]['delta_f1_macro_ci_high']):+.1f}]")
            print(f"| {row} | {name} | " + " | ".join(fmt(e[name][k]) for k in keys) + f" | {vs} | {len(e['seeds'])} |")
    print(f"\n{name_b} − {name_a}, paired by seed (hierarchical bootstrap 95 % CI; Holm over {len(dists)} comparisons):\n")
    print("| row | Δ Acc | Δ F1 | p Holm (Acc / F1) |")
    print("|---|---|---|---|")
    for row, e in out.items():
        if e.get("shared"):
            print(f"| {row} | the same units in both runs | | |")
            continue
        da, df = e["delta_accuracy"], e["delta_f1_macro"]
        print(f"| {row} | {da['mean']:+.1f} [{da['ci'][0]:+.1f}, {da['ci'][1]:+.1f}] | "
              f"{df['mean']:+.1f} [{df['ci'][0]:+.1f}, {df['ci'][1]:+.1f}] | {da['p_holm']:.2g} / {df['p_holm']:.2g} |")
    print("\n" + json.dumps(out))


if __name__ == "__main__":
    main(*sys.argv[1:5])
