"""`genmix audit` on the folder `genmix synthesize` writes (tiny DCGAN on the simulated set, 16 px)."""

import csv
import json

from genmix.cli import main


def test_cli_audits_a_synthesize_output_folder(tmp_path, capsys):
    data = ["--data", "simulated:fll@16"]
    assert main(["train-generator", *data, "--generator", "dcgan", "--out", str(tmp_path / "gen"), "--steps", "5",
                 "--batch-size", "16", "--set", "ngf=8", "--set", "ndf=8", "--set", "nz=8", "--quiet"]) == 0
    assert main(["synthesize", str(tmp_path / "gen"), "--out", str(tmp_path / "syn"), "--per-class", "6,6,6",
                 "--quiet"]) == 0
    capsys.readouterr()
    assert main(["audit", str(tmp_path / "syn"), *data, "--encoder-model", "smallcnn", "--encoder-epochs", "1",
                 "--samples-per-class", "5", "--quiet"]) == 0
    out = capsys.readouterr().out
    assert "encoder: smallcnn trained 1 epoch(s) on the real training split of simulated:fll@16" in out
    audit = tmp_path / "syn-audit"  # the default AUDIT_DIR
    assert f"audit written to {audit}" in out
    with open(audit / "audit.csv") as f:
        rows = list(csv.DictReader(f))
    assert [r["class"] for r in rows] == ["cyst", "hemangioma", "metastasis", "overall"]
    assert [r["n_synthetic"] for r in rows] == ["5", "5", "5", "15"]
    j = json.loads((audit / "audit.json").read_text())
    assert j["source"] == str(tmp_path / "syn") and j["memorisation"]["near_copy_threshold"] > 0
    assert (audit / "worst_pairs.png").is_file()
