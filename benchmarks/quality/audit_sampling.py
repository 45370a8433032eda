"""DDIM-50 vs DDPM-1000 redone with the audit (issue 13): one DDPM (BreastMNIST, quick preset)
sampled both ways, N >= 200 images per class each, both sets audited by ``genmix.audit`` against
the same real data with the same classifiers (FD/KID with floors, precision/recall/density/
coverage, GAN-test/GAN-train, near-copies). Writes benchmarks/results/quality_audit_sampling.json
and prints a Markdown table for BENCHMARKS.md.

Run (CPU: DDPM-1000 on 2 x 200 images is the slow part, about an hour on 2 cores):
    python benchmarks/quality/audit_sampling.py [GEN_DIR] [--per-class 200] [--data medmnist:breastmnist]
        [--features BACKBONE]
GEN_DIR: a trained DDPM (e.g. runs/bench-breastmnist/units/gen-ddpm-*); trained into /tmp when absent.
The per-generator audit tables come from ``genmix run`` itself (EXP_DIR/audit.csv, audit.md).
"""

import argparse
import sys
import time
from pathlib import Path

import torch

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from _common import data_root, save  # noqa: E402

from genmix.audit import audit_synthetic  # noqa: E402
from genmix.data import load_dataset  # noqa: E402
from genmix.device import choose_device  # noqa: E402
from genmix.generate import resolve_config  # noqa: E402
from genmix.generate.fit import train_generator  # noqa: E402
from genmix.generate.synthesize import synthesize  # noqa: E402

KEYS = ("fd", "fd_floor", "kid", "kid_floor", "precision", "recall", "density", "coverage", "gan_test",
        "gan_test_floor", "gan_train", "gan_train_floor", "near_copies", "near_copy_fraction")


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("gen_dir", nargs="?")
    ap.add_argument("--data", default="medmnist:breastmnist")
    ap.add_argument("--per-class", type=int, default=200)
    ap.add_argument("--encoder-model", default="resnet18")
    ap.add_argument("--encoder-epochs", type=int, default=10)
    ap.add_argument("--features", default=None, help="a backbone file from public data: features the target's "
                    "images never trained, so the floor comes from the training split (more images per class)")
    ap.add_argument("--features-model", default="resnet18")
    ap.add_argument("--out", default="/tmp/genmix-audit-sampling")
    ap.add_argument("--device", default=None)
    a = ap.parse_args()
    device = choose_device(a.device)
    ds = load_dataset(a.data, data_root())
    out = Path(a.out)
    gen_dir = a.gen_dir
    if gen_dir is None:
        gen_dir = out / "gen-ddpm"
        train_generator(ds, "ddpm", resolve_config("ddpm", "quick", {}), gen_dir, device, progress=True)
    result = {}
    for sampler, steps in (("ddim", 50), ("ddpm", 1000)):
        t = time.perf_counter()
        sdir = out / f"synth-{sampler}{steps}-n{a.per_class}"
        cached = (sdir / "synth.json").is_file()  # a finished synthesis of the same request is reused
        synthesize(gen_dir, sdir, per_class=[a.per_class] * ds.num_classes, seed=0, device=device,
                   sample_kwargs={"sampler": sampler, "steps": steps})
        t_sample = time.perf_counter() - t
        res = audit_synthetic(sdir, ds, out / f"audit-{sampler}{steps}", device=device,
                              encoder_model=a.encoder_model, encoder_epochs=a.encoder_epochs,
                              features=a.features, features_model=a.features_model,
                              classifier_dir=out / "classifiers", progress=True)
        result[f"{sampler}-{steps}"] = {"sampling_s": None if cached else round(t_sample, 1),
                                        "encoder": res["encoder"]["description"],
                                        "rows": [{"class": r["class"], "n": r["n_synthetic"], "m": r["n_realism"],
                                                  **{k: r[k] for k in KEYS}} for r in res["rows"]]}
    lines = ["| Sampler | Class | n | m | FD [floor] | KID [floor] | Prec | Rec | Dens | Cov | GAN-test [floor] | "
             "GAN-train [floor] | Near-copies |", "|---|---|---|---|---|---|---|---|---|---|---|---|---|"]

    def f(v, fmt=".3g"):
        return "–" if v is None else format(v, fmt)

    for name, r in result.items():
        for row in r["rows"]:
            lines.append(f"| {name} | {row['class']} | {row['n']} | {row['m']} | "
                         f"{f(row['fd'])} [{f(row['fd_floor'])}] | "
                         f"{f(row['kid'])} [{f(row['kid_floor'])}] | {f(row['precision'], '.2f')} | "
                         f"{f(row['recall'], '.2f')} | {f(row['density'], '.2f')} | {f(row['coverage'], '.2f')} | "
                         f"{f(row['gan_test'], '.2f')} [{f(row['gan_test_floor'], '.2f')}] | "
                         f"{f(row['gan_train'], '.2f')} [{f(row['gan_train_floor'], '.2f')}] | {row['near_copies']} |")
    print("\n".join(lines))
    save("quality_audit_sampling", {"benchmark": "DDIM-50 vs DDPM-1000 with the audit", "data": a.data,
                                    "per_class": a.per_class, "generator": str(gen_dir), **result,
                                    "table_md": "\n".join(lines),
                                    "command": "python benchmarks/quality/audit_sampling.py " + " ".join(sys.argv[1:])})


if __name__ == "__main__":
    torch.manual_seed(0)
    main()
