"""Classifier training throughput: genmix's Trainer epoch vs a bare PyTorch loop.

Same model (ResNet-18), batch, data (BreastMNIST train, 28 px), threads, optimizer, in one process;
the two are interleaved over several repeats and the median is compared.
Run: python benchmarks/speed/train_loop.py
"""

import statistics
import sys
import time
from pathlib import Path

import torch
import torch.nn.functional as F

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from _common import data_root, save  # noqa: E402

from genmix.classify.models import create_model  # noqa: E402
from genmix.classify.train import TrainConfig, Trainer  # noqa: E402
from genmix.data import load_dataset  # noqa: E402


def main(repeats=5, bs=32):
    ds = load_dataset("medmnist:breastmnist", data_root())
    train = ds["train"]
    cfg = TrainConfig(data=ds.spec, model="resnet18", epochs=1, batch_size=bs, lr=1e-3, seed=0, schedule="cosine")
    tr = Trainer(ds, cfg, "/tmp/genmix-bench-unused", "cpu", progress=False)
    tr._build()

    state = {"epoch": 0, "step": 0, "images_seen": 0, "order": None, "pos": 0}  # the trainer's loop state

    def genmix_epoch():  # one pass over the training split through the trainer's own step loop
        t = time.perf_counter()
        tr._steps(lambda it, **kw: it, state, tr.per_pass)
        return len(train) / (time.perf_counter() - t)

    torch.manual_seed(0)
    model = create_model("resnet18", ds.num_classes, ds.channels, ds.image_size)
    opt = torch.optim.Adam(model.parameters(), lr=1e-3)
    x_all = train.images.float() / 255
    y_all = train.labels

    def bare_epoch():
        model.train()
        t = time.perf_counter()
        perm = torch.randperm(len(y_all))
        for i in range(0, len(perm), bs):
            idx = perm[i:i + bs]
            if len(idx) < 2:
                continue
            loss = F.cross_entropy(model(x_all[idx]), y_all[idx])
            opt.zero_grad(set_to_none=True)
            loss.backward()
            opt.step()
        return len(train) / (time.perf_counter() - t)

    genmix_epoch(), bare_epoch()  # warm-up
    g, b = [], []
    for _ in range(repeats):
        g.append(genmix_epoch())
        b.append(bare_epoch())
    res = {"benchmark": "classifier training throughput", "model": "resnet18", "batch": bs, "image_px": 28,
           "genmix_img_per_s": round(statistics.median(g), 1), "bare_img_per_s": round(statistics.median(b), 1),
           "ratio": round(statistics.median(g) / statistics.median(b), 3), "target": ">= 0.95",
           "command": "python benchmarks/speed/train_loop.py"}
    save("speed_train_loop", res)


if __name__ == "__main__":
    main()
