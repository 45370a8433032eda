"""One fit loop for every generator: iterations, EMA, logging, checkpoint cadence, resume,
divergence stop, progress. It does not know which method it runs.

GEN_DIR layout: ``generator.json`` (method, resolved config, dataset, source split, genmix
version), ``checkpoint.safetensors`` (during training: weights, optimizer and RNG states),
``model.safetensors`` (final weights + the same config), ``log.csv``.
"""

from __future__ import annotations

import csv
import json
import math
import sys
import time
from pathlib import Path

import torch

from .. import __version__
from ..checkpoint import load_state, save_state
from ..errors import GenmixError
from . import build_generator

FIT_DEFAULTS = dict(steps=1000, batch_size=32, checkpoint_every=250, log_every=25, seed=0)


def _meta(name, config, ds) -> dict:
    return {"generator": name, "config": config, "genmix_version": __version__, "dataset": ds.spec,
            "class_names": ds.class_names, "channels": ds.channels, "image_size": ds.image_size,
            "source_split": "train", "train_counts": ds["train"].counts(ds.num_classes)}


def _same(a, b) -> bool:
    return json.loads(json.dumps(a)) == json.loads(json.dumps(b))


def train_generator(ds, name: str, config: dict, out_dir, device, progress: bool = True,
                    stop_after: int | None = None, precision=None):
    """Train generator ``name`` on the TRAINING split of ``ds`` only. Returns the model (None when stopped by
    ``stop_after`` steps, a simulated interruption for tests of resume).

    ``precision`` (a :class:`genmix.precision.Precision` or its name; ``auto``: fp32 on the CPU, bf16 on a CUDA
    device that has it): a generator whose ``mixed_precision`` is True runs its steps under that autocast
    (fp16 becomes fp32 for generators); the others stay fp32."""
    return GeneratorFit(ds, name, config, out_dir, device, progress, precision).run(stop_after)


class GeneratorFit:
    """One generator's training into ``out_dir``: resumes from its checkpoint, and a finished one is loaded."""

    def __init__(self, ds, name: str, config: dict, out_dir, device, progress: bool = True, precision=None):
        from ..precision import Precision

        prec = precision if isinstance(precision, Precision) else Precision(precision, torch.device(device))
        self.prec, self.device, self.progress, self.name = prec.for_generators(), device, progress, name
        config = {**FIT_DEFAULTS, **config}
        self.out, self.ds, self.train = Path(out_dir), ds, ds["train"]
        if self.train.name != "train":
            raise GenmixError(f"generators train on the training split only, not '{self.train.name}'")
        model = build_generator(name, config, ds.num_classes, ds.channels, ds.image_size)
        self.model = self.prec.model(model) if model.mixed_precision else model.to(device)
        self.model.check_data(ds.spec)  # a pretrained part that saw this data's source is refused before anything is written
        self.config = {**config, **self.model.config}  # record every setting, defaults included
        self.meta = _meta(name, self.config, ds)
        self.final, self.ckpt = self.out / "model.safetensors", self.out / "checkpoint.safetensors"
        self.step, self.log, self.snaps = 0, [], []

    def run(self, stop_after: int | None = None):
        if self.final.is_file():
            return self.load_finished()
        self.model.fit_data(self.train)
        self.opts = self.model.configure_optimizers()
        self.dgen = torch.Generator(device=self.device).manual_seed(self.config["seed"] + 1)
        if self.ckpt.is_file():
            self.resume()
        self.out.mkdir(parents=True, exist_ok=True)
        (self.out / "generator.json").write_text(json.dumps(self.meta, indent=2))
        if self.step == 0:
            self.take_snapshot()
        if not self.train_steps(stop_after):
            return None
        self.take_snapshot()
        if self.snaps:
            write_snapshot_strip(self.out / "fig2.png", self.snaps, self.name)
        save_state(self.final, {"model": self.model.state_dict(), "meta": self.meta})
        self.model.export(self.out, self.ds.class_names)
        write_log(self.out / "log.csv", self.log)
        self.ckpt.unlink(missing_ok=True)
        return self.model

    def check(self, stored: dict, error: str) -> dict:
        """``stored`` (a saved state) when it was written for this config and dataset; else GenmixError(error)."""
        if not _same(stored["meta"]["config"], self.config) or stored["meta"]["dataset"] != self.ds.spec:
            raise GenmixError(error)
        return stored

    def load_finished(self):
        stored = self.check(load_state(self.final), f"{self.final}: {self.out} holds a generator trained with another "
                            "config; use a new --out")
        self.model.load_state_dict(stored["model"])
        return self.model

    def resume(self):
        st = self.check(load_state(self.ckpt), f"{self.ckpt}: checkpoint was written with another config or dataset; "
                        "use a new --out")
        self.model.load_state_dict(st["model"])
        for k, o in self.opts.items():
            o.load_state_dict(st["optim"][k])
        self.dgen.set_state(st["rng"]["model"])
        torch.set_rng_state(st["rng"]["torch"])
        self.step, self.log, self.snaps = st["step"], st["log"], st.get("snapshots", [])

    def save_checkpoint(self):
        save_state(self.ckpt, {"model": self.model.state_dict(), "optim": {k: o.state_dict() for k, o in self.opts.items()},
                               "rng": {"model": self.dgen.get_state(), "torch": torch.get_rng_state()},
                               "step": self.step, "log": self.log, "meta": self.meta, "snapshots": self.snaps})

    def take_snapshot(self):  # fixed-noise samples (the model's own choice), never touching the training RNG
        x = self.model.snapshot()
        if x is not None:
            self.snaps.append([self.step, (x.clamp(0, 1) * 255).round().byte().cpu()])
        self.model.train()

    def batches(self):
        """Index lists of ``batch_size`` images from the step reached on: the data order is a function of the
        epoch, so a resumed run sees the same batches."""
        n, bs, seed = len(self.train), min(self.config["batch_size"], len(self.train)), self.config["seed"]

        def epoch_order(e):
            return torch.randperm(n, generator=torch.Generator().manual_seed(seed * 7919 + e))

        epochs_done, pos = (self.step * bs) // n, (self.step * bs) % n
        order = epoch_order(epochs_done)
        while True:
            idx = []
            while len(idx) < bs:
                take = order[pos:pos + bs - len(idx)]
                idx += take.tolist()
                pos += len(take)
                if pos >= n:
                    epochs_done += 1
                    order, pos = epoch_order(epochs_done), 0
            yield idx

    def one_step(self, idx) -> dict:
        x, y = self.train.batch(torch.tensor(idx))
        if self.model.mixed_precision:
            with self.prec.autocast():
                losses = self.model.training_step(self.prec.batch(x), y.to(self.device), self.dgen)
        else:
            losses = self.model.training_step(x.to(self.device), y.to(self.device), self.dgen)
        vals = {k: float(v) for k, v in losses.items()}
        bad = {k: v for k, v in vals.items() if not math.isfinite(v)}
        if bad:
            last = f"{self.ckpt} (step {load_state(self.ckpt)['step']})" if self.ckpt.is_file() else "none was written yet"
            raise GenmixError(f"{self.name} diverged at step {self.step + 1}: non-finite loss {bad}; training stopped, "
                              f"last good checkpoint kept: {last}")
        return vals

    def train_steps(self, stop_after: int | None) -> bool:
        """Steps up to ``config["steps"]`` (True), or until ``stop_after`` (False)."""
        from tqdm.auto import tqdm

        c = self.config
        bar = tqdm(total=c["steps"], initial=self.step, desc=f"train {self.name}",
                   disable=not self.progress or not sys.stderr.isatty())
        t0, imgs = time.perf_counter(), 0
        self.model.train()
        batches = self.batches()
        while self.step < c["steps"]:
            if stop_after is not None and self.step >= stop_after:
                return False
            idx = next(batches)
            vals = self.one_step(idx)
            self.step += 1
            self.model.update_ema(self.step)
            imgs += len(idx)
            if self.step % c["log_every"] == 0 or self.step == c["steps"]:
                dt = time.perf_counter() - t0
                self.log.append({"step": self.step, **{k: round(v, 6) for k, v in vals.items()},
                                 "img_per_s": round(imgs / dt, 2)})
                t0, imgs = time.perf_counter(), 0
                bar.set_postfix({k: f"{v:.3f}" for k, v in vals.items()})
            bar.update(1)
            if self.step % c["checkpoint_every"] == 0 and self.step < c["steps"]:
                self.take_snapshot()
                self.save_checkpoint()
        bar.close()
        return True


