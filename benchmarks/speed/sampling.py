"""DDIM-50 vs DDPM-1000 sampling time and sample quality, on one DDPM trained on BreastMNIST
(quick preset) in the same run. Quality: sliced Wasserstein distance of 200 samples per class to
the real training images of that class (lower is better), both samplers from the same model.
Run: python benchmarks/speed/sampling.py [GEN_DIR]   (trains one into /tmp if not given)
"""

import sys
import time
from pathlib import Path

import torch

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from _common import data_root, save  # noqa: E402

from genmix.data import load_dataset  # noqa: E402
from genmix.generate import resolve_config  # noqa: E402
from genmix.generate.fit import load_generator, train_generator  # noqa: E402
from genmix.generate.quality import sliced_wasserstein  # noqa: E402


def main(gen_dir=None, n=32):
    ds = load_dataset("medmnist:breastmnist", data_root())
    if gen_dir is None:
        gen_dir = "/tmp/genmix-bench-ddpm"
        train_generator(ds, "ddpm", resolve_config("ddpm", "quick", {}), gen_dir, "cpu", progress=False)
    model, _ = load_generator(gen_dir)
    out = {}
    for sampler, steps in (("ddim", 50), ("ddpm", 1000)):
        g = torch.Generator().manual_seed(0)
        labels = torch.arange(n) % ds.num_classes
        t = time.perf_counter()
        x = model.sample(n, labels, generator=g, sampler=sampler, steps=steps)
        dt = time.perf_counter() - t
        real = ds["train"].images.float() / 255
        swd = [sliced_wasserstein(x[labels == c], real[ds["train"].labels == c]) for c in range(ds.num_classes)]
        out[sampler] = {"steps": steps, "seconds": round(dt, 2), "img_per_s": round(n / dt, 2),
                        "sliced_wasserstein_per_class": [round(v, 4) for v in swd]}
    save("speed_sampling", {"benchmark": "DDIM-50 vs DDPM-1000", "n_samples": n, **out,
                            "speedup": round(out["ddpm"]["seconds"] / out["ddim"]["seconds"], 1), "target": ">= 20x",
                            "command": "python benchmarks/speed/sampling.py"})


if __name__ == "__main__":
    main(*sys.argv[1:2])
