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
from typing import TYPE_CHECKING

from ..errors import GenmixError
from .halving import rung_score, stopped
from .planner import plan
from .selection import best_validation, choose_on_validation
from .units import cached_dataset, execute_unit, failure, is_done

if TYPE_CHECKING:
    from .typed import ExperimentConfig

__all__ = ["plan", "run_experiment", "write_results"]


def run_experiment(cfg: ExperimentConfig, exp_dir, seeds=None, workers: int = 1, progress: bool = True,
                   stop_after_units: int | None = None, backend: str = "local", address: str | None = None,
                   schedule: str = "graph", cpus_per_unit: int | None = None, hook=None, device: str | None = None,
                   precision: str | None = None, units_per_gpu: int = 1, reuse=()) -> list[str]:
    """Run (or resume) everything the config asks for; returns the ids of units executed now.
    ``reuse``: other experiment folders whose finished units with the same content are linked in, not rerun
    (:mod:`genmix.experiment.reuse`).

    Units run as a task graph (see :mod:`genmix.experiment.graph`): each starts once the units it
    depends on are finished. ``backend``: "local" (``workers`` processes on this machine) or
    "ray" (a Ray cluster at ``address``, or a local one with ``workers`` CPUs). ``device`` / ``precision`` /
    ``units_per_gpu``: where and how units train (the GPU path; see :class:`genmix.experiment.graph.LocalBackend`
    and :mod:`genmix.precision`); each unit records its device and precision in results.csv."""
    from .graph import flatten_units, run_graph

    exp = Path(exp_dir)
    seeds = seeds if seeds is not None else cfg["seeds"]
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
    from .reuse import link_reused, reusable

    pool = reusable(reuse)  # checked before anything is written
    for note in p["notes"]:
        print(f"genmix: note: {note}", file=sys.stderr, flush=True)
    runner = make_backend(backend, workers, address, cpus_per_unit, device, precision, units_per_gpu)
    exp.mkdir(parents=True, exist_ok=True)
    (exp / "config.json").write_text(json.dumps({k: v for k, v in cfg.items() if not k.startswith("_")},
                                                indent=2, default=str))
    from ..data import write_split_manifest

    write_split_manifest(ds, exp / "split_manifest.csv")  # the split every unit used, for audit

    def skip(unit, failed_unit, reason):
        who = f"generator {failed_unit['generator']}" if failed_unit.get("kind") == "gen" else failed_unit["id"]
        unit.update(status="not run", reason=f"{who} failed: {reason}")

    units = [u for u in flatten_units(p["units"]) if u.get("status") != "not run" and "dir" in u]
    link_reused(units, pool, exp)
    executed = run_graph(units, exp, runner, execute_unit, is_done, failure, skip, progress=progress,
                         stop_after_units=stop_after_units, schedule=schedule, hook=hook)
    from ..audit.experiment import audit_experiment

    audit_experiment(cfg, exp, p)  # the synthetic-data audits finished so far, in audit.csv / audit.md
    write_results(exp, p)
    return executed


def make_backend(backend: str, workers: int, address, cpus_per_unit, device, precision, units_per_gpu):
    """The local worker pool or the Ray backend, with the unit threads, device and precision they give units."""
    if backend not in ("local", "ray"):
        raise GenmixError(f"backend must be 'local' or 'ray', not {backend!r}")
    if backend == "ray":
        from .ray_backend import RayBackend

        return RayBackend(address=address, workers=workers, cpus_per_unit=cpus_per_unit, device=device,
                          precision=precision, units_per_gpu=units_per_gpu)
    from .graph import LocalBackend

    return LocalBackend(workers, threads=cpus_per_unit, device=device, precision=precision,
                        units_per_gpu=units_per_gpu)


