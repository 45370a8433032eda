"""Classifier training: soft-target cross-entropy, Adam, early stopping on validation, the best
validation checkpoint evaluated on test; a checkpoint every epoch, resumed when present.

Early stopping monitors validation macro-F1 by default (``monitor="f1_macro"``; ties go to the
lower validation loss): with a rare class, a loss minimum can sit at a model that never predicts
it. ``monitor="loss"`` selects on validation loss instead.

Budget: by default a run makes ``epochs`` passes over its training split and is validated after
each. With ``max_steps`` set, the run makes exactly that many optimizer steps whatever the size of
the training split (a bigger pool just means fewer passes), is validated every ``eval_every``
steps (default: one pass), the cosine schedule decays over ``max_steps`` and ``patience`` counts
validations. ``genmix run`` gives every row of a grid the same ``max_steps`` (``budget: equal``).
"""

from __future__ import annotations

import csv
import json
import math
import os
import sys
import time
from dataclasses import asdict, dataclass, field, fields
from pathlib import Path

import torch
import torch.nn.functional as F

from ..checkpoint import load_state, rng_state, save_state, set_rng_state
from ..errors import GenmixError
from ..optim import adam
from ..precision import Precision

PRESETS = {
    # the GenMix paper: 100 epochs, batch 8, lr 2e-4, patience 20
    "paper": dict(epochs=100, batch_size=8, lr=2e-4, patience=20),
    # CPU-sized: a few minutes per run at 28-64 px with resnet18. Cosine decay over all 20 epochs, no
    # early stop (the best-validation epoch is still the one kept): with a constant lr and patience 8
    # the mixing rows stopped under-fitted (benchmarks/quality/breastmnist-schedule.yaml).
    "quick": dict(epochs=20, batch_size=32, lr=1e-3, patience=20, schedule="cosine"),
}
SCHEDULES = ("constant", "cosine")


@dataclass
class TrainConfig:
    data: str = "simulated:fll"
    model: str = "resnet18"
    augment: str = "none"
    augment_opts: dict = field(default_factory=dict)
    epochs: int = 100
    batch_size: int = 8
    lr: float = 2e-4
    weight_decay: float = 0.0
    schedule: str = "constant"  # or "cosine": lr decays to 0 over `epochs`, stepped per batch
    patience: int = 20
    monitor: str = "f1_macro"
    seed: int = 0
    pretrained: bool | str = False
    image_size: int | None = None
    channels: int | None = None
    max_steps: int | None = None  # optimizer steps in all (None: epochs x batches per pass)
    eval_every: int | None = None  # steps between validations (None: one pass over the training split)

    @classmethod
    def from_dict(cls, d: dict) -> TrainConfig:
        names = {f.name for f in fields(cls)}
        unknown = set(d) - names
        if unknown:
            raise GenmixError(f"unknown classifier setting(s): {sorted(unknown)}")
        return cls(**d)

    def validate(self):
        if self.monitor not in ("f1_macro", "loss"):
            raise GenmixError(f"monitor must be f1_macro or loss, not {self.monitor!r}")
        for k in ("epochs", "batch_size", "max_steps", "eval_every"):
            if getattr(self, k) is not None and getattr(self, k) < 1:
                raise GenmixError(f"{k} must be >= 1")
        if self.lr <= 0:
            raise GenmixError("lr must be > 0")
        if self.schedule not in SCHEDULES:
            raise GenmixError(f"schedule must be one of {SCHEDULES}, not {self.schedule!r}")
        if isinstance(self.pretrained, str):  # a backbone pretrained on data sharing a source is refused
            from ..pretrained import check_backbone

            check_backbone(self.pretrained, self.data)
        return self


def soft_cross_entropy(logits: torch.Tensor, target: torch.Tensor) -> torch.Tensor:
    """Cross-entropy against soft targets (rows summing to 1)."""
    return F.cross_entropy(logits, target)


def _val_pass(model, split, device, class_names):
    from ..evaluate import compute_metrics, predict

    probs = predict(model, split, device)
    p = torch.from_numpy(probs).clamp_min(1e-12)
    loss = float(F.nll_loss(p.log(), split.labels))
    m = compute_metrics(split.labels.numpy(), probs, class_names, split.name)
    return loss, m


CHECKPOINT_EVERY_S = 30.0  # seconds between resume checkpoints (see Trainer)


