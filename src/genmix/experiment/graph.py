"""The units of an experiment as a dependency graph, and the local scheduler that runs it.

Edges come from the unit dicts themselves, whatever their kind: a unit depends on every unit
whose id it names in an explicit ``deps`` list or in any other field (a synthesis names its
generator in ``gen``, a classifier run its synthesis in ``synth``). A unit starts as soon as
everything it depends on is finished, so rows that need no generator start at once and a
generator's rows start when its synthesis is done. ``schedule="stages"`` keeps the old order
(all units of one kind, in plan order: generators, syntheses, classifier runs, wait for every
unit of the kinds before), for comparisons.

Among the units ready to start, the one with the longest chain of dependants behind it goes
first (generators before classifier runs), ties in plan order. The order of execution never
changes a result: every unit is a function of its own config and seed.

Backends run the graph: :class:`LocalBackend` (worker processes, one GPU per unit when several
are present) here, the Ray backend in :mod:`genmix.experiment.ray_backend`.
"""

from __future__ import annotations

import os
import socket
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from .typed import Unit, Units


def flatten_units(units: Units) -> list[Unit]:
    """The unit dicts of ``plan()["units"]`` (mappings or lists per kind), in plan order."""
    out = []
    for group in units.values():
        out += list(group.values()) if isinstance(group, dict) else list(group)
    return [u for u in out if isinstance(u, dict) and "id" in u]


def dependencies(unit: Unit, ids) -> list[str]:
    """Ids of the units ``unit`` depends on: its ``deps`` plus any field naming another unit's id."""
    found = []
    for key, value in unit.items():
        if key == "id":
            continue
        values = value if isinstance(value, (list, tuple)) else [value]
        for v in values:
            if isinstance(v, str) and v in ids and v != unit["id"] and v not in found:
                found.append(v)
    return found


class TaskGraph:
    """Which unit may start now. States: waiting, running, finished, skipped."""

    def __init__(self, units: list[Unit], schedule: str = "graph"):
        if schedule not in ("graph", "stages"):
            raise ValueError(f"schedule must be 'graph' or 'stages', not {schedule!r}")
        self.schedule = schedule
        self.units = {u["id"]: u for u in units}
        self.order = {uid: i for i, uid in enumerate(self.units)}
        self.deps = {uid: dependencies(u, self.units) for uid, u in self.units.items()}
        self.children: dict[str, list[str]] = {uid: [] for uid in self.units}
        for uid, ds in self.deps.items():
            for d in ds:
                self.children[d].append(uid)
        self.height = {}  # longest chain of dependants below a unit (its priority)
        self.depth = {}  # its stage: the rank of its kind (plan order), at least its dependencies'
        self.kinds = list(dict.fromkeys(u.get("kind", "") for u in units))
        for uid in self.units:
            self._height(uid)
            self._depth(uid)
        self.state = {uid: "waiting" for uid in self.units}

    def _height(self, uid, seen=()):
        if uid not in self.height:
            if uid in seen:
                raise ValueError(f"dependency cycle through unit {uid}")
            self.height[uid] = 1 + max((self._height(c, (*seen, uid)) for c in self.children[uid]), default=0)
        return self.height[uid]

    def _depth(self, uid, seen=()):
        if uid not in self.depth:
            if uid in seen:
                raise ValueError(f"dependency cycle through unit {uid}")
            rank = self.kinds.index(self.units[uid].get("kind", ""))
            self.depth[uid] = max([rank, *(self._depth(d, (*seen, uid)) for d in self.deps[uid])])
        return self.depth[uid]

    def ready(self) -> list[str]:
        """Units whose dependencies are all finished, best first."""
        fin = {u for u, s in self.state.items() if s == "finished"}
        out = [u for u, s in self.state.items() if s == "waiting" and all(d in fin for d in self.deps[u])]
        if self.schedule == "stages":
            open_ = [self.depth[u] for u, s in self.state.items() if s in ("waiting", "running")]
            low = min(open_, default=0)
            out = [u for u in out if self.depth[u] == low]
        return sorted(out, key=lambda u: (-self.height[u], self.order[u]))

    def start(self, uid):
        self.state[uid] = "running"

    def finish(self, uid):
        self.state[uid] = "finished"

    def skip_dependants(self, uid) -> list[str]:
        """Mark everything that (transitively) depends on ``uid`` as skipped; returns their ids."""
        out, stack = [], list(self.children[uid])
        while stack:
            c = stack.pop()
            if self.state[c] != "skipped":
                self.state[c] = "skipped"
                out.append(c)
                stack += self.children[c]
        return sorted(out, key=self.order.get)

    def open(self) -> bool:
        return any(s in ("waiting", "running") for s in self.state.values())