def write_results(exp: Path, p: dict) -> Path:
    """results.csv: one row per classifier run of each table row (finished or not run), every metric flattened,
    with its optimizer ``steps`` and ``images_seen``; a ``select: val`` row has, per seed, the test metrics of
    the candidate chosen on validation and its settings (``chosen``). candidates.csv: every candidate's
    validation scores and whether it was chosen (no test scores). Also timings.csv and plan.json."""
    by_id = {u["id"]: u for u in p["units"]["clf"]}
    rows = [result_row(u, {"row": u["row"], "augment": u["augment"], "generator": u.get("generator") or "",
                           "ratio": "" if u.get("ratio") is None else u["ratio"],
                           "alpha": "" if u.get("alpha") is None else u["alpha"], "seed": u["seed"], "unit": u["id"]})
            for u in p["units"]["clf"] if not u.get("candidate")]  # a candidate is reported through its row
    cand_rows = []
    for sel in p.get("select", []):
        row, cands = selected_row(sel, by_id)
        rows.append(row)
        cand_rows += cands
    if cand_rows:
        write_csv(exp / "candidates.csv", cand_rows)
    path = write_csv(exp / "results.csv", rows)
    write_timings(exp / "timings.csv", p["units"])
    (exp / "plan.json").write_text(json.dumps({"rows": p["rows"], "unavailable": p["unavailable"],
                                               "units": p["units"], "budget": p.get("budget"),
                                               "replicate": p.get("replicate", "classifier"),
                                               "select": p.get("select", []), "notes": p.get("notes", [])},
                                              indent=2, default=str))
    return path


def result_row(u: dict, base: dict) -> dict:
    """One classifier unit's row of results.csv: ``base`` plus its status and, when done, its test metrics."""
    from ..evaluate import flatten_metrics

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
                "threads": wall.get("threads", ""), "device": wall.get("device", ""),
                "precision": wall.get("precision", "")}
    return {**base, "status": "pending", "reason": "not finished yet"}


def selected_row(sel: dict, by_id: dict) -> tuple[dict, list[dict]]:
    """A ``select: val`` row for one seed (the candidate chosen on validation, with its test metrics) and
    its candidates' rows of candidates.csv (validation scores only)."""
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
        row = {**base, "status": "not run", "reason": f"a candidate could not run: {missing[0]['reason'] if missing else why_not[0]}"}
    else:
        # successive halving: the candidates it stopped at their rung are not chosen from
        chosen = choose_on_validation([c for c in cands if not stopped(c["dir"])])
        if chosen is None:
            row = {**base, "status": "pending", "reason": "not every candidate has finished"}
        else:
            st = chosen["settings"]
            u = by_id[chosen["unit"]]
            base.update(augment=st["augment"], ratio=st.get("ratio", ""), alpha=st.get("alpha", ""), unit=u["id"])
            row = {**result_row({**u, "status": "planned"}, base), "chosen": chosen["label"]}
    cand_rows = []
    h = sel.get("halving")
    for c in sel["candidates"]:
        v = best_validation(by_id[c["unit"]]["dir"]) if c.get("unit") else None
        r = {"row": sel["row"], "seed": sel["seed"], "candidate": c["label"], "unit": c.get("unit") or "",
             "val_f1_macro": "" if v is None else v["f1_macro"], "val_loss": "" if v is None else v["loss"],
             "chosen": int(chosen is not None and c["label"] == chosen["label"])}
        if h and c.get("unit"):  # its score at the rung and whether it went on
            u = by_id[c["unit"]]
            rs = rung_score(Path(u["dir"]).parent / u["rung"] if u.get("rung") else u["dir"], h["validations"])
            r.update(rung=f"{h['validations']}/{h['of']}", rung_val_f1_macro="" if rs is None else rs[0],
                     stopped_at_rung=int(stopped(u["dir"]) is not None))
        cand_rows.append(r)
    return row, cand_rows


def write_csv(path: Path, rows: list[dict]) -> Path:
    """``rows`` (dicts; columns in order of first appearance) to ``path``, atomically."""
    keys = list(dict.fromkeys(k for r in rows for k in r))
    tmp = path.with_suffix(".csv.tmp")
    with open(tmp, "w", newline="") as f:
        w = csv.DictWriter(f, fieldnames=keys)
        w.writeheader()
        w.writerows(rows)
    tmp.replace(path)
    return path


def write_timings(path: Path, units: dict) -> None:
    """Each finished unit's wall time: beside results.csv, not in it (wall times vary run to run)."""
    with open(path, "w", newline="") as f:
        w = csv.writer(f)
        w.writerow(["unit", "kind", "wall_s"])
        for u in [*units["gen"].values(), *units["synth"].values(), *units["clf"], *units.get("halving", []),
                  *units.get("audit", {}).values()]:
            wf = Path(u.get("dir", "/nonexistent")) / "wall.json"
            if wf.is_file():
                w.writerow([u["id"], u["kind"], round(json.loads(wf.read_text())["wall_s"], 1)])
