"""The command line: bad input exits 2 with one message naming the file, and writes nothing."""

import json

import numpy as np
import pytest

from genmix.cli import main
from tests.helpers import make_folder_dataset, write_png


def _run(argv, capsys):
    rc = main(argv)
    out = capsys.readouterr()
    return rc, out.out, out.err


def test_data_info_simulated(capsys):
    rc, out, _ = _run(["data-info", "simulated:fll@16", "--json"], capsys)
    d = json.loads(out)
    assert rc == 0 and d["splits"]["train"]["counts"] == {"cyst": 433, "hemangioma": 70, "metastasis": 178}


@pytest.mark.parametrize("case", ["corrupt", "mixed", "missing_class", "manifest_escape", "empty", "unknown_spec"])
def test_bad_input_exits_2_and_writes_nothing(tmp_path, capsys, case):
    data = tmp_path / "data"
    make_folder_dataset(data, (2, 2))
    spec = f"folder:{data}"
    if case == "corrupt":
        (data / "train" / "dark" / "x.png").write_bytes(b"\x89PNG broken")
        named = data / "train" / "dark" / "x.png"
    elif case == "mixed":
        named = data / "val" / "bright" / "big.png"
        write_png(named, np.zeros((30, 30), np.uint8))
    elif case == "missing_class":
        for p in (data / "test" / "bright").glob("*"):
            p.unlink()
        named = data / "test"
    elif case == "manifest_escape":
        (data / "m.csv").write_text("path,label\n../../etc/passwd,a\n")
        spec, named = f"csv:{data / 'm.csv'}", data / "m.csv"
    elif case == "empty":
        empty = tmp_path / "empty"
        empty.mkdir()
        spec, named = f"folder:{empty}", empty
    else:
        spec, named = "nifty:whatever", "nifty:whatever"
    out = tmp_path / "run"
    rc, _, err = _run(["train-classifier", "--data", spec, "--model", "smallcnn", "--epochs", "1",
                       "--out", str(out), "--quiet"], capsys)
    assert rc == 2
    assert err.startswith("genmix: error: ") and str(named) in err
    assert len(err.strip().splitlines()) == 1
    assert not out.exists()


def test_train_classifier_then_evaluate(tmp_path, capsys):
    data = tmp_path / "data"
    make_folder_dataset(data, (8, 8))
    out = tmp_path / "run"
    rc, stdout, _ = _run(["train-classifier", "--data", f"folder:{data}", "--model", "smallcnn", "--augment",
                          "cutmix", "--epochs", "2", "--batch-size", "4", "--out", str(out), "--quiet"], capsys)
    assert rc == 0, stdout
    m = json.loads((out / "metrics.json").read_text())
    assert m["split"] == "test" and m["n"] == 16
    rc, _, _ = _run(["evaluate", str(out), "--split", "val"], capsys)
    assert rc == 0 and json.loads((out / "metrics_val.json").read_text())["split"] == "val"
    rc, _, err = _run(["evaluate", str(tmp_path / "nothing")], capsys)
    assert rc == 2 and "model.safetensors" in err