class Progress:
    """``[done/total] unit-id  ETA mm:ss`` lines on stderr."""

    def __init__(self, total: int, enabled: bool):
        self.total, self.done, self.enabled, self.t0 = total, 0, enabled, time.perf_counter()

    def tick(self, uid: str):
        self.done += 1
        if not self.enabled:
            return
        el = time.perf_counter() - self.t0
        left = max(0, self.total - self.done)
        eta = int(round(el / self.done * left)) if self.done else 0
        print(f"[{self.done}/{self.total}] {uid}  ETA {eta // 60:02d}:{eta % 60:02d}", file=sys.stderr, flush=True)


def log_line(exp: Path, line: str):
    with open(Path(exp) / "units.log", "a") as f:
        f.write(line + "\n")


def exit_with_parent(parent: int, every: float = 0.5):
    """Worker initializer: when the driver dies (killed, even with SIGKILL), its worker processes exit
    within ``every`` seconds instead of finishing their units beside a restarted driver that would
    run the same units into the same folders."""
    import threading

    def watch():
        while os.getppid() == parent:
            time.sleep(every)
        os._exit(1)

    threading.Thread(target=watch, name="genmix-exit-with-parent", daemon=True).start()


def run_unit(execute: Callable, unit: Unit, threads: int | None, device: str | None, exp: str,
             precision: str | None = None):
    """Worker entry point: record the start (host, pid) in units.log, then run the unit on ``device``.

    ``device`` (e.g. ``cuda:1``) and ``precision`` (e.g. ``bf16``) are passed to the unit as GENMIX_DEVICE and
    GENMIX_PRECISION for this call only."""
    log_line(Path(exp), f"start {unit['id']} host={socket.gethostname()} pid={os.getpid()}")
    env = {k: v for k, v in (("GENMIX_DEVICE", device), ("GENMIX_PRECISION", precision)) if v}
    old = {k: os.environ.get(k) for k in env}
    os.environ.update(env)
    try:
        return execute(unit, threads, False)
    finally:
        for k, v in old.items():
            if v is None:
                os.environ.pop(k, None)
            else:
                os.environ[k] = v


DEFAULT_THREADS = 2  # torch threads per unit unless --cpus-per-unit says otherwise: the same for any host,
# worker count and backend, because CPU float sums depend on the thread count (2: what a unit used by default
# on the 2-core machines the published numbers come from)


class LocalBackend:
    """Units in this process (``workers=1``) or in spawn-context worker processes.

    Each unit runs ``threads`` torch threads (default DEFAULT_THREADS, whatever the worker count or host):
    torch's CPU kernels sum in an order that depends on the thread count, so a fixed count gives the same
    results for ``--workers 1``, ``--workers 2`` and ``--backend ray``. More workers x threads than cores is
    allowed (a warning says so).

    ``device``: None / ``auto`` (every visible CUDA device, else the CPU), ``cpu``, ``cuda`` (every visible GPU)
    or ``cuda:N`` (that one). On GPUs each unit gets the least busy GPU for its run, and at most
    ``units_per_gpu`` units share one (small 28 px units leave most of a GPU idle), so at most
    min(workers, GPUs x units_per_gpu) run at once. ``precision`` (genmix.precision) goes to every unit. Worker
    processes exit when the driver dies (see :func:`exit_with_parent`)."""

    def __init__(self, workers: int = 1, threads: int | None = None, device: str | None = None,
                 precision: str | None = None, units_per_gpu: int = 1):
        self.workers = max(1, int(workers))
        self.threads = int(threads or DEFAULT_THREADS)
        self.device = device or os.environ.get("GENMIX_DEVICE") or "auto"
        self.precision = precision
        self.units_per_gpu = max(1, int(units_per_gpu))
        self.serial_threads = self.threads
        cores = os.cpu_count() or 1
        if self.workers * self.threads > cores:
            import sys

            print(f"genmix: note: {self.workers} workers x {self.threads} threads per unit on {cores} cores: units "
                  "share the cores (slower than fewer workers, same results); --cpus-per-unit sets the threads",
                  file=sys.stderr, flush=True)
        self.gpus = visible_gpus(self.device)
        self.capacity = min(self.workers, len(self.gpus) * self.units_per_gpu) if self.gpus else self.workers
        self.busy = {g: 0 for g in self.gpus}
        self.pool = None
        self.serial: list = []

    def submit(self, execute, unit, exp):
        gpu = min(self.gpus, key=lambda g: (self.busy[g], g)) if self.gpus else None
        if gpu is not None:
            self.busy[gpu] += 1
        device = f"cuda:{gpu}" if gpu is not None else (None if self.device == "auto" else self.device)
        if self.workers == 1:
            handle = ("serial", unit["id"], gpu)
            self.serial.append((handle, execute, unit, device, exp))
            return handle
        if self.pool is None:
            import multiprocessing as mp
            from concurrent.futures import ProcessPoolExecutor

            self.pool = ProcessPoolExecutor(max_workers=self.workers, mp_context=mp.get_context("spawn"),
                                            initializer=exit_with_parent, initargs=(os.getpid(),))
        fut = self.pool.submit(run_unit, execute, unit, self.threads, device, str(exp), self.precision)
        fut.gpu = gpu
        return fut

    def wait(self, handles):
        """Block until at least one handle is finished; returns [(handle, result or raises)]."""
        if self.workers == 1:
            handle, execute, unit, device, exp = self.serial.pop(0)
            try:
                return [(handle, run_unit(execute, unit, self.serial_threads, device, exp, self.precision))]
            finally:
                self._free(handle[2])
        from concurrent.futures import FIRST_COMPLETED, wait

        done, _ = wait(handles, return_when=FIRST_COMPLETED)
        out = []
        for f in sorted(done, key=lambda f: handles.index(f)):
            self._free(f.gpu)
            out.append((f, f.result()))
        return out

    def _free(self, gpu):
        if gpu is not None:
            self.busy[gpu] -= 1

    def close(self, cancel: bool = False):
        if self.pool is not None:
            self.pool.shutdown(wait=True, cancel_futures=cancel)
            self.pool = None


