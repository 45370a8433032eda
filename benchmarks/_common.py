"""Shared by the benchmark scripts: machine/commit header and result files."""

import json
import os
import platform
import subprocess
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
RESULTS = ROOT / "benchmarks" / "results"


def header() -> dict:
    try:
        commit = subprocess.run(["git", "rev-parse", "--short", "HEAD"], cwd=ROOT, capture_output=True,
                                text=True).stdout.strip()
    except OSError:
        commit = "unknown"
    cpu = platform.processor() or "unknown"
    info = {}
    try:
        for line in open("/proc/cpuinfo"):
            key, _, value = line.partition(":")
            if key.strip() in ("model name", "cpu family", "model", "stepping") and key.strip() not in info:
                info[key.strip()] = value.strip()
            if not line.strip():
                break
    except OSError:
        pass
    cpu = info.get("model name", cpu)
    import torch

    # the same unit gives bit-identical results on one machine, but not across CPU generations (the kernels
    # torch picks differ), so results record which CPU and which kernel family ran them
    return {"date": time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime()), "commit": commit, "cpu": cpu,
            "cpu_family_model": f"{info.get('cpu family', '?')}/{info.get('model', '?')}/{info.get('stepping', '?')}",
            "cpu_capability": torch.backends.cpu.get_cpu_capability(),
            "cores": os.cpu_count(), "torch_threads": torch.get_num_threads(), "torch": torch.__version__}


def save(name: str, result: dict) -> Path:
    RESULTS.mkdir(parents=True, exist_ok=True)
    path = RESULTS / f"{name}.json"
    path.write_text(json.dumps({**header(), **result}, indent=2))
    print(json.dumps({**header(), **result}, indent=2))
    return path


def data_root():
    return os.environ.get("GENMIX_DATA_ROOT", str(ROOT.parent / "shared" / "data"))
