"""The text-to-image pretraining's state on disk: a finished model is reused only for the same corpus and
config, a resume checkpoint only for the same run (another ``steps`` allowed), and a non-finite loss stops
training naming the last good checkpoint."""

from __future__ import annotations

import json
import math
from pathlib import Path

import torch

from ..errors import GenmixError
from ..pretrained import T2I_METADATA as METADATA


def check_finite(vals: dict, step: int, ckpt: Path) -> None:
    """A non-finite loss stops training with one line naming the step and the last good checkpoint."""
    from ..checkpoint import load_state

    bad = {k: v for k, v in vals.items() if not math.isfinite(v)}
    if bad:
        last = f"{ckpt} (step {load_state(ckpt)['step']})" if ckpt.is_file() else "none was written yet"
        raise GenmixError(f"pretrain-t2i diverged at step {step + 1}: non-finite loss {bad}; training stopped, "
                          f"last good checkpoint kept: {last}")


def finished_model(out: Path, meta: dict) -> dict | None:
    """The finished model's genmix.json in ``out`` when it was trained on this corpus and config; None when
    there is none; an error when ``out`` holds another model."""
    done = out / METADATA
    if not (done.is_file() and (out / "model_index.json").is_file()):
        return None
    stored = json.loads(done.read_text())
    if any(stored.get(k) != json.loads(json.dumps(meta[k])) for k in ("corpus", "config", "corpus_fingerprint")):
        raise GenmixError(f"{done}: {out} holds a model pretrained on another corpus or config; use a new --out")
    return stored


def resume(ckpt: Path, meta: dict, model, opts: dict, dgen) -> tuple[int, list]:
    """(step, log) of the resume checkpoint, its model, optimizers and RNGs restored; (0, []) without one."""
    from ..checkpoint import load_state

    if not ckpt.is_file():
        return 0, []
    st = load_state(ckpt)
    c = meta["config"]
    if not same(without_steps(st["meta"]), without_steps(meta)) or st["step"] > c["vae_steps"] + c["steps"]:
        raise GenmixError(f"{ckpt}: checkpoint was written with another corpus or config; use a new --out")
    model.load_state_dict(st["model"])
    for k, o in opts.items():
        o.load_state_dict(st["optim"][k])
    dgen.set_state(st["rng"]["data"])
    torch.set_rng_state(st["rng"]["torch"])
    return st["step"], st["log"]


def without_steps(meta: dict) -> dict:
    """A run may be resumed with another ``steps`` (the step count changes no step's computation), and a
    checkpoint written before ``corpus_colour`` was recorded still resumes (it is derived from the corpus)."""
    return {**{k: v for k, v in meta.items() if k != "corpus_colour"},
            "config": {k: v for k, v in meta["config"].items() if k != "steps"}}


def same(a, b) -> bool:
    return json.loads(json.dumps(a)) == json.loads(json.dumps(b))
