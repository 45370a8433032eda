"""Experiment configs: dataset, classifier settings, generators, synthesis, rows, seeds.

Rows are strings — ``baseline``, ``mixup``, ``cutmix``, ``augmix``, ``synthetic:<generator>``,
``genmix:<generator>`` — or dicts ``{name, augment, generator, ratio, alpha, per_sample,
balance, epoch}`` for variants (other ratios, α values, balanced synthesis, GenMix epochs over
the pool).

A mapping row with ``select: val`` names candidate settings (``candidates: {alpha: [..], ratio: [..],
balance: [..], epoch: [..]}``, each list optional) and ``fallback_baseline`` (default true: no
augmentation is a candidate too); within each replicate the candidate with the best validation
macro-F1 is reported in that row.

``budget``: ``equal`` (default; every row runs the real-only rows' number of optimizer steps) or
``per-epoch`` (epochs over each row's own training split). ``replicate``: ``classifier`` (default;
one generator and synthetic set shared by every seed) or ``full`` (each seed trains its own
generator and synthesis).
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
            "rows", "genmix", "mixup", "workers", "figures", "budget", "replicate"}
BUDGETS = ("equal", "per-epoch")
REPLICATES = ("classifier", "full")
CANDIDATE_KEYS = {"genmix": ("alpha", "ratio", "balance", "epoch"), "synthetic": ("ratio", "balance")}


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
    cfg.setdefault("budget", "equal")
    cfg.setdefault("replicate", "classifier")
    for key, allowed in (("budget", BUDGETS), ("replicate", REPLICATES)):
        if cfg[key] not in allowed:
            raise GenmixError(f"{path}: {key} must be one of {list(allowed)}, not {cfg[key]!r}")
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
            if "select" in row and row.get("generator"):
                disp = DISPLAY.get(row["generator"], row["generator"])
                row.setdefault("name", f"GenMix ({disp}, selected)" if row["augment"] == "genmix"
                               else f"{disp} (selected)")
            row.setdefault("name", f"{row['augment']}:{row.get('generator', '')}".rstrip(":"))
        else:
            raise GenmixError(f"{cfg.get('_path', 'config')}: row {r!r} is neither a string nor a mapping")
        if "select" in row or "candidates" in row or "fallback_baseline" in row:
            row = _select_row(cfg, row)
        if row.get("epoch", "pool") not in ("pool", "real"):
            raise GenmixError(f"{cfg.get('_path', 'config')}: row '{row['name']}': genmix epoch must be 'pool' or "
                              f"'real', not {row['epoch']!r}")
        rows.append(row)
    names = [r["name"] for r in rows]
    if len(set(names)) != len(names):
        raise GenmixError(f"{cfg.get('_path', 'config')}: row names repeat: {names}")
    return rows


def _select_row(cfg: dict, row: dict) -> dict:
    """Check a ``select: val`` row; candidates become a list of full settings (no augmentation first if the
    fallback is on), in the order they were listed."""
    import itertools

    where = f"{cfg.get('_path', 'config')}: row '{row.get('name', row['augment'])}'"
    if row.get("select") != "val":
        raise GenmixError(f"{where}: select must be 'val' (candidates and fallback_baseline need it), "
                          f"not {row.get('select')!r}")
    keys = CANDIDATE_KEYS.get(row["augment"])
    if keys is None:
        raise GenmixError(f"{where}: select: val applies to genmix and synthetic rows, not '{row['augment']}'")
    cands = row.get("candidates") or {}
    if not isinstance(cands, dict):
        raise GenmixError(f"{where}: candidates must be a mapping of setting -> list of values")
    bad = set(cands) - set(keys)
    if bad:
        raise GenmixError(f"{where}: candidates {sorted(bad)} are not settings of {row['augment']} rows "
                          f"(allowed: {list(keys)})")
    checks = {"alpha": lambda v: isinstance(v, (int, float)) and not isinstance(v, bool) and v > 0,
              "ratio": lambda v: isinstance(v, (int, float)) and not isinstance(v, bool) and 0 <= v < 1,
              "balance": lambda v: isinstance(v, bool), "epoch": lambda v: v in ("pool", "real")}
    need = {"alpha": "a number > 0", "ratio": "a number in [0, 1)", "balance": "true or false",
            "epoch": "'pool' or 'real'"}
    for k, vals in cands.items():
        if not isinstance(vals, list) or not vals:
            raise GenmixError(f"{where}: candidates.{k} must be a non-empty list")
        for v in vals:
            if not checks[k](v):
                raise GenmixError(f"{where}: candidates.{k} value {v!r} must be {need[k]}")
    fallback = row.get("fallback_baseline", True)
    if not isinstance(fallback, bool):
        raise GenmixError(f"{where}: fallback_baseline must be true or false")
    base = {k: v for k, v in row.items() if k not in ("select", "candidates", "fallback_baseline", "name")}
    grid = [dict(zip(cands, combo)) for combo in itertools.product(*cands.values())] if cands else [{}]
    settings = [{"augment": "none"}] if fallback else []
    for over in grid:
        s = {**base, **over}
        if s.get("epoch", "pool") not in ("pool", "real"):
            raise GenmixError(f"{where}: genmix epoch must be 'pool' or 'real', not {s['epoch']!r}")
        if s not in settings:
            settings.append(s)
    return {**row, "select": "val", "fallback_baseline": fallback, "candidates": cands, "candidate_settings": settings}
