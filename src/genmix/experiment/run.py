"""Run an experiment as cached units: generator trainings, syntheses, classifier runs.

Each unit lives in ``EXP_DIR/units/<kind>-<label>-<hash of its resolved config>/``. A finished
unit is never recomputed; an unfinished one resumes from its own checkpoint. Units run as a
task graph: each starts once the units it depends on are done (a classifier run needs its
synthesis, a synthesis its generator; rows without a generator start at once), in worker
processes when ``workers > 1`` or as Ray tasks (``backend="ray"``). ``EXP_DIR/units.log``
records every unit started, executed and reused.
"""

from __future__ import annotations

import csv
import json
import sys
from pathlib import Path

from ..checkpoint import config_hash, model_fingerprint
from ..errors import GenmixError
from .config import expand_rows
from .selection import best_validation, candidate_label, choose_on_validation
from .units import cached_dataset, data_fingerprint, execute_unit, failure, is_done, slug


def plan(cfg: dict, exp_dir: Path, seeds: list[int]) -> dict:
    """Resolve every unit of the experiment (nothing runs here).

    ``budget: equal`` (default) gives every classifier unit the same ``max_steps`` — classifier.epochs x
    ceil(n_real_train / batch_size), the real-only rows' budget — validated every ceil(n_real_train /
    batch_size) steps. ``replicate: full`` gives each seed its own generator (generator seed = seed) and
    synthesis (synthesis seed = seed). A ``select: val`` row becomes one unit per candidate per seed;
    a candidate whose config equals another unit's (e.g. Baseline) shares that unit.
    """
    from dataclasses import asdict

    from ..classify.train import PRESETS, TrainConfig, batch_starts
    from ..generate import GENERATORS, load_all, resolve_config

    load_all()
    data = dict(spec=cfg["data"], root=cfg.get("data_root"), size=cfg.get("image_size"), channels=cfg.get("channels"))
    ds = cached_dataset(data["spec"], data["root"], data["size"], data["channels"])
    # units are keyed by the data's content too, so edited files never reuse stale results
    dkey = {**{k: v for k, v in data.items() if k != "root"}, "fingerprint": data_fingerprint(ds)}
    rows = expand_rows(cfg)
    replicate = cfg.get("replicate", "classifier")
    units = {"gen": {}, "synth": {}, "clf": []}
    unavailable = {}
    notes = []  # what a user should know before reading the table (e.g. a model that cannot draw these data)
    syn_defaults = {"ratio": 0.5, "seed": 0, "balance": False, "sample": {}, **cfg.get("synthesis", {})}
    settings = {**PRESETS[cfg["classifier"].get("preset", "quick")],
                **{k: v for k, v in cfg["classifier"].items() if k != "preset"}}
    n_real, bs = len(ds["train"]), int(settings.get("batch_size", 1))
    per_real_epoch = len(batch_starts(n_real, max(bs, 1)))  # the optimizer steps of one pass over the real images
    budget = {"mode": cfg.get("budget", "equal"), "n_real_train": n_real, "batch_size": bs,
              "epochs": settings.get("epochs")}
    if budget["mode"] == "equal":
        settings.setdefault("max_steps", None)
        settings.setdefault("eval_every", None)
        settings["max_steps"] = settings["max_steps"] or settings["epochs"] * per_real_epoch
        settings["eval_every"] = settings["eval_every"] or per_real_epoch
        budget.update(max_steps=settings["max_steps"], eval_every=settings["eval_every"])

    def row_settings(row):
        """The classifier settings of a row: the top-level ones with the row's ``classifier:`` over them; a row
        that changes epochs or batch size gets the equal budget of its own epochs of the real images."""
        over = row.get("classifier") or {}
        if not over:
            return settings
        st = {**settings, **({k: v for k, v in PRESETS[over["preset"]].items()} if "preset" in over else {}),
              **{k: v for k, v in over.items() if k != "preset"}}
        if budget["mode"] == "equal" and ({"epochs", "batch_size", "preset"} & set(over)):
            st["max_steps"] = st["epochs"] * len(batch_starts(n_real, max(int(st["batch_size"]), 1)))
            st["eval_every"] = len(batch_starts(n_real, max(int(st["batch_size"]), 1)))
        return st

    used = {r["generator"] for r in rows if r.get("generator")}
    gen_base = {}
    for gname in sorted(used):
        gcfg = dict(cfg["generators"].get(gname) or {})
        if gname not in GENERATORS:
            unavailable[gname] = f"generator '{gname}' is not available in this genmix"
            continue
        if gname not in cfg["generators"]:
            unavailable[gname] = f"generator '{gname}' has no settings under 'generators' in the config"
            continue
        preset = gcfg.pop("preset", "quick")
        gsyn = {**syn_defaults, **gcfg.pop("synthesis", {})}
        resolved = resolve_config(gname, preset, gcfg)
        if gname == "ddpm" and resolved.get("init"):  # a pretrained model that saw this data's source: refused
            from ..generate.ddpm import check_init

            check_init(resolved["init"], data["spec"])
        if isinstance(resolved.get("pretrained"), str):  # a genmix-pretrained model never saw the data's source
            from ..data.base import is_colour
            from ..pretrain.t2i import check_pretrained, corpus_colour

            check_pretrained(resolved["pretrained"], data["spec"], f"{cfg.get('_path', 'config')}: generators.{gname}")
            if corpus_colour(resolved["pretrained"]) is False and is_colour(ds["train"].images):
                notes.append(f"{gname}: {resolved['pretrained']} was pretrained on greyscale images only "
                             "and these data are in colour, so its samples will be grey; see the "
                             "audit, or pretrain on a corpus with colour images (genmix pretrain-t2i --data).")
        gen_base[gname] = (resolved, gsyn)

    def gen_unit(gname, seed):
        resolved, gsyn = gen_base[gname]
        gkey = gname
        if replicate == "full":  # this replicate's own generator and synthetic set
            gkey = f"{gname}@s{seed}"
            resolved = dict(resolved)
            if "seed" in resolved or seed != 0:  # seed 0 is the generators' default: same unit as before
                resolved["seed"] = seed
            gsyn = {**gsyn, "seed": seed}
        if gkey not in units["gen"]:
            key = {"generator": gname, "config": resolved, "data": dkey}
            models = {k: model_fingerprint(resolved[k]) for k in ("pretrained", "init")
                      if isinstance(resolved.get(k), str)}
            if models:  # a rebuilt (or newly built) local model is a new unit
                key["models"] = models
            h = config_hash(key)
            units["gen"][gkey] = {"kind": "gen", "id": f"gen-{gname}-{h}", "generator": gname, "gen_key": gkey,
                                  "config": resolved, "data": data, "dir": str(exp_dir / "units" / f"gen-{gname}-{h}"),
                                  "synthesis": gsyn}
        return units["gen"][gkey]

    def clf_unit(row, name, seed):
        unit = {"kind": "clf", "row": name, "augment": row["augment"], "seed": seed,
                "generator": row.get("generator"), "ratio": row.get("ratio"), "alpha": row.get("alpha")}
        gname = row.get("generator")
        opts = {k: row[k] for k in ("alpha", "per_sample", "ratio", "epoch") if k in row and row[k] is not None}
        if row["augment"] == "mixup":
            opts = {k: row[k] for k in ("alpha", "per_sample") if k in row}
        if row["augment"] == "none":
            opts = {}
        if gname and row["augment"] != "none":
            if gname in unavailable:
                return {**unit, "status": "not run", "reason": unavailable[gname],
                        "id": f"clf-{slug(name)}-s{seed}"}, None
            g = gen_unit(gname, seed)
            balance = bool(row.get("balance", g["synthesis"]["balance"]))
            ratio = row.get("ratio", 0.5)
            skey = {"gen": g["id"], "ratio": ratio, "balance": balance, "seed": g["synthesis"]["seed"],
                    "sample": g["synthesis"].get("sample", {})}
            sh = config_hash(skey)
            sid = f"synth-{gname}-{sh}"
            units["synth"].setdefault(sid, {"kind": "synth", "id": sid, "gen": g["id"], "gen_dir": g["dir"],
                                            "generator": gname, "gen_key": g["gen_key"], **skey,
                                            "dir": str(exp_dir / "units" / sid)})
            opts["synthetic"] = units["synth"][sid]["dir"]
            if balance:
                opts["ratio"] = "all"
            unit["synth"] = sid
            unit["gen_key"] = g["gen_key"]
        else:
            unit["generator"] = None if row["augment"] == "none" else gname
        tc = TrainConfig.from_dict({**row_settings(row), "data": data["spec"], "augment": row["augment"],
                                    "augment_opts": opts, "seed": seed, "image_size": data["size"],
                                    "channels": data["channels"]}).validate()
        tcd = asdict(tc)
        hashed = json.loads(json.dumps(tcd))
        for k in ("max_steps", "eval_every"):  # unset (budget: per-epoch): the same units as before budgets
            if hashed.get(k) is None:
                hashed.pop(k)
        if "synthetic" in opts:
            hashed["augment_opts"]["synthetic"] = unit["synth"]  # hash by content, not by path
        hashed["data_fingerprint"] = dkey["fingerprint"]
        if isinstance(tc.pretrained, str):
            hashed["pretrained_fingerprint"] = model_fingerprint(tc.pretrained)
        h = config_hash(hashed)
        uid = f"clf-{slug(name)}-s{seed}-{h}"
        unit.update(id=uid, train_config=tcd, data=data, dir=str(exp_dir / "units" / uid), status="planned")
        return unit, h

    by_hash = {}
    for seed in seeds:
        for row in rows:
            if row.get("select"):
                continue
            unit, h = clf_unit(row, row["name"], seed)
            units["clf"].append(unit)
            if h is not None:
                by_hash.setdefault(h, unit)
    select = []
    for seed in seeds:
        for row in rows:
            if not row.get("select"):
                continue
            entry = {"row": row["name"], "seed": seed, "generator": row.get("generator"), "candidates": []}
            for cand in row["candidate_settings"]:
                label = candidate_label(cand)
                unit, h = clf_unit(cand, row["name"], seed)
                if h is None:  # not run: generator unavailable
                    entry["candidates"].append({"label": label, "settings": cand, "unit": None,
                                                "reason": unit["reason"]})
                    continue
                if h not in by_hash:
                    unit["candidate"] = label
                    units["clf"].append(unit)
                    by_hash[h] = unit
                entry["candidates"].append({"label": label, "settings": cand, "unit": by_hash[h]["id"]})
            select.append(entry)
    units["gen"] = dict(sorted(units["gen"].items()))
    from ..audit.experiment import audit_units

    units["audit"] = audit_units(cfg, exp_dir, units["synth"], data, dkey["fingerprint"])
    return {"units": units, "unavailable": unavailable, "rows": rows, "budget": budget, "replicate": replicate,
            "select": select, "notes": notes}


