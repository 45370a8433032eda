"""The GANs' generator step with the discriminator frozen (``genmix.generate.base.frozen``), an exact lever.

In a GAN's G step the loss backpropagates through D to G; with D's parameters requiring gradients, autograd also
computes D's weight gradients, which the next D step discards (``zero_grad``). StyleGAN2-ADA's training loop
turns them off (``requires_grad_`` per phase); genmix's StyleGAN2 and DCGAN now do the same. Exact: the model
after the steps is the same bit for bit (checked here and in tests/generate/test_base.py).

Measured: each GAN's quick preset of configs/breastmnist.yaml (28 px, 1 channel, 2 classes, its batch), one
training step at the grid's default threads per unit, "before" (``frozen`` replaced by a no-op) and "now"
interleaved ``--repeats`` times, median seconds per step over ``--steps`` steps; the state after the same
steps compared bit for bit. The replicate-level effect applies the step ratio to the generator's unit in the
replicate composition of benchmarks/speed/RESULTS.md (StyleGAN2's unit ~1,330 worker-s of 4,573).

Run:  python benchmarks/speed/frozen_d.py [--repeats 3] [--steps 6]
Writes benchmarks/results/speed_frozen_d.json.
"""

import argparse
import contextlib
import statistics
import sys
import time
from pathlib import Path

import torch

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from _common import save  # noqa: E402


def build(name: str):
    from genmix.generate import build_generator, resolve_config

    cfg = resolve_config(name, "quick", {})
    torch.manual_seed(0)
    m = build_generator(name, cfg, 2, 1, 28)
    m.configure_optimizers()
    g = torch.Generator().manual_seed(0)
    x, y = torch.rand(cfg["batch_size"], 1, 28, 28, generator=g), torch.arange(cfg["batch_size"]) % 2
    return m, x, y, g


def run(name: str, freeze: bool, steps: int) -> tuple[float, dict]:
    import genmix.generate.dcgan as dcgan
    import genmix.generate.stylegan2 as stylegan2

    module = {"stylegan2": stylegan2, "dcgan": dcgan}[name]
    real = module.frozen
    module.frozen = real if freeze else (lambda m: contextlib.nullcontext())
    try:
        m, x, y, g = build(name)
        for _ in range(2):  # warm-up (the first steps allocate)
            m.training_step(x, y, g)
        t0 = time.perf_counter()
        for _ in range(steps):
            m.training_step(x, y, g)
        return (time.perf_counter() - t0) / steps, m.state_dict()
    finally:
        module.frozen = real


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--repeats", type=int, default=3)
    ap.add_argument("--steps", type=int, default=6)
    a = ap.parse_args()
    from genmix.experiment.graph import DEFAULT_THREADS

    torch.set_num_threads(DEFAULT_THREADS)
    out = {}
    for name in ("stylegan2", "dcgan"):
        times, states = {"before": [], "now": []}, {}
        for _ in range(a.repeats):
            for side in ("before", "now"):
                dt, states[side] = run(name, side == "now", a.steps)
                times[side].append(dt)
        b, n = statistics.median(times["before"]), statistics.median(times["now"])
        same = all(torch.equal(states["before"][k], states["now"][k]) for k in states["before"])
        out[name] = {"s_per_step": times, "median_before": b, "median_now": n, "speedup": b / n,
                     "bit_identical": same}
        print(f"{name}: {b:.3f} -> {n:.3f} s/step, {b / n:.2f}x, bit-identical {same}", flush=True)
    save("speed_frozen_d", {"threads": DEFAULT_THREADS, "steps": a.steps, "repeats": a.repeats, "gans": out,
                            "command": f"python benchmarks/speed/frozen_d.py --repeats {a.repeats} --steps {a.steps}"})


if __name__ == "__main__":
    main()
