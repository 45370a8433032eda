"""Per-row means of the VALIDATION macro-F1 that selected each run (best epoch) beside its test
metrics, for an experiment folder. Used to choose variants on validation, never on test.
Run: python benchmarks/quality/val_summary.py EXP_DIR NAME
"""

import csv
import statistics as st
import sys
from collections import defaultdict
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from _common import save  # noqa: E402


def main(exp, name):
    exp = Path(exp)
    rows = list(csv.DictReader(open(exp / "results.csv")))
    pos = [k for k in rows[0] if k.endswith("/sensitivity")]
    agg, order = defaultdict(list), []
    for r in rows:
        if r["status"] != "done":
            continue
        hist = list(csv.DictReader(open(exp / "units" / r["unit"] / "history.csv")))
        val = max(float(h["val_f1_macro"]) for h in hist)
        if r["row"] not in order:
            order.append(r["row"])
        agg[r["row"]].append([val, float(r["f1_macro"]), float(r["accuracy"]), float(r["auc_macro"]),
                              *[float(r[k]) for k in pos]])
    cols = ["val_f1", "test_f1", "test_acc", "test_auc", *[f"test_{k}" for k in pos]]
    table = {row: {c: round(st.mean(v), 4) for c, v in zip(cols, zip(*agg[row]))} | {"seeds": len(agg[row])}
             for row in order}
    lines = ["| Row | " + " | ".join(cols) + " | seeds |", "|---" * (len(cols) + 2) + "|"]
    for row, d in table.items():
        lines.append(f"| {row} | " + " | ".join(f"{100 * d[c]:.1f}" for c in cols) + f" | {d['seeds']} |")
    save(f"quality_{name}", {"benchmark": f"validation-selected summary of {exp}", "rows": table,
                             "table_md": "\n".join(lines) + "\n",
                             "command": f"python benchmarks/quality/val_summary.py {exp} {name}"})


if __name__ == "__main__":
    main(*sys.argv[1:3])
