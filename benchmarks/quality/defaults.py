"""The defaults study (issue 14): which GenMix settings win on VALIDATION, per dataset and overall.

Reads ``candidates.csv`` of finished experiments with ``select: val`` rows (every candidate's best
validation macro-F1 per replicate; ``genmix run`` writes it) — never a test score. Per dataset and
candidate setting: the mean validation macro-F1 over the generators' rows and replicates, its
difference to the current default (alpha=0.3, epoch=pool) paired by (row, seed), and how often the
candidate was the one chosen. A default is changed only when a candidate beats the current default on
validation in every dataset listed (the rule is stated in the output).

Run: python benchmarks/quality/defaults.py EXP_DIR_OR_STUDY_JSON [...] [--name NAME]
An argument ending in .json is a study this script saved before (benchmarks/results/defaults_study*.json):
its per-dataset summaries are read as they are, so datasets whose runs are no longer on disk still count.
"""

import argparse
import csv
import json
import statistics as st
import sys
from collections import defaultdict
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from _common import save  # noqa: E402

DEFAULT = "alpha=0.3 ratio=0.5 balance=off epoch=pool"


def read(exp: Path) -> list[dict]:
    path = exp / "candidates.csv"
    if not path.is_file():
        raise SystemExit(f"{path}: not found (an experiment with select: val rows, finished)")
    with open(path) as f:
        return [r for r in csv.DictReader(f) if r["val_f1_macro"] != ""]


def summarise(rows: list[dict]) -> dict:
    """Per candidate: mean val F1, paired difference to DEFAULT (by row and seed), times chosen, n."""
    by = defaultdict(dict)
    for r in rows:
        by[(r["row"], r["seed"])][r["candidate"]] = (float(r["val_f1_macro"]), int(r["chosen"]))
    out = defaultdict(lambda: {"val": [], "delta": [], "chosen": 0})
    for cands in by.values():
        ref = cands.get(DEFAULT)
        for label, (v, chosen) in cands.items():
            o = out[label]
            o["val"].append(v)
            o["chosen"] += chosen
            if ref is not None:
                o["delta"].append(v - ref[0])
    return {k: {"n": len(o["val"]), "val_f1": st.mean(o["val"]), "delta_vs_default": st.mean(o["delta"])
                if o["delta"] else None, "chosen": o["chosen"]} for k, o in out.items()}


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("exps", nargs="+")
    ap.add_argument("--name", default="defaults_study")
    a = ap.parse_args()
    per = {}
    for e in a.exps:
        exp = Path(e)
        if exp.suffix == ".json":
            saved = json.loads(exp.read_text())
            if "per_dataset" not in saved:
                raise SystemExit(f"{exp}: not a defaults study (no 'per_dataset' key)")
            per.update(saved["per_dataset"])
        else:
            per[exp.name] = summarise(read(exp))
    labels = sorted({k for s in per.values() for k in s}, key=lambda k: (k != "no augmentation", k))
    lines = ["| Candidate | " + " | ".join(f"{d}: val F1 (Δ vs default) [chosen/n]" for d in per) + " |",
             "|---|" + "---|" * len(per)]
    better_everywhere = []
    for lab in labels:
        cells = []
        wins = []
        for s in per.values():
            c = s.get(lab)
            if c is None:
                cells.append("–")
                wins.append(False)
                continue
            dv = "" if c["delta_vs_default"] is None or lab == DEFAULT else f" ({100 * c['delta_vs_default']:+.1f})"
            cells.append(f"{100 * c['val_f1']:.1f}{dv} [{c['chosen']}/{c['n']}]")
            wins.append(lab != DEFAULT and c["delta_vs_default"] is not None and c["delta_vs_default"] > 0)
        if all(wins):
            better_everywhere.append(lab)
        lines.append(f"| {lab}{' (default)' if lab == DEFAULT else ''} | " + " | ".join(cells) + " |")
    rule = ("Rule: a default changes only if a candidate's mean validation macro-F1 beats the default's, paired by "
            "row and replicate, on every dataset listed. ")
    verdict = (f"Candidates above the default everywhere: {', '.join(better_everywhere)}." if better_everywhere
               else "No candidate beats the default on validation on every dataset: the default stays.")
    table = "\n".join(lines)
    print(table + "\n\n" + rule + verdict)
    save(a.name, {"benchmark": "defaults study on validation (candidates.csv)", "experiments": a.exps,
                  "default": DEFAULT, "per_dataset": per, "better_everywhere": better_everywhere,
                  "table_md": table, "rule": rule + verdict,
                  "command": "python benchmarks/quality/defaults.py " + " ".join(sys.argv[1:])})


if __name__ == "__main__":
    main()
