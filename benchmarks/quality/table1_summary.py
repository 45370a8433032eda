"""BENCHMARKS.md's summary rows for Table 1 in the paper's setting, copied from the result files (nothing typed in
by hand): per dataset and classifier start, the Baseline's F1 and each row's ΔF1 [95 %] against the Baseline of
its start (benchmarks/results/paper_setting_table1_DATASET.md, written by genmix run), the verdicts, the cost per
replicate (_timings.csv); then the pooled lines of paper_setting_table1_meta.md (genmix meta).

usage: python benchmarks/quality/table1_summary.py DATASET...   (markdown on stdout)
"""

import csv
import sys
from pathlib import Path

RES = Path(__file__).resolve().parents[1] / "results"
NAMES = {"pneumoniamnist-small": "PneumoniaMNIST-small", "breastmnist": "BreastMNIST",
         "organamnist-fll3": "organamnist-fll3", "bloodmnist-small": "BloodMNIST-small"}


def tables(md: str) -> list[list[list[str]]]:
    """The markdown tables of a file, each a list of rows of cells (header first, separator dropped)."""
    out, cur = [], []
    for line in md.splitlines() + [""]:
        if line.startswith("|"):
            cells = [c.strip() for c in line.strip().strip("|").split("|")]
            if not all(set(c) <= set("-: ") for c in cells):
                cur.append(cells)
        elif cur:
            out.append(cur)
            cur = []
    return out


def dataset_rows(ds: str) -> list[str]:
    md = (RES / f"paper_setting_table1_{ds}.md").read_text()
    main, comp = [t for t in tables(md) if t[0][0] == "Method"][:2]
    f1 = {r[0]: r[main[0].index("F1 (%)")].split(" [")[0] for r in main[1:]}
    d = {r[0]: r[comp[0].index("ΔF1 [95% CI]")] for r in comp[1:]}
    with open(RES / f"paper_setting_table1_{ds}_timings.csv") as f:
        cost = sum(float(r["wall_s"]) for r in csv.DictReader(f))
    reps = int(main[1][-1])
    out = []
    for start, tag in (("pretrained", ""), ("scratch", " [scratch]")):
        base = f"Baseline{tag}"
        if base not in f1:
            continue
        sel = " / ".join(d.get(f"GenMix ({g}, selected)", "–") for g in ("DCGAN", "Diffusion")) if not tag else "–"
        fixed = " / ".join(d.get(f"GenMix ({g}){tag}", "–") for g in ("DCGAN", "Diffusion"))
        blend = " / ".join(d.get(f"{g} (50%)", "–") for g in ("DCGAN", "Diffusion")) if not tag else "–"
        mix = d.get("MixUp", "–") if not tag else "–"
        cells = [NAMES.get(ds, ds), start, str(reps), f1[base], sel, fixed, blend, mix,
                 f"{cost / reps:,.0f} worker-s ¹" if not tag else "(shared)"]
        out.append("| " + " | ".join(cells) + " |")
    return out


def meta_rows() -> list[str]:
    p = RES / "paper_setting_table1_meta.md"
    if not p.is_file():
        return []
    t = [t for t in tables(p.read_text()) if t[0][0] == "Comparison"][0]
    head = t[0]
    out = []
    for r in t[1:]:
        if r[1] == "ΔF1":
            out.append(f"| {r[0]} | {r[2]} | {r[head.index('pooled Δ [95 % CI]')]} | {r[head.index('p')]} | "
                       f"{r[head.index('I²')]} | {r[head.index('prediction interval')]} |")
    return out


def main(datasets):
    print("| dataset | classifier start | replicates | Baseline F1 | GenMix selected DCGAN / Diffusion ΔF1 [95 %] | "
          "GenMix fixed DCGAN / Diffusion | blended 50 % DCGAN / Diffusion | MixUp | cost / replicate |")
    print("|---|---|---|---|---|---|---|---|---|")
    for ds in datasets:
        print("\n".join(dataset_rows(ds)))
    rows = meta_rows()
    if rows:
        print("\n| pooled comparison (random effects) | datasets | ΔF1 [95 %] | p | I² | prediction interval |")
        print("|---|---|---|---|---|---|")
        print("\n".join(rows))


if __name__ == "__main__":
    main(sys.argv[1:])
