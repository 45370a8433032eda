"""Figures from what an experiment left on disk.

- ``figures/forest_f1.png``: the answer in one picture — each row's ΔF1 against Baseline with its 95 %
  interval (the verdict rows also with their Holm interval), the zero line, ± the effect of interest, and each
  row's detectable-effect band (what its replicates detect with 80 % power).
- ``figures/fig3_<generator>.png``: per class, real / synthetic / GenMix training images.
- ``figures/fig4_tsne_<row>.png``: t-SNE of the trained classifier's penultimate features on its
  training data: real (dots), synthetic (triangles), GenMix images (circles), colour = class.
- ``figures/curves_<row>.png``: training loss and validation macro-F1 per epoch, per seed.
"""

from __future__ import annotations

import csv
import json
import math
from pathlib import Path

import numpy as np

from .labels import column_labels, slug


def forest(table: list[dict], path: Path) -> Path | None:
    """figures/forest_f1.png (see the module docstring); None when no row was compared with Baseline."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    rows = [e for e in table if e.get("status") == "done" and e.get("delta_f1_macro_mean") not in ("", None)]
    if not rows:
        return None

    def v(e, k):
        x = e.get(k)
        return None if x in ("", None) or (isinstance(x, float) and math.isnan(x)) else 100 * float(x)

    eff = float(next((e["effect"] for e in rows if e.get("effect")), 5.0))
    fig, ax = plt.subplots(figsize=(7.5, 1.2 + 0.42 * len(rows)))
    for i, e in enumerate(rows):
        y = len(rows) - 1 - i
        det = v(e, "detectable_f1_macro")
        if det is not None:
            ax.fill_betweenx([y - 0.3, y + 0.3], -det, det, color="#dde8f5", lw=0,
                             label="detectable at 80 % power" if i == 0 else None)
        lo, hi = v(e, "delta_f1_macro_ci_low"), v(e, "delta_f1_macro_ci_high")
        if lo is not None:
            ax.plot([lo, hi], [y, y], color="#333", lw=1.2, label="95 % interval" if i == 0 else None)
        hl, hh = v(e, "verdict_low_f1_macro"), v(e, "verdict_high_f1_macro")
        if e.get("verdict_row") and hl is not None:
            ax.plot([hl, hh], [y, y], color="#b03030", lw=3, alpha=0.5, solid_capstyle="butt",
                    label="verdict: Holm interval" if not any(r.get("verdict_row") for r in rows[:i]) else None)
        ax.plot(v(e, "delta_f1_macro_mean"), y, "o", color="#b03030" if e.get("verdict_row") else "#333", ms=5)
    ax.axvline(0, color="#000", lw=0.8)
    for s in (-eff, eff):
        ax.axvline(s, color="#888", lw=0.8, ls="--", label=f"±{eff:g} of interest" if s > 0 else None)
    ax.set_yticks(range(len(rows)), [e["row"] for e in reversed(rows)], fontsize=8)
    ax.set_xlabel("ΔF1 vs Baseline (macro-F1 points)")
    ax.set_ylim(-0.6, len(rows) - 0.4)
    from matplotlib.transforms import offset_copy

    below = offset_copy(ax.transAxes, fig=fig, y=-28, units="points")  # under the x label, whatever the height
    ax.legend(fontsize=7, loc="upper center", bbox_to_anchor=(0.5, 0), bbox_transform=below, ncol=4, frameon=False)
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path, dpi=110, bbox_inches="tight")
    plt.close(fig)
    return path


def make_figures(exp: Path, max_points: int = 300):
    import matplotlib

    matplotlib.use("Agg")
    plan = json.loads((exp / "plan.json").read_text())
    figdir = exp / "figures"
    figdir.mkdir(exist_ok=True)
    clf = plan["units"]["clf"]
    for row in plan["rows"]:
        runs = [u for u in clf if u["row"] == row["name"] and u.get("dir") and (Path(u["dir"]) / "history.csv").is_file()]
        if runs:
            curves(runs, figdir / f"curves_{slug(row['name'])}.png", row["name"])
    done_synth = {}
    for u in clf:
        if u.get("synth") and (Path(u["dir"]) / "model.safetensors").is_file():
            done_synth.setdefault(u["generator"], u)
    for gname, u in done_synth.items():
        fig3(u, figdir / f"fig3_{gname}.png")
    for row in plan["rows"]:
        if row["augment"] not in ("genmix", "synthetic") or row.get("select"):
            continue  # a select: val row's units are several candidates
        runs = sorted((u for u in clf if u["row"] == row["name"] and u.get("dir")
                       and (Path(u["dir"]) / "model.safetensors").is_file()), key=lambda u: u["seed"])
        if runs:
            fig4(runs[0], figdir / f"fig4_tsne_{slug(row['name'])}.png", row["name"], max_points)


def curves(runs, path, title):
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(1, 2, figsize=(9, 3.2))
    for u in runs:
        with open(Path(u["dir"]) / "history.csv") as f:
            h = list(csv.DictReader(f))
        ep = [int(r["epoch"]) for r in h]
        ax[0].plot(ep, [float(r["train_loss"]) for r in h], label=f"seed {u['seed']}")
        ax[1].plot(ep, [float(r["val_f1_macro"]) for r in h], label=f"seed {u['seed']}")
    ax[0].set(title=f"{title}: train loss", xlabel="epoch")
    ax[1].set(title="validation macro-F1", xlabel="epoch")
    ax[1].legend(fontsize=7)
    fig.tight_layout()
    fig.savefig(path, dpi=100)
    plt.close(fig)


def training_views(unit, n_each: int, seed: int = 0):
    """Real, synthetic and GenMix training images (float, labels) as the classifier saw them."""
    import torch

    from ..augment.genmix import GenMix
    from ..classify.train import TrainConfig
    from .units import cached_dataset

    cfg = TrainConfig.from_dict(unit["train_config"])
    data = unit["data"]
    ds = cached_dataset(data["spec"], data["root"], data["size"], data["channels"])
    opts = cfg.augment_opts
    g = torch.Generator().manual_seed(seed)
    gm = GenMix(opts["synthetic"], ratio=None if opts.get("ratio") == "all" else opts.get("ratio", 0.5),
                alpha=opts.get("alpha", 0.3), per_sample=opts.get("per_sample", True),
                epoch="real")  # batches of real images as x_R, x_S from the pool: Eq. 1's mixed images
    gm.prepare(ds["train"], ds.num_classes, g, ds.spec)
    real = gm.real
    syn_idx = torch.nonzero(gm.is_synthetic).flatten()
    ri = torch.randperm(len(real), generator=g)[:n_each]
    si = syn_idx[torch.randperm(len(syn_idx), generator=g)[:n_each]]
    xr, yr = real.batch(ri)
    xs, ys = gm.pool.batch(si)
    xm_idx = torch.randperm(len(real), generator=g)[:n_each]
    x, y = real.batch(xm_idx)
    mixed = gm(x, torch.nn.functional.one_hot(y, ds.num_classes).float(), g)
    return ds, (xr, yr), (xs, ys), (mixed.x, mixed.y.argmax(1), y)


def fig3(unit, path, per: int = 4):
    import matplotlib.pyplot as plt
    from torchvision.utils import make_grid

    ds, (xr, yr), (xs, ys), (xm, _, ym_real) = training_views(unit, 400)
    k = ds.num_classes
    names = column_labels(ds.class_names)
    fig, axes = plt.subplots(k, 3, figsize=(9, 1.0 + 1.4 * k), squeeze=False)
    for c in range(k):
        for j, (x, y, title) in enumerate(((xr, yr, "real"), (xs, ys, "synthetic"), (xm, ym_real, "GenMix"))):
            sel = x[y == c][:per]
            ax = axes[c, j]
            ax.axis("off")
            if len(sel):
                grid = make_grid(sel, nrow=per, padding=1, pad_value=1.0)
                ax.imshow(grid.permute(1, 2, 0).squeeze(-1).numpy() if grid.shape[0] == 3 else grid[0].numpy(),
                          cmap="gray", vmin=0, vmax=1)
            if c == 0:
                ax.set_title(title)
        axes[c, 0].text(-0.02, 0.5, names[c], transform=axes[c, 0].transAxes, ha="right", va="center",
                        fontsize=8)
    fig.suptitle(f"{unit['generator']}: real / synthetic / GenMix training images per class")
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)


def fig4(unit, path, title, n):
    import matplotlib.pyplot as plt
    import torch
    from sklearn.manifold import TSNE

    from ..classify.train import load_model

    ds, (xr, yr), (xs, ys), (xm, ym, _) = training_views(unit, n)
    model, cfg = load_model(unit["dir"], "cpu")
    model.eval()
    with torch.no_grad():
        feats = [model.features(x).numpy() for x in (xr, xs, xm)]
    kinds = [("real", yr, "."), ("synthetic", ys, "^"), ("GenMix", ym, "o")]
    if cfg.augment != "genmix":
        feats, kinds = feats[:2], kinds[:2]
    allf = np.concatenate(feats)
    emb = TSNE(n_components=2, init="pca", random_state=0, perplexity=min(30, len(allf) - 1)).fit_transform(allf)
    fig, ax = plt.subplots(figsize=(6, 5))
    cmap = plt.get_cmap("tab10")
    names = column_labels(ds.class_names)
    start = 0
    for (name, y, marker), f in zip(kinds, feats):
        e = emb[start:start + len(f)]
        start += len(f)
        for c in range(ds.num_classes):
            m = (y == c).numpy()
            kw = dict(facecolors="none", edgecolors=cmap(c)) if marker == "o" else dict(color=cmap(c))
            ax.scatter(e[m, 0], e[m, 1], marker=marker, s=14 if marker != "." else 30, alpha=0.7,
                       label=f"{name}: {names[c]}", **kw)
    ax.set(title=f"t-SNE of classifier features: {title}", xticks=[], yticks=[])
    ax.legend(fontsize=6, ncol=2, loc="best")
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)
