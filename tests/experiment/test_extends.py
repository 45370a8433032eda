"""``extends:``: a config written as another one with some settings changed loads exactly as the flat config
that says everything; bad chains get one line naming the file and the key."""

import subprocess
import sys

import pytest

from genmix.errors import GenmixError
from genmix.experiment.config import load_config
from genmix.experiment.extends import merge

PARENT = """name: parent
data: simulated:fll@16
seeds: [0, 1, 2]
classifier: {model: resnet18, preset: quick, epochs: 2}
generators:
  dcgan: {preset: quick, steps: 40}
  ddpm: {preset: quick, steps: 30, synthesis: {sample: {steps: 5}}}
rows: [baseline, genmix:dcgan, genmix:ddpm]
"""


def test_mappings_merge_at_every_depth_and_other_values_replace():
    parent = {"a": {"b": 1, "c": {"d": 2, "e": 3}}, "rows": [1, 2], "x": 1}
    child = {"a": {"c": {"d": 9}}, "rows": [3], "y": None}
    assert merge(parent, child) == {"a": {"b": 1, "c": {"d": 9, "e": 3}}, "rows": [3], "x": 1, "y": None}
    assert parent == {"a": {"b": 1, "c": {"d": 2, "e": 3}}, "rows": [1, 2], "x": 1}  # the parent is not changed


def test_extended_config_equals_the_flat_config_it_stands_for(tmp_path):
    (tmp_path / "base").mkdir()
    (tmp_path / "base" / "parent.yaml").write_text(PARENT)
    mid = tmp_path / "mid.yaml"  # a chain: child -> mid -> parent, paths relative to each file
    mid.write_text("extends: base/parent.yaml\nclassifier: {pretrained: false}\n")
    sub = tmp_path / "studies"
    sub.mkdir()
    child = sub / "long.yaml"
    child.write_text("extends: ../mid.yaml\nname: long\nseeds: [3]\ngenerators: {dcgan: {steps: 80}}\n"
                     "rows: [baseline, genmix:dcgan]\n")
    flat = tmp_path / "flat.yaml"
    flat.write_text("""name: long
data: simulated:fll@16
seeds: [3]
classifier: {model: resnet18, preset: quick, epochs: 2, pretrained: false}
generators:
  dcgan: {preset: quick, steps: 80}
  ddpm: {preset: quick, steps: 30, synthesis: {sample: {steps: 5}}}
rows: [baseline, genmix:dcgan]
""")
    a, b = load_config(child), load_config(flat)
    assert a.pop("_path") == str(child) and b.pop("_path") == str(flat)
    assert a == b
    assert a["generators"]["ddpm"]["synthesis"] == {"sample": {"steps": 5}}  # kept from the parent


def test_the_merged_config_is_checked_by_the_schema(tmp_path):
    (tmp_path / "parent.yaml").write_text(PARENT)
    child = tmp_path / "child.yaml"
    child.write_text("extends: parent.yaml\ngenerators: {dcgan: {steps: many}}\n")
    with pytest.raises(GenmixError, match=r"child\.yaml: generators\.dcgan\.steps"):
        load_config(child)


@pytest.mark.parametrize("text, cause", [
    ("extends: nowhere.yaml\n", r"child\.yaml: extends: .*nowhere\.yaml not found"),
    ("extends: [a, b]\n", r"child\.yaml: extends: expected the path of another config"),
    ("extends: child.yaml\n", r"child\.yaml: extends: the configs extend each other in a circle"),
    ("extends: other.yaml\n", r"extends: the configs extend each other in a circle"),
    ("extends: broken.yaml\n", r"broken\.yaml: not valid YAML"),
])
def test_bad_extends_is_one_line_naming_the_file(tmp_path, text, cause):
    (tmp_path / "other.yaml").write_text("extends: child.yaml\n")
    (tmp_path / "broken.yaml").write_text("data: [unclosed\n")
    child = tmp_path / "child.yaml"
    child.write_text(text)
    with pytest.raises(GenmixError, match=cause):
        load_config(child)


def test_cli_exit_2_and_nothing_written(tmp_path):
    child = tmp_path / "child.yaml"
    child.write_text("extends: missing.yaml\n")
    out = tmp_path / "run"
    r = subprocess.run([sys.executable, "-m", "genmix", "run", str(child), "--out", str(out)],
                       capture_output=True, text=True)
    assert r.returncode == 2
    lines = [x for x in r.stderr.strip().splitlines() if x]
    assert len(lines) == 1 and "child.yaml: extends:" in lines[0] and "missing.yaml not found" in lines[0]
    assert not out.exists()
