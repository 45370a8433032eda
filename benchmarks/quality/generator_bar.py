"""Issue 30's bar, every replicate judged alone: recall >= 0.5, coverage >= 0.3 and GAN-train >= 0.8 x the real
floor in every class (genmix.audit.health; the audit's validation features, no test image).

Reads the audits committed in benchmarks/results/ (generator_audit_DATASET.csv from generator_audit.sh, and
paper_setting_table1_bloodmnist-small_audit.csv from that Table 1 run) and writes
benchmarks/results/generator_bar.{md,json}: one line per synthesis (= replicate) and a count per dataset and
generator.   usage: python benchmarks/quality/generator_bar.py
"""

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from _common import save  # noqa: E402

from genmix.audit.health import BAR_COVERAGE, BAR_GAN_TRAIN, BAR_RECALL, generator_health

RESULTS = Path(__file__).resolve().parents[1] / "results"
SOURCES = {"pneumoniamnist-small": "generator_audit_pneumoniamnist-small.csv",
           "breastmnist": "generator_audit_breastmnist.csv",
           "organamnist-fll3": "generator_audit_organamnist-fll3.csv",
           "bloodmnist-small": "paper_setting_table1_bloodmnist-small_audit.csv"}
GANS = ("dcgan", "stylegan2")


def main():
    lines = [f"# Issue 30's bar per replicate: recall ≥ {BAR_RECALL}, coverage ≥ {BAR_COVERAGE}, "
             f"GAN-train ≥ {BAR_GAN_TRAIN} × floor in every class", "",
             "Written by `python benchmarks/quality/generator_bar.py` from the audits in benchmarks/results/.", "",
             "| dataset | generator | synthesis | recall | coverage | worst class: GAN-train / floor | state |",
             "|---|---|---|---|---|---|---|"]
    out, counts = [], {}
    for dataset, name in SOURCES.items():
        path = RESULTS / name
        if not path.is_file():
            continue
        for sid, h in sorted(generator_health(path, by="synthesis").items()):
            if h["generator"] not in GANS:
                continue
            ratio = h["gan_train"] / h["gan_train_floor"] if h["class"] else float("nan")
            out.append({"dataset": dataset, "synthesis": sid, **h,
                        "gan_train_ratio": ratio})
            lines.append(f"| {dataset} | {h['generator']} | {sid} | {h['recall']:.2f} | {h['coverage']:.2f} | "
                         f"{h['class']}: {h['gan_train']:.2f} / {h['gan_train_floor']:.2f} ({ratio:.2f}×) | "
                         f"{h['state']} |")
            c = counts.setdefault(f"{dataset} / {h['generator']}", {"replicates": 0, "ok": 0})
            c["replicates"] += 1
            c["ok"] += h["state"] == "ok"
    lines += ["", "| dataset / generator | replicates at the bar |", "|---|---|"]
    lines += [f"| {k} | {c['ok']} of {c['replicates']} |" for k, c in counts.items()]
    (RESULTS / "generator_bar.md").write_text("\n".join(lines) + "\n")
    save("generator_bar", {"command": "python benchmarks/quality/generator_bar.py", "syntheses": out,
                           "counts": counts})


if __name__ == "__main__":
    main()