class Trainer:
    """Trains one classifier into ``out_dir``. ``stop_after`` ends the process after that many
    epochs (a simulated interruption, for tests of resume).

    The resume checkpoint (model, optimizer, schedule, RNG, best model: ~4x the model) is written after a
    validation once ``checkpoint_every_s`` seconds have passed since the last one, and before a ``stop_after``
    stop — not after every validation (that was 16 % of a quick-preset ResNet-18 run on 2 CPU cores,
    benchmarks/speed/levers.py). A resume replays from the last checkpoint, so the result is the same; a kill
    loses at most that many seconds of work. ``0`` writes one after every validation.

    ``precision``: a :class:`genmix.precision.Precision` or its name (``auto``: fp32 on the CPU, bf16 / fp16
    autocast on CUDA, channels-last there) — how the steps run, not what they compute; not part of the config."""

    def __init__(self, ds, cfg: TrainConfig, out_dir, device, progress: bool = True,
                 checkpoint_every_s: float | None = None, precision: Precision | str | None = None):
        self.ds, self.cfg, self.out, self.device = ds, cfg.validate(), Path(out_dir), torch.device(device)
        self.prec = precision if isinstance(precision, Precision) else Precision(precision, self.device)
        if checkpoint_every_s is None:  # $GENMIX_CHECKPOINT_EVERY_S (changes no number; the kill tests set 0)
            checkpoint_every_s = float(os.environ.get("GENMIX_CHECKPOINT_EVERY_S", CHECKPOINT_EVERY_S))
        self.progress, self.checkpoint_every_s = progress, checkpoint_every_s

    def _build(self):
        from ..augment import create_augmentation
        from .models import create_model

        ds, cfg = self.ds, self.cfg
        torch.manual_seed(cfg.seed)
        self.model = self.prec.model(create_model(cfg.model, ds.num_classes, ds.channels, ds.image_size,
                                                  cfg.pretrained))
        self.opt = adam(self.model.parameters(), lr=cfg.lr, weight_decay=cfg.weight_decay)
        self.aug = create_augmentation(cfg.augment, **cfg.augment_opts)
        self.gen = torch.Generator().manual_seed(cfg.seed + 1)
        self.train_split = self.aug.prepare(ds["train"], ds.num_classes, self.gen, ds.spec)
        self.per_pass = len(batch_starts(len(self.train_split), cfg.batch_size))
        self.max_steps = cfg.max_steps or cfg.epochs * self.per_pass
        self.eval_every = cfg.eval_every or self.per_pass
        total = self.max_steps
        decay = (lambda step: 0.5 * (1 + math.cos(math.pi * min(step, total) / total))) if cfg.schedule == "cosine" \
            else (lambda step: 1.0)
        self.sched = torch.optim.lr_scheduler.LambdaLR(self.opt, decay)

    def run(self, stop_after: int | None = None) -> dict:
        cfg, ds = self.cfg, self.ds
        done = self.out / "model.safetensors"
        if done.is_file() and (self.out / "metrics.json").is_file():
            if not same_config(load_state(done)["config"], cfg):
                raise GenmixError(f"{done}: {self.out} holds a finished run with another config; use a new --out")
            return json.loads((self.out / "metrics.json").read_text())  # finished: nothing to redo
        self._build()
        ckpt = self.out / "checkpoint.safetensors"
        state = self._resume(ckpt)
        self.out.mkdir(parents=True, exist_ok=True)
        _write_yaml(self.out / "config.yaml", {**asdict(cfg), "dataset": ds.describe()})
        from ..data import write_split_manifest

        write_split_manifest(ds, self.out / "split_manifest.csv")  # the split this run used, for audit
        tqdm = _tqdm(self.progress)
        tb = tensorboard_writer(self.out) if state["step"] < self.max_steps and state["bad"] < cfg.patience else None
        saved_at = time.monotonic()
        while state["step"] < self.max_steps and state["bad"] < cfg.patience:
            if stop_after is not None and state["epoch"] >= stop_after:
                if tb is not None:
                    tb.close()
                return {}
            n_steps = min(self.eval_every, self.max_steps - state["step"])
            train_loss = self._steps(tqdm, state, n_steps)
            improved = self._validate(state, train_loss)
            stopping = stop_after is not None and state["epoch"] >= stop_after
            if stopping or time.monotonic() - saved_at >= self.checkpoint_every_s:
                save_state(ckpt, {**state, "config": asdict(cfg), "model": self.model.state_dict(),
                                  "optim": self.opt.state_dict(), "sched": self.sched.state_dict(),
                                  "rng": rng_state(self.gen), "scaler": self.prec.state_dict()})
                saved_at = time.monotonic()
            _write_history(self.out / "history.csv", state["history"])
            self._log(tb, state["history"][-1], improved)
        if tb is not None:
            tb.close()
        metrics = self._finish(state)
        ckpt.unlink(missing_ok=True)  # finished: the best model is in model.safetensors
        return metrics

    def _resume(self, ckpt) -> dict:
        """The loop's state: fresh, or the resume checkpoint's (model, optimizer, schedule, RNG restored)."""
        # epoch: validations so far; step: optimizer steps; order/pos: the pass in progress
        state = {"epoch": 0, "step": 0, "images_seen": 0, "order": None, "pos": 0, "best": None, "bad": 0,
                 "history": [], "best_model": None}
        if not ckpt.is_file():
            return state
        saved = load_state(ckpt)
        if not same_config(saved["config"], self.cfg):
            raise GenmixError(f"{ckpt}: checkpoint was written with another config; use a new --out")
        self.model.load_state_dict(saved["model"])
        self.opt.load_state_dict(saved["optim"])
        self.sched.load_state_dict(saved["sched"])
        set_rng_state(self.gen, saved["rng"])
        self.prec.load_state_dict(saved.get("scaler") or {})
        return {k: saved.get(k, v) for k, v in state.items()}

    def _validate(self, state: dict, train_loss: float) -> bool:
        """One validation: the history row, the best model so far and the patience count. True if it improved."""
        val_loss, vm = _val_pass(self.model, self.ds["val"], self.device, self.ds.class_names)
        state["epoch"] += 1
        score = (vm["f1_macro"], -val_loss) if self.cfg.monitor == "f1_macro" else (-val_loss, vm["f1_macro"])
        improved = state["best"] is None or tuple(score) > tuple(state["best"])
        if improved:
            state["best"], state["bad"] = list(score), 0
            state["best_model"] = {k: v.detach().clone() for k, v in self.model.state_dict().items()}
        else:
            state["bad"] += 1
        state["history"].append({"epoch": state["epoch"], "step": state["step"], "train_loss": train_loss,
                                 "val_loss": val_loss, "val_accuracy": vm["accuracy"],
                                 "val_f1_macro": vm["f1_macro"], "best": int(improved)})
        return improved

    def _log(self, tb, h: dict, improved: bool) -> None:
        """A validation's numbers to TensorBoard (when on) and the progress line (when shown)."""
        if tb is not None:
            for tag, key in (("train/loss", "train_loss"), ("val/loss", "val_loss"),
                             ("val/accuracy", "val_accuracy"), ("val/f1_macro", "val_f1_macro")):
                tb.add_scalar(tag, h[key], h["epoch"])
            tb.add_scalar("train/lr", self.opt.param_groups[0]["lr"], h["epoch"])
            tb.flush()
        if self.progress:
            print(f"validation {h['epoch']} (step {h['step']}/{self.max_steps}) train_loss {h['train_loss']:.4f} "
                  f"val_loss {h['val_loss']:.4f} val_f1 {h['val_f1_macro']:.4f}{' *' if improved else ''}",
                  file=sys.stderr)

    def _finish(self, state: dict) -> dict:
        """The best model written and evaluated on the test split; metrics.json with the run's bookkeeping."""
        self.model.load_state_dict(state["best_model"])
        save_model(self.out / "model.safetensors", self.model, self.cfg, self.ds)
        metrics = evaluate_model(self.model, self.ds, "test", self.device, self.out)
        best = [h for h in state["history"] if h["best"]][-1]
        metrics["epochs_run"] = state["epoch"]  # validations made (one per pass unless max_steps is set)
        metrics["best_epoch"] = best["epoch"]
        metrics["steps"] = state["step"]
        metrics["images_seen"] = state["images_seen"]
        metrics["best_step"] = best["step"]
        metrics["max_steps"] = self.max_steps
        metrics["eval_every"] = self.eval_every
        # the kept checkpoint's validation scores (what selection on validation reads; never the test split)
        metrics["best_val"] = {"f1_macro": best["val_f1_macro"], "loss": best["val_loss"],
                               "accuracy": best["val_accuracy"]}
        (self.out / "metrics.json").write_text(json.dumps(metrics, indent=2))
        return metrics

    def _steps(self, tqdm, state, n_steps: int) -> float:
        """``n_steps`` optimizer steps; a pass over the training split starts with a fresh permutation."""
        cfg, split, k = self.cfg, self.train_split, self.ds.num_classes
        self.model.train()
        n, bs = len(split), cfg.batch_size
        starts = batch_starts(n, bs)
        total, count = 0.0, 0
        for _ in tqdm(range(n_steps), desc=f"validation {state['epoch'] + 1}", leave=False):
            if state["order"] is None or state["pos"] >= len(starts):
                state["order"], state["pos"] = torch.randperm(n, generator=self.gen), 0
            i = starts[state["pos"]]
            state["pos"] += 1
            idx = state["order"][i:i + bs]
            x, y = split.batch(idx)
            y = F.one_hot(y, k).float() if y.ndim == 1 else y
            b = self.aug(x, y, self.gen)
            x, y = self.prec.batch(b.x), b.y.to(self.device)
            with self.prec.autocast():
                if b.views:
                    from ..augment.augmix import jensen_shannon

                    logits = self.model(torch.cat([x, *[self.prec.batch(v) for v in b.views]])).float()
                    parts = logits.split(len(x))
                    loss = soft_cross_entropy(parts[0], y) + self.aug.consistency_weight * jensen_shannon(list(parts))
                else:
                    loss = soft_cross_entropy(self.model(x).float(), y)
            if not torch.isfinite(loss):
                raise GenmixError(f"classifier training diverged (loss {loss.item()}) at step {state['step'] + 1}; "
                                  "lower --lr")
            self.opt.zero_grad(set_to_none=True)
            self.prec.step(loss, self.opt)
            self.sched.step()
            state["step"] += 1
            state["images_seen"] += len(idx)
            total += float(loss.detach()) * len(x)
            count += len(x)
        return total / max(count, 1)


