"""GenMix mixing cost as a share of a training step (ResNet-18, batch 32, 28 px, BreastMNIST +
a synthetic pool of the same size). Both timed in one process, median of many steps.
Run: python benchmarks/speed/mixing_cost.py
"""

import statistics
import sys
import time
from pathlib import Path

import torch
import torch.nn.functional as F

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from _common import data_root, save  # noqa: E402

from genmix.augment.genmix import GenMix  # noqa: E402
from genmix.classify.models import create_model  # noqa: E402
from genmix.data import load_dataset  # noqa: E402


def main(steps=60, bs=32):
    ds = load_dataset("medmnist:breastmnist", data_root())
    train = ds["train"]
    aug = GenMix(None)  # pool = the real images; the mixing work is the same as with synthetic ones
    g = torch.Generator().manual_seed(0)
    aug.prepare(train, ds.num_classes, g)
    model = create_model("resnet18", ds.num_classes, ds.channels, ds.image_size)
    opt = torch.optim.Adam(model.parameters(), lr=1e-3)
    mix_t, step_t = [], []
    for i in range(steps):
        idx = torch.randint(len(train), (bs,), generator=g)
        x, y = train.batch(idx)
        y = F.one_hot(y, ds.num_classes).float()
        t0 = time.perf_counter()
        b = aug(x, y, g)
        t1 = time.perf_counter()
        loss = F.cross_entropy(model(b.x), b.y)
        opt.zero_grad(set_to_none=True)
        loss.backward()
        opt.step()
        t2 = time.perf_counter()
        if i >= 5:
            mix_t.append(t1 - t0)
            step_t.append(t2 - t0)
    m, s = statistics.median(mix_t), statistics.median(step_t)
    save("speed_mixing_cost", {"benchmark": "GenMix mixing share of a training step", "batch": bs, "image_px": 28,
                               "mix_ms": round(1000 * m, 3), "step_ms": round(1000 * s, 2),
                               "share": round(m / s, 4), "target": "<= 0.02",
                               "command": "python benchmarks/speed/mixing_cost.py"})


if __name__ == "__main__":
    main()
