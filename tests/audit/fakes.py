"""Synthetic-set folders in the layout ``genmix synthesize`` writes, from any image tensor: the
audit's test "generators" (copies of training images, held-out real images, noise)."""

import csv
import json
from pathlib import Path

import torch


def write_synth_dir(root: Path, images: torch.Tensor, labels: torch.Tensor, class_names: list[str],
                    generator: str = "fake") -> Path:
    """``images`` uint8 (N,C,H,W); writes PNGs, manifest.csv and synth.json."""
    from PIL import Image

    root.mkdir(parents=True)
    rows = []
    for i, (im, lab) in enumerate(zip(images, labels.tolist())):
        rel = f"{lab}_{class_names[lab]}/{i:06d}.png".replace(" ", "_").replace(",", "")
        (root / rel).parent.mkdir(exist_ok=True)
        arr = im.permute(1, 2, 0).numpy()
        Image.fromarray(arr[..., 0] if arr.shape[-1] == 1 else arr).save(root / rel)
        rows.append((rel, lab, class_names[lab]))
    with open(root / "manifest.csv", "w", newline="") as f:
        w = csv.writer(f)
        w.writerow(["path", "label", "class_name", "generator", "checkpoint_hash", "seed", "source_split",
                    "source_dataset"])
        for rel, lab, name in rows:
            w.writerow([rel, lab, name, generator, "0", 0, "train", "test"])
    counts = torch.bincount(labels, minlength=len(class_names)).tolist()
    (root / "synth.json").write_text(json.dumps({
        "generator": generator, "source_dataset": "test", "source_split": "train", "class_names": class_names,
        "counts": counts, "image_size": int(images.shape[-1]), "channels": int(images.shape[1])}))
    return root


def per_class_pick(split, n: int, seed: int = 0) -> torch.Tensor:
    """Indices of ``n`` images per class of ``split`` (seeded)."""
    g = torch.Generator().manual_seed(seed)
    out = []
    for c in range(int(split.labels.max()) + 1):
        idx = torch.nonzero(split.labels == c).flatten()
        out.append(idx[torch.randperm(len(idx), generator=g)[:n]])
    return torch.cat(out)