def run_experiment(cfg: dict, exp_dir, seeds=None, workers: int = 1, progress: bool = True,
                   stop_after_units: int | None = None, backend: str = "local", address: str | None = None,
                   schedule: str = "graph", cpus_per_unit: int | None = None, hook=None) -> list[str]:
    """Run (or resume) everything the config asks for; returns the ids of units executed now.

    Units run as a task graph (see :mod:`genmix.experiment.graph`): each starts once the units it
    depends on are finished. ``backend``: "local" (``workers`` processes on this machine) or
    "ray" (a Ray cluster at ``address``, or a local one with ``workers`` CPUs)."""
    from .graph import LocalBackend, flatten_units, run_graph

    exp = Path(exp_dir)
    seeds = seeds if seeds is not None else cfg["seeds"]
    if backend not in ("local", "ray"):
        raise GenmixError(f"backend must be 'local' or 'ray', not {backend!r}")
    if schedule not in ("graph", "stages"):
        raise GenmixError(f"schedule must be 'graph' or 'stages', not {schedule!r}")
    if backend == "ray":  # tasks run in other working directories, maybe on other nodes
        exp = exp.resolve()
        if cfg.get("data_root"):
            cfg = {**cfg, "data_root": str(Path(cfg["data_root"]).resolve())}
    # check the data once, before anything is written
    ds = cached_dataset(cfg["data"], cfg.get("data_root"), cfg.get("image_size"), cfg.get("channels"))
    from ..audit.experiment import audit_settings

    audit_settings(cfg)
    p = plan(cfg, exp, seeds)
    for note in p["notes"]:
        print(f"genmix: note: {note}", file=sys.stderr, flush=True)
    if backend == "ray":
        from .ray_backend import RayBackend

        runner = RayBackend(address=address, workers=workers, cpus_per_unit=cpus_per_unit)
    else:
        runner = LocalBackend(workers, threads=cpus_per_unit)
    exp.mkdir(parents=True, exist_ok=True)
    (exp / "config.json").write_text(json.dumps({k: v for k, v in cfg.items() if not k.startswith("_")},
                                                indent=2, default=str))
    from ..data import write_split_manifest

    write_split_manifest(ds, exp / "split_manifest.csv")  # the split every unit used, for audit

    def skip(unit, failed_unit, reason):
        who = f"generator {failed_unit['generator']}" if failed_unit.get("kind") == "gen" else failed_unit["id"]
        unit.update(status="not run", reason=f"{who} failed: {reason}")

    units = [u for u in flatten_units(p["units"]) if u.get("status") != "not run" and "dir" in u]
    executed = run_graph(units, exp, runner, execute_unit, is_done, failure, skip, progress=progress,
                         stop_after_units=stop_after_units, schedule=schedule, hook=hook)
    from ..audit.experiment import audit_experiment

    audit_experiment(cfg, exp, p)  # the synthetic-data audits finished so far, in audit.csv / audit.md
    write_results(exp, p)
    return executed


