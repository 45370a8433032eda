"""Scheduling benchmarks for `genmix run`.

Default (cheap): the Ray backend's overhead against the local backend on a tiny grid
(simulated 16 px data, smallcnn, a DCGAN of a few steps): the same grid run once with the local
backend (2 worker processes, 1 thread each) and once on a private local Ray cluster (2 CPUs,
1 CPU per unit), each in a fresh EXP_DIR after the driver has loaded the data once, wall times
and their ratio; results.csv must be byte-identical. Ray's start-up (ray.init, which also starts
its worker processes) is timed separately; the local backend's spawn of its worker processes is
inside its run.
Run: python benchmarks/speed/scheduling.py

--config CONFIG --seeds 0,1,2 --workers 2: the task graph against the old stage-by-stage order
(``--schedule stages``) on a real grid, same machine, same run, fresh EXP_DIRs (expensive: two
whole grids). Run: python benchmarks/speed/scheduling.py --config configs/breastmnist.yaml --seeds 0,1,2,3,4

--replay EXP_DIR --workers 2: the same comparison without running the grid twice. A finished grid's
units (plan.json, with their dependencies) and each unit's measured wall time (units/*/wall.json)
go through the real scheduler (genmix.experiment.graph.run_graph, both orders) on a virtual clock
with W workers: each unit takes its measured time. Cheap (no unit runs); it assumes a unit's time
does not depend on what runs beside it, which holds for 1-thread workers on separate cores. A grid with
audit units also gets the order genmix used before 2026-12-01: the graph without them, then the audits
one after another (their measured times summed).
Run: python benchmarks/speed/scheduling.py --replay runs/bench-breastmnist --workers 2
"""

import argparse
import shutil
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from _common import data_root, save  # noqa: E402

TINY = {
    "data": "simulated:fll@16",
    "seeds": [0, 1],
    "classifier": {"model": "smallcnn", "epochs": 2, "batch_size": 64, "lr": 0.003, "patience": 5},
    "generators": {"dcgan": {"preset": "quick", "steps": 20, "batch_size": 32, "ngf": 8, "ndf": 8, "nz": 16}},
    "rows": ["baseline", "mixup", "synthetic:dcgan", "genmix:dcgan"],
}


def _timed(fn):
    t0 = time.perf_counter()
    out = fn()
    return out, time.perf_counter() - t0


def ray_overhead(workers: int):
    import ray
    import yaml

    from genmix.experiment.config import load_config
    from genmix.experiment.run import run_experiment

    tmp = Path(tempfile.mkdtemp(prefix="genmix-sched-"))
    try:
        (tmp / "tiny.yaml").write_text(yaml.safe_dump(TINY))
        cfg = load_config(tmp / "tiny.yaml")
        run_experiment(cfg, tmp / "warm", progress=False, stop_after_units=0)  # data loaded once, for both
        ran_l, local_s = _timed(lambda: run_experiment(cfg, tmp / "local", workers=workers, progress=False,
                                                       cpus_per_unit=1))
        _, init_s = _timed(lambda: ray.init(num_cpus=workers, include_dashboard=False, log_to_driver=False))
        ran_r, ray_s = _timed(lambda: run_experiment(cfg, tmp / "ray", backend="ray", progress=False))
        ray.shutdown()
        same = (tmp / "local" / "results.csv").read_bytes() == (tmp / "ray" / "results.csv").read_bytes()
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    save("speed_scheduling_ray", {
        "benchmark": "Ray backend vs local backend, tiny grid (same run)", "grid": TINY, "units": len(ran_l),
        "workers": workers, "local_s": round(local_s, 2), "ray_s": round(ray_s, 2),
        "ray_init_s": round(init_s, 2), "ratio_ray_over_local": round(ray_s / local_s, 3),
        "ratio_with_init": round((ray_s + init_s) / local_s, 3), "results_identical": same,
        "units_ray": len(ran_r), "command": "python benchmarks/speed/scheduling.py"})


def graph_vs_stages(config: str, seeds: str, workers: int, out: str):
    from genmix.experiment.config import load_config
    from genmix.experiment.run import run_experiment

    cfg = load_config(config)
    cfg.setdefault("data_root", data_root())
    seeds_l = [int(s) for s in seeds.split(",")]
    res = {}
    for schedule in ("graph", "stages"):
        exp = Path(out) / schedule
        shutil.rmtree(exp, ignore_errors=True)
        _, res[schedule] = _timed(lambda: run_experiment(cfg, exp, seeds=seeds_l, workers=workers, progress=True,
                                                         schedule=schedule))
    same = (Path(out) / "graph" / "results.csv").read_bytes() == (Path(out) / "stages" / "results.csv").read_bytes()
    save(f"speed_scheduling_{Path(config).stem}", {
        "benchmark": "task graph vs stage-by-stage order (same machine, same run)", "config": config,
        "seeds": seeds_l, "workers": workers, "graph_s": round(res["graph"], 1), "stages_s": round(res["stages"], 1),
        "ratio_graph_over_stages": round(res["graph"] / res["stages"], 3), "results_identical": same,
        "command": f"python benchmarks/speed/scheduling.py --config {config} --seeds {seeds} --workers {workers}"})


