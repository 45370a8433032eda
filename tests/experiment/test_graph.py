"""The task-graph scheduler: dependency order, local worker processes, kill -9 and rerun."""

import csv
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
import yaml

from genmix.experiment.config import load_config
from genmix.experiment.graph import TaskGraph, dependencies, run_graph
from genmix.experiment.run import run_experiment

SRC = Path(__file__).resolve().parents[2] / "src"
TINY = {
    "data": "simulated:fll@16",
    "seeds": [0],
    "classifier": {"model": "smallcnn", "epochs": 2, "batch_size": 64, "lr": 0.003, "patience": 5},
    "generators": {"dcgan": {"preset": "quick", "steps": 40, "checkpoint_every": 10, "batch_size": 32,
                             "ngf": 8, "ndf": 8, "nz": 16}},
    "rows": ["baseline", "genmix:dcgan"],
    "audit": False,  # the audit inside genmix run is tested in test_report_html.py
}


def _config(tmp_path, **over):
    p = tmp_path / "tiny.yaml"
    p.write_text(yaml.safe_dump({**TINY, **over}))
    return p


@pytest.fixture(scope="module")
def reference(tmp_path_factory):
    """The uninterrupted serial run every other run must reproduce byte for byte."""
    tmp = tmp_path_factory.mktemp("ref")
    cfg = _config(tmp)
    ran = run_experiment(load_config(cfg), tmp / "exp", progress=False, cpus_per_unit=1)
    assert len(ran) == 4
    return tmp / "exp", cfg


# --- the scheduler on made-up units (no training): order is decided by dependencies -------------

def _units():
    return [{"kind": "gen", "id": "gen-a", "dir": "a"}, {"kind": "gen", "id": "gen-b", "dir": "b"},
            {"kind": "synth", "id": "synth-a", "gen": "gen-a", "dir": "sa"},
            {"kind": "synth", "id": "synth-b", "gen": "gen-b", "dir": "sb"},
            {"kind": "clf", "id": "clf-real", "dir": "cr", "status": "planned"},
            {"kind": "clf", "id": "clf-a", "synth": "synth-a", "dir": "ca", "status": "planned"},
            {"kind": "clf", "id": "clf-b", "synth": "synth-b", "dir": "cb", "status": "planned"},
            {"kind": "audit", "id": "audit-a", "deps": ["synth-a", "clf-a"], "dir": "aa"}]


class ScriptedBackend:
    """Runs `capacity` units 'at once' and finishes them in the order the test scripts."""

    def __init__(self, capacity, finish_first=()):
        self.capacity, self.finish_first, self.events = capacity, list(finish_first), []

    def submit(self, execute, unit, exp):
        self.events.append(("start", unit["id"]))
        return unit["id"]

    def wait(self, handles):
        pick = next((h for h in self.finish_first if h in handles), handles[0])
        self.events.append(("finish", pick))
        return [(pick, None)]

    def close(self, cancel=False):
        pass


def _run(tmp_path, backend, schedule="graph", failed=lambda u: None, done=lambda u: False):
    skipped = {}
    ran = run_graph(_units(), tmp_path, backend, None, done, failed,
                    lambda u, f, r: skipped.setdefault(u["id"], (f["id"], r)), progress=False, schedule=schedule)
    return ran, skipped


def test_edges_come_from_any_field_naming_a_unit_and_from_deps():
    ids = {u["id"] for u in _units()}
    deps = {u["id"]: dependencies(u, ids) for u in _units()}
    assert deps["clf-a"] == ["synth-a"] and deps["synth-b"] == ["gen-b"] and deps["clf-real"] == []
    assert deps["audit-a"] == ["synth-a", "clf-a"]
    g = TaskGraph(_units())
    assert g.ready() == ["gen-a", "gen-b", "clf-real"]  # longest chains first, real-only rows at once
    g.start("gen-a"), g.finish("gen-a")
    assert g.ready() == ["gen-b", "synth-a", "clf-real"]  # ties in plan order
    with pytest.raises(ValueError, match="cycle"):
        TaskGraph([{"id": "x", "deps": ["y"]}, {"id": "y", "deps": ["x"]}])


