"""Resolve an experiment into units (nothing runs here): generator trainings, syntheses, classifier runs, audits.

Each unit is keyed by a hash of its resolved config and the data's content, so a finished unit is found again
by any later run that needs the same thing (see :mod:`genmix.experiment.run`).
"""

from __future__ import annotations

import json
from dataclasses import asdict
from pathlib import Path

from ..checkpoint import config_hash, model_fingerprint
from .config import expand_rows
from .labels import slug
from .selection import candidate_label
from .typed import ClfUnit, ExperimentConfig, GenUnit, Plan, SynthUnit, check_plan
from .units import cached_dataset, data_fingerprint


def plan(cfg: ExperimentConfig, exp_dir: Path, seeds: list[int]) -> Plan:
    """Resolve every unit of the experiment (nothing runs here).

    ``budget: equal`` (default) gives every classifier unit the same ``max_steps`` — classifier.epochs x
    ceil(n_real_train / batch_size), the real-only rows' budget — validated every ceil(n_real_train /
    batch_size) steps. ``replicate: full`` gives each seed its own generator (generator seed = seed) and
    synthesis (synthesis seed = seed). A ``select: val`` row becomes one unit per candidate per seed;
    a candidate whose config equals another unit's (e.g. Baseline) shares that unit.
    """
    from ..generate import load_all

    load_all()
    p = Planner(cfg, exp_dir)
    rows = expand_rows(cfg)
    select = p.add_rows(rows, seeds)
    p.units["gen"] = dict(sorted(p.units["gen"].items()))
    from ..audit.experiment import audit_units

    p.units["audit"] = audit_units(cfg, exp_dir, p.units["synth"], p.data, p.dkey["fingerprint"])
    check_plan(p.units)
    return {"units": p.units, "unavailable": p.unavailable, "rows": rows, "budget": p.budget,
            "replicate": p.replicate, "select": select, "notes": p.notes}


