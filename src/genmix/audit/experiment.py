"""The audit inside ``genmix run``: graph units beside the classifier runs, so audits run on the
workers while classifiers train. One ``audit-real-classifier`` unit trains the real-train classifier
(GAN-test, and the default features) once; then one ``audit`` unit per synthesis, cached in
``EXP_DIR/units/audit-<synth id>/`` (recomputed when its settings change). The audit classifiers
are shared in ``EXP_DIR/units/audit-classifiers/`` (a file lock per classifier keeps concurrent
audits from training the same one twice). After the graph, :func:`audit_experiment` writes
``EXP_DIR/audit.csv`` (every class + overall of every synthesis) and ``EXP_DIR/audit.md`` (overall
rows, appended to ``table.md`` by the report).

Config key ``audit``: ``true`` (default) | ``false`` | a mapping with ``samples_per_class`` (int >= 1,
default all), ``model`` (the audit classifiers' model, default the config's classifier model),
``epochs`` (default the classifier's epochs, at most 10), ``features`` (a backbone file) and
``features_model``.
"""

from __future__ import annotations

import csv
import json
import math
import sys
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


def audit_units(cfg: dict, exp_dir, synth_units: dict, data: dict, data_fingerprint: str) -> dict:
    """The audit's graph units for the synthesis units of a plan (none when the audit is off): the
    real-train classifier, then one audit per synthesis (it names its synthesis and that classifier,
    so it starts when both are finished)."""
    from ..checkpoint import config_hash
    from . import METHOD

    settings = audit_settings(cfg)
    if settings is None or not synth_units:
        return {}
    exp = Path(exp_dir)
    classifiers = str(exp / "units" / "audit-classifiers")
    rkey = {"model": settings["model"], "epochs": settings["epochs"], "seed": 0, "data": data_fingerprint}
    rid = f"audit-real-classifier-{config_hash(rkey)}"
    out = {rid: {"kind": "audit-real-classifier", "id": rid, "data": data, "model": settings["model"],
                 "epochs": settings["epochs"], "classifier_dir": classifiers, "dir": str(exp / "units" / rid)}}
    key = {**settings, "method": METHOD}  # an audit cached by an older method is recomputed
    for sid, u in sorted(synth_units.items()):
        aid = f"audit-{sid}"
        out[aid] = {"kind": "audit", "id": aid, "synth": sid, "synth_dir": u["dir"], "real_classifier": rid,
                    "data": data, "settings": key, "classifier_dir": classifiers, "dir": str(exp / "units" / aid)}
    return out


def audit_unit_done(unit: dict) -> bool:
    """A finished audit unit: the real-train classifier's record, or an audit with these settings."""
    d = Path(unit["dir"])
    if unit["kind"] == "audit-real-classifier":
        return (d / "classifier.json").is_file()
    done = d / "audit.json"
    return done.is_file() and json.loads(done.read_text()).get("settings") == unit["settings"]


def execute_audit_unit(unit: dict, ds, device="cpu", progress: bool = False):
    """Run one audit unit (see :func:`audit_units`) on the real dataset ``ds``."""
    from . import audit_images, fit_real_classifier, load_synthetic_split, write_json

    d = Path(unit["dir"])
    if unit["kind"] == "audit-real-classifier":
        _, clf_cfg = fit_real_classifier(ds, unit["classifier_dir"], device, unit["model"], unit["epochs"], 0,
                                         progress)
        d.mkdir(parents=True, exist_ok=True)
        write_json(d / "classifier.json", clf_cfg)
        return
    s = unit["settings"]
    audit_images(load_synthetic_split(unit["synth_dir"], ds), ds, d, device=device,
                 samples_per_class=s["samples_per_class"], features=s["features"], features_model=s["features_model"],
                 encoder_model=s["model"], encoder_epochs=s["epochs"], classifier_dir=unit["classifier_dir"],
                 source=unit["synth_dir"], progress=progress)
    done = d / "audit.json"
    write_json(done, {**json.loads(done.read_text()), "settings": s})


def audit_experiment(cfg: dict, exp, p: dict) -> Path | None:
    """Collect the finished audits of the plan ``p`` (its ``audit`` units) into EXP_DIR/audit.csv and
    audit.md (removed when the config turns the audit off). A synthesis whose audit has not finished
    (or failed: its FAILED.json says why) is left out."""
    from . import COLUMNS

    exp = Path(exp)
    if audit_settings(cfg) is None:
        for f in ("audit.csv", "audit.md"):
            (exp / f).unlink(missing_ok=True)
        return None
    results, failed = [], []
    for _, a in sorted(p["units"].get("audit", {}).items()):
        why = Path(a["dir"]) / "FAILED.json"
        if why.is_file():  # e.g. a synthesis without images of these data's size: said under the table
            u = p["units"]["synth"].get(a.get("synth"))
            what = f"{u['generator']} ({_synthesis_words(u)})" if u else "the real-train classifier"
            failed.append(f"{what}: {json.loads(why.read_text())['reason']}")
            continue
        if a["kind"] != "audit" or not audit_unit_done(a):
            continue
        u = p["units"]["synth"][a["synth"]]
        results.append((a["synth"], u, json.loads((Path(a["dir"]) / "audit.json").read_text())))
    for line in failed:
        print(f"genmix: audit failed for {line}", file=sys.stderr, flush=True)
    tmp = exp / "audit.csv.tmp"
    with open(tmp, "w", newline="") as f:
        w = csv.writer(f)
        w.writerow(["synthesis", "generator", "ratio", "balance", *COLUMNS])
        for sid, u, res in results:
            for r in res["rows"]:
                w.writerow([sid, u["generator"], u["ratio"], u["balance"], *[_cell(r.get(k)) for k in COLUMNS]])
    tmp.replace(exp / "audit.csv")
    md = audit_markdown(results)
    if failed:
        md = (md or "## Audit of the synthetic images\n") + "\n" + "".join(f"Not audited: {x}\n" for x in failed)
    (exp / "audit.md").write_text(md)
    return exp / "audit.csv"


def _synthesis_words(u: dict) -> str:
    return f"ratio {u['ratio']}" + (", balanced" if u["balance"] else "")


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
    for _sid, u, res in results:
        o = next(r for r in res["rows"] if r["class"] == "overall")
        syn = _synthesis_words(u)
        flag = " **memorising**" if o["memorising"] else ""
        lines.append(f"| {u['generator']} | {syn} | {o['n_synthetic']} | {o['n_realism']} | "
                     f"{f(o['fd'])} [{f(o['fd_floor'])}] | "
                     f"{f(o['kid'])} [{f(o['kid_floor'])}] | {f(o['precision'], '.2f')} | {f(o['recall'], '.2f')} | "
                     f"{f(o['density'], '.2f')} | {f(o['coverage'], '.2f')} | {pct(o['gan_test'])} "
                     f"[{pct(o['gan_test_floor'])}] | {pct(o['gan_train'])} [{pct(o['gan_train_floor'])}] | "
                     f"{o['near_copies']} ({pct(o['near_copy_fraction'])}){flag} |")
    return "\n".join(lines) + "\n"