def same_config(saved: dict, cfg: TrainConfig) -> bool:
    """Whether a saved config is ``cfg``; runs written before max_steps/eval_every existed match when unset."""
    now = json.loads(json.dumps(asdict(cfg)))
    for k in ("max_steps", "eval_every"):
        if now.get(k) is None and k not in saved:
            now.pop(k)
    saved = json.loads(json.dumps(saved))
    for c in (saved, now):  # a synthetic set is named by its folder: the experiment folder may move (or go absolute)
        opts = c.get("augment_opts") or {}
        if isinstance(opts.get("synthetic"), str):
            opts["synthetic"] = Path(opts["synthetic"]).name
    return saved == now


def tensorboard_writer(out_dir):
    """A TensorBoard ``SummaryWriter`` on ``out_dir/tensorboard`` for the per-epoch curves, when the
    ``tensorboard`` package is installed (extra ``genmix[tensorboard]``) and the environment variable
    ``GENMIX_TENSORBOARD`` is not 0/false/off; otherwise None (history.csv always has the curves)."""
    import importlib.util
    import os

    if os.environ.get("GENMIX_TENSORBOARD", "1").strip().lower() in ("0", "false", "no", "off"):
        return None
    if importlib.util.find_spec("tensorboard") is None:
        return None
    from torch.utils.tensorboard import SummaryWriter

    return SummaryWriter(log_dir=str(Path(out_dir) / "tensorboard"))


