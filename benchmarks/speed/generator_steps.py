"""Issue 29's generator lever: do StyleGAN2 and the DDPM reach the same audit scores in fewer steps?

Generators train at a constant learning rate with no schedule tied to the step count, so a run of N steps is
exactly the first N steps of a longer run (resume is bit-identical: tests/generate). Per seed and generator,
one quick-preset run is stopped at each fraction of its steps (at a resume checkpoint), scored, and resumed
to the next; the score is the audit's realism against the real VALIDATION split (this check picks presets, so
it never looks at test): FD, precision, recall, density, coverage (prdc, k = 5) on the audit's default
features (ResNet-18 trained 10 epochs on the real training split), n = the training split's count per class,
as benchmarks/quality/dcgan_small_data.py. Wall seconds to each fraction, 1 torch thread (as a grid unit).

Run:  python benchmarks/speed/generator_steps.py [--data medmnist:breastmnist] [--generators stylegan2 ddpm]
          [--seeds 0 1 2] [--fractions 0.5 1.0] [--out /tmp/genmix-generator-steps] [--set steps=20 ...]
Several processes (e.g. one per seed) may run at once: each merges its rows into
benchmarks/results/speed_generator_steps.json under a lock.
"""

import argparse
import fcntl
import json
import sys
import tempfile
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
from genmix.generate.fit import GeneratorFit  # noqa: E402

SAMPLE = {"ddpm": {"steps": 25}}  # the synthesis settings of configs/breastmnist.yaml


def score(model, gen, clf, fref, counts) -> dict:
    labels = torch.cat([torch.full((n,), c) for c, n in enumerate(counts)])
    x = model.sample(len(labels), labels, generator=torch.Generator().manual_seed(0), **SAMPLE.get(gen, {}))
    fs = extract(clf, (x * 255).round() / 255, "cpu")  # as a synthesis stores them (uint8)
    return {"fd": round(float(frechet_distance(fref, fs)), 2), **{k: round(float(v), 4) for k, v in prdc(fref, fs).items()}}


def save_row(path: Path, row: dict) -> None:
    key = ("dataset", "generator", "seed", "fraction")
    with open(Path(tempfile.gettempdir()) / f"genmix-{path.stem}.lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        result = json.loads(path.read_text()) if path.is_file() else {"rows": []}
        result["header"] = header()
        result["what"] = __doc__.strip().splitlines()[0]
        result["rows"] = [r for r in result["rows"] if tuple(r[k] for k in key) != tuple(row[k] for k in key)] + [row]
        path.write_text(json.dumps(result, indent=2))


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--data", default="medmnist:breastmnist")
    ap.add_argument("--generators", nargs="+", default=["stylegan2", "ddpm"])
    ap.add_argument("--seeds", type=int, nargs="+", default=[0, 1, 2])
    ap.add_argument("--fractions", type=float, nargs="+", default=[0.5, 1.0])
    ap.add_argument("--out", default="/tmp/genmix-generator-steps")
    ap.add_argument("--set", action="append", default=[], metavar="KEY=JSON",
                    help="a preset override for a smoke test, e.g. steps=20 (results then say so)")
    a = ap.parse_args()
    overrides = {k: json.loads(v) for k, v in (s.split("=", 1) for s in a.set)}
    torch.set_num_threads(1)
    path = RESULTS / "speed_generator_steps.json"
    out = Path(a.out)
    ds = load_dataset(a.data, data_root())
    clf, _ = fit_real_classifier(ds, out / "classifiers", "cpu")
    fref = extract(clf, ds["val"].batch(slice(None))[0], "cpu")
    counts = ds["train"].counts(ds.num_classes)
    for seed in a.seeds:
        for gen in a.generators:
            cfg = resolve_config(gen, "quick", {**overrides, "seed": seed})
            every = cfg["checkpoint_every"]
            gdir = out / f"{ds.spec.replace(':', '_')}-{gen}-s{seed}"
            wall = 0.0
            for f in sorted(a.fractions):
                stop = round(cfg["steps"] * f / every) * every  # a step with a resume checkpoint
                fit = GeneratorFit(ds, gen, cfg, gdir, "cpu", progress=False)
                t = time.perf_counter()
                done = fit.run(stop_after=None if stop >= cfg["steps"] else stop)
                wall += time.perf_counter() - t
                row = {"dataset": ds.spec, "generator": gen, "seed": seed, "fraction": f, "steps": min(stop, cfg["steps"]),
                       "finished": done is not None, "train_s": round(wall, 1), "reference": "val",
                       "overrides": overrides,
                       **score(fit.model, gen, clf, fref, counts)}
                print(json.dumps(row), flush=True)
                save_row(path, row)


if __name__ == "__main__":
    main()
