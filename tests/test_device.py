"""genmix.device: freed host memory kept for reuse (glibc), exact and without the per-step page faults."""

import json
import os
import platform
import subprocess
import sys

import pytest

from genmix.device import keep_freed_memory
from genmix.errors import GenmixError

GLIBC = sys.platform.startswith("linux") and platform.libc_ver()[0] == "glibc"

# a few ResNet-18 training steps in a fresh process: minor page faults per step and a digest of the trained state
STEPS = """
import hashlib, json, resource, torch
import torch.nn.functional as F
from genmix.classify.models import create_model
from genmix.device import choose_device
torch.set_num_threads(1)
choose_device("cpu")
torch.manual_seed(0)
m = create_model("resnet18", 2, 1, 28, False)
opt = torch.optim.Adam(m.parameters(), lr=1e-3)
x, y = torch.rand(16, 1, 28, 28, generator=torch.Generator().manual_seed(0)), torch.arange(16) % 2
def step():
    loss = F.cross_entropy(m(x), y)
    opt.zero_grad()
    loss.backward()
    opt.step()
for _ in range(4):
    step()
f0 = resource.getrusage(resource.RUSAGE_SELF).ru_minflt
for _ in range(6):
    step()
faults = (resource.getrusage(resource.RUSAGE_SELF).ru_minflt - f0) / 6
h = hashlib.sha256(b"".join(v.numpy().tobytes() for v in m.state_dict().values())).hexdigest()
print(json.dumps({"faults": faults, "digest": h}))
"""


def run_steps(host_memory: str | None) -> dict:
    env = {k: v for k, v in os.environ.items() if k not in ("GENMIX_HOST_MEMORY", "LD_PRELOAD")}
    if host_memory:
        env["GENMIX_HOST_MEMORY"] = host_memory
    out = subprocess.run([sys.executable, "-c", STEPS], env=env, capture_output=True, text=True, check=True)
    return json.loads(out.stdout.strip().splitlines()[-1])


@pytest.mark.skipif(not GLIBC, reason="the setting is glibc's (mallopt)")
def test_kept_memory_removes_the_page_faults_of_each_step_and_changes_no_bit():
    system, kept = run_steps("system"), run_steps(None)
    assert kept["digest"] == system["digest"]  # where the bytes live, not what is computed
    assert system["faults"] > 1000  # glibc's defaults: the step's buffers come back from the kernel every step
    assert kept["faults"] < 0.25 * system["faults"]


def test_system_host_memory_leaves_malloc_alone(monkeypatch):
    monkeypatch.setenv("GENMIX_HOST_MEMORY", "system")
    assert keep_freed_memory() is False
    monkeypatch.delenv("GENMIX_HOST_MEMORY")
    assert keep_freed_memory() is GLIBC


def test_an_unknown_host_memory_setting_is_a_clear_error(monkeypatch):
    monkeypatch.setenv("GENMIX_HOST_MEMORY", "off")
    with pytest.raises(GenmixError, match=r"GENMIX_HOST_MEMORY='off': expected 'system'"):
        keep_freed_memory()
