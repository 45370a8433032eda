"""Two more levers of issue 29, on the units' own models: ``torch.compile`` and training two models stacked.

1. **torch.compile** (inductor, CPU): the forward + backward of a training step — the classifier (ResNet-18,
   28 px, batch 32), StyleGAN2's G and D (the quick preset, a G + D loss without R1: R1's double backward is
   not supported by compiled autograd), the DDPM's loss — eager vs compiled, interleaved, steady-state median;
   the compile seconds; and the **net ratio per unit** = n·t_eager / (compile + n·t_compiled) over the steps a
   unit of configs/breastmnist.yaml runs (360 / 1,500 / 1,200). Compiled kernels round differently, so this
   lever would also need the paired check; it is measured first to see whether it could pay.
2. **Two classifiers stacked** (``torch.func.stack_module_state`` + ``vmap``: one batched step for two seeds
   or candidates): against two eager steps. BatchNorm running statistics cannot be updated in place under
   vmap, so the stacked copies stop tracking them (``replace_all_batch_norm_modules_``): a speed bound only.

Compiles start from an empty inductor cache (``TORCHINDUCTOR_CACHE_DIR`` in a new temporary folder unless set).

Run:  python benchmarks/speed/compile_stack.py [--repeats 3] [--steps 5]
Writes benchmarks/results/speed_compile_stack.json.
"""

import argparse
import copy
import os
import statistics
import sys
import time
from pathlib import Path

import torch
import torch.nn.functional as F

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from _common import save  # noqa: E402

UNIT_STEPS = {"classifier (ResNet-18)": 360, "StyleGAN2 (G + D, no R1)": 1500, "DDPM": 1200}


def steps():
    """{name: (make_step(compiled: bool) -> step function)} for the three models."""
    from genmix.classify.models import create_model
    from genmix.generate import build_generator, resolve_config

    g = torch.Generator().manual_seed(0)
    x32, y32 = torch.rand(32, 1, 28, 28, generator=g), torch.arange(32) % 2

    def classifier(compiled):
        m = create_model("resnet18", 2, 1, 28)
        f = torch.compile(m) if compiled else m
        return lambda: F.cross_entropy(f(x32), y32).backward()

    def stylegan2(compiled):
        m = build_generator("stylegan2", resolve_config("stylegan2", "quick", {}), 2, 1, 28)
        G, D = (torch.compile(m.G), torch.compile(m.D)) if compiled else (m.G, m.D)
        return lambda: (F.softplus(-D(G(torch.randn(32, 64), y32)[0], y32)).mean()
                        + F.softplus(D(x32 * 2 - 1, y32)).mean()).backward()

    def ddpm(compiled):
        m = build_generator("ddpm", resolve_config("ddpm", "quick", {}), 2, 1, 28)
        f = torch.compile(m) if compiled else m
        return lambda: f(x32, y32, torch.Generator().manual_seed(1)).backward()

    return dict(zip(UNIT_STEPS, (classifier, stylegan2, ddpm)))


def timed(fn, n):
    t0 = time.perf_counter()
    for _ in range(n):
        fn()
    return (time.perf_counter() - t0) / n


def compile_lever(repeats, n):
    out = {}
    for name, make in steps().items():
        eager, comp = make(False), make(True)
        t0 = time.perf_counter()
        comp(), comp()  # compiles forward and backward
        compile_s = time.perf_counter() - t0
        eager()
        t = {"eager": [], "compiled": []}
        for _ in range(repeats):
            t["eager"].append(timed(eager, n))
            t["compiled"].append(timed(comp, n))
        e, c = statistics.median(t["eager"]), statistics.median(t["compiled"])
        k = UNIT_STEPS[name]
        out[name] = {"s_per_step": t, "step_ratio": e / c, "compile_s": compile_s, "unit_steps": k,
                     "net_unit_ratio": k * e / (compile_s + k * c)}
        print(f"{name}: step {e / c:.2f}x, compile {compile_s:.0f} s, net per unit {out[name]['net_unit_ratio']:.2f}x",
              flush=True)
    return out


def stack_lever(repeats, n):
    from torch.func import functional_call, grad, replace_all_batch_norm_modules_, stack_module_state, vmap

    from genmix.classify.models import create_model

    g = torch.Generator().manual_seed(0)
    x, y = torch.rand(2, 32, 1, 28, 28, generator=g), torch.arange(32).repeat(2, 1) % 2
    models = [create_model("resnet18", 2, 1, 28) for _ in range(2)]
    stacked = [replace_all_batch_norm_modules_(copy.deepcopy(m)) for m in models]
    params, buffers = stack_module_state(stacked)
    base = copy.deepcopy(stacked[0]).to("meta")

    def loss(p, b, xb, yb):
        return F.cross_entropy(functional_call(base, (p, b), (xb,)), yb)

    vgrad = vmap(grad(loss), in_dims=(0, 0, 0, 0))
    two_eager = lambda: [F.cross_entropy(m(x[i]), y[i]).backward() for i, m in enumerate(models)]  # noqa: E731
    one_stacked = lambda: vgrad(params, buffers, x, y)  # noqa: E731
    two_eager(), one_stacked()
    t = {"two eager steps": [], "one stacked step": []}
    for _ in range(repeats):
        t["two eager steps"].append(timed(two_eager, n))
        t["one stacked step"].append(timed(one_stacked, n))
    r = statistics.median(t["two eager steps"]) / statistics.median(t["one stacked step"])
    print(f"two ResNet-18 stacked: {r:.2f}x", flush=True)
    return {"s_per_step": t, "ratio": r}


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--repeats", type=int, default=3)
    ap.add_argument("--steps", type=int, default=5)
    a = ap.parse_args()
    import tempfile

    # a cold compile, as a fresh machine's first unit pays it (not an earlier run's inductor cache)
    os.environ.setdefault("TORCHINDUCTOR_CACHE_DIR", tempfile.mkdtemp(prefix="inductor-"))
    from genmix.experiment.graph import DEFAULT_THREADS

    torch.set_num_threads(DEFAULT_THREADS)
    save("speed_compile_stack", {"threads": DEFAULT_THREADS, "compile": compile_lever(a.repeats, a.steps),
                                 "stack_two_classifiers": stack_lever(a.repeats, a.steps),
                                 "command": f"python benchmarks/speed/compile_stack.py --repeats {a.repeats} "
                                            f"--steps {a.steps}"})


if __name__ == "__main__":
    main()