def batch_starts(n: int, bs: int) -> list[int]:
    """Start index of each batch of a pass over n images (the last batch is dropped if it would hold 1 image)."""
    return [i for i in range(0, n, bs) if n - i > 1 or i == 0]  # no size-1 batch for BatchNorm


def save_model(path, model, cfg: TrainConfig, ds) -> None:
    save_state(path, {"model": model.state_dict(), "config": asdict(cfg), "class_names": ds.class_names,
                      "channels": ds.channels, "image_size": ds.image_size})


def load_model(run_dir, device):
    from .models import create_model

    st = load_state(Path(run_dir) / "model.safetensors")
    cfg = TrainConfig.from_dict(st["config"])
    model = create_model(cfg.model, len(st["class_names"]), st["channels"], st["image_size"])
    model.load_state_dict(st["model"])
    return model.to(device), cfg


def evaluate_model(model, ds, split: str, device, out_dir=None) -> dict:
    from ..evaluate import compute_metrics, predict

    s = ds[split]
    probs = predict(model, s, device)
    m = compute_metrics(s.labels.numpy(), probs, ds.class_names, split)
    if out_dir is not None:
        with open(Path(out_dir) / f"predictions_{split}.csv", "w", newline="") as f:
            w = csv.writer(f)
            w.writerow(["index", "label", "pred", *[f"p{c}" for c in range(ds.num_classes)]])
            for i, (t, p) in enumerate(zip(s.labels.tolist(), probs)):
                w.writerow([i, t, int(p.argmax()), *[f"{v:.6f}" for v in p]])
    return m


def _tqdm(enabled):
    from tqdm.auto import tqdm

    return lambda it, **kw: tqdm(it, disable=not enabled or not sys.stderr.isatty(), **kw)


def _write_yaml(path, obj):
    import yaml

    Path(path).write_text(yaml.safe_dump(json.loads(json.dumps(obj, default=str)), sort_keys=False))


def _write_history(path, history):
    tmp = Path(str(path) + ".tmp")
    with open(tmp, "w", newline="") as f:
        w = csv.DictWriter(f, fieldnames=list(history[0].keys()))
        w.writeheader()
        w.writerows(history)
    tmp.replace(path)


def train_classifier(ds, cfg: TrainConfig, out_dir, device, progress=True, stop_after=None,
                     checkpoint_every_s: float | None = None, precision: Precision | str | None = None) -> dict:
    return Trainer(ds, cfg, out_dir, device, progress, checkpoint_every_s, precision).run(stop_after)
