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
    """Train generator ``name`` on the TRAINING split of ``ds`` only. Returns the model.

    ``precision`` (a :class:`genmix.precision.Precision` or its name; ``auto``: fp32 on the CPU, bf16 on a CUDA
    device that has it): a generator whose ``mixed_precision`` is True runs its steps under that autocast
    (fp16 becomes fp32 for generators); the others stay fp32."""
    from ..precision import Precision

    prec = precision if isinstance(precision, Precision) else Precision(precision, torch.device(device))
    prec = prec.for_generators()
    config = {**FIT_DEFAULTS, **config}
    out = Path(out_dir)
    train = ds["train"]
    if train.name != "train":
        raise GenmixError(f"generators train on the training split only, not '{train.name}'")
    model = build_generator(name, config, ds.num_classes, ds.channels, ds.image_size)
    model = prec.model(model) if model.mixed_precision else model.to(device)
    model.check_data(ds.spec)  # a pretrained part that saw this data's source is refused before anything is written
    config = {**config, **model.config}  # record every setting, defaults included
    meta = _meta(name, config, ds)
    final, ckpt = out / "model.safetensors", out / "checkpoint.safetensors"
    if final.is_file():
        stored = load_state(final)
        if not _same(stored["meta"]["config"], config) or stored["meta"]["dataset"] != ds.spec:
            raise GenmixError(f"{final}: {out} holds a generator trained with another config; use a new --out")
        model.load_state_dict(stored["model"])
        return model
    model.fit_data(train)
    opts = model.configure_optimizers()
    dgen = torch.Generator(device=device).manual_seed(config["seed"] + 1)
    step, log, snaps = 0, [], []
    if ckpt.is_file():
        st = load_state(ckpt)
        if not _same(st["meta"]["config"], config) or st["meta"]["dataset"] != ds.spec:
            raise GenmixError(f"{ckpt}: checkpoint was written with another config or dataset; use a new --out")
        model.load_state_dict(st["model"])
        for k, o in opts.items():
            o.load_state_dict(st["optim"][k])
        dgen.set_state(st["rng"]["model"])
        torch.set_rng_state(st["rng"]["torch"])
        step, log, snaps = st["step"], st["log"], st.get("snapshots", [])
    out.mkdir(parents=True, exist_ok=True)
    (out / "generator.json").write_text(json.dumps(meta, indent=2))

    def save_ckpt():
        save_state(ckpt, {"model": model.state_dict(), "optim": {k: o.state_dict() for k, o in opts.items()},
                          "rng": {"model": dgen.get_state(), "torch": torch.get_rng_state()},
                          "step": step, "log": log, "meta": meta, "snapshots": snaps})

    def take_snapshot():  # fixed-noise samples (the model's own choice), never touching the training RNG
        x = model.snapshot()
        if x is not None:
            snaps.append([step, (x.clamp(0, 1) * 255).round().byte().cpu()])
        model.train()

    if step == 0:
        take_snapshot()

    n, bs = len(train), min(config["batch_size"], len(train))

    def epoch_order(e):  # the data order is a function of the epoch, so a resumed run sees the same batches
        return torch.randperm(n, generator=torch.Generator().manual_seed(config["seed"] * 7919 + e))

    epochs_done, pos = (step * bs) // n, (step * bs) % n
    order = epoch_order(epochs_done)
    from tqdm.auto import tqdm

    bar = tqdm(total=config["steps"], initial=step, desc=f"train {name}", disable=not progress or not sys.stderr.isatty())
    t0, imgs = time.perf_counter(), 0
    model.train()
    while step < config["steps"]:
        if stop_after is not None and step >= stop_after:
            return None
        idx = []
        while len(idx) < bs:
            take = order[pos:pos + bs - len(idx)]
            idx += take.tolist()
            pos += len(take)
            if pos >= n:
                epochs_done += 1
                order, pos = epoch_order(epochs_done), 0
        x, y = train.batch(torch.tensor(idx))
        if model.mixed_precision:
            with prec.autocast():
                losses = model.training_step(prec.batch(x), y.to(device), dgen)
        else:
            losses = model.training_step(x.to(device), y.to(device), dgen)
        vals = {k: float(v) for k, v in losses.items()}
        bad = {k: v for k, v in vals.items() if not math.isfinite(v)}
        if bad:
            last = f"{ckpt} (step {load_state(ckpt)['step']})" if ckpt.is_file() else "none was written yet"
            raise GenmixError(f"{name} diverged at step {step + 1}: non-finite loss {bad}; training stopped, "
                              f"last good checkpoint kept: {last}")
        step += 1
        model.update_ema(step)
        imgs += bs
        if step % config["log_every"] == 0 or step == config["steps"]:
            dt = time.perf_counter() - t0
            log.append({"step": step, **{k: round(v, 6) for k, v in vals.items()}, "img_per_s": round(imgs / dt, 2)})
            t0, imgs = time.perf_counter(), 0
            bar.set_postfix({k: f"{v:.3f}" for k, v in vals.items()})
        bar.update(1)
        if step % config["checkpoint_every"] == 0 and step < config["steps"]:
            take_snapshot()
            save_ckpt()
    bar.close()
    take_snapshot()
    if snaps:
        write_snapshot_strip(out / "fig2.png", snaps, name)
    save_state(final, {"model": model.state_dict(), "meta": meta})
    model.export(out, ds.class_names)
    write_log(out / "log.csv", log)
    ckpt.unlink(missing_ok=True)
    return model


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