def test_a_real_only_row_finishes_before_the_generator_and_rows_follow_their_own_synthesis(tmp_path):
    b = ScriptedBackend(2, finish_first=["clf-real", "gen-b", "synth-b", "clf-b"])
    ran, _ = _run(tmp_path, b)
    order = [u for e, u in b.events if e == "finish"]
    assert order.index("clf-real") < order.index("gen-a")
    # gen-b's classifier row runs before gen-a's synthesis even started: no stage barrier
    assert order.index("clf-b") < order.index("synth-a")
    starts = [u for e, u in b.events if e == "start"]
    for u in _units():
        for d in dependencies(u, {x["id"] for x in _units()}):
            assert order.index(d) < starts.index(u["id"])  # nothing starts before what it needs
    assert sorted(ran) == sorted(u["id"] for u in _units())
    log = (tmp_path / "units.log").read_text().split()
    assert [w for w in log if w != "ran"] == order


def test_stages_schedule_keeps_the_old_barriers(tmp_path):
    b = ScriptedBackend(2, finish_first=["clf-real", "gen-b"])
    _run(tmp_path, b, schedule="stages")
    starts = [u for e, u in b.events if e == "start"]
    assert starts[:2] == ["gen-a", "gen-b"] and starts.index("clf-real") > starts.index("synth-b")


def test_a_failed_generator_marks_its_dependants_not_run_and_the_rest_still_runs(tmp_path):
    ran, skipped = _run(tmp_path, ScriptedBackend(1), failed=lambda u: "diverged" if u["id"] == "gen-a" else None)
    assert set(skipped) == {"synth-a", "clf-a", "audit-a"} and skipped["clf-a"] == ("gen-a", "diverged")
    assert set(ran) == {"gen-a", "gen-b", "synth-b", "clf-b", "clf-real"}
    # finished units on disk are reused, also a generator that failed before
    b = ScriptedBackend(1)
    ran, skipped = _run(tmp_path, b, failed=lambda u: "diverged" if u["id"] == "gen-a" else None,
                        done=lambda u: u["kind"] == "gen")
    assert set(ran) == {"synth-b", "clf-b", "clf-real"} and "clf-a" in skipped


# --- real units ------------------------------------------------------------------------------

def test_two_worker_processes_give_byte_identical_results(reference, tmp_path):
    exp_ref, cfg = reference
    events = []
    ran = run_experiment(load_config(cfg), tmp_path / "exp", workers=2, progress=False, cpus_per_unit=1,
                         hook=lambda e, u: events.append((e, u)))
    assert len(ran) == 4
    assert (tmp_path / "exp" / "results.csv").read_bytes() == (exp_ref / "results.csv").read_bytes()
    # the real-only row was handed to a worker together with the generator, not after it
    assert [u.split("-")[0] for e, u in events[:2]] == ["gen", "clf"] and "baseline" in events[1][1]
    starts = [l.split()[1] for l in (tmp_path / "exp" / "units.log").read_text().splitlines()
              if l.startswith("start")]
    assert sorted(starts) == sorted(ran)


def _wait_for(cond, proc, timeout=120):
    t0 = time.time()
    while not cond():
        if proc.poll() is not None:
            raise AssertionError(f"genmix run ended (rc {proc.returncode}) before the awaited moment")
        if time.time() - t0 > timeout:
            raise AssertionError("timed out waiting")
        time.sleep(0.02)


def _started(exp, prefix):
    log = exp / "units.log"
    if not log.is_file():
        return None
    for line in log.read_text().splitlines():
        if line.startswith(f"start {prefix}"):
            return exp / "units" / line.split()[1]
    return None


def _partial(d):
    """Where a unit is being written: ``<dir>.partial`` until it is finished and renamed to ``<dir>``."""
    return d.with_name(d.name + ".partial")


def _has(d, name):
    """``name`` in the unit's folder, finished (``<dir>``) or in progress (``<dir>.partial``)."""
    return d is not None and ((d / name).is_file() or (_partial(d) / name).is_file())


