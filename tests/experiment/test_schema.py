"""The experiment schema: every shipped config loads to the plain dict run.py consumes; each
generator's declared settings are its defaults and are all accepted under generators.<name>."""

import glob
from pathlib import Path

import pytest
import yaml

from genmix.errors import GenmixError
from genmix.experiment.config import expand_rows, load_config
from genmix.experiment.extends import read_config_tree

REPO = Path(__file__).resolve().parents[2]
SHIPPED = sorted(glob.glob(str(REPO / "configs" / "*.yaml")) + glob.glob(str(REPO / "benchmarks" / "quality" / "*.yaml"))
                 + glob.glob(str(REPO / "benchmarks" / "quality" / "paper-setting" / "*.yaml")))


@pytest.mark.parametrize("path", SHIPPED, ids=[Path(p).name for p in SHIPPED])
def test_every_shipped_config_loads_and_keeps_its_values(path):
    raw = read_config_tree(Path(path))  # with its extends: chain merged in
    assert "extends" not in raw
    cfg = load_config(path)
    for k, v in raw.items():  # what the file says comes back as written (only defaults are added)
        assert cfg[k] == v, k
    assert cfg["budget"] == raw.get("budget", "equal") and cfg["replicate"] == raw.get("replicate", "classifier")
    assert cfg["audit"] == raw.get("audit", True)
    assert len(expand_rows(cfg)) == len(cfg["rows"])


def test_plain_dict_with_top_level_defaults(tmp_path):
    p = tmp_path / "mini.yaml"
    p.write_text("data: simulated:fll@16\nseeds: '0,2'\ngenerators: {dcgan: }\n")
    cfg = load_config(p)
    assert cfg == {"data": "simulated:fll@16", "seeds": [0, 2], "generators": {"dcgan": {}}, "name": "mini",
                   "classifier": {}, "synthesis": {}, "genmix": {}, "mixup": {}, "budget": "equal",
                   "replicate": "classifier", "audit": True, "_path": str(p),
                   # without rows: the paper's rows for the generators the config sets up
                   "rows": ["baseline", "mixup", "augmix", "synthetic:dcgan", "genmix:dcgan"]}


def test_declared_settings_are_the_defaults_and_all_accepted(tmp_path):
    from genmix.generate import GENERATORS, load_all
    from genmix.generate.base import FIT_KEYS
    from genmix.generate.fit import FIT_DEFAULTS

    load_all()
    assert set(FIT_KEYS) == set(FIT_DEFAULTS)
    for name, cls in GENERATORS.items():
        assert cls.defaults == cls.settings().model_dump()
        p = tmp_path / f"{name}.yaml"
        entry = {**cls.defaults, **FIT_DEFAULTS, "preset": "quick"}
        p.write_text(yaml.safe_dump({"data": "simulated:fll", "generators": {name: entry}, "rows": [f"genmix:{name}"]}))
        assert load_config(p)["generators"][name] == entry


def test_new_keys_select_candidates_budget_replicate_audit(tmp_path):
    p = tmp_path / "sel.yaml"
    row = {"name": "GenMix (DCGAN) tuned", "augment": "genmix", "generator": "dcgan", "select": "val",
           "candidates": {"alpha": [0.3, 1.0], "ratio": [0.25, 0.5], "balance": [False, True], "epoch": ["pool"]},
           "fallback_baseline": False}
    p.write_text(yaml.safe_dump({"data": "simulated:fll", "generators": {"dcgan": {"preset": "quick"}},
                                 "rows": ["baseline", row], "budget": "per-epoch", "replicate": "full",
                                 "audit": {"samples_per_class": 8}, "classifier": {"pretrained": "backbone.safetensors"}}))
    cfg = load_config(p)
    assert cfg["rows"][1] == row and cfg["budget"] == "per-epoch" and cfg["replicate"] == "full"
    assert cfg["audit"] == {"samples_per_class": 8} and cfg["classifier"]["pretrained"] == "backbone.safetensors"
    p.write_text(yaml.safe_dump({"data": "simulated:fll", "rows": [{"augment": "mixup", "candidates": {"alpha": [1.0]}}]}))
    with pytest.raises(GenmixError, match=r"rows\[0\]: 'candidates' needs 'select: val'"):
        load_config(p)


def test_generator_settings_checked_with_the_preset(tmp_path):
    """Cross-setting checks see preset + user values together (ddpm: one attention flag per level)."""
    p = tmp_path / "d.yaml"
    p.write_text(yaml.safe_dump({"data": "simulated:fll", "generators": {"ddpm": {"preset": "quick",
                                 "block_out_channels": [8, 16]}}, "rows": ["genmix:ddpm"]}))
    with pytest.raises(GenmixError, match=r"d.yaml: generators.ddpm: attention_levels has 3 entries"):
        load_config(p)
    p.write_text(yaml.safe_dump({"data": "simulated:fll", "generators": {"ddpm": {"preset": "paper",
                                 "attention_levels": [False, False, True, True]}}, "rows": ["genmix:ddpm"]}))
    assert load_config(p)["generators"]["ddpm"]["attention_levels"] == [False, False, True, True]
