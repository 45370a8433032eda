"""Synthesis and export: per-class counts, PNGs in one folder per class, ``manifest.csv``,
``synth.json`` and a ``grid.png`` with a row of samples per class.

Counts: at ``ratio`` r (synthetic / (real + synthetic), per class) class c gets
round(r / (1 - r) * real_c) synthetic images — at 0.5 as many as it has real ones, as in the
paper. ``balance`` keeps the same synthetic total but tops up minority classes so that every
class ends with the same real + synthetic count (never below its largest real class).

Images are drawn in chunks whose random seed depends only on (seed, class, chunk), written to
``SYNTH_DIR.partial`` and renamed at the end: an interrupted synthesis resumes where it stopped.
"""

from __future__ import annotations

import csv
import json
import shutil
import sys
from pathlib import Path

import numpy as np
import torch

from ..checkpoint import file_hash
from ..errors import GenmixError
from .base import safe_name

CHUNK = 64


def plan_counts(real: list[int], ratio: float | None = 0.5, per_class: list[int] | None = None,
                balance: bool = False) -> list[int]:
    if per_class is not None:
        if len(per_class) != len(real) or any(n < 0 for n in per_class):
            raise GenmixError(f"--per-class needs {len(real)} non-negative counts, got {per_class}")
        return [int(n) for n in per_class]
    if ratio is None or not 0 <= ratio < 1:
        raise GenmixError(f"ratio must be in [0, 1), got {ratio}")
    counts = [int(round(ratio / (1 - ratio) * n)) for n in real]
    if balance:
        total = sum(real) + sum(counts)
        target = max(max(real), total / len(real))
        counts = [int(round(target - n)) for n in real]
    return counts


def synthesize(gen_dir, out_dir, ratio: float | None = 0.5, per_class=None, balance=False, seed: int = 0,
               device="cpu", progress=True, stop_after_chunks: int | None = None, sample_kwargs=None) -> dict:
    from .fit import load_generator

    gen_dir, out = Path(gen_dir), Path(out_dir)
    model, meta = load_generator(gen_dir, device)
    if meta.get("source_split") != "train":
        raise GenmixError(f"{gen_dir}: generator was trained on split '{meta.get('source_split')}'; "
                          "only training-split generators may synthesise")
    counts = plan_counts(meta["train_counts"], ratio, per_class, balance)
    ckpt_hash = file_hash(gen_dir / "model.safetensors")
    request = {"generator_dir": str(gen_dir.resolve()), "checkpoint_hash": ckpt_hash, "counts": counts,
               "seed": seed, "ratio": None if per_class else ratio, "balance": balance,
               "sample_kwargs": sample_kwargs or {}}
    if out.exists():
        info = out / "synth.json"
        if info.is_file() and json.loads(info.read_text()).get("request") == request:
            return json.loads(info.read_text())
        raise GenmixError(f"{out}: already exists and holds something else; choose a new --out")
    names = meta["class_names"]
    dirs = [f"{i}_{safe_name(n)}" for i, n in enumerate(names)]
    part = _partial(out, request)
    from tqdm.auto import tqdm

    total = sum(counts)
    bar = tqdm(total=total, desc="synthesize", disable=not progress or not sys.stderr.isatty())
    rows, done_chunks = [], 0
    for c, n in enumerate(counts):
        (part / dirs[c]).mkdir(exist_ok=True)
        for j in range(0, n, CHUNK):
            m = min(CHUNK, n - j)
            files = [part / dirs[c] / f"{k:06d}.png" for k in range(j, j + m)]
            if not all(f.is_file() for f in files):
                if stop_after_chunks is not None and done_chunks >= stop_after_chunks:
                    bar.close()
                    return {}
                g = torch.Generator(device=device).manual_seed(seed * 1_000_003 + c * 10_007 + j // CHUNK)
                write_chunk(model, c, files, g, device, sample_kwargs or {})
                done_chunks += 1
            rows += [(f"{dirs[c]}/{f.name}", c, names[c]) for f in files]
            bar.update(m)
    bar.close()
    _write_manifest(part / "manifest.csv", rows, meta, ckpt_hash, seed)
    _grid(part, rows, len(names), meta["channels"])
    info = {"request": request, "generator": meta["generator"], "source_dataset": meta["dataset"],
            "source_split": "train", "class_names": names, "real_counts": meta["train_counts"],
            "counts": counts, "image_size": meta["image_size"], "channels": meta["channels"]}
    (part / "synth.json").write_text(json.dumps(info, indent=2))
    (part / "request.json").unlink()
    part.rename(out)
    return info


def _partial(out: Path, request: dict) -> Path:
    """OUT.partial, kept when it holds this request's chunks (a resumed synthesis), emptied when another's."""
    part = out.with_name(out.name + ".partial")
    if part.exists():
        req = part / "request.json"
        if not req.is_file() or json.loads(req.read_text()) != request:
            shutil.rmtree(part)  # a stale partial synthesis of another request
    part.mkdir(parents=True, exist_ok=True)
    (part / "request.json").write_text(json.dumps(request))
    return part


def write_chunk(model, c: int, files: list[Path], g, device, sample_kwargs: dict) -> None:
    """One chunk of class ``c`` sampled in one call on the device and written as PNGs (each atomically)."""
    from PIL import Image

    m = len(files)
    x = model.sample(m, torch.full((m,), c, device=device), generator=g, **sample_kwargs)
    u8 = (x.clamp(0, 1) * 255).round().byte().permute(0, 2, 3, 1).cpu().numpy()
    for f, im in zip(files, u8):
        Image.fromarray(im[..., 0] if im.shape[-1] == 1 else im).save(f.with_suffix(".tmp.png"))
        f.with_suffix(".tmp.png").replace(f)


def _write_manifest(path: Path, rows, meta: dict, ckpt_hash: str, seed: int) -> None:
    with open(path, "w", newline="") as f:
        w = csv.writer(f)
        w.writerow(["path", "label", "class_name", "generator", "checkpoint_hash", "seed", "source_split",
                    "source_dataset"])
        for p, c, name in rows:
            w.writerow([p, c, name, meta["generator"], ckpt_hash, seed, "train", meta["dataset"]])


def _grid(root: Path, rows, k: int, channels: int, per_row: int = 10):
    from PIL import Image
    from torchvision.utils import make_grid, save_image

    tiles = []
    for c in range(k):
        paths = [p for p, lab, _ in rows if lab == c][:per_row]
        imgs = [torch.from_numpy(np.array(Image.open(root / p))).float() / 255 for p in paths]
        imgs = [i[None] if i.ndim == 2 else i.permute(2, 0, 1) for i in imgs]
        if not imgs:
            continue
        blank = torch.zeros_like(imgs[0])
        tiles += imgs + [blank] * (per_row - len(imgs))
    if tiles:
        save_image(make_grid(torch.stack(tiles), nrow=per_row, padding=1, pad_value=1.0), root / "grid.png")
