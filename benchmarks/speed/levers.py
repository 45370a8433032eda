"""The two speed levers of issue 29's profile, each alone and together, measured in one process (as ratios).

1. **fused Adam** (``genmix.optim``): on CPU ``torch.optim.Adam`` runs a per-tensor Python loop by default;
   the fused kernel does the same elementwise update in one pass. ``genmix.optim.FUSED = False`` is "before".
2. **checkpoint by time** (``genmix.classify.train.Trainer``): the resume checkpoint (~4x the model) after every
   validation ("before", ``checkpoint_every_s=0``) vs once 30 s have passed (the default).

Measured on the real unit: the Baseline classifier unit of configs/breastmnist.yaml (seed 0, quick preset,
the equal budget of 360 steps validated every 18), each variant ``--repeats`` times interleaved
(before, fused, checkpoint, both, before, ...) so the host's drift hits all alike; the median wall per
variant, and the test macro-F1 of each (fused changes the float rounding, not the method). Then each
generator's training step (quick preset, 28 px, 1 channel) with and without fused Adam, img/s, interleaved.
The replicate-level estimate applies the ratios to the worker-seconds by unit kind of the last BreastMNIST
grid (benchmarks/results/quality_breastmnist.json), syntheses unchanged: a lower bound (generators unchanged)
and an upper one (every generator unit at the three generators' mean step speedup).

Run:  python benchmarks/speed/levers.py [--repeats 2]
Writes benchmarks/results/speed_levers.json.
"""

import argparse
import json
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from _common import RESULTS, ROOT, data_root, save  # noqa: E402

VARIANTS = {"before": (False, 0.0), "fused Adam": (True, 0.0), "checkpoint by time": (False, 30.0),
            "both (now)": (True, 30.0)}


def classifier_unit(config: Path, tmp: Path, repeats: int) -> dict:
    from genmix import optim
    from genmix.classify.train import TrainConfig, train_classifier
    from genmix.experiment.config import load_config
    from genmix.experiment.run import plan
    from genmix.experiment.units import cached_dataset

    cfg = load_config(config)
    unit = next(u for u in plan(cfg, tmp / "plan", [0])["units"]["clf"] if u.get("row") == "Baseline")
    ds = cached_dataset(cfg["data"], None, cfg.get("image_size"), cfg.get("channels"))
    tc = TrainConfig.from_dict(unit["train_config"])
    walls, f1 = {k: [] for k in VARIANTS}, {}
    for r in range(repeats):
        for name, (fused, every) in VARIANTS.items():
            optim.FUSED = fused
            t = time.perf_counter()
            m = train_classifier(ds, tc, tmp / f"{name}-{r}", "cpu", progress=False, checkpoint_every_s=every)
            walls[name].append(time.perf_counter() - t)
            f1.setdefault(name, m["f1_macro"])
            print(f"classifier {name} repeat {r}: {walls[name][-1]:.1f} s, test F1 {m['f1_macro']:.4f}", flush=True)
    optim.FUSED = True
    med = {k: statistics.median(v) for k, v in walls.items()}
    return {"unit": "Baseline, seed 0", "steps": tc.max_steps, "eval_every": tc.eval_every, "wall_s": walls,
            "median_s": med, "ratio_to_before": {k: med["before"] / v for k, v in med.items()},
            "test_f1_macro": f1}


def generator_steps(repeats: int) -> dict:
    import torch

    from genmix import optim
    from genmix.generate import build_generator, resolve_config

    out = {}
    for name in ("dcgan", "stylegan2", "ddpm"):
        cfg = resolve_config(name, "quick", {})
        bs = cfg["batch_size"]
        rates = {"before": [], "fused Adam": []}
        for _ in range(repeats):
            for variant, fused in (("before", False), ("fused Adam", True)):
                optim.FUSED = fused
                torch.manual_seed(0)
                m = build_generator(name, cfg, 2, 1, 28)
                m.configure_optimizers()
                g = torch.Generator().manual_seed(0)
                x, y = torch.rand(bs, 1, 28, 28, generator=g), torch.arange(bs) % 2
                for _ in range(2):
                    m.training_step(x, y, g)
                steps = 8
                t = time.perf_counter()
                for _ in range(steps):
                    m.training_step(x, y, g)
                rates[variant].append(bs * steps / (time.perf_counter() - t))
        optim.FUSED = True
        med = {k: statistics.median(v) for k, v in rates.items()}
        out[name] = {"img_per_s": rates, "median_img_per_s": med, "speedup": med["fused Adam"] / med["before"]}
        print(f"{name}: {med}", flush=True)
    return out


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--config", type=Path, default=ROOT / "configs" / "breastmnist.yaml")
    ap.add_argument("--repeats", type=int, default=2)
    a = ap.parse_args()
    os.environ.setdefault("GENMIX_DATA_ROOT", data_root())
    with tempfile.TemporaryDirectory() as d:
        clf = classifier_unit(a.config, Path(d), a.repeats)
    gens = generator_steps(a.repeats + 1)
    grid = json.loads((RESULTS / "quality_breastmnist.json").read_text())
    kinds = grid["unit_seconds_by_kind"]
    # the grid records seconds by unit kind, not by generator: the lower bound speeds up the classifiers only,
    # the upper one also every generator unit by the mean step speedup of the three measured here (textual
    # inversion's optimizer holds two vectors, so its own speedup is ~1: the truth lies between)
    gen_speedup = statistics.mean(g["speedup"] for g in gens.values())
    clf_speedup = clf["ratio_to_before"]["both (now)"]
    before = sum(kinds.values())
    low = before / (kinds["clf"] / clf_speedup + kinds["gen"] + kinds["synth"])
    high = before / (kinds["clf"] / clf_speedup + kinds["gen"] / gen_speedup + kinds["synth"])
    save("speed_levers", {"config": str(a.config.relative_to(ROOT)), "classifier_unit": clf, "generator_steps": gens,
                          "replicate_estimate": {"grid_worker_s_by_kind": kinds, "clf_speedup": clf_speedup,
                                                 "gen_speedup_mean": gen_speedup,
                                                 "speedup_low": low, "speedup_high": high,
                                                 "source": "benchmarks/results/quality_breastmnist.json"},
                          "command": "python benchmarks/speed/levers.py"})


if __name__ == "__main__":
    main()
