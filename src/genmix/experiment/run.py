"""Run an experiment as cached units: generator trainings, syntheses, classifier runs.

Each unit lives in ``EXP_DIR/units/<kind>-<label>-<hash of its resolved config>/``. A finished
unit is never recomputed; an unfinished one resumes from its own checkpoint. Stages run in
order (generators, then syntheses, then classifiers); inside a stage, units run in parallel
worker processes when ``workers > 1``. ``EXP_DIR/units.log`` records every unit executed.
"""

from __future__ import annotations

import csv
import json
import os
import sys
import time
import traceback
from pathlib import Path

from ..checkpoint import config_hash
from ..errors import GenmixError
from .config import expand_rows

_DATA_CACHE: dict = {}


def _dataset(spec, root, size, channels):
    from ..data import load_dataset

    key = (spec, str(root), size, channels)
    if key not in _DATA_CACHE:
        _DATA_CACHE[key] = load_dataset(spec, root, size, channels)
    return _DATA_CACHE[key]


def plan(cfg: dict, exp_dir: Path, seeds: list[int]) -> dict:
    """Resolve every unit of the experiment (nothing runs here)."""
    from ..classify.train import PRESETS, TrainConfig
    from ..generate.base import GENERATORS, _load_all, resolve_config

    _load_all()
    data = dict(spec=cfg["data"], root=cfg.get("data_root"), size=cfg.get("image_size"), channels=cfg.get("channels"))
    ds = _dataset(data["spec"], data["root"], data["size"], data["channels"])
    # units are keyed by the data's content too, so edited files never reuse stale results
    dkey = {**{k: v for k, v in data.items() if k != "root"}, "fingerprint": _fingerprint(ds)}
    rows = expand_rows(cfg)
    units = {"gen": {}, "synth": {}, "clf": []}
    unavailable = {}
    syn_defaults = {"ratio": 0.5, "seed": 0, "balance": False, "sample": {}, **cfg.get("synthesis", {})}
    for gname in sorted({r["generator"] for r in rows if r.get("generator")}):
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
        if isinstance(resolved.get("pretrained"), str):  # a genmix-pretrained model never saw the data's source
            from ..pretrain.t2i import check_pretrained

            check_pretrained(resolved["pretrained"], data["spec"], f"{cfg.get('_path', 'config')}: generators.{gname}")
        key = {"generator": gname, "config": resolved, "data": dkey}
        h = config_hash(key)
        units["gen"][gname] = {"kind": "gen", "id": f"gen-{gname}-{h}", "generator": gname, "config": resolved,
                               "data": data, "dir": str(exp_dir / "units" / f"gen-{gname}-{h}"), "synthesis": gsyn}
    for seed in seeds:
        for row in rows:
            unit = {"kind": "clf", "row": row["name"], "augment": row["augment"], "seed": seed,
                    "generator": row.get("generator"), "ratio": row.get("ratio"), "alpha": row.get("alpha")}
            gname = row.get("generator")
            opts = {k: row[k] for k in ("alpha", "per_sample", "ratio", "epoch") if k in row and row[k] is not None}
            if row["augment"] == "mixup":
                opts = {k: row[k] for k in ("alpha", "per_sample") if k in row}
            if gname:
                if gname in unavailable:
                    unit.update(status="not run", reason=unavailable[gname], id=f"clf-{_slug(row['name'])}-s{seed}")
                    units["clf"].append(unit)
                    continue
                g = units["gen"][gname]
                balance = bool(row.get("balance", g["synthesis"]["balance"]))
                ratio = row.get("ratio", 0.5)
                skey = {"gen": g["id"], "ratio": ratio, "balance": balance, "seed": g["synthesis"]["seed"],
                        "sample": g["synthesis"].get("sample", {})}
                sh = config_hash(skey)
                sid = f"synth-{gname}-{sh}"
                units["synth"].setdefault(sid, {"kind": "synth", "id": sid, "gen": g["id"], "gen_dir": g["dir"],
                                                "generator": gname, **skey, "dir": str(exp_dir / "units" / sid)})
                opts["synthetic"] = units["synth"][sid]["dir"]
                if balance:
                    opts["ratio"] = "all"
                unit["synth"] = sid
            settings = {**PRESETS[cfg["classifier"].get("preset", "quick")],
                        **{k: v for k, v in cfg["classifier"].items() if k != "preset"}}
            tc = TrainConfig.from_dict({**settings, "data": data["spec"], "augment": row["augment"],
                                        "augment_opts": opts, "seed": seed, "image_size": data["size"],
                                        "channels": data["channels"]}).validate()
            from dataclasses import asdict

            tcd = asdict(tc)
            hashed = json.loads(json.dumps(tcd))
            if "synthetic" in opts:
                hashed["augment_opts"]["synthetic"] = unit["synth"]  # hash by content, not by path
            hashed["data_fingerprint"] = dkey["fingerprint"]
            h = config_hash(hashed)
            uid = f"clf-{_slug(row['name'])}-s{seed}-{h}"
            unit.update(id=uid, train_config=tcd, data=data, dir=str(exp_dir / "units" / uid), status="planned")
            units["clf"].append(unit)
    return {"units": units, "unavailable": unavailable, "rows": rows}