def write_snapshot_strip(path, snaps, name: str) -> None:
    """One row per training step: the same noise sampled with the weights of that step (paper Fig. 2)."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    from torchvision.utils import make_grid

    fig, axes = plt.subplots(len(snaps), 1, figsize=(1.0 * len(snaps[0][1]) + 1, 1.1 * len(snaps) + 0.4),
                             squeeze=False)
    for ax, (st, imgs) in zip(axes[:, 0], snaps):
        grid = make_grid(imgs.float() / 255, nrow=len(imgs), padding=1, pad_value=1.0)
        ax.imshow(grid.permute(1, 2, 0).numpy(), cmap="gray" if imgs.shape[1] == 1 else None, vmin=0, vmax=1)
        ax.set_xticks([])
        ax.set_yticks([])
        ax.set_ylabel(f"step {st}", rotation=0, ha="right", va="center", fontsize=8)
    fig.suptitle(f"{name}: the same noise sampled during training", fontsize=9)
    fig.tight_layout()
    tmp = path.with_name(path.name + ".tmp.png")
    fig.savefig(tmp, dpi=100)
    plt.close(fig)
    tmp.replace(path)


def write_log(path, log):
    """The training log (one row per logged step) as CSV; nothing for an empty log."""
    if not log:
        return
    keys = list(dict.fromkeys(k for row in log for k in row))
    with open(path, "w", newline="") as f:
        w = csv.DictWriter(f, fieldnames=keys)
        w.writeheader()
        w.writerows(log)


def load_generator(gen_dir, device="cpu"):
    """Load a finished generator; its stored config must match generator.json."""
    gen_dir = Path(gen_dir)
    final = gen_dir / "model.safetensors"
    if not final.is_file():
        raise GenmixError(f"{final}: not found (is {gen_dir} a finished train-generator output?)")
    st = load_state(final)
    meta = st["meta"]
    side = gen_dir / "generator.json"
    if side.is_file():
        try:
            js = json.loads(side.read_text())
        except json.JSONDecodeError as exc:
            raise GenmixError(f"{side}: unreadable ({exc})") from None
        if not _same(js.get("config"), meta["config"]) or js.get("generator") != meta["generator"]:
            raise GenmixError(f"{side}: config does not match the checkpoint {final} (mismatched config)")
    model = build_generator(meta["generator"], meta["config"], len(meta["class_names"]), meta["channels"],
                            meta["image_size"])
    try:
        model.load_state_dict(st["model"])
    except RuntimeError as exc:
        raise GenmixError(f"{final}: weights do not match the config ({str(exc)[:300]})") from None
    model.eval()
    return model.to(device), meta
