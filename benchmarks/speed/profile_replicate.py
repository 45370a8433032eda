"""Where one replicate of configs/breastmnist.yaml spends its time (issue 29, item 1).

Two parts, both on the real code paths:

1. **Units per replicate** — ``genmix.experiment.run.plan`` of the config for one seed: how many generator,
   synthesis and classifier units a replicate runs, classifier units by row (a ``select: val`` row trains one
   unit per candidate; a candidate equal to another unit shares it). Beside it the worker-seconds by unit
   kind that the last full grid of this config measured (benchmarks/results/quality_breastmnist.json).
2. **Inside one classifier unit** — ``genmix.classify.train.train_classifier`` of the Baseline unit (quick
   preset, the equal budget: 360 steps, validated every 18) under cProfile, its time split by the functions
   that do each part: the training step's data (split.batch + the augmentation), forward, backward,
   optimizer (+ lr schedule), the validation passes, the per-validation checkpoint, the final test
   evaluation and the rest (setup, manifests, logs). Times are inclusive and taken from cProfile's
   caller records, so a function counts once under the part that called it. cProfile adds a per-call
   overhead to Python-level calls (the share column is what to read, not the seconds).

Run:  python benchmarks/speed/profile_replicate.py [--config configs/breastmnist.yaml] [--row baseline]
Writes benchmarks/results/speed_profile_replicate.json.
"""

import argparse
import cProfile
import pstats
import sys
import tempfile
import time
from collections import Counter
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from _common import RESULTS, ROOT, data_root, save  # noqa: E402


def units_per_replicate(config: Path, tmp: Path) -> dict:
    from genmix.experiment.config import load_config
    from genmix.experiment.run import plan

    cfg = load_config(config)
    p = plan(cfg, tmp / "plan", [0])
    clf = [u for u in p["units"]["clf"] if u.get("status") != "not run"]
    rows = Counter(u["row"] for u in clf)
    return {"generators": len(p["units"]["gen"]), "syntheses": len(p["units"]["synth"]), "classifiers": len(clf),
            "classifiers_by_row": dict(rows), "unavailable": sorted(p.get("unavailable", {})),
            "not_run": sum(u.get("status") == "not run" for u in p["units"]["clf"]),
            "max_steps": clf[0]["train_config"]["max_steps"] if clf else None,
            "eval_every": clf[0]["train_config"]["eval_every"] if clf else None}


def inclusive(stats: pstats.Stats, name: str, caller: str | None = None) -> float:
    """Cumulative seconds of every function called ``name`` (``file:function`` suffix match), only the calls
    from a function named ``caller`` when given."""
    total = 0.0
    for (file, _, func), (_, _, _, ct, callers) in stats.stats.items():
        if not f"{file}:{func}".endswith(name):
            continue
        if caller is None:
            total += ct
        else:
            total += sum(v[3] for (cf, _, cfunc), v in callers.items() if f"{cf}:{cfunc}".endswith(caller))
    return total


def profile_classifier(config: Path, row: str, tmp: Path) -> dict:
    import torch

    from genmix.classify.train import TrainConfig, train_classifier
    from genmix.experiment.config import load_config
    from genmix.experiment.run import plan
    from genmix.experiment.units import cached_dataset

    cfg = load_config(config)
    p = plan(cfg, tmp / "plan", [0])
    unit = next(u for u in p["units"]["clf"] if u.get("row") == row)
    ds = cached_dataset(cfg["data"], None, cfg.get("image_size"), cfg.get("channels"))
    tc = TrainConfig.from_dict(unit["train_config"])
    prof = cProfile.Profile()
    t = time.perf_counter()
    prof.enable()
    metrics = train_classifier(ds, tc, tmp / "clf", "cpu", progress=False)
    prof.disable()
    wall = time.perf_counter() - t
    st = pstats.Stats(prof)
    steps = inclusive(st, "train.py:_steps")
    parts = {
        "data (split.batch + augmentation)": inclusive(st, ":batch", "train.py:_steps")
        + inclusive(st, ":__call__", "train.py:_steps"),
        "forward (train)": inclusive(st, "module.py:_wrapped_call_impl", "train.py:_steps"),
        "loss": inclusive(st, "train.py:soft_cross_entropy", "train.py:_steps"),
        "backward": inclusive(st, "_tensor.py:backward", "train.py:_steps"),
        "optimizer + lr schedule": inclusive(st, "optimizer.py:wrapper", "train.py:_steps")
        + inclusive(st, "lr_scheduler.py:wrapper", "train.py:_steps")  # the scheduler wraps opt.step
        + inclusive(st, "lr_scheduler.py:step", "train.py:_steps")
        + inclusive(st, ":_zero_grad_profiling_wrapper", "train.py:_steps")
        + inclusive(st, "optimizer.py:zero_grad", "train.py:_steps"),
        "validation passes": inclusive(st, "train.py:_val_pass", "train.py:run"),
        "checkpoint per validation (save_state)": inclusive(st, "checkpoint.py:save_state", "train.py:run"),
        "best-model copy per improvement": inclusive(st, "train.py:<dictcomp>", "train.py:run"),
        "final test evaluation": inclusive(st, "train.py:evaluate_model", "train.py:run"),
        "final model save": inclusive(st, "train.py:save_model", "train.py:run"),
    }
    parts["step loop, other (Python, loss.item, one_hot)"] = steps - sum(
        v for k, v in parts.items() if k in ("data (split.batch + augmentation)", "forward (train)", "loss",
                                             "backward", "optimizer + lr schedule"))
    parts["rest (setup, model build, manifests, logs)"] = wall - steps - sum(
        v for k, v in parts.items() if k not in ("data (split.batch + augmentation)", "forward (train)", "loss",
                                                 "backward", "optimizer + lr schedule",
                                                 "step loop, other (Python, loss.item, one_hot)"))
    ckpt = tmp / "clf" / "model.safetensors"
    return {"row": row, "threads": torch.get_num_threads(), "wall_s_profiled": wall,
            "steps": metrics.get("steps"), "validations": metrics.get("epochs_run"),
            "model_file_mib": ckpt.stat().st_size / 2**20 if ckpt.is_file() else None,
            "parts_s": parts, "parts_share": {k: v / wall for k, v in parts.items()}}


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--config", type=Path, default=ROOT / "configs" / "breastmnist.yaml")
    ap.add_argument("--row", default="Baseline")
    a = ap.parse_args()
    import json
    import os

    os.environ.setdefault("GENMIX_DATA_ROOT", data_root())  # plan() reads the data from there

    grid = json.loads((RESULTS / "quality_breastmnist.json").read_text())
    with tempfile.TemporaryDirectory() as d:
        tmp = Path(d)
        units = units_per_replicate(a.config, tmp)
        clf = profile_classifier(a.config, a.row, tmp)
    per_kind = grid["unit_seconds_by_kind"]
    reps = len(str(grid["seeds"]).split(","))
    save("speed_profile_replicate", {
        "config": str(a.config.relative_to(ROOT)), "units_per_replicate": units,
        "grid_worker_s_per_replicate": {k: v / reps for k, v in per_kind.items()},
        "grid_share": {k: v / sum(per_kind.values()) for k, v in per_kind.items()},
        "grid_source": f"benchmarks/results/quality_breastmnist.json ({grid['date']}, {reps} replicates)",
        "classifier_unit": clf})


if __name__ == "__main__":
    main()