def write_results(exp: Path, p: dict) -> Path:
    """results.csv: one row per classifier run of each table row (finished or not run), every metric flattened,
    with its optimizer ``steps`` and ``images_seen``; a ``select: val`` row has, per seed, the test metrics of
    the candidate chosen on validation and its settings (``chosen``). candidates.csv: every candidate's
    validation scores and whether it was chosen (no test scores)."""
    from ..evaluate import flatten_metrics

    by_id = {u["id"]: u for u in p["units"]["clf"]}

    def result(u, base):
        d = Path(u.get("dir", "/nonexistent"))
        if u["status"] == "not run":
            return {**base, "status": "not run", "reason": u["reason"]}
        if (d / "FAILED.json").is_file():
            return {**base, "status": "not run", "reason": json.loads((d / "FAILED.json").read_text())["reason"]}
        if (d / "metrics.json").is_file():
            m = json.loads((d / "metrics.json").read_text())
            wall = json.loads((d / "wall.json").read_text()) if (d / "wall.json").is_file() else {}
            return {**base, "status": "done", "reason": "", **flatten_metrics(m),
                    "epochs_run": m.get("epochs_run", ""), "best_epoch": m.get("best_epoch", ""),
                    "steps": m.get("steps", ""), "images_seen": m.get("images_seen", ""),
                    "threads": wall.get("threads", "")}
        return {**base, "status": "pending", "reason": "not finished yet"}

    rows = []
    for u in p["units"]["clf"]:
        if u.get("candidate"):
            continue  # reported through its select: val row
        base = {"row": u["row"], "augment": u["augment"], "generator": u.get("generator") or "",
                "ratio": "" if u.get("ratio") is None else u["ratio"],
                "alpha": "" if u.get("alpha") is None else u["alpha"], "seed": u["seed"], "unit": u["id"]}
        rows.append(result(u, base))
    cand_rows = []
    for sel in p.get("select", []):
        cands = [{**c, "dir": by_id[c["unit"]]["dir"]} for c in sel["candidates"] if c.get("unit")]
        missing = [c for c in sel["candidates"] if not c.get("unit")]
        # a candidate that could not run (planned so, or its training failed): the row cannot be chosen
        why_not = [by_id[c["unit"]]["reason"] if by_id[c["unit"]]["status"] == "not run"
                   else failure(by_id[c["unit"]]) for c in cands]
        why_not = [w for w in why_not if w]
        chosen = None
        base = {"row": sel["row"], "augment": "", "generator": sel.get("generator") or "", "ratio": "", "alpha": "",
                "seed": sel["seed"], "unit": ""}
        if missing or why_not:
            why = missing[0]["reason"] if missing else why_not[0]
            rows.append({**base, "status": "not run", "reason": f"a candidate could not run: {why}"})
        else:
            chosen = choose_on_validation(cands)
            if chosen is None:
                rows.append({**base, "status": "pending", "reason": "not every candidate has finished"})
            else:
                st = chosen["settings"]
                u = by_id[chosen["unit"]]
                base.update(augment=st["augment"], ratio=st.get("ratio", ""), alpha=st.get("alpha", ""),
                            unit=u["id"])
                rows.append({**result({**u, "status": "planned"}, base), "chosen": chosen["label"]})
        for c in sel["candidates"]:
            v = best_validation(by_id[c["unit"]]["dir"]) if c.get("unit") else None
            cand_rows.append({"row": sel["row"], "seed": sel["seed"], "candidate": c["label"],
                              "unit": c.get("unit") or "", "val_f1_macro": "" if v is None else v["f1_macro"],
                              "val_loss": "" if v is None else v["loss"],
                              "chosen": int(chosen is not None and c["label"] == chosen["label"])})
    if cand_rows:
        with open(exp / "candidates.csv", "w", newline="") as f:
            w = csv.DictWriter(f, fieldnames=list(cand_rows[0]))
            w.writeheader()
            w.writerows(cand_rows)
    keys = list(dict.fromkeys(k for r in rows for k in r))
    path = exp / "results.csv"
    tmp = path.with_suffix(".csv.tmp")
    with open(tmp, "w", newline="") as f:
        w = csv.DictWriter(f, fieldnames=keys)
        w.writeheader()
        w.writerows(rows)
    tmp.replace(path)
    # wall times vary run to run, so they live beside results.csv, not in it
    with open(exp / "timings.csv", "w", newline="") as f:
        w = csv.writer(f)
        w.writerow(["unit", "kind", "wall_s"])
        for u in [*p["units"]["gen"].values(), *p["units"]["synth"].values(), *p["units"]["clf"],
                  *p["units"].get("audit", {}).values()]:
            wf = Path(u.get("dir", "/nonexistent")) / "wall.json"
            if wf.is_file():
                w.writerow([u["id"], u["kind"], round(json.loads(wf.read_text())["wall_s"], 1)])
    (exp / "plan.json").write_text(json.dumps({"rows": p["rows"], "unavailable": p["unavailable"],
                                               "units": p["units"], "budget": p.get("budget"),
                                               "replicate": p.get("replicate", "classifier"),
                                               "select": p.get("select", []), "notes": p.get("notes", [])},
                                              indent=2, default=str))
    return path
