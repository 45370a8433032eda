"""Per-class label fidelity of a finished run's synthetic data, from its audit.csv (no recomputation).

For each generator x class: the mean over that generator's syntheses (one per replicate) of GAN-test
(a classifier trained on the real training split, scored on the synthetic images of the class) and
GAN-train (a classifier trained on the synthetic images, scored on the real test images of the class),
each beside its real-image floor (the same measure on real images, as the audit defines it), as
"GAN-test [floor] / GAN-train [floor]". Classes with the fewest training images are marked (rare).

usage: python benchmarks/quality/audit_per_class.py EXP_DIR   (markdown on stdout)
"""

import csv
import json
import statistics as st
import sys
from collections import defaultdict
from pathlib import Path

from genmix.experiment.labels import column_labels

NAMES = {"dcgan": "DCGAN", "ddpm": "DDPM", "stylegan2": "StyleGAN2", "textual-inversion": "Textual Inversion"}
KEYS = ("gan_test", "gan_test_floor", "gan_train", "gan_train_floor")


def main():
    exp = Path(sys.argv[1])
    path = exp / "audit.csv"
    if not path.is_file():
        raise SystemExit(f"{path}: not found (a finished `genmix run` with synthetic rows)")
    with open(path) as f:
        rows = list(csv.DictReader(f))
    vals = defaultdict(lambda: defaultdict(list))
    classes, n_syn = [], {}
    for r in rows:
        if r["class"] not in classes:
            classes.append(r["class"])
        n_syn.setdefault(r["class"], int(r["n_synthetic"]))
        for k in KEYS:
            if r[k] not in ("", "nan"):
                vals[(r["generator"], r["class"])][k].append(float(r[k]))
    rare = min(n_syn.values())
    head = [f"{lab} (rare)" if n_syn[c] == rare else lab for c, lab in zip(classes, column_labels(classes))]
    print("| Generator | " + " | ".join(head) + " |")
    print("|---|" + "---|" * len(classes))
    for g in sorted({k[0] for k in vals}):
        cells = []
        for c in classes:
            v = {k: st.mean(x) if x else float("nan") for k, x in vals[(g, c)].items()}
            cells.append(f"{v['gan_test']:.2f} [{v['gan_test_floor']:.2f}] / "
                         f"{v['gan_train']:.2f} [{v['gan_train_floor']:.2f}]")
        print(f"| {NAMES.get(g, g)} | " + " | ".join(cells) + " |")
    cfg = json.loads((exp / "config.json").read_text()) if (exp / "config.json").is_file() else {}
    print(f"\nGAN-test [floor] / GAN-train [floor], mean over each generator's syntheses; {cfg.get('name', exp.name)}, "
          f"`python benchmarks/quality/audit_per_class.py {exp}`.")


if __name__ == "__main__":
    main()
