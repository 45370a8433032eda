"""The GPU path on a real GPU (issue 29 item 4): a classifier run and a DCGAN fit at 28 and 224 px, in fp32 and
in the device's ``auto`` precision (bf16 autocast + channels-last + TF32 where the GPU has bf16), timed, and
their agreement with fp32. Data: the embedded simulation (``simulated:fll``), so nothing but this repository
is needed on the device machine. Under 8 minutes on one H100-class GPU; run by benchmarks/gpu/check.sh.

Agreement: the two precisions round differently, so a run's path drifts (as fused Adam does on the CPU);
"agrees" means the classifier's test accuracy and macro-F1 are within 10 points and the first validation
loss within 10 %, and the DCGAN's last logged losses are finite and within 25 % of fp32's — a check that the
mixed-precision path trains the same model, not that it is bit-identical.

Run:  python benchmarks/gpu/check.py [--out DIR]   (writes DIR/gpu_check.json; default $OUT or runs/gpu-check)
"""

import argparse
import csv
import json
import os
import sys
import tempfile
import time
from pathlib import Path


def first_val_loss(run: Path) -> float:
    with open(run / "history.csv") as f:
        return float(next(csv.DictReader(f))["val_loss"])


def classifier(ds, device, tmp: Path, epochs: int) -> dict:
    from genmix.classify.train import PRESETS, TrainConfig, train_classifier

    cfg = TrainConfig(data=ds.spec, model="resnet18", **{**PRESETS["quick"], "epochs": epochs}, seed=0)
    out = {}
    for prec in ("fp32", "auto"):
        import torch

        torch.cuda.synchronize()
        t = time.perf_counter()
        m = train_classifier(ds, cfg, tmp / f"clf-{ds.image_size}-{prec}", device, progress=False, precision=prec)
        torch.cuda.synchronize()
        wall = time.perf_counter() - t
        out[prec] = {"wall_s": wall, "img_per_s": m["images_seen"] / wall, "test_accuracy": m["accuracy"],
                     "test_f1_macro": m["f1_macro"], "first_val_loss": first_val_loss(tmp / f"clf-{ds.image_size}-{prec}")}
        print(f"classifier {ds.image_size}px {prec}: {out[prec]}", flush=True)
    a, b = out["fp32"], out["auto"]
    out["speedup"] = a["wall_s"] / b["wall_s"]
    out["agrees"] = (abs(a["test_accuracy"] - b["test_accuracy"]) <= 0.10
                     and abs(a["test_f1_macro"] - b["test_f1_macro"]) <= 0.10
                     and abs(a["first_val_loss"] - b["first_val_loss"]) <= 0.10 * a["first_val_loss"])
    return out


def dcgan(ds, device, tmp: Path, steps: int) -> dict:
    import math

    import torch

    from genmix.generate import resolve_config
    from genmix.generate.fit import train_generator

    cfg = {**resolve_config("dcgan", "quick", {}), "steps": steps, "log_every": max(1, steps // 10)}
    out = {}
    for prec in ("fp32", "auto"):
        torch.cuda.synchronize()
        t = time.perf_counter()
        train_generator(ds, "dcgan", cfg, tmp / f"dcgan-{ds.image_size}-{prec}", device, progress=False,
                        precision=prec)
        torch.cuda.synchronize()
        wall = time.perf_counter() - t
        with open(tmp / f"dcgan-{ds.image_size}-{prec}" / "log.csv") as f:
            log = list(csv.DictReader(f))
        last = {k: float(v) for k, v in log[-1].items() if k not in ("step", "img_per_s")}
        out[prec] = {"wall_s": wall, "img_per_s": steps * cfg["batch_size"] / wall, "last_losses": last}
        print(f"dcgan {ds.image_size}px {prec}: {out[prec]}", flush=True)
    a, b = out["fp32"]["last_losses"], out["auto"]["last_losses"]
    out["speedup"] = out["fp32"]["wall_s"] / out["auto"]["wall_s"]
    out["agrees"] = all(math.isfinite(b[k]) and abs(b[k] - a[k]) <= 0.25 * max(abs(a[k]), 1e-3) for k in a)
    return out


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--out", type=Path, default=Path(os.environ.get("OUT", "runs/gpu-check")))
    a = ap.parse_args()
    import torch

    from genmix.data import load_dataset
    from genmix.device import choose_device
    from genmix.precision import Precision

    if not torch.cuda.is_available():
        sys.exit("benchmarks/gpu/check.py: no CUDA device here")
    device = choose_device("cuda")
    result = {"gpu": torch.cuda.get_device_name(0), "torch": torch.__version__,
              "auto_precision": Precision("auto", device).name, "bf16": torch.cuda.is_bf16_supported(), "runs": {}}
    with tempfile.TemporaryDirectory() as d:
        for size, epochs, steps in ((28, 20, 600), (224, 10, 200)):
            ds = load_dataset(f"simulated:fll@{size}")
            result["runs"][f"{size}px"] = {"classifier": classifier(ds, device, Path(d), epochs),
                                           "dcgan": dcgan(ds, device, Path(d), steps)}
    result["all_agree"] = all(r[k]["agrees"] for r in result["runs"].values() for k in r)
    a.out.mkdir(parents=True, exist_ok=True)
    (a.out / "gpu_check.json").write_text(json.dumps(result, indent=2))
    print(json.dumps(result, indent=2))


if __name__ == "__main__":
    main()
