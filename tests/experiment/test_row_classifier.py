"""A row may override ``classifier:``: one config holds two classifier starts that share their generator and
synthesis units, each row compared with the Baseline of its own start, one verdict per generator and start."""

import json

import yaml

from genmix.cli import main
from genmix.experiment.config import expand_rows, load_config, start_label
from genmix.experiment.run import plan

CFG = {
    "data": "simulated:fll@16",
    "seeds": [0, 1],
    "classifier": {"model": "smallcnn", "epochs": 2, "batch_size": 32, "lr": 0.003, "patience": 50},
    "generators": {"dcgan": {"preset": "quick", "steps": 10, "batch_size": 32, "ngf": 8, "ndf": 8, "nz": 16}},
    "rows": ["baseline", "genmix:dcgan",
             {"augment": "none", "classifier": {"lr": 0.01, "epochs": 3}},
             {"augment": "genmix", "generator": "dcgan", "classifier": {"lr": 0.01, "epochs": 3}}],
    "audit": False,
    "figures": False,
}


def _cfg(tmp_path, **over):
    p = tmp_path / "rows.yaml"
    p.write_text(yaml.safe_dump({**CFG, **over}))
    return p


def test_row_names_carry_the_start_and_units_share_the_generator(tmp_path):
    cfg = load_config(_cfg(tmp_path))
    assert [r["name"] for r in expand_rows(cfg)] == ["Baseline", "GenMix (DCGAN)", "Baseline [epochs=3, lr=0.01]",
                                                     "GenMix (DCGAN) [epochs=3, lr=0.01]"]
    assert start_label({"pretrained": True}) == "pretrained" and start_label({"pretrained": "/x/bb.safetensors"}) \
        == "pretrained=bb"
    p = plan(cfg, tmp_path / "exp", [0, 1])
    assert len(p["units"]["gen"]) == 1 and len(p["units"]["synth"]) == 1  # shared by both starts
    by_row = {}
    for u in p["units"]["clf"]:
        by_row.setdefault(u["row"], []).append(u)
    a, b = by_row["GenMix (DCGAN)"][0], by_row["GenMix (DCGAN) [epochs=3, lr=0.01]"][0]
    assert a["synth"] == b["synth"] and a["train_config"]["lr"] == 0.003 and b["train_config"]["lr"] == 0.01
    # equal budget within each start: the overriding rows get 3 epochs of the real images, the others 2
    assert b["train_config"]["max_steps"] == 3 * a["train_config"]["max_steps"] // 2
    assert by_row["Baseline [epochs=3, lr=0.01]"][0]["train_config"]["max_steps"] == b["train_config"]["max_steps"]


def test_each_row_is_compared_with_the_baseline_of_its_own_start(tmp_path, capsys):
    exp = tmp_path / "exp"
    assert main(["run", str(_cfg(tmp_path)), "--out", str(exp), "--quiet", "--no-figures"]) == 0
    from genmix.experiment.tables import load_table

    t = {e["row"]: e for e in load_table(exp)}
    assert t["GenMix (DCGAN) [epochs=3, lr=0.01]"]["baseline"] == "Baseline [epochs=3, lr=0.01]"
    assert t["GenMix (DCGAN)"]["baseline"] == ""  # the top-level start: the plain Baseline
    assert t["Baseline [epochs=3, lr=0.01]"].get("delta_f1_macro_mean", "") == ""  # a Baseline is not compared
    v = json.loads((exp / "verdict.json").read_text())
    assert [x["generator"] for x in v] == ["dcgan", "dcgan [epochs=3, lr=0.01]"] and v[0]["verdict_family"] == 2
    md = (exp / "table.md").read_text()
    assert "- DCGAN [epochs=3, lr=0.01]: **GenMix (DCGAN) [epochs=3, lr=0.01]" in md
    assert "Baseline [epochs=3, lr=0.01]** — ΔF1" in md
