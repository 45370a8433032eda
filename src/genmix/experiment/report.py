"""Tables and figures from what an experiment left on disk (``genmix report`` reruns this).

- ``table.md`` / ``table.csv`` / ``table.tex``: the paper's Table 1 layout — Acc, F1 and per-class
  sensitivity / specificity as mean ± std over seeds, 95 % t-intervals for Acc and F1 — and a
  comparison of every row with Baseline: paired differences over seeds (mean, 95 % CI, paired
  t-test) and McNemar's exact test on the test predictions of each seed.
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

from ..errors import GenmixError


def _stats(values):
    from scipy import stats

    v = np.asarray(values, dtype=float)
    n = len(v)
    mean = float(v.mean())
    std = float(v.std(ddof=1)) if n > 1 else 0.0
    half = float(stats.t.ppf(0.975, n - 1) * std / math.sqrt(n)) if n > 1 else float("nan")
    return mean, std, mean - half, mean + half


def _mcnemar(base_pred, row_pred, truth) -> float:
    from scipy.stats import binomtest

    b = int(((base_pred == truth) & (row_pred != truth)).sum())
    c = int(((base_pred != truth) & (row_pred == truth)).sum())
    return 1.0 if b + c == 0 else float(binomtest(min(b, c), b + c, 0.5).pvalue)


def _preds(unit_dir):
    p = Path(unit_dir) / "predictions_test.csv"
    if not p.is_file():
        return None
    with open(p) as f:
        rows = list(csv.DictReader(f))
    return np.array([int(r["label"]) for r in rows]), np.array([int(r["pred"]) for r in rows])


def build_tables(exp: Path) -> list[dict]:
    plan = json.loads((exp / "plan.json").read_text())
    with open(exp / "results.csv") as f:
        results = list(csv.DictReader(f))
    classes = None
    for r in results:
        if r["status"] == "done":
            classes = [k[: -len("/sensitivity")] for k in r if k.endswith("/sensitivity")]
            break
    dirs = {u["id"]: u.get("dir") for u in plan["units"]["clf"]}
    by_row: dict[str, list[dict]] = {}
    for r in results:
        by_row.setdefault(r["row"], []).append(r)
    base = {int(r["seed"]): r for r in by_row.get("Baseline", []) if r["status"] == "done"}
    table = []
    for row in plan["rows"]:
        name = row["name"]
        runs = by_row.get(name, [])
        done = [r for r in runs if r["status"] == "done"]
        entry = {"row": name, "augment": row["augment"], "generator": row.get("generator", ""),
                 "ratio": row.get("ratio", ""), "alpha": row.get("alpha", ""), "n_seeds": len(done)}
        if not done:
            entry["status"] = "not run" if any(r["status"] == "not run" for r in runs) else "pending"
            entry["reason"] = next((r["reason"] for r in runs if r.get("reason")), "")
            table.append(entry)
            continue
        entry["status"] = "done"
        metrics = ["accuracy", "f1_macro", "balanced_accuracy", "auc_macro"]
        for c in classes or []:
            metrics += [f"{c}/sensitivity", f"{c}/specificity"]
        for m in metrics:
            vals = [float(r[m]) for r in done if r.get(m) not in ("", "nan", None)]
            if vals:
                mean, std, lo, hi = _stats(vals)
                entry.update({f"{m}_mean": mean, f"{m}_std": std, f"{m}_ci_low": lo, f"{m}_ci_high": hi})
        if name != "Baseline" and base:
            pairs = [(r, base[int(r["seed"])]) for r in done if int(r["seed"]) in base]
            if pairs:
                for m in ("accuracy", "f1_macro"):
                    d = [float(a[m]) - float(b[m]) for a, b in pairs]
                    mean, std, lo, hi = _stats(d)
                    entry.update({f"delta_{m}_mean": mean, f"delta_{m}_ci_low": lo, f"delta_{m}_ci_high": hi})
                    if len(d) > 1:
                        from scipy.stats import ttest_rel

                        x = [float(a[m]) for a, _ in pairs]
                        y = [float(b[m]) for _, b in pairs]
                        p = float(ttest_rel(x, y).pvalue) if any(abs(v) > 0 for v in d) else 1.0
                        entry[f"p_paired_t_{m}"] = p
                mc = []
                for a, b in pairs:
                    pa, pb = _preds(dirs.get(a["unit"], "")), _preds(dirs.get(b["unit"], ""))
                    if pa is not None and pb is not None:
                        mc.append(f"{_mcnemar(pb[1], pa[1], pa[0]):.3g}")
                entry["mcnemar_p_per_seed"] = " ".join(str(v) for v in mc)
        table.append(entry)
    _write_table_files(exp, table, classes or [])
    return table


def _pct(e, m, ci=False):
    if f"{m}_mean" not in e:
        return "–"
    if e.get("n_seeds", 0) < 2:  # one seed: no spread to show
        return f"{100 * e[f'{m}_mean']:.1f}"
    s = f"{100 * e[f'{m}_mean']:.1f} ± {100 * e[f'{m}_std']:.1f}"
    if ci and not math.isnan(e[f"{m}_ci_low"]):
        s += f" [{100 * e[f'{m}_ci_low']:.1f}, {100 * e[f'{m}_ci_high']:.1f}]"
    return s


def _write_table_files(exp: Path, table, classes):
    keys = list(dict.fromkeys(k for e in table for k in e))
    with open(exp / "table.csv", "w", newline="") as f:
        w = csv.DictWriter(f, fieldnames=keys)
        w.writeheader()
        w.writerows(table)
    head = ["Method", "Acc (%)", "F1 (%)"] + [f"{s} {c}" for c in classes for s in ("Sens", "Spec")] + ["AUC (%)", "seeds"]
    lines = ["| " + " | ".join(head) + " |", "|" + "---|" * len(head)]
    tex = ["\\begin{tabular}{l" + "c" * (len(head) - 1) + "}", "\\hline",
           " & ".join(h.replace("%", "\\%") for h in head) + " \\\\", "\\hline"]
    for e in table:
        if e["status"] != "done":
            cells = [e["row"], f"{e['status']}: {e.get('reason', '')}"[:120]] + [""] * (len(head) - 2)
        else:
            cells = [e["row"], _pct(e, "accuracy", True), _pct(e, "f1_macro", True)]
            for c in classes:
                cells += [_pct(e, f"{c}/sensitivity"), _pct(e, f"{c}/specificity")]
            cells += [_pct(e, "auc_macro"), str(e["n_seeds"])]
        lines.append("| " + " | ".join(cells) + " |")
        tex.append(" & ".join(c.replace("±", "$\\pm$").replace("%", "\\%").replace("_", "\\_") for c in cells) + " \\\\")
    lines += ["", "Mean ± std over seeds (a single value when one seed ran); [95 % t-interval] for Acc and F1.", "",
              "Comparison with Baseline (paired by seed): Δ = row − Baseline, percentage points.", "",
              "| Method | ΔAcc [95% CI] | ΔF1 [95% CI] | p (paired t, F1) | McNemar p per seed |", "|---|---|---|---|---|"]
    for e in table:
        if e["status"] != "done" or "delta_f1_macro_mean" not in e:
            continue

        def d(m):
            s = f"{100 * e[f'delta_{m}_mean']:+.1f}"
            if not math.isnan(e[f"delta_{m}_ci_low"]):
                s += f" [{100 * e[f'delta_{m}_ci_low']:+.1f}, {100 * e[f'delta_{m}_ci_high']:+.1f}]"
            return s

        p = e.get("p_paired_t_f1_macro")
        lines.append(f"| {e['row']} | {d('accuracy')} | {d('f1_macro')} | {'–' if p is None else f'{p:.3g}'} | "
                     f"{e.get('mcnemar_p_per_seed', '')} |")
    tex += ["\\hline", "\\end{tabular}"]
    (exp / "table.md").write_text("\n".join(lines) + "\n")
    (exp / "table.tex").write_text("\n".join(tex) + "\n")


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
            _curves(runs, figdir / f"curves_{_slug(row['name'])}.png", row["name"])
    done_synth = {}
    for u in clf:
        if u.get("synth") and (Path(u["dir"]) / "model.safetensors").is_file():
            done_synth.setdefault(u["generator"], u)
    for gname, u in done_synth.items():
        _fig3(u, figdir / f"fig3_{gname}.png")
    for row in plan["rows"]:
        if row["augment"] not in ("genmix", "synthetic"):
            continue
        runs = sorted((u for u in clf if u["row"] == row["name"] and u.get("dir")
                       and (Path(u["dir"]) / "model.safetensors").is_file()), key=lambda u: u["seed"])
        if runs:
            _fig4(runs[0], figdir / f"fig4_tsne_{_slug(row['name'])}.png", row["name"], max_points)


def _slug(s):
    from .run import _slug as slug

    return slug(s)


def _curves(runs, path, title):
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


def _training_views(unit, n_each: int, seed: int = 0):
    """Real, synthetic and GenMix training images (float, labels) as the classifier saw them."""
    import torch

    from ..augment.genmix import GenMix
    from ..classify.train import TrainConfig
    from .run import _dataset

    cfg = TrainConfig.from_dict(unit["train_config"])
    data = unit["data"]
    ds = _dataset(data["spec"], data["root"], data["size"], data["channels"])
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


def _fig3(unit, path, per: int = 4):
    import matplotlib.pyplot as plt
    import torch
    from torchvision.utils import make_grid

    ds, (xr, yr), (xs, ys), (xm, _, ym_real) = _training_views(unit, 400)
    k = ds.num_classes
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
        axes[c, 0].text(-0.02, 0.5, ds.class_names[c], transform=axes[c, 0].transAxes, ha="right", va="center",
                        fontsize=8)
    fig.suptitle(f"{unit['generator']}: real / synthetic / GenMix training images per class")
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)


def _fig4(unit, path, title, n):
    import matplotlib.pyplot as plt
    import torch
    from sklearn.manifold import TSNE

    from ..classify.train import load_model

    ds, (xr, yr), (xs, ys), (xm, ym, _) = _training_views(unit, n)
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
    start = 0
    for (name, y, marker), f in zip(kinds, feats):
        e = emb[start:start + len(f)]
        start += len(f)
        for c in range(ds.num_classes):
            m = (y == c).numpy()
            kw = dict(facecolors="none", edgecolors=cmap(c)) if marker == "o" else dict(color=cmap(c))
            ax.scatter(e[m, 0], e[m, 1], marker=marker, s=14 if marker != "." else 30, alpha=0.7,
                       label=f"{name}: {ds.class_names[c]}", **kw)
    ax.set(title=f"t-SNE of classifier features: {title}", xticks=[], yticks=[])
    ax.legend(fontsize=6, ncol=2, loc="best")
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)


def report(exp_dir, figures: bool = True, html: bool = False) -> list[dict]:
    exp = Path(exp_dir)
    if not (exp / "plan.json").is_file() or not (exp / "results.csv").is_file():
        raise GenmixError(f"{exp}: not an experiment folder (no plan.json/results.csv; run genmix run first)")
    table = build_tables(exp)
    if (exp / "audit.md").is_file():  # the synthetic-data audit (genmix.audit.experiment) next to Table 1
        with open(exp / "table.md", "a") as f:
            f.write("\n" + (exp / "audit.md").read_text())
    if figures:
        make_figures(exp)
    if html:
        from .html import write_html

        write_html(exp)
    return table
