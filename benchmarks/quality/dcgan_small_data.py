"""Issue 30 items 1-2: DCGAN plain vs small-data recipe, StyleGAN2 DiffAugment vs ADA, on small sets.

For each dataset and variant: train the generator (a preset, optionally with fewer steps), sample as many
images per class as the training split has, and compute the audit's precision / recall / density /
coverage (genmix.audit.prdc, k = 5) of the synthetic images against the real validation split (the check
chooses presets, so it never looks at test), on the audit's
default features (resnet18 trained 10 epochs on the real training split, genmix.audit.fit_real_classifier,
penultimate layer) — the audit's overall row without GAN-test/GAN-train (those train one more classifier
per synthesis; too slow for this check on a shared 2-core CPU).

Run:  python benchmarks/quality/dcgan_small_data.py [--data bloodmnist-small medmnist:breastmnist]
          [--only dcgan|stylegan2] [--steps N] [--reference val] [--out /tmp/genmix-small-data]
Writes benchmarks/results/dcgan_small_data.json (merged with the rows already there).
"""

import argparse
import csv
import json
import sys
import time
from pathlib import Path

import torch

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from _common import RESULTS, data_root, header  # noqa: E402

from genmix.audit import fit_real_classifier  # noqa: E402
from genmix.audit.features import extract  # noqa: E402
from genmix.audit.fidelity import frechet_distance  # noqa: E402
from genmix.audit.prdc import prdc  # noqa: E402
from genmix.data import load_dataset  # noqa: E402
from genmix.generate import resolve_config  # noqa: E402
from genmix.generate.fit import train_generator  # noqa: E402

VARIANTS = {
    "dcgan": [("plain", "quick", {}), ("small-data", "quick-small-data", {})],
    "stylegan2": [("diffaugment", "quick", {"augment": "diffaugment"}),
                  ("ada", "quick", {"augment": "ada", "ada_kimg": 10.0})],
}


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--data", nargs="+", default=["bloodmnist-small", "medmnist:breastmnist"])
    ap.add_argument("--only", choices=sorted(VARIANTS), nargs="+", default=sorted(VARIANTS))
    ap.add_argument("--steps", type=int, default=None, help="fewer steps than the preset's")
    ap.add_argument("--reference", choices=["val", "train"], default="val",
                    help="real split the synthetic images are compared with (never test: this check picks presets)")
    ap.add_argument("--out", default="/tmp/genmix-small-data")
    a = ap.parse_args()
    path = RESULTS / "dcgan_small_data.json"
    result = json.loads(path.read_text()) if path.is_file() else {"rows": []}
    result["header"] = header()
    result["what"] = ("overall precision/recall/density/coverage (prdc k=5) of n = training-split-count synthetic "
                      f"images per class vs the real {a.reference} split, audit default features (resnet18, 10 epochs, real "
                      "train split); FD on the same features")
    out = Path(a.out)
    for spec in a.data:
        ds = load_dataset(spec, data_root())
        clf, _ = fit_real_classifier(ds, out / "classifiers", "cpu")
        xref, _ = ds[a.reference].batch(slice(None))
        fref = extract(clf, xref, "cpu")
        counts = ds["train"].counts(ds.num_classes)
        for gen in a.only:
            for variant, preset, over in VARIANTS[gen]:
                cfg = resolve_config(gen, preset, {**over, **({"steps": a.steps} if a.steps else {})})
                gdir = out / f"{ds.spec.replace(':', '_')}-{gen}-{variant}-{cfg.get('steps')}"
                t = time.perf_counter()
                model = train_generator(ds, gen, cfg, gdir, "cpu", progress=False)
                train_s = time.perf_counter() - t
                labels = torch.cat([torch.full((n,), c) for c, n in enumerate(counts)])
                x = model.sample(len(labels), labels, generator=torch.Generator().manual_seed(0))
                x = (x * 255).round() / 255  # as a synthesis stores them (uint8)
                fs = extract(clf, x, "cpu")
                row = {"dataset": ds.spec, "generator": gen, "variant": variant, "preset": preset,
                       "overrides": over, "steps": cfg.get("steps"), "train_s": round(train_s, 1),
                       "n": len(labels), "reference": a.reference, "fd": frechet_distance(fref, fs), **prdc(fref, fs)}
                if getattr(model, "ada", None) is not None:  # where p went over training (the log's rows)
                    row["ada_p_final"] = float(model.ada.p)
                    with open(gdir / "log.csv") as f:
                        log = [r for r in csv.DictReader(f) if r.get("ada_p") not in (None, "")]
                    row["ada_p_max"] = max((float(r["ada_p"]) for r in log), default=None)
                    row["ada_rt_mean"] = (sum(float(r["ada_rt"]) for r in log) / len(log)) if log else None
                print(json.dumps(row), flush=True)
                key = ("dataset", "generator", "variant", "steps", "reference")
                result["rows"] = [r for r in result["rows"] if r.get("reference") is not None  # rows before 2026-12-06 were vs test
                                  and tuple(r.get(k) for k in key) != tuple(row[k] for k in key)] + [row]
                path.write_text(json.dumps(result, indent=2))


if __name__ == "__main__":
    main()