def test_kill_9_in_every_stage_and_rerun_give_identical_results(reference, tmp_path):
    exp_ref, cfg = reference
    exp = tmp_path / "exp"
    env = {**os.environ, "PYTHONPATH": f"{SRC}{os.pathsep}{os.environ.get('PYTHONPATH', '')}",
           "GENMIX_CHECKPOINT_EVERY_S": "0"}  # a checkpoint after every validation, so a kill can land mid-unit
    cmd = [sys.executable, "-m", "genmix", "run", str(cfg), "--out", str(exp), "--quiet", "--no-figures",
           "--backend", "local", "--workers", "1", "--schedule", "graph", "--cpus-per-unit", "1"]

    def mid_gen():
        return _has(_started(exp, "gen-"), "checkpoint.safetensors")

    def mid_synth():
        return _started(exp, "synth-") is not None

    def mid_clf():
        return _has(_started(exp, "clf-"), "checkpoint.safetensors")

    killed = []
    for stage, cond in (("gen", mid_gen), ("synth", mid_synth), ("clf", mid_clf)):
        if exp.exists():
            (exp / "units.log").unlink()
        proc = subprocess.Popen(cmd, env=env, start_new_session=True, stdout=subprocess.DEVNULL,
                                stderr=subprocess.PIPE)
        try:
            _wait_for(cond, proc)
            os.killpg(proc.pid, signal.SIGKILL)
        finally:
            proc.wait()
        assert proc.returncode == -signal.SIGKILL
        unit = _started(exp, f"{stage}-")
        final = {"gen": "model.safetensors", "synth": "synth.json", "clf": "metrics.json"}[stage]
        killed.append((stage, (unit / final).is_file()))
        if stage != "synth":  # killed after its first checkpoint: the rerun resumes from <dir>.partial
            assert (_partial(unit) / "checkpoint.safetensors").is_file() and not unit.exists()
        assert not (exp / "results.csv").exists()
    assert killed == [("gen", False), ("synth", False), ("clf", False)]  # each kill hit an unfinished unit
    done = subprocess.run(cmd, env=env, capture_output=True, text=True)
    assert done.returncode == 0, done.stderr
    assert (exp / "results.csv").read_bytes() == (exp_ref / "results.csv").read_bytes()


def test_kill_9_during_the_audit_and_rerun_give_identical_results(tmp_path):
    """The fourth stage: genmix run killed while a synthetic set is being audited; the rerun recomputes
    that audit whole (it is written in place, finished by its audit.json) and gives the uninterrupted
    run's results.csv and audit.csv byte for byte."""
    cfg = _config(tmp_path, audit={"samples_per_class": 8, "epochs": 1})
    ref = tmp_path / "ref"
    run_experiment(load_config(cfg), ref, progress=False, cpus_per_unit=1)
    exp = tmp_path / "exp"
    env = {**os.environ, "PYTHONPATH": f"{SRC}{os.pathsep}{os.environ.get('PYTHONPATH', '')}"}
    cmd = [sys.executable, "-m", "genmix", "run", str(cfg), "--out", str(exp), "--quiet", "--no-figures",
           "--backend", "local", "--workers", "1", "--schedule", "graph", "--cpus-per-unit", "1"]
    proc = subprocess.Popen(cmd, env=env, start_new_session=True, stdout=subprocess.DEVNULL,
                            stderr=subprocess.PIPE)
    try:
        _wait_for(lambda: _started(exp, "audit-synth") is not None, proc)
        os.killpg(proc.pid, signal.SIGKILL)
    finally:
        proc.wait()
    assert proc.returncode == -signal.SIGKILL
    assert not (_started(exp, "audit-synth") / "audit.json").is_file()  # the kill hit an unfinished audit
    assert not (exp / "results.csv").exists() and not (exp / "audit.csv").exists()
    done = subprocess.run(cmd, env=env, capture_output=True, text=True)
    assert done.returncode == 0, done.stderr
    for f in ("results.csv", "audit.csv"):
        assert (exp / f).read_bytes() == (ref / f).read_bytes(), f


