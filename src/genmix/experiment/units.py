"""One unit of an experiment, run in this process: the worker entry point and what it needs.

A unit (a dict from :func:`genmix.experiment.run.plan`) is a generator training, a synthesis, an audit or a
classifier run, in its own folder; ``is_done`` and ``failure`` read that folder, ``execute_unit`` fills it."""

from __future__ import annotations

import json
import os
import time
from pathlib import Path
from typing import TYPE_CHECKING

from ..errors import GenmixError, UnavailableInput

if TYPE_CHECKING:
    from .typed import Unit

_DATA_CACHE: dict = {}


def cached_dataset(spec, root, size, channels):
    from ..data import load_dataset

    key = (spec, str(root), size, channels)
    if key not in _DATA_CACHE:
        _DATA_CACHE[key] = load_dataset(spec, root, size, channels)
    return _DATA_CACHE[key]


def data_fingerprint(ds) -> str:
    import hashlib

    h = hashlib.sha256()
    for name in sorted(ds.splits):
        h.update(ds[name].images.numpy().tobytes())
        h.update(ds[name].labels.numpy().tobytes())
    h.update("|".join(ds.class_names).encode())
    return h.hexdigest()[:16]


# the file whose presence marks a finished generator, synthesis and classifier unit (also read by reuse.py)
FINISHED = {"gen": "model.safetensors", "synth": "synth.json", "clf": "metrics.json"}


def is_done(unit: Unit) -> bool:
    d = Path(unit["dir"])
    if (d / "FAILED.json").is_file():  # a unit that failed on its input is finished: its dependants are not run,
        return not retry_wanted(d)           # unless the input was only unavailable (retried on the next run)
    if unit["kind"] in ("gen", "synth"):
        return (d / FINISHED[unit["kind"]]).is_file()
    if unit["kind"].startswith("audit"):
        from ..audit.experiment import audit_unit_done

        return audit_unit_done(unit)
    if unit["kind"] == "rung":
        return (d / "rung.json").is_file()
    if unit["kind"] == "halving":
        return (d / "decision.json").is_file()
    if (d / "STOPPED.json").is_file():  # stopped by successive halving: done while the same decision gates it
        from .halving import stopped_by

        return stopped_by(unit) is not None
    return (d / FINISHED["clf"]).is_file()


def retry_wanted(d: Path) -> bool:
    return bool(json.loads((d / "FAILED.json").read_text()).get("retry"))


def write_failure(work: Path, exc: GenmixError):
    work.mkdir(parents=True, exist_ok=True)
    (work / "FAILED.json").write_text(json.dumps({"reason": str(exc), "retry": isinstance(exc, UnavailableInput)}))


def finish(work: Path, d: Path):
    if work != d:
        work.rename(d)


def execute_unit(unit: Unit, threads: int | None = None, progress: bool = False) -> dict:
    """Run one unit in this process (the worker entry point); its wall time, torch threads, device and
    precision go to ``wall.json`` (added to an earlier attempt's)."""
    import torch

    from ..device import choose_device
    from ..precision import Precision

    if threads:
        torch.set_num_threads(threads)
    device = choose_device(os.environ.get("GENMIX_DEVICE"))
    prec = Precision(os.environ.get("GENMIX_PRECISION"), device)
    t0 = time.perf_counter()
    d = Path(unit["dir"])
    if (d / "FAILED.json").is_file() and retry_wanted(d):  # a missing model that may be there now: start afresh
        import shutil

        shutil.rmtree(d)
    kind = "audit" if unit["kind"].startswith("audit") else unit["kind"]
    used = RUNNERS[kind](unit, d, device, prec, progress)
    wall = time.perf_counter() - t0
    wf = d / "wall.json"
    prev = json.loads(wf.read_text())["wall_s"] if wf.is_file() else 0.0
    if d.is_dir():  # the torch threads, device and precision the unit ran with: the results depend on them
        wf.write_text(json.dumps({"wall_s": prev + wall, "threads": torch.get_num_threads(), "device": str(device),
                                  "precision": used}))
    return {"id": unit["id"], "wall_s": wall}


def work_dir(d: Path) -> Path:
    """Generator and classifier units are written into ``<dir>.partial`` and renamed when finished (a killed
    unit resumes from its .partial); an unfinished ``<dir>`` of an older genmix resumes in place."""
    return d if d.is_dir() else d.with_name(d.name + ".partial")


def unit_data(unit: dict):
    data = unit["data"]
    return cached_dataset(data["spec"], data["root"], data["size"], data["channels"])


def run_generator(unit, d, device, prec, progress) -> str:
    from ..generate import generator_class
    from ..generate.fit import train_generator

    work = work_dir(d)
    try:
        train_generator(unit_data(unit), unit["generator"], unit["config"], work, device, progress=progress,
                        precision=prec)
    except GenmixError as exc:
        write_failure(work, exc)
    finish(work, d)
    return prec.for_generators().name if generator_class(unit["generator"]).mixed_precision else "fp32"


def run_audit(unit, d, device, prec, progress) -> str:  # written in place: recomputed whole when unfinished
    from ..audit.experiment import execute_audit_unit

    try:
        execute_audit_unit(unit, unit_data(unit), device, progress)
    except GenmixError as exc:
        write_failure(d, exc)
    return "fp32"


def run_synthesis(unit, d, device, prec, progress) -> str:
    from ..generate.synthesize import synthesize

    try:
        synthesize(unit["gen_dir"], d, ratio=unit["ratio"], balance=unit["balance"], seed=unit["seed"],
                   device=device, progress=progress, sample_kwargs=unit.get("sample") or None)
    except GenmixError as exc:
        write_failure(d, exc)
    return "fp32"


def run_classifier(unit, d, device, prec, progress, stop_after: int | None = None) -> str:
    """A classifier run; a candidate gated by successive halving resumes from its rung when promoted and
    writes STOPPED.json when not (genmix.experiment.halving)."""
    from ..classify.train import TrainConfig, train_classifier

    if stop_after is None:
        from .halving import gate

        if gate(unit, d) == "stopped":
            return prec.name
    work = work_dir(d)
    try:
        train_classifier(unit_data(unit), TrainConfig.from_dict(unit["train_config"]), work, device,
                         progress=progress, precision=prec, stop_after=stop_after)
    except GenmixError as exc:  # e.g. training diverged: reported as not run, the rest of the grid goes on
        write_failure(work, exc)
    if stop_after is not None and not (work / "FAILED.json").is_file():
        (work / "rung.json").write_text(json.dumps({"validations": stop_after}))
    finish(work, d)
    return prec.name


def run_rung(unit, d, device, prec, progress) -> str:
    """A candidate's first ``stop_after`` validations, its resume checkpoint kept (genmix.experiment.halving)."""
    return run_classifier(unit, d, device, prec, progress, stop_after=unit["stop_after"])


def run_decision(unit, d, device, prec, progress) -> str:
    from .halving import decide

    decide(unit)
    return "fp32"


RUNNERS = {"gen": run_generator, "audit": run_audit, "synth": run_synthesis, "clf": run_classifier,
           "rung": run_rung, "halving": run_decision}


def failure(unit: Unit) -> str | None:
    f = Path(unit["dir"]) / "FAILED.json"
    return json.loads(f.read_text())["reason"] if f.is_file() else None
