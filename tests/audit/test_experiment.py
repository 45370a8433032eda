"""The audit inside genmix run as graph units: it runs on the workers beside the classifier runs, each
audit after its synthesis and the shared real-train classifier, and concurrent audits train a shared
classifier once (a file lock)."""

import os
import re
import shutil
import threading
import time

import yaml

from genmix.experiment.config import load_config
from genmix.experiment.graph import TaskGraph
from genmix.experiment.run import plan, run_experiment

TINY = {
    "data": "simulated:fll@16",
    "seeds": [0],
    "classifier": {"model": "smallcnn", "epochs": 1, "batch_size": 64, "lr": 0.003, "patience": 5},
    "generators": {"dcgan": {"preset": "quick", "steps": 20, "batch_size": 32, "ngf": 8, "ndf": 8, "nz": 16}},
    "rows": ["baseline", "genmix:dcgan", {"augment": "synthetic", "generator": "dcgan", "ratio": 0.25}],
    "audit": {"samples_per_class": 8, "epochs": 1, "model": "smallcnn"},
}


def _cfg(tmp_path, **over):
    p = tmp_path / "tiny.yaml"
    p.write_text(yaml.safe_dump({**TINY, **over}))
    return load_config(p)


def test_each_synthesis_gets_an_audit_unit_after_it_and_the_real_classifier(tmp_path):
    p = plan(_cfg(tmp_path), tmp_path / "exp", [0])
    audits = p["units"]["audit"]
    real = [u for u in audits.values() if u["kind"] == "audit-real-classifier"]
    per_synth = {u["synth"]: u for u in audits.values() if u["kind"] == "audit"}
    assert len(real) == 1 and sorted(per_synth) == sorted(p["units"]["synth"]) and len(per_synth) == 2
    units = [*p["units"]["gen"].values(), *p["units"]["synth"].values(), *p["units"]["clf"], *audits.values()]
    g = TaskGraph(units)
    for sid, a in per_synth.items():
        assert sorted(g.deps[a["id"]]) == sorted([sid, real[0]["id"]])
    assert g.deps[real[0]["id"]] == []  # it needs no generator: it trains while the generators do
    assert plan(_cfg(tmp_path, audit=False), tmp_path / "exp", [0])["units"]["audit"] == {}


def test_audits_run_on_the_workers_and_match_a_serial_run(tmp_path):
    cfg = _cfg(tmp_path)
    ran = run_experiment(cfg, tmp_path / "par", workers=2, progress=False, cpus_per_unit=1)
    log = (tmp_path / "par" / "units.log").read_text()
    audits = [u for u in ran if u.startswith("audit-")]
    assert len(audits) == 3  # the real-train classifier and one audit per synthesis
    for a in audits:  # started in a worker process, not in the driver
        pid = re.search(rf"start {re.escape(a)} host=\S+ pid=(\d+)", log)
        assert pid and int(pid.group(1)) != os.getpid()
    run_experiment(cfg, tmp_path / "ser", workers=1, progress=False, cpus_per_unit=1)
    par, ser = ((tmp_path / d / "audit.csv").read_text() for d in ("par", "ser"))
    assert par.count("\n") == 1 + 2 * 4  # header, then 3 classes + overall per synthesis
    assert par == ser
    assert run_experiment(cfg, tmp_path / "par", workers=2, progress=False) == []  # cached


def test_a_shared_audit_classifier_is_trained_once_under_its_lock(tmp_path):
    from filelock import FileLock

    from genmix.audit.features import fit_classifier
    from genmix.data import load_dataset

    ds = load_dataset("simulated:fll@16")
    cache = tmp_path / "classifiers"

    def fit():
        return fit_classifier(ds["train"], ds["test"], ds.class_names, cache, "cpu", "smallcnn", 1, 0, tag="t")

    fit()
    (lock,) = cache.glob("*.lock")
    trained = cache / lock.name[:-len(".lock")]
    first = (trained / "model.safetensors").read_bytes()
    shutil.rmtree(trained)
    held = FileLock(lock)
    held.acquire()
    t = threading.Thread(target=fit)
    t.start()
    time.sleep(1.5)
    assert t.is_alive() and not (trained / "model.safetensors").exists()  # waits for the other audit
    held.release()
    t.join(60)
    assert not t.is_alive() and (trained / "model.safetensors").read_bytes() == first


def test_an_audit_that_fails_is_said_under_the_table_and_the_rest_goes_on(tmp_path, monkeypatch, capsys):
    import genmix.audit
    from genmix.errors import GenmixError

    def broken(*a, **k):
        raise GenmixError("synth: images are 8x8 but simulated:fll@16 is 1x16x16")

    monkeypatch.setattr(genmix.audit, "audit_images", broken)
    cfg = _cfg(tmp_path, rows=["baseline", "genmix:dcgan"])
    run_experiment(cfg, tmp_path / "exp", progress=False)
    md = (tmp_path / "exp" / "audit.md").read_text()
    assert "Not audited: dcgan (ratio 0.5): synth: images are 8x8 but simulated:fll@16 is 1x16x16" in md
    assert "genmix: audit failed for dcgan (ratio 0.5)" in capsys.readouterr().err
    from genmix.experiment.report import report

    report(tmp_path / "exp", figures=False)  # Table 1 all the same, the failure under it
    table = (tmp_path / "exp" / "table.md").read_text()
    assert "Not audited: dcgan" in table and "| GenMix (DCGAN) |" in table
