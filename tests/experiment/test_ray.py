"""The Ray backend on a real local Ray cluster: same bytes as the local backend, retried after a kill."""

import os
import signal
import threading
import time

import pytest
import yaml

from genmix.experiment.config import load_config
from genmix.experiment.run import run_experiment

try:
    import ray
except ImportError:  # optional extra: skipped locally, required in CI
    ray = None

TINY = {
    "data": "simulated:fll@16",
    "seeds": [0],
    "classifier": {"model": "smallcnn", "epochs": 3, "batch_size": 64, "lr": 0.003, "patience": 5},
    "generators": {"dcgan": {"preset": "quick", "steps": 20, "batch_size": 32, "ngf": 8, "ndf": 8, "nz": 16}},
    "rows": ["baseline", "genmix:dcgan"],
    "audit": False,  # the audit inside genmix run is tested in test_report_html.py
}


@pytest.fixture(scope="module")
def cluster(tmp_path_factory):
    if ray is None:
        msg = "ray is not installed (pip install 'genmix[ray]')"
        if os.environ.get("CI", "").lower() == "true":
            pytest.fail(msg)
        pytest.skip(msg)
    tmp = tmp_path_factory.mktemp("ray")
    cfg = tmp / "tiny.yaml"
    cfg.write_text(yaml.safe_dump(TINY))
    ran = run_experiment(load_config(cfg), tmp / "local", progress=False, cpus_per_unit=1)
    assert len(ran) == 4
    os.environ["GENMIX_CHECKPOINT_EVERY_S"] = "0"  # a checkpoint after every validation: the kill can land mid-unit
    ray.init(num_cpus=2, include_dashboard=False, log_to_driver=False)
    yield tmp / "local", cfg
    ray.shutdown()
    os.environ.pop("GENMIX_CHECKPOINT_EVERY_S", None)


def test_ray_with_default_flags_gives_the_local_default_bytes(cluster, tmp_path):
    # no --cpus-per-unit on either side: both use genmix.experiment.graph.DEFAULT_THREADS
    _, cfg = cluster
    local = run_experiment(load_config(cfg), tmp_path / "local", progress=False)
    remote = run_experiment(load_config(cfg), tmp_path / "ray", backend="ray", progress=False)
    assert len(local) == len(remote) == 4
    assert (tmp_path / "ray" / "results.csv").read_bytes() == (tmp_path / "local" / "results.csv").read_bytes()


def test_ray_backend_gives_the_local_backends_bytes(cluster, tmp_path):
    local, cfg = cluster
    ran = run_experiment(load_config(cfg), tmp_path / "exp", backend="ray", progress=False, cpus_per_unit=1)
    assert len(ran) == 4
    assert (tmp_path / "exp" / "results.csv").read_bytes() == (local / "results.csv").read_bytes()
    pids = {l.split("pid=")[1] for l in (tmp_path / "exp" / "units.log").read_text().splitlines()
            if l.startswith("start")}
    assert str(os.getpid()) not in pids  # the units ran in Ray workers, not in the driver
    assert run_experiment(load_config(cfg), tmp_path / "exp", backend="ray", progress=False) == []


def test_a_killed_ray_worker_is_retried_and_resumes_to_identical_files(cluster, tmp_path):
    local, cfg = cluster
    exp = tmp_path / "exp"
    killed = []

    def killer():  # SIGKILL the worker of the first classifier unit seen mid-training
        t0 = time.time()
        while time.time() - t0 < 240 and not killed:
            log = exp / "units.log"
            for line in log.read_text().splitlines() if log.is_file() else []:
                if line.startswith("start clf-"):
                    uid, pid = line.split()[1], int(line.split("pid=")[1])
                    d = exp / "units" / uid  # written into <dir>.partial, renamed to <dir> when finished
                    part = d.with_name(d.name + ".partial")
                    if (part / "checkpoint.safetensors").is_file() and not (part / "metrics.json").is_file() \
                            and not d.exists():
                        os.kill(pid, signal.SIGKILL)
                        killed.append(uid)
                        break
            time.sleep(0.02)

    th = threading.Thread(target=killer, daemon=True)
    th.start()
    ran = run_experiment(load_config(cfg), exp, backend="ray", progress=False, cpus_per_unit=1)
    th.join()
    assert killed, "no classifier unit was caught mid-training"
    starts = [l for l in (exp / "units.log").read_text().splitlines() if l.startswith(f"start {killed[0]}")]
    assert len(starts) == 2 and starts[0] != starts[1]  # retried in another worker process
    assert len(ran) == 4
    assert (exp / "results.csv").read_bytes() == (local / "results.csv").read_bytes()
    for f in ("model.safetensors", "metrics.json", "history.csv"):
        assert (exp / "units" / killed[0] / f).read_bytes() == (local / "units" / killed[0] / f).read_bytes()


def test_a_gpu_index_or_missing_gpus_on_ray_is_a_clear_error(cluster, tmp_path):
    from genmix.errors import GenmixError

    _, cfg = cluster
    for device, why in (("cuda:1", "the cluster assigns the GPUs"), ("cuda", "has no GPUs")):
        with pytest.raises(GenmixError, match=why):
            run_experiment(load_config(cfg), tmp_path / device, backend="ray", progress=False, device=device)
        assert not (tmp_path / device).exists()


def test_the_driver_hands_its_genmix_environment_to_the_tasks(monkeypatch):
    """GENMIX_DATA_ROOT / GENMIX_DEVICE / GENMIX_HOST_MEMORY reach the Ray tasks (a fake Ray records ray.init)."""
    from genmix.experiment import ray_backend

    seen = {}

    class FakeRay:
        def is_initialized(self):
            return False

        def init(self, **kw):
            seen.update(kw)

        def cluster_resources(self):
            return {"CPU": 4}

        def remote(self, fn):
            class Task:
                def options(self, **kw):
                    return self
            return Task()

    monkeypatch.setattr(ray_backend, "_ray", FakeRay)
    monkeypatch.setenv("GENMIX_HOST_MEMORY", "system")
    monkeypatch.setenv("GENMIX_DEVICE", "cpu")
    monkeypatch.setenv("GENMIX_DATA_ROOT", "/data")
    ray_backend.RayBackend(workers=2)
    assert seen["runtime_env"]["env_vars"] == {**{k: os.environ[k] for k in ("PYTHONPATH",) if k in os.environ},
                                               "GENMIX_HOST_MEMORY": "system", "GENMIX_DEVICE": "cpu",
                                               "GENMIX_DATA_ROOT": "/data"}
