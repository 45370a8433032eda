"""Issue 29's bf16 lever on the CPU: is a training step faster under bf16 autocast (and channels-last) here?

On a CPU with native bf16 (AVX512-BF16 / AMX) oneDNN runs bf16 convolutions on the matrix units. Per model, one
training step at 28 px with a grid unit's setting (1 torch thread, its preset's batch), fp32 vs bf16 autocast,
contiguous vs channels-last, the variants interleaved in one process, ``--repeats`` times; images per second,
median. Models: the classifier (ResNet-18, batch 32, fused Adam) and the generators whose steps may take bf16
(DCGAN, DDPM: ``mixed_precision``); StyleGAN2's R1 double backward stays fp32 and is timed in fp32 only.
Timing only: whether a lever that pays leaves the results unchanged is a paired check over replicates.

Run:  python benchmarks/speed/cpu_bf16.py [--repeats 3] [--steps 6] [--name speed_cpu_bf16]
Writes benchmarks/results/NAME.json (speed_cpu_bf16.json: the AMX host; speed_cpu_bf16_avx2.json: an AVX2-only one).
"""

import argparse
import statistics
import sys
import time
from pathlib import Path

import torch

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from _common import save  # noqa: E402

VARIANTS = {"fp32": ("fp32", False), "bf16": ("bf16", False), "fp32, channels-last": ("fp32", True),
            "bf16, channels-last": ("bf16", True)}


def classifier_step(prec):
    from genmix.classify.models import create_model
    from genmix.optim import adam

    torch.manual_seed(0)
    m = prec.model(create_model("resnet18", 2, 1, 28))
    opt = adam(m.parameters(), lr=1e-3)
    x, y = prec.batch(torch.rand(32, 1, 28, 28)), torch.arange(32) % 2

    def step():
        with prec.autocast():
            loss = torch.nn.functional.cross_entropy(m(x), y)
        opt.zero_grad()
        loss.backward()
        opt.step()
    return step, 32


def generator_step(name):
    def make(prec):
        from genmix.generate import build_generator, resolve_config

        cfg = resolve_config(name, "quick", {})
        torch.manual_seed(0)
        m = prec.model(build_generator(name, cfg, 2, 1, 28))
        m.configure_optimizers()
        g = torch.Generator().manual_seed(0)
        bs = cfg["batch_size"]
        x, y = prec.batch(torch.rand(bs, 1, 28, 28, generator=g)), torch.arange(bs) % 2

        def step():
            with prec.autocast():
                m.training_step(x, y, g)
        return step, bs
    return make


def rate(make, prec, steps: int) -> float:
    step, bs = make(prec)
    for _ in range(2):  # warm-up (oneDNN picks its kernels)
        step()
    t = time.perf_counter()
    for _ in range(steps):
        step()
    return bs * steps / (time.perf_counter() - t)


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--repeats", type=int, default=3)
    ap.add_argument("--steps", type=int, default=6)
    ap.add_argument("--name", default="speed_cpu_bf16",
                    help="result file name (another CPU's run beside the first: e.g. speed_cpu_bf16_avx2)")
    a = ap.parse_args()
    from genmix.precision import Precision

    torch.set_num_threads(1)
    models = {"classifier (ResNet-18)": (classifier_step, VARIANTS), "dcgan": (generator_step("dcgan"), VARIANTS),
              "ddpm": (generator_step("ddpm"), VARIANTS), "stylegan2": (generator_step("stylegan2"), {"fp32": ("fp32", False)})}
    rates = {m: {v: [] for v in variants} for m, (_, variants) in models.items()}
    for _ in range(a.repeats):
        for m, (make, variants) in models.items():
            for v, (name, cl) in variants.items():
                rates[m][v].append(rate(make, Precision(name, "cpu", channels_last=cl), a.steps))
    out = {}
    for m, r in rates.items():
        med = {v: statistics.median(x) for v, x in r.items()}
        out[m] = {"img_per_s": r, "median_img_per_s": med, "speedup_over_fp32": {v: x / med["fp32"] for v, x in med.items()}}
        print(m, {v: f"{x:.1f} img/s ({x / med['fp32']:.2f}x)" for v, x in med.items()}, flush=True)
    command = f"python benchmarks/speed/cpu_bf16.py --repeats {a.repeats} --steps {a.steps}"
    save(a.name, {"native_bf16": {"amx_tile": bool(torch.cpu._is_amx_tile_supported()),
                                  "avx512_bf16": bool(torch.cpu._is_avx512_bf16_supported())},
                  "threads": 1, "steps": a.steps, "repeats": a.repeats, "models": out,
                  "command": command + ("" if a.name == "speed_cpu_bf16" else f" --name {a.name}")})


if __name__ == "__main__":
    main()
