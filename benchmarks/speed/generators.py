"""Images/s of each generator's training step (quick presets) at 28 and 64 px, 1 channel, in one process.
Textual inversion runs on a tiny offline SD-style pipeline (the real LDM is not on this machine), so
its number measures the method's own overhead, not the LDM's cost.
Run: python benchmarks/speed/generators.py
"""

import os
import sys
import tempfile
import time
from pathlib import Path

import torch

os.environ.setdefault("HF_HUB_OFFLINE", "1")
sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
sys.path.insert(0, str(Path(__file__).resolve().parents[2]))
from _common import save  # noqa: E402

from genmix.generate import build_generator, resolve_config  # noqa: E402


def rate(name, cfg, size, steps=6, warm=2):
    m = build_generator(name, cfg, 2, 1, size)
    m.configure_optimizers()
    bs = cfg["batch_size"]
    g = torch.Generator().manual_seed(0)
    x = torch.rand(bs, 1, size, size, generator=g)
    y = torch.arange(bs) % 2
    for _ in range(warm):
        m.training_step(x, y, g)
    t = time.perf_counter()
    for _ in range(steps):
        m.training_step(x, y, g)
    return round(bs * steps / (time.perf_counter() - t), 1)


def main():
    from tests.generate.tiny_pipeline import build_tiny_sd

    rows = {}
    for name in ("dcgan", "stylegan2", "ddpm"):
        cfg = resolve_config(name, "quick", {})
        rows[name] = {f"{s}px_img_per_s": rate(name, cfg, s) for s in (28, 64)}
        rows[name]["batch"] = cfg["batch_size"]
    with tempfile.TemporaryDirectory() as d:
        pipe = build_tiny_sd(Path(d))
        cfg = resolve_config("textual-inversion", "quick", {"pretrained": str(pipe)})
        rows["textual-inversion (tiny pipeline)"] = {f"{s}px_img_per_s": rate("textual-inversion", cfg, s)
                                                     for s in (28, 64)}
        rows["textual-inversion (tiny pipeline)"]["batch"] = cfg["batch_size"]
    save("speed_generators", {"benchmark": "generator training img/s (quick presets)", "generators": rows,
                              "command": "python benchmarks/speed/generators.py"})


if __name__ == "__main__":
    main()