def _fingerprint(ds) -> str:
    import hashlib

    h = hashlib.sha256()
    for name in sorted(ds.splits):
        h.update(ds[name].images.numpy().tobytes())
        h.update(ds[name].labels.numpy().tobytes())
    h.update("|".join(ds.class_names).encode())
    return h.hexdigest()[:16]


def _slug(s):
    import re

    return re.sub(r"[^A-Za-z0-9]+", "-", s).strip("-").lower()


def _done(unit) -> bool:
    d = Path(unit["dir"])
    if unit["kind"] == "gen":
        return (d / "model.safetensors").is_file() or (d / "FAILED.json").is_file()
    if unit["kind"] == "synth":
        return (d / "synth.json").is_file()
    return (d / "metrics.json").is_file()


def execute_unit(unit: dict, threads: int | None = None, progress: bool = False) -> dict:
    """Run one unit in this process (the worker entry point)."""
    import torch

    from ..device import choose_device

    if threads:
        torch.set_num_threads(threads)
    device = choose_device(os.environ.get("GENMIX_DEVICE"))
    t0 = time.perf_counter()
    d = Path(unit["dir"])
    if unit["kind"] == "gen":
        from ..generate.fit import train_generator

        data = unit["data"]
        ds = _dataset(data["spec"], data["root"], data["size"], data["channels"])
        try:
            train_generator(ds, unit["generator"], unit["config"], d, device, progress=progress)
        except GenmixError as exc:
            d.mkdir(parents=True, exist_ok=True)
            (d / "FAILED.json").write_text(json.dumps({"reason": str(exc)}))
    elif unit["kind"] == "synth":
        from ..generate.synthesize import synthesize

        synthesize(unit["gen_dir"], d, ratio=unit["ratio"], balance=unit["balance"], seed=unit["seed"],
                   device=device, progress=progress, sample_kwargs=unit.get("sample") or None)
    else:
        from ..classify.train import TrainConfig, train_classifier

        data = unit["data"]
        ds = _dataset(data["spec"], data["root"], data["size"], data["channels"])
        train_classifier(ds, TrainConfig.from_dict(unit["train_config"]), d, device, progress=progress)
    wall = time.perf_counter() - t0
    wf = d / "wall.json"
    prev = json.loads(wf.read_text())["wall_s"] if wf.is_file() else 0.0
    if d.is_dir():
        wf.write_text(json.dumps({"wall_s": prev + wall}))
    return {"id": unit["id"], "wall_s": wall}