def test_a_failing_classifier_run_is_reported_not_run_and_the_grid_still_finishes(tmp_path, monkeypatch):
    """A unit that fails on its input (e.g. training diverged) is one 'not run' row with the reason;
    every other row is still trained and results.csv is written; a rerun does not retry it."""
    import csv

    from genmix.classify import train
    from genmix.errors import GenmixError

    real = train.train_classifier

    def diverges_for_genmix(ds, cfg, out, device, progress=False, **kw):
        if cfg.augment == "genmix":
            raise GenmixError("training diverged (loss nan at step 3)")
        return real(ds, cfg, out, device, progress=progress, **kw)

    monkeypatch.setattr(train, "train_classifier", diverges_for_genmix)
    cfg = load_config(_config(tmp_path, generators={"dcgan": {**TINY["generators"]["dcgan"], "steps": 10}}))
    run_experiment(cfg, tmp_path / "exp", progress=False, cpus_per_unit=1)
    rows = {r["row"]: r for r in csv.DictReader(open(tmp_path / "exp" / "results.csv"))}
    assert rows["Baseline"]["status"] == "done"
    assert rows["GenMix (DCGAN)"]["status"] == "not run"
    assert "training diverged" in rows["GenMix (DCGAN)"]["reason"]
    assert run_experiment(cfg, tmp_path / "exp", progress=False, cpus_per_unit=1) == []  # failed unit is finished


DRIVER = """
import sys, time
from pathlib import Path
from genmix.experiment.graph import LocalBackend, run_graph

def slow(unit, threads, progress):
    time.sleep(300)

if __name__ == "__main__":
    exp = Path(sys.argv[1])
    units = [{"kind": "clf", "id": f"clf-{i}", "dir": str(exp / str(i))} for i in range(2)]
    run_graph(units, exp, LocalBackend(2, threads=1), slow, lambda u: False, lambda u: None, lambda *a: None,
              progress=False)
"""


def _alive(pid: int) -> bool:
    try:
        state = Path(f"/proc/{pid}/status").read_text()
    except OSError:
        return False
    return "State:\tZ" not in state  # a zombie has exited (its new parent has not reaped it yet)


@pytest.mark.skipif(not Path("/proc").is_dir(), reason="reads /proc")
def test_worker_processes_exit_when_the_driver_is_killed(tmp_path):
    """kill -9 of the driver alone (not its process group): its workers stop within seconds instead of
    finishing their units beside a rerun that would run the same units."""
    script = tmp_path / "driver.py"
    script.write_text(DRIVER)
    exp = tmp_path / "exp"
    exp.mkdir()
    env = {**os.environ, "PYTHONPATH": f"{SRC}{os.pathsep}{os.environ.get('PYTHONPATH', '')}"}
    proc = subprocess.Popen([sys.executable, str(script), str(exp)], env=env, start_new_session=True)
    pids = []
    try:
        deadline = time.time() + 120
        while len(pids) < 2 and time.time() < deadline and proc.poll() is None:
            time.sleep(0.2)
            log = exp / "units.log"
            lines = log.read_text().splitlines() if log.is_file() else []
            pids = [int(line.rsplit("pid=", 1)[1]) for line in lines if line.startswith("start ")]
        assert len(pids) == 2, "the two workers did not start"
        assert all(_alive(p) for p in pids)
        os.kill(proc.pid, signal.SIGKILL)  # the driver only
        proc.wait()
        deadline = time.time() + 20
        while any(_alive(p) for p in pids) and time.time() < deadline:
            time.sleep(0.2)
        assert not any(_alive(p) for p in pids), "a worker outlived its driver"
    finally:
        for p in [proc.pid, *pids]:
            try:
                os.kill(p, signal.SIGKILL)
            except OSError:
                pass


def test_default_threads_do_not_depend_on_workers_or_backend(tmp_path):
    # default flags: 1 and 2 local workers (and Ray, tests/experiment/test_ray.py) give the same bytes, and each
    # unit records the threads it ran with
    from genmix.experiment.graph import DEFAULT_THREADS

    cfg = tmp_path / "tiny.yaml"
    cfg.write_text(yaml.safe_dump(TINY))
    outs = []
    for workers in (1, 2):
        exp = tmp_path / f"w{workers}"
        run_experiment(load_config(cfg), exp, workers=workers, progress=False)
        outs.append((exp / "results.csv").read_bytes())
        with open(exp / "results.csv") as f:
            assert {r["threads"] for r in csv.DictReader(f)} == {str(DEFAULT_THREADS)}
    assert outs[0] == outs[1]