def visible_gpus(device: str) -> list[int]:
    """The CUDA device indices units may be placed on for ``device`` (see :class:`LocalBackend`)."""
    from ..errors import GenmixError

    if device == "cpu":
        return []
    try:
        import torch

        n = torch.cuda.device_count() if torch.cuda.is_available() else 0
    except Exception:  # noqa: BLE001 - no CUDA runtime: CPU
        n = 0
    if device == "auto":
        return list(range(n))
    index = device.partition(":")[2]
    if device != "cuda" and not (device.startswith("cuda:") and index.isdigit()):
        raise GenmixError(f"--device must be auto, cpu, cuda or cuda:N, not {device!r}")
    if n == 0 or (index and int(index) >= n):
        raise GenmixError(f"--device {device}: no such CUDA device here ({n} visible)")
    return [int(index)] if index else list(range(n))


def reuse_cached(g: TaskGraph, exp: Path, is_done: Callable, finished: Callable) -> None:
    """Mark finished what is on disk, in dependency order (a cached unit's dependants may be cached too)."""
    changed = True
    while changed:
        changed = False
        for uid in g.ready():
            if is_done(g.units[uid]):
                log_line(exp, f"cached {uid}")
                finished(uid)
                changed = True


def run_graph(units: list[Unit], exp: Path, backend, execute: Callable, is_done: Callable, failed: Callable,
              on_skip: Callable, progress: bool = True, stop_after_units: int | None = None,
              schedule: str = "graph", hook: Callable | None = None) -> list[str]:
    """Run every unfinished unit once its dependencies are finished; returns the ids run now.

    ``is_done(unit)``: finished on disk (reused, logged ``cached``); ``failed(unit)``: the reason a
    finished unit failed (its dependants are then skipped: ``on_skip(dependant, failed_unit,
    reason)``) or None. ``hook(event, unit_id)`` is called on the driver at ``submit``/``finish``."""
    g = TaskGraph(units, schedule)
    exp = Path(exp)

    def finished(uid):
        g.finish(uid)
        reason = failed(g.units[uid])
        if reason is not None:
            for c in g.skip_dependants(uid):
                on_skip(g.units[c], g.units[uid], reason)

    reuse_cached(g, exp, is_done, finished)
    total = sum(1 for s in g.state.values() if s == "waiting")
    if stop_after_units is not None:
        total = min(total, stop_after_units)
    bar = Progress(total, progress)
    executed: list[str] = []
    running: dict = {}
    submitted = 0
    try:
        while g.open():
            for uid in g.ready():
                if len(running) >= backend.capacity:
                    break
                if stop_after_units is not None and submitted >= stop_after_units:
                    break
                g.start(uid)
                submitted += 1
                if hook:
                    hook("submit", uid)
                running[backend.submit(execute, g.units[uid], exp)] = uid
            if not running:
                break  # nothing may start: stopped early
            for handle, _ in backend.wait(list(running)):
                uid = running.pop(handle)
                executed.append(uid)
                log_line(exp, f"ran {uid}")
                if hook:
                    hook("finish", uid)
                finished(uid)
                bar.tick(uid)
    except BaseException:
        backend.close(cancel=True)
        raise
    backend.close()
    return executed
