"""Experiment configs: dataset, classifier settings, generators, synthesis, rows, seeds.

Rows are strings — ``baseline``, ``mixup``, ``cutmix``, ``augmix``, ``synthetic:<generator>``,
``genmix:<generator>`` — or dicts ``{name, augment, generator, ratio, alpha, per_sample,
balance, epoch}`` for variants (other ratios, α values, balanced synthesis, GenMix epochs over
the pool).
"""

from __future__ import annotations

from pathlib import Path

from ..errors import GenmixError

DISPLAY = {"dcgan": "DCGAN", "stylegan2": "StyleGAN", "textual-inversion": "Textual Inversion", "ddpm": "Diffusion"}
BASE_ROWS = {"baseline": ("Baseline", "none"), "none": ("Baseline", "none"), "mixup": ("MixUp", "mixup"),
             "cutmix": ("CutMix", "cutmix"), "augmix": ("AugMix", "augmix")}
PAPER_ROWS = ["baseline", "mixup", "augmix"] + [f"{k}:{g}" for k in ("synthetic", "genmix")
                                                for g in ("dcgan", "stylegan2", "textual-inversion", "ddpm")]
TOP_KEYS = {"name", "data", "data_root", "image_size", "channels", "seeds", "classifier", "generators", "synthesis",
            "rows", "genmix", "mixup", "workers", "figures", "audit"}


def load_config(path) -> dict:
    import yaml

    path = Path(path)
    if not path.is_file():
        raise GenmixError(f"{path}: config not found")
    try:
        cfg = yaml.safe_load(path.read_text()) or {}
    except yaml.YAMLError as exc:
        raise GenmixError(f"{path}: not valid YAML ({str(exc).splitlines()[0]})") from None
    if not isinstance(cfg, dict):
        raise GenmixError(f"{path}: expected a mapping at the top level")
    unknown = set(cfg) - TOP_KEYS
    if unknown:
        raise GenmixError(f"{path}: unknown key(s) {sorted(unknown)} (known: {sorted(TOP_KEYS)})")
    if "data" not in cfg:
        raise GenmixError(f"{path}: 'data' (a dataset spec) is required")
    cfg.setdefault("name", path.stem)
    cfg.setdefault("seeds", [0])
    cfg.setdefault("classifier", {})
    cfg.setdefault("generators", {})
    cfg.setdefault("synthesis", {})
    cfg.setdefault("rows", PAPER_ROWS)
    cfg.setdefault("genmix", {})
    cfg.setdefault("mixup", {})
    cfg["_path"] = str(path)
    expand_rows(cfg)  # validates rows early
    return cfg


def expand_rows(cfg: dict) -> list[dict]:
    gm = {"alpha": 0.3, "ratio": 0.5, "per_sample": True, "epoch": "pool", **cfg.get("genmix", {})}
    rows = []
    for r in cfg["rows"]:
        if isinstance(r, str):
            if r in BASE_ROWS:
                name, aug = BASE_ROWS[r]
                row = {"name": name, "augment": aug}
                if aug == "mixup" and cfg.get("mixup"):
                    row.update(cfg["mixup"])
            elif ":" in r and r.split(":", 1)[0] in ("synthetic", "genmix"):
                kind, gen = r.split(":", 1)
                disp = DISPLAY.get(gen, gen)
                if kind == "synthetic":
                    row = {"name": f"{disp} ({round(gm['ratio'] * 100)}%)", "augment": "synthetic", "generator": gen,
                           "ratio": gm["ratio"]}
                else:
                    row = {"name": f"GenMix ({disp})", "augment": "genmix", "generator": gen, **gm}
            else:
                raise GenmixError(f"{cfg.get('_path', 'config')}: unknown row '{r}' (baseline, mixup, cutmix, augmix, "
                                  "synthetic:<generator>, genmix:<generator>, or a mapping)")
        elif isinstance(r, dict):
            row = dict(r)
            if "augment" not in row:
                raise GenmixError(f"{cfg.get('_path', 'config')}: row {r} needs 'augment'")
            if row["augment"] in ("synthetic", "genmix"):
                if "generator" not in row:
                    raise GenmixError(f"{cfg.get('_path', 'config')}: row {r} needs 'generator'")
                base = {"ratio": gm["ratio"]} if row["augment"] == "synthetic" else dict(gm)
                row = {**base, **row}
            row.setdefault("name", f"{row['augment']}:{row.get('generator', '')}".rstrip(":"))
        else:
            raise GenmixError(f"{cfg.get('_path', 'config')}: row {r!r} is neither a string nor a mapping")
        if row.get("epoch", "pool") not in ("pool", "real"):
            raise GenmixError(f"{cfg.get('_path', 'config')}: row '{row['name']}': genmix epoch must be 'pool' or "
                              f"'real', not {row['epoch']!r}")
        rows.append(row)
    names = [r["name"] for r in rows]
    if len(set(names)) != len(names):
        raise GenmixError(f"{cfg.get('_path', 'config')}: row names repeat: {names}")
    return rows