def run_experiment(cfg: dict, exp_dir, seeds=None, workers: int = 1, progress: bool = True,
                   stop_after_units: int | None = None) -> list[str]:
    """Run (or resume) everything the config asks for; returns the ids of units executed now."""
    exp = Path(exp_dir)
    seeds = seeds if seeds is not None else cfg["seeds"]
    # check the data once, before anything is written
    _dataset(cfg["data"], cfg.get("data_root"), cfg.get("image_size"), cfg.get("channels"))
    p = plan(cfg, exp, seeds)
    exp.mkdir(parents=True, exist_ok=True)
    (exp / "config.json").write_text(json.dumps({k: v for k, v in cfg.items() if not k.startswith("_")},
                                                indent=2, default=str))
    executed: list[str] = []
    cores = os.cpu_count() or 1
    threads = max(1, cores // max(1, workers))

    def stage(units):
        todo = [u for u in units if not _done(u)]
        for u in units:
            if _done(u):
                _log(exp, f"cached {u['id']}")
        if stop_after_units is not None:
            todo = todo[:max(0, stop_after_units - len(executed))]
        if not todo:
            return
        if workers <= 1 or len(todo) == 1:
            for i, u in enumerate(todo):
                _say(progress, f"[{len(executed) + 1}] {u['id']}")
                execute_unit(u, None, progress)
                executed.append(u["id"])
                _log(exp, f"ran {u['id']}")
        else:
            import multiprocessing as mp
            from concurrent.futures import ProcessPoolExecutor, as_completed

            with ProcessPoolExecutor(max_workers=workers, mp_context=mp.get_context("spawn")) as pool:
                futs = {pool.submit(execute_unit, u, threads, False): u for u in todo}
                for f in as_completed(futs):
                    u = futs[f]
                    f.result()
                    executed.append(u["id"])
                    _log(exp, f"ran {u['id']}")
                    _say(progress, f"[{len(executed)}] done {u['id']}")

    units = p["units"]
    stage(list(units["gen"].values()))
    failed = {g: json.loads((Path(u["dir"]) / "FAILED.json").read_text())["reason"]
              for g, u in units["gen"].items() if (Path(u["dir"]) / "FAILED.json").is_file()}
    synth = [s for s in units["synth"].values() if s["generator"] not in failed]
    if stop_after_units is None or len(executed) < stop_after_units:
        stage(synth)
    runnable = []
    for u in units["clf"]:
        if u["status"] == "not run":
            continue
        if u.get("generator") in failed:
            u.update(status="not run", reason=f"generator {u['generator']} failed: {failed[u['generator']]}")
            continue
        runnable.append(u)
    if stop_after_units is None or len(executed) < stop_after_units:
        stage(runnable)
    write_results(exp, p)
    return executed


def _say(progress, msg):
    if progress:
        print(msg, file=sys.stderr, flush=True)


def _log(exp: Path, line: str):
    with open(exp / "units.log", "a") as f:
        f.write(line + "\n")


def write_results(exp: Path, p: dict) -> Path:
    """results.csv: one row per classifier run (finished or not run), every metric flattened."""
    from ..evaluate import flatten_metrics

    rows = []
    for u in p["units"]["clf"]:
        base = {"row": u["row"], "augment": u["augment"], "generator": u.get("generator") or "",
                "ratio": "" if u.get("ratio") is None else u["ratio"],
                "alpha": "" if u.get("alpha") is None else u["alpha"], "seed": u["seed"], "unit": u["id"]}
        d = Path(u.get("dir", "/nonexistent"))
        if u["status"] == "not run":
            rows.append({**base, "status": "not run", "reason": u["reason"]})
        elif (d / "metrics.json").is_file():
            m = json.loads((d / "metrics.json").read_text())
            rows.append({**base, "status": "done", "reason": "", **flatten_metrics(m),
                         "epochs_run": m.get("epochs_run", ""), "best_epoch": m.get("best_epoch", "")})
        else:
            rows.append({**base, "status": "pending", "reason": "not finished yet"})
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
        for u in [*p["units"]["gen"].values(), *p["units"]["synth"].values(), *p["units"]["clf"]]:
            wf = Path(u.get("dir", "/nonexistent")) / "wall.json"
            if wf.is_file():
                w.writerow([u["id"], u["kind"], round(json.loads(wf.read_text())["wall_s"], 1)])
    (exp / "plan.json").write_text(json.dumps({"rows": p["rows"], "unavailable": p["unavailable"],
                                               "units": p["units"]}, indent=2, default=str))
    return path
