"""Host memory: glibc's malloc as it is vs kept for reuse (``genmix.device.keep_freed_memory``), an exact lever.

A training step frees and reallocates the same activations and gradients every time. With glibc's defaults,
freed blocks above its (dynamic) mmap threshold are unmapped and the top of each heap is trimmed, so the next
step faults every page in again from the kernel, zeroed — more so with several threads, whose arenas are
trimmed too. genmix now fixes the mmap threshold at 32 MiB and the trim threshold at 1 GiB (``mallopt``) when it
chooses the device. The computation is untouched: the trained state is compared bit for bit.

Measured: one training step of each unit kind of configs/breastmnist.yaml (ResNet-18 classifier, batch 32;
the DCGAN, StyleGAN2 (ADA) and DDPM quick presets; 28 px, 1 channel, 2 classes), each in a fresh process, at
1 thread (the benchmark grids' ``--cpus-per-unit 1``) and 2 threads (``genmix run``'s default), variants
interleaved: ``system`` (``GENMIX_HOST_MEMORY=system``: glibc untouched, the code before this lever),
``genmix`` (the default now) and, as a reference where installed, tcmalloc preloaded (the allocator PyTorch's
CPU tuning guide recommends; genmix cannot preload it for the user). Speedup: the median over ``--repeats`` of
the paired ratio system / variant (the same repeat, adjacent processes); median seconds per step, minor page
faults per step (``getrusage``), peak RSS, and a digest of the state after the steps.

Run:  python benchmarks/speed/allocator.py [--repeats 3] [--scale 1]
Writes benchmarks/results/speed_allocator.json.
"""

import argparse
import json
import os
import statistics
import subprocess
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from _common import save  # noqa: E402

TCMALLOC = "/usr/lib/x86_64-linux-gnu/libtcmalloc_minimal.so.4"
STEPS = {"classifier": 30, "dcgan": 60, "stylegan2": 12, "ddpm": 16}  # x --scale; the warm-up is 3 steps


def child(kind: str, threads: int, steps: int) -> dict:
    """One measurement in this (fresh) process: s/step, page faults/step, peak RSS and the state's digest."""
    import hashlib
    import resource
    import time

    import torch

    from genmix.device import choose_device

    torch.set_num_threads(threads)
    choose_device("cpu")  # where genmix applies keep_freed_memory (unless GENMIX_HOST_MEMORY=system)
    torch.manual_seed(0)
    g = torch.Generator().manual_seed(0)
    if kind == "classifier":
        import torch.nn.functional as F

        from genmix.classify.models import create_model
        from genmix.optim import adam

        model = create_model("resnet18", 2, 1, 28, False)
        opt = adam(model.parameters(), lr=1e-3)
        x, y = torch.rand(32, 1, 28, 28, generator=g), torch.arange(32) % 2

        def step():
            loss = F.cross_entropy(model(x), y)
            opt.zero_grad(set_to_none=True)
            loss.backward()
            opt.step()
    else:
        from genmix.generate import build_generator, resolve_config

        cfg = resolve_config(kind, "quick", {})
        model = build_generator(kind, cfg, 2, 1, 28)
        model.configure_optimizers()
        x, y = torch.rand(cfg["batch_size"], 1, 28, 28, generator=g), torch.arange(cfg["batch_size"]) % 2

        def step():
            model.training_step(x, y, g)
    for _ in range(3):
        step()
    faults0, t0 = resource.getrusage(resource.RUSAGE_SELF).ru_minflt, time.perf_counter()
    for _ in range(steps):
        step()
    dt = (time.perf_counter() - t0) / steps
    use = resource.getrusage(resource.RUSAGE_SELF)
    h = hashlib.sha256()
    for v in model.state_dict().values():
        h.update(v.detach().contiguous().cpu().numpy().tobytes())
    return {"s_per_step": dt, "faults_per_step": (use.ru_minflt - faults0) / steps,
            "peak_rss_mib": use.ru_maxrss / 1024, "digest": h.hexdigest()[:16]}


def variants() -> dict:
    v = {"system": {"GENMIX_HOST_MEMORY": "system"}, "genmix": {}}
    if os.path.isfile(TCMALLOC):
        v["tcmalloc"] = {"GENMIX_HOST_MEMORY": "system", "LD_PRELOAD": TCMALLOC}
    return v


def measure(kind: str, threads: int, steps: int, extra: dict) -> dict:
    env = {k: v for k, v in os.environ.items() if k not in ("LD_PRELOAD", "GENMIX_HOST_MEMORY")}
    out = subprocess.run([sys.executable, __file__, "--child", kind, str(threads), str(steps)],
                         env={**env, **extra}, capture_output=True, text=True, check=True)
    return json.loads(out.stdout.strip().splitlines()[-1])


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--repeats", type=int, default=3)
    ap.add_argument("--scale", type=float, default=1.0, help="steps per measurement x this")
    ap.add_argument("--child", nargs=3, help=argparse.SUPPRESS)
    a = ap.parse_args()
    if a.child:
        print(json.dumps(child(a.child[0], int(a.child[1]), int(a.child[2]))))
        return
    runs, var = {}, variants()
    for rep in range(a.repeats):
        for threads in (1, 2):
            for kind, n in STEPS.items():
                for name, extra in var.items():
                    r = measure(kind, threads, max(2, round(n * a.scale)), extra)
                    runs.setdefault(f"{kind} / {threads} thread(s)", {}).setdefault(name, []).append(r)
                    print(rep, kind, threads, name, r, flush=True)
    summary = {}
    for key, by in runs.items():
        base = [r["s_per_step"] for r in by["system"]]
        summary[key] = {name: {"median_s_per_step": statistics.median(r["s_per_step"] for r in rs),
                               # the median of the paired ratios (same repeat, adjacent processes): the host's
                               # drift between repeats cancels in a pair, not in a ratio of medians
                               "speedup": statistics.median(b / r["s_per_step"] for b, r in zip(base, rs)),
                               "speedup_of_medians": statistics.median(base) / statistics.median(
                                   r["s_per_step"] for r in rs),
                               "faults_per_step": statistics.median(r["faults_per_step"] for r in rs),
                               "peak_rss_mib": max(r["peak_rss_mib"] for r in rs)} for name, rs in by.items()}
        summary[key]["bit_identical"] = len({r["digest"] for rs in by.values() for r in rs}) == 1
        print(key, json.dumps(summary[key]), flush=True)
    save("speed_allocator", {"repeats": a.repeats, "steps": {k: max(2, round(n * a.scale)) for k, n in STEPS.items()},
                             "summary": summary, "runs": runs,
                             "command": f"python benchmarks/speed/allocator.py --repeats {a.repeats} --scale {a.scale}"})


if __name__ == "__main__":
    main()
