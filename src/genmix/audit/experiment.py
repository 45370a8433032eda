"""The audit inside ``genmix run``: one audit per synthesis unit, cached in
``EXP_DIR/units/audit-<synth id>/`` (recomputed when its settings change), the audit classifiers
shared in ``EXP_DIR/units/audit-classifiers/``; ``EXP_DIR/audit.csv`` (every class + overall of
every synthesis) and ``EXP_DIR/audit.md`` (overall rows, appended to ``table.md`` by the report).

Config key ``audit``: ``true`` (default) | ``false`` | a mapping with ``samples_per_class`` (int >= 1,
default all), ``model`` (the audit classifiers' model, default the config's classifier model),
``epochs`` (default the classifier's epochs, at most 10), ``features`` (a backbone file) and
``features_model``.
"""

from __future__ import annotations

import csv
import json
import math
from pathlib import Path

from ..errors import GenmixError

KEYS = {"samples_per_class", "model", "epochs", "features", "features_model"}


def audit_settings(cfg: dict) -> dict | None:
    """The resolved audit settings of an experiment config, or None when the audit is off."""
    where = cfg.get("_path", "config")
    a = cfg.get("audit", True)
    if a is False:
        return None
    if a is True or a is None:
        a = {}
    if not isinstance(a, dict):
        raise GenmixError(f"{where}: key 'audit' must be true, false or a mapping, not {a!r}")
    unknown = set(a) - KEYS
    if unknown:
        raise GenmixError(f"{where}: unknown key(s) {sorted(unknown)} under 'audit' (known: {sorted(KEYS)})")
    for k in ("samples_per_class", "epochs"):
        v = a.get(k)
        if v is not None and (not isinstance(v, int) or isinstance(v, bool) or v < 1):
            raise GenmixError(f"{where}: audit.{k} must be an integer >= 1, not {v!r}")
    clf = cfg.get("classifier", {}) or {}
    from ..classify.train import PRESETS

    epochs = clf.get("epochs", PRESETS[clf.get("preset", "quick")]["epochs"])
    out = {"samples_per_class": a.get("samples_per_class"), "model": a.get("model", clf.get("model", "resnet18")),
           "epochs": a.get("epochs", min(int(epochs), 10)), "features": a.get("features"),
           "features_model": a.get("features_model", "resnet18")}
    from .features import ENCODER_MODELS

    if out["model"] not in ENCODER_MODELS:
        raise GenmixError(f"{where}: audit model '{out['model']}' unknown (known: {', '.join(ENCODER_MODELS)})")
    if out["features"] is not None and not Path(out["features"]).is_file():
        raise GenmixError(f"{where}: audit.features: {out['features']}: file not found")
    return out


def audit_experiment(cfg: dict, exp, p: dict, ds, device="cpu", progress: bool = False) -> Path | None:
    """Audit every finished synthesis of the plan ``p`` against the real dataset ``ds``; write
    EXP_DIR/audit.csv and audit.md (removed when the config turns the audit off)."""
    from . import COLUMNS, METHOD, audit_images, load_synthetic_split, write_json

    exp = Path(exp)
    settings = audit_settings(cfg)
    if settings is None:
        for f in ("audit.csv", "audit.md"):
            (exp / f).unlink(missing_ok=True)
        return None
    key = {**settings, "method": METHOD}  # an audit cached by an older method is recomputed
    results = []
    for sid, u in sorted(p["units"]["synth"].items()):
        if not (Path(u["dir"]) / "synth.json").is_file():
            continue
        d = exp / "units" / f"audit-{sid}"
        done = d / "audit.json"
        res = json.loads(done.read_text()) if done.is_file() else None
        if res is None or res.get("settings") != key:
            if progress:
                import sys

                print(f"audit {sid}", file=sys.stderr, flush=True)
            res = audit_images(load_synthetic_split(u["dir"], ds), ds, d, device=device,
                               samples_per_class=settings["samples_per_class"], features=settings["features"],
                               features_model=settings["features_model"], encoder_model=settings["model"],
                               encoder_epochs=settings["epochs"], classifier_dir=exp / "units" / "audit-classifiers",
                               source=u["dir"])
            write_json(done, {**json.loads(done.read_text()), "settings": key})
            res = json.loads(done.read_text())
        results.append((sid, u, res))
    tmp = exp / "audit.csv.tmp"
    with open(tmp, "w", newline="") as f:
        w = csv.writer(f)
        w.writerow(["synthesis", "generator", "ratio", "balance", *COLUMNS])
        for sid, u, res in results:
            for r in res["rows"]:
                w.writerow([sid, u["generator"], u["ratio"], u["balance"], *[_cell(r.get(k)) for k in COLUMNS]])
    tmp.replace(exp / "audit.csv")
    (exp / "audit.md").write_text(audit_markdown(results))
    return exp / "audit.csv"


def _cell(v):
    if v is None:
        return ""
    if isinstance(v, float):
        return "" if not math.isfinite(v) else f"{v:.6g}"
    return v


def audit_markdown(results) -> str:
    """A short Markdown table: the overall audit row of each synthesis, floors in brackets."""
    if not results:
        return ""
    enc = results[0][2]["encoder"]["description"]

    def f(v, fmt=".3g"):
        return "–" if v is None or (isinstance(v, float) and not math.isfinite(v)) else format(v, fmt)

    def pct(v):
        return "–" if v is None else f"{100 * v:.0f}%"

    lines = ["## Audit of the synthetic images", "",
             f"Features: {enc}. Reference: the real test split. [floor] = {results[0][2]['floor']}; FD, KID and "
             "precision / recall / density / coverage on m images per class (as many as the floor has), class "
             "fidelity and near-copies on all n. GAN-test / GAN-train overall: mean over classes. Near-copies: "
             "calibrated pixel distance to the training images (nearest / mean of the 50 nearest; Carlini et al. "
             "2023) and feature distance to the nearest training image both <= their 1st percentile over the "
             "validation images.", "",
             "| Generator | Synthesis | n | m | FD [floor] | KID [floor] | Prec | Rec | Dens | Cov | "
             "GAN-test [floor] | GAN-train [floor] | Near-copies |", "|---|---|---|---|---|---|---|---|---|---|---|---|---|"]
    for sid, u, res in results:
        o = next(r for r in res["rows"] if r["class"] == "overall")
        syn = f"ratio {u['ratio']}" + (", balanced" if u["balance"] else "")
        flag = " **memorising**" if o["memorising"] else ""
        lines.append(f"| {u['generator']} | {syn} | {o['n_synthetic']} | {o['n_realism']} | "
                     f"{f(o['fd'])} [{f(o['fd_floor'])}] | "
                     f"{f(o['kid'])} [{f(o['kid_floor'])}] | {f(o['precision'], '.2f')} | {f(o['recall'], '.2f')} | "
                     f"{f(o['density'], '.2f')} | {f(o['coverage'], '.2f')} | {pct(o['gan_test'])} "
                     f"[{pct(o['gan_test_floor'])}] | {pct(o['gan_train'])} [{pct(o['gan_train_floor'])}] | "
                     f"{o['near_copies']} ({pct(o['near_copy_fraction'])}){flag} |")
    return "\n".join(lines) + "\n"