class VirtualClockBackend:
    """A run_graph backend that runs nothing: a submitted unit ends ``durations[id]`` seconds later on
    a virtual clock; ``wait`` advances the clock to the earliest end among the running units."""

    def __init__(self, workers: int, durations: dict):
        self.capacity, self.durations, self.now, self.n = workers, durations, 0.0, 0

    def submit(self, execute, unit, exp):
        self.n += 1
        return (self.now + self.durations[unit["id"]], self.n)

    def wait(self, handles):
        first = min(handles)
        self.now = first[0]
        return [(first, None)]

    def close(self, cancel=False):
        pass


def replay(exp_dir: str, workers: int, name: str | None = None):
    import json

    from genmix.experiment.graph import flatten_units, run_graph

    exp = Path(exp_dir)
    plan = json.loads((exp / "plan.json").read_text())
    units = [u for u in flatten_units(plan["units"]) if u.get("status") != "not run" and "dir" in u]
    durations, missing = {}, []
    for u in units:
        wf = exp / "units" / Path(u["dir"]).name / "wall.json"
        if wf.is_file():
            durations[u["id"]] = json.loads(wf.read_text())["wall_s"]
        else:
            missing.append(u["id"])
    if missing:
        raise SystemExit(f"{exp_dir}: {len(missing)} units have no wall.json (grid not finished?), e.g. {missing[0]}")
    res = {}
    tmp = Path(tempfile.mkdtemp(prefix="genmix-replay-"))
    audits = [u for u in units if u["kind"].startswith("audit")]
    try:
        for key, schedule, subset in (("graph", "graph", units), ("stages", "stages", units),
                                      ("graph_without_audits", "graph", [u for u in units if u not in audits])):
            backend = VirtualClockBackend(workers, durations)
            ran = run_graph(subset, tmp, backend, None, lambda u: False, lambda u: None, lambda *a: None,
                            progress=False, schedule=schedule)
            assert len(ran) == len(subset)
            res[key] = backend.now
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    # before 2026-12-01 the audits ran one after another in the driver once the graph had finished
    res["audits_after_graph"] = res["graph_without_audits"] + sum(durations[u["id"]] for u in audits)
    kinds = {}
    for u in units:
        kinds[u["kind"]] = kinds.get(u["kind"], 0) + durations[u["id"]]
    given = name
    name = (name or exp.name.removeprefix("bench-")) + ("" if workers == 2 else f"_w{workers}")
    save(f"speed_scheduling_replay_{name}", {
        "benchmark": "task graph vs stage-by-stage order, replayed on a virtual clock with each unit's measured "
                     "wall time (genmix.experiment.graph.run_graph, both orders)",
        "exp_dir": exp_dir, "units": len(units), "workers": workers,
        "unit_seconds_by_kind": {k: round(v, 1) for k, v in kinds.items()},
        "lower_bound_s": round(sum(durations.values()) / workers, 1),
        "graph_s": round(res["graph"], 1), "stages_s": round(res["stages"], 1),
        "ratio_graph_over_stages": round(res["graph"] / res["stages"], 3),
        "audit_units": len(audits), "audits_after_graph_s": round(res["audits_after_graph"], 1),
        "ratio_graph_over_audits_after_graph": round(res["graph"] / res["audits_after_graph"], 3),
        "command": f"python benchmarks/speed/scheduling.py --replay {exp_dir} --workers {workers}"
                   + (f" --name {given}" if given else "")})


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--config", help="compare --schedule graph vs stages on this grid (expensive)")
    ap.add_argument("--seeds", default="0,1,2")
    ap.add_argument("--workers", type=int, default=2)
    ap.add_argument("--out", default="runs/bench-scheduling")
    ap.add_argument("--replay", metavar="EXP_DIR", help="replay a finished grid's measured unit times through both "
                                                         "orders on a virtual clock (cheap)")
    ap.add_argument("--name", help="with --replay: the result file's name (default: EXP_DIR's name without bench-)")
    a = ap.parse_args()
    if a.replay:
        return replay(a.replay, a.workers, a.name)
    import torch

    torch.set_num_threads(1)
    if a.config:
        graph_vs_stages(a.config, a.seeds, a.workers, a.out)
    else:
        ray_overhead(a.workers)


if __name__ == "__main__":
    main()
