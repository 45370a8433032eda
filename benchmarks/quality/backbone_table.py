"""Table of models/bench/{scratch,pretrained}-s<seed>/metrics.json: mean ± std and paired deltas."""

import json
import statistics as st
import sys
from pathlib import Path

root = Path(sys.argv[1] if len(sys.argv) > 1 else "models/bench")
runs = {}
for d in sorted(root.glob("*-s*")):
    if (d / "metrics.json").is_file():
        v, s = d.name.rsplit("-s", 1)
        m = json.loads((d / "metrics.json").read_text())
        runs.setdefault(v, {})[int(s)] = {"accuracy": m["accuracy"], "f1_macro": m["f1_macro"],
                                          "auc_macro": m["auc_macro"],
                                          "sens_malignant": m["per_class"]["malignant"]["sensitivity"]}
seeds = sorted(set(runs.get("scratch", {})) & set(runs.get("pretrained", {})))
keys = ("accuracy", "f1_macro", "auc_macro", "sens_malignant")


def fmt(vals):
    vals = [100 * v for v in vals]
    return f"{st.mean(vals):.1f} ± {st.stdev(vals):.1f}" if len(vals) > 1 else f"{vals[0]:.1f}"


print(f"Seeds (paired): {', '.join(map(str, seeds))}\n")
print("| Baseline (ResNet-18, quick) | Acc (%) | F1 (%) | AUC (%) | Sens malignant (%) | seeds |")
print("|---|---|---|---|---|---|")
for v in ("scratch", "pretrained"):
    print(f"| {v} | " + " | ".join(fmt([runs[v][s][k] for s in seeds]) for k in keys) + f" | {len(seeds)} |")
print("| Δ pretrained − scratch (paired) | " + " | ".join(
    fmt([runs["pretrained"][s][k] - runs["scratch"][s][k] for s in seeds]) for k in keys) + " | |")
print("\nPer seed (acc / F1 / AUC):")
for s in seeds:
    print(f"- seed {s}: " + "; ".join(
        f"{v} " + " / ".join(f"{100 * runs[v][s][k]:.1f}" for k in keys[:3]) for v in ("scratch", "pretrained")))
print("\n" + json.dumps({v: {str(s): runs[v][s] for s in seeds} for v in runs}))
