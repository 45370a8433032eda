"""Run the units of an experiment as Ray tasks (``genmix run ... --backend ray``).

Install with ``pip install 'genmix[ray]'``; ray is imported only here. Each unit is one Ray
task asking for ``num_cpus`` CPUs and, when the cluster has GPUs (and ``device`` is not ``cpu``),
1 / ``units_per_gpu`` of a GPU (Ray sets CUDA_VISIBLE_DEVICES, so the unit sees exactly that GPU, shared with
at most ``units_per_gpu - 1`` others; a unit waits until a share is free).
A task whose worker process or node dies is retried (``max_retries``) and resumes from the
unit's own checkpoint in EXP_DIR, so EXP_DIR must be a path every node sees (shared file system).
The driver keeps the task graph: a unit is submitted when the units it depends on are done.
"""

from __future__ import annotations

import os

from ..errors import GenmixError
from .graph import DEFAULT_THREADS

MAX_RETRIES = 3


def _ray():
    try:
        import ray
    except ImportError as exc:
        raise GenmixError("--backend ray needs Ray: pip install 'genmix[ray]'") from exc
    return ray


class RayBackend:
    """Submit every ready unit at once; Ray queues them until their CPUs/GPUs are free."""

    capacity = float("inf")

    def __init__(self, address: str | None = None, workers: int = 1, cpus_per_unit: int | None = None,
                 device: str | None = None, precision: str | None = None, units_per_gpu: int = 1):
        ray = self.ray = _ray()
        self.started = False
        if not ray.is_initialized():
            env = {"env_vars": {k: os.environ[k] for k in ("PYTHONPATH", "GENMIX_DATA_ROOT", "GENMIX_DEVICE",
                                                            "GENMIX_HOST_MEMORY") if k in os.environ}}
            try:
                if address:
                    ray.init(address=address, runtime_env=env, log_to_driver=False)
                else:  # a private single-machine cluster running `workers` units at once
                    ray.init(num_cpus=max(1, int(workers)) * int(cpus_per_unit or DEFAULT_THREADS),
                             include_dashboard=False, runtime_env=env, log_to_driver=False)
            except ConnectionError as exc:
                raise GenmixError(f"--address {address}: no Ray cluster there ({exc})") from exc
            self.started = True
        res = ray.cluster_resources()
        self.cpus = max(1, int(cpus_per_unit or DEFAULT_THREADS))  # the local backend's threads: the same numbers
        if self.cpus > res.get("CPU", 0):
            raise GenmixError(f"--cpus-per-unit {self.cpus}: the Ray cluster has only {res.get('CPU', 0):g} CPUs")
        device = device or os.environ.get("GENMIX_DEVICE") or "auto"
        if device not in ("auto", "cpu", "cuda"):
            raise GenmixError(f"--device {device}: on Ray the cluster assigns the GPUs; use auto, cuda or cpu")
        if device == "cuda" and res.get("GPU", 0) < 1:
            raise GenmixError(f"--device {device}: the Ray cluster has no GPUs")
        # a share of one GPU per unit (Ray's fractional GPUs); the unit sees it as cuda:0
        self.gpus = 1.0 / max(1, int(units_per_gpu)) if res.get("GPU", 0) >= 1 and device != "cpu" else 0
        self.device = "cpu" if device == "cpu" else None  # on a GPU share Ray's CUDA_VISIBLE_DEVICES decides
        self.precision = precision
        from .graph import run_unit

        self.task = ray.remote(run_unit).options(num_cpus=self.cpus, num_gpus=self.gpus,
                                                 max_retries=MAX_RETRIES, retry_exceptions=False)

    def submit(self, execute, unit, exp):
        return self.task.remote(execute, unit, self.cpus, self.device, str(exp), self.precision)

    def wait(self, handles):
        done, _ = self.ray.wait(handles, num_returns=1)
        return [(h, self._get(h)) for h in done]

    def _get(self, ref):
        try:
            return self.ray.get(ref)
        except self.ray.exceptions.RayTaskError as exc:
            cause = getattr(exc, "cause", None)
            if isinstance(cause, GenmixError):
                raise GenmixError(str(cause)) from exc
            raise

    def close(self, cancel: bool = False):
        if self.started:
            self.ray.shutdown()
            self.started = False
