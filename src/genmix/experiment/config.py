"""Experiment configs: dataset, classifier settings, generators, synthesis, rows, seeds.

Rows are strings — ``baseline``, ``mixup``, ``cutmix``, ``augmix``, ``synthetic:<generator>``,
``genmix:<generator>`` — or dicts ``{name, augment, generator, ratio, alpha, per_sample,
balance, epoch}`` for variants (other ratios, α values, balanced synthesis, GenMix epochs over
the pool).

A mapping row with ``select: val`` names candidate settings (``candidates: {alpha: [..], ratio: [..],
balance: [..], epoch: [..]}``, each list optional) and ``fallback_baseline`` (default true: no
augmentation is a candidate too); within each replicate the candidate with the best validation
macro-F1 is reported in that row. ``halving: {at: 0.25, keep: 1}`` trains the candidates a quarter of
the way, keeps the best one on validation and finishes only that one (genmix.experiment.halving).

``budget``: ``equal`` (default; every row runs the real-only rows' number of optimizer steps) or
``per-epoch`` (epochs over each row's own training split). ``replicate``: ``classifier`` (default;
one generator and synthetic set shared by every seed) or ``full`` (each seed trains its own
generator and synthesis).

``extends: PATH`` writes a config as another one with some settings changed (genmix.experiment.extends).
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

from ..errors import GenmixError

if TYPE_CHECKING:
    from .typed import ExperimentConfig

DISPLAY = {"dcgan": "DCGAN", "stylegan2": "StyleGAN", "textual-inversion": "Textual Inversion", "ddpm": "Diffusion"}
BASE_ROWS = {"baseline": ("Baseline", "none"), "none": ("Baseline", "none"), "mixup": ("MixUp", "mixup"),
             "cutmix": ("CutMix", "cutmix"), "augmix": ("AugMix", "augmix")}
PAPER_ROWS = ["baseline", "mixup", "augmix"] + [f"{k}:{g}" for k in ("synthetic", "genmix")
                                                for g in ("dcgan", "stylegan2", "textual-inversion", "ddpm")]
CANDIDATE_KEYS = {"genmix": ("alpha", "ratio", "balance", "epoch"), "synthetic": ("ratio", "balance")}


def load_config(path) -> ExperimentConfig:
    """Read and check an experiment YAML (genmix.experiment.schema) before anything runs.

    Returns a plain dict (typed as genmix.experiment.typed.ExperimentConfig): the keys as written (values type-checked), plus the top-level
    defaults (name, seeds, rows, budget, replicate, audit and empty sections). Errors are one line:
    ``<file>: <key path>: <cause>, got <value>``."""
    from ..generate import GENERATORS, resolve_config
    from ..validation import validate
    from .extends import read_config_tree
    from .schema import experiment_model

    path = Path(path)
    raw = read_config_tree(path)
    gens = raw.get("generators")
    context = {"generators": set(gens) if isinstance(gens, dict) else set()}
    model = validate(experiment_model(), raw, str(path), context=context)
    cfg = model.model_dump(by_alias=True, exclude_unset=True)
    for name, entry in (cfg.get("generators") or {}).items():  # preset + settings together, and the sampler
        entry = dict(entry or {})
        entry.pop("synthesis", None)
        resolve_config(name, entry.pop("preset", "quick"), entry, str(path), ("generators", name))
    cfg.setdefault("name", path.stem)
    cfg.setdefault("seeds", [0])
    for k in ("classifier", "generators", "synthesis", "genmix", "mixup"):
        cfg.setdefault(k, {})
    cfg["generators"] = {k: (v if v is not None else {}) for k, v in cfg["generators"].items()}
    cfg.setdefault("rows", default_rows(cfg["generators"]))
    cfg.setdefault("budget", "equal")
    cfg.setdefault("replicate", "classifier")
    cfg.setdefault("audit", True)
    _check_samplers(cfg, path, GENERATORS)
    cfg["_path"] = str(path)
    expand_rows(cfg)  # row names must not repeat
    return cfg


def default_rows(generators) -> list:
    """Without ``rows``: the paper's rows for the generators the config sets up."""
    return [r for r in PAPER_ROWS if ":" not in r or r.split(":", 1)[1] in generators]


def _check_samplers(cfg, path, registry):
    """``synthesis.sample`` keys must be keyword arguments of each generator's ``sample``."""
    import inspect

    top = (cfg.get("synthesis") or {}).get("sample")
    for name, entry in cfg["generators"].items():
        own = (entry.get("synthesis") or {}).get("sample")
        sample, where = (own, f"generators.{name}.synthesis.sample") if own is not None else (top, "synthesis.sample")
        if not sample:
            continue
        params = inspect.signature(registry[name].sample).parameters
        known = [p for p in params if p not in ("self", "n", "labels", "generator")
                 and params[p].kind not in (inspect.Parameter.VAR_KEYWORD, inspect.Parameter.VAR_POSITIONAL)]
        for k in sample:
            if k not in known:
                raise GenmixError(f"{path}: {where}.{k}: not a sampler setting of {name} (known: {', '.join(known)})")


def start_label(classifier: dict | None) -> str:
    """A row's classifier override in words, e.g. 'pretrained' or 'model=vgg16, pretrained=backbone'; '' for none."""
    if not classifier:
        return ""
    parts = []
    for k, v in sorted(classifier.items()):
        if k == "pretrained":
            parts.append("pretrained" if v is True else "scratch" if v is False else f"pretrained={Path(str(v)).stem}")
        else:
            parts.append(f"{k}={v}")
    return ", ".join(parts)


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
            if row.get("classifier") and "name" not in r:  # the row's usual name with its classifier start
                if "name" not in row:
                    kind = {"none": "baseline", "synthetic": "synthetic:", "genmix": "genmix:"}.get(row["augment"],
                                                                                                  row["augment"])
                    short = kind + (row.get("generator") or "") if kind.endswith(":") else kind
                    row["name"] = expand_rows({**cfg, "rows": [short]})[0]["name"]
                row["name"] = f"{row['name']} [{start_label(row['classifier'])}]"
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
    base = {k: v for k, v in row.items() if k not in ("select", "candidates", "fallback_baseline", "name", "halving")}
    grid = [dict(zip(cands, combo)) for combo in itertools.product(*cands.values())] if cands else [{}]
    start = {"classifier": row["classifier"]} if row.get("classifier") else {}  # the fallback keeps the row's start
    settings = [{"augment": "none", **start}] if fallback else []
    for over in grid:
        s = {**base, **over}
        if s.get("epoch", "pool") not in ("pool", "real"):
            raise GenmixError(f"{where}: genmix epoch must be 'pool' or 'real', not {s['epoch']!r}")
        if s not in settings:
            settings.append(s)
    out = {**row, "select": "val", "fallback_baseline": fallback, "candidates": cands, "candidate_settings": settings}
    if row.get("halving") is not None:  # successive halving (genmix.experiment.halving): the rung and how many go on
        out["halving"] = {"at": 0.25, "keep": 1, **row["halving"]}
    return out