class Planner:
    """The units of one experiment, filled row by row: ``units`` = {"gen": {key: unit}, "synth": {id: unit},
    "clf": [unit]}; generators that cannot run are in ``unavailable``, what a user should know in ``notes``."""

    def __init__(self, cfg: dict, exp_dir: Path):
        from ..classify.train import PRESETS, batch_starts

        self.cfg, self.exp_dir = cfg, Path(exp_dir)
        self.data = dict(spec=cfg["data"], root=cfg.get("data_root"), size=cfg.get("image_size"),
                         channels=cfg.get("channels"))
        self.ds = cached_dataset(self.data["spec"], self.data["root"], self.data["size"], self.data["channels"])
        # units are keyed by the data's content too, so edited files never reuse stale results
        self.dkey = {**{k: v for k, v in self.data.items() if k != "root"}, "fingerprint": data_fingerprint(self.ds)}
        self.replicate = cfg.get("replicate", "classifier")
        self.units: dict = {"gen": {}, "synth": {}, "clf": []}
        self.unavailable: dict = {}
        self.notes: list = []  # what a user should know before reading the table (e.g. a model that cannot draw these data)
        self.syn_defaults = {"ratio": 0.5, "seed": 0, "balance": False, "sample": {}, **cfg.get("synthesis", {})}
        settings = {**PRESETS[cfg["classifier"].get("preset", "quick")],
                    **{k: v for k, v in cfg["classifier"].items() if k != "preset"}}
        self.n_real, bs = len(self.ds["train"]), int(settings.get("batch_size", 1))
        per_real_epoch = len(batch_starts(self.n_real, max(bs, 1)))  # the optimizer steps of one pass over the real images
        self.budget = {"mode": cfg.get("budget", "equal"), "n_real_train": self.n_real, "batch_size": bs,
                       "epochs": settings.get("epochs")}
        if self.budget["mode"] == "equal":
            settings.setdefault("max_steps", None)
            settings.setdefault("eval_every", None)
            settings["max_steps"] = settings["max_steps"] or settings["epochs"] * per_real_epoch
            settings["eval_every"] = settings["eval_every"] or per_real_epoch
            self.budget.update(max_steps=settings["max_steps"], eval_every=settings["eval_every"])
        self.settings = settings
        self.gen_base: dict = {}
        self.by_hash: dict = {}  # classifier unit per config hash: equal candidates share one unit

    def row_settings(self, row: dict) -> dict:
        """The classifier settings of a row: the top-level ones with the row's ``classifier:`` over them; a row
        that changes epochs or batch size gets the equal budget of its own epochs of the real images."""
        from ..classify.train import PRESETS, batch_starts

        over = row.get("classifier") or {}
        if not over:
            return self.settings
        st = {**self.settings, **(dict(PRESETS[over["preset"]]) if "preset" in over else {}),
              **{k: v for k, v in over.items() if k != "preset"}}
        if self.budget["mode"] == "equal" and ({"epochs", "batch_size", "preset"} & set(over)):
            per_pass = len(batch_starts(self.n_real, max(int(st["batch_size"]), 1)))
            st["max_steps"], st["eval_every"] = st["epochs"] * per_pass, per_pass
        return st

    def add_generators(self, names) -> None:
        """Resolve each generator's settings once (``gen_base``), or say why it cannot run."""
        from ..generate import GENERATORS, resolve_config

        for gname in sorted(names):
            gcfg = dict(self.cfg["generators"].get(gname) or {})
            if gname not in GENERATORS:
                self.unavailable[gname] = f"generator '{gname}' is not available in this genmix"
                continue
            if gname not in self.cfg["generators"]:
                self.unavailable[gname] = f"generator '{gname}' has no settings under 'generators' in the config"
                continue
            preset = gcfg.pop("preset", "quick")
            gsyn = {**self.syn_defaults, **gcfg.pop("synthesis", {})}
            resolved = resolve_config(gname, preset, gcfg)
            self.check_models(gname, resolved)
            self.gen_base[gname] = (resolved, gsyn)

    def check_models(self, gname: str, resolved: dict) -> None:
        """A pretrained model that saw this data's source is refused; a greyscale-only one on colour data is noted."""
        if gname == "ddpm" and resolved.get("init"):
            from ..generate.ddpm import check_init

            check_init(resolved["init"], self.data["spec"])
        if isinstance(resolved.get("pretrained"), str):  # a genmix-pretrained model never saw the data's source
            from ..data.base import is_colour
            from ..pretrain.t2i import check_pretrained, corpus_colour

            check_pretrained(resolved["pretrained"], self.data["spec"],
                             f"{self.cfg.get('_path', 'config')}: generators.{gname}")
            if corpus_colour(resolved["pretrained"]) is False and is_colour(self.ds["train"].images):
                self.notes.append(f"{gname}: {resolved['pretrained']} was pretrained on greyscale images only "
                                  "and these data are in colour, so its samples will be grey; see the "
                                  "audit, or pretrain on a corpus with colour images (genmix pretrain-t2i --data).")

    def gen_unit(self, gname: str, seed: int) -> GenUnit:
        resolved, gsyn = self.gen_base[gname]
        gkey = gname
        if self.replicate == "full":  # this replicate's own generator and synthetic set
            gkey = f"{gname}@s{seed}"
            resolved = dict(resolved)
            if "seed" in resolved or seed != 0:  # seed 0 is the generators' default: same unit as before
                resolved["seed"] = seed
            gsyn = {**gsyn, "seed": seed}
        if gkey not in self.units["gen"]:
            key = {"generator": gname, "config": resolved, "data": self.dkey}
            models = {k: model_fingerprint(resolved[k]) for k in ("pretrained", "init")
                      if isinstance(resolved.get(k), str)}
            if models:  # a rebuilt (or newly built) local model is a new unit
                key["models"] = models
            h = config_hash(key)
            self.units["gen"][gkey] = {"kind": "gen", "id": f"gen-{gname}-{h}", "generator": gname, "gen_key": gkey,
                                       "config": resolved, "data": self.data,
                                       "dir": str(self.exp_dir / "units" / f"gen-{gname}-{h}"), "synthesis": gsyn}
        return self.units["gen"][gkey]

    def synth_unit(self, g: GenUnit, row: dict) -> tuple[SynthUnit, bool]:
        """The synthesis a row draws from generator unit ``g`` (shared by every row asking the same), and
        whether it is a class-balanced pool."""
        balance = bool(row.get("balance", g["synthesis"]["balance"]))
        skey = {"gen": g["id"], "ratio": row.get("ratio", 0.5), "balance": balance, "seed": g["synthesis"]["seed"],
                "sample": g["synthesis"].get("sample", {})}
        sid = f"synth-{g['generator']}-{config_hash(skey)}"
        self.units["synth"].setdefault(sid, {"kind": "synth", "id": sid, "gen": g["id"], "gen_dir": g["dir"],
                                             "generator": g["generator"], "gen_key": g["gen_key"], **skey,
                                             "dir": str(self.exp_dir / "units" / sid)})
        return self.units["synth"][sid], balance

    def clf_unit(self, row: dict, name: str, seed: int) -> tuple[ClfUnit, str | None]:
        """The classifier unit of ``row`` for ``seed`` and its config hash (None: cannot run)."""
        from ..classify.train import TrainConfig

        unit = {"kind": "clf", "row": name, "augment": row["augment"], "seed": seed,
                "generator": row.get("generator"), "ratio": row.get("ratio"), "alpha": row.get("alpha")}
        gname = row.get("generator")
        opts = {k: row[k] for k in ("alpha", "per_sample", "ratio", "epoch") if k in row and row[k] is not None}
        if row["augment"] == "mixup":
            opts = {k: row[k] for k in ("alpha", "per_sample") if k in row}
        if row["augment"] == "none":
            opts = {}
        if gname and row["augment"] != "none":
            if gname in self.unavailable:
                return {**unit, "status": "not run", "reason": self.unavailable[gname],
                        "id": f"clf-{slug(name)}-s{seed}"}, None
            g = self.gen_unit(gname, seed)
            synth, balance = self.synth_unit(g, row)
            opts["synthetic"] = synth["dir"]
            if balance:
                opts["ratio"] = "all"
            unit["synth"] = synth["id"]
            unit["gen_key"] = g["gen_key"]
        else:
            unit["generator"] = None if row["augment"] == "none" else gname
        tc = TrainConfig.from_dict({**self.row_settings(row), "data": self.data["spec"], "augment": row["augment"],
                                    "augment_opts": opts, "seed": seed, "image_size": self.data["size"],
                                    "channels": self.data["channels"]}).validate()
        h = self.train_hash(tc, unit.get("synth"))
        uid = f"clf-{slug(name)}-s{seed}-{h}"
        unit.update(id=uid, train_config=asdict(tc), data=self.data, dir=str(self.exp_dir / "units" / uid),
                    status="planned")
        return unit, h

    def train_hash(self, tc, synth_id: str | None) -> str:
        """A classifier unit's key: its TrainConfig, the synthesis by id (content, not path), the data's and
        the pretrained backbone's fingerprints."""
        hashed = json.loads(json.dumps(asdict(tc)))
        for k in ("max_steps", "eval_every"):  # unset (budget: per-epoch): the same units as before budgets
            if hashed.get(k) is None:
                hashed.pop(k)
        if synth_id is not None:
            hashed["augment_opts"]["synthetic"] = synth_id  # hash by content, not by path
        hashed["data_fingerprint"] = self.dkey["fingerprint"]
        if isinstance(tc.pretrained, str):
            hashed["pretrained_fingerprint"] = model_fingerprint(tc.pretrained)
        return config_hash(hashed)

    def add_rows(self, rows: list[dict], seeds: list[int]) -> list[dict]:
        """Every row's classifier units for every seed, plain rows first; returns the ``select: val`` entries
        (per row and seed, its candidates and the unit each one is)."""
        self.add_generators({r["generator"] for r in rows if r.get("generator")})
        for seed in seeds:
            for row in rows:
                if not row.get("select"):
                    unit, h = self.clf_unit(row, row["name"], seed)
                    self.units["clf"].append(unit)
                    if h is not None:
                        self.by_hash.setdefault(h, unit)
        entries = [(row, self.select_entry(row, seed)) for seed in seeds for row in rows if row.get("select")]
        from .halving import add_halving

        own = {u["id"] for u in self.units["clf"] if u.get("candidate")}
        for row, entry in entries:
            if row.get("halving"):
                add_halving(self.units, entry, row["halving"], own, self.exp_dir)
        by_id = {u["id"]: u for u in self.units["clf"]}
        for _row, entry in entries:  # a candidate that a row without halving needs runs in full
            if "halving" not in entry:
                for c in entry["candidates"]:
                    if c.get("unit") and by_id[c["unit"]].get("decisions"):
                        by_id[c["unit"]]["required"] = True
        return [entry for _, entry in entries]

    def select_entry(self, row: dict, seed: int) -> dict:
        entry = {"row": row["name"], "seed": seed, "generator": row.get("generator"), "candidates": []}
        for cand in row["candidate_settings"]:
            label = candidate_label(cand)
            unit, h = self.clf_unit(cand, row["name"], seed)
            if h is None:  # not run: generator unavailable
                entry["candidates"].append({"label": label, "settings": cand, "unit": None, "reason": unit["reason"]})
                continue
            if h not in self.by_hash:
                unit["candidate"] = label
                self.units["clf"].append(unit)
                self.by_hash[h] = unit
            entry["candidates"].append({"label": label, "settings": cand, "unit": self.by_hash[h]["id"]})
        return entry
