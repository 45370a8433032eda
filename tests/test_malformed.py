"""A corpus of malformed inputs: images, DICOM, NIfTI, CSV manifests, MedMNIST npz files,
experiment YAML, CLI values and output folders. Each must end with exit status 2, exactly one
non-empty stderr line naming the file (or flag, or key) and the cause, no usage text, and the
output location as it was (not created, same bytes). Every case fails before any training."""

import errno
import io
import os
import pathlib

import numpy as np
import pytest
import yaml

from genmix.cli import main
from tests.helpers import make_folder_dataset, write_dicom, write_nifti, write_png


def _snapshot(path: pathlib.Path):
    if not path.exists():
        return None
    if path.is_file():
        return path.read_bytes()
    return {str(p.relative_to(path)): (p.read_bytes() if p.is_file() else None) for p in sorted(path.rglob("*"))}


def _fails_cleanly(argv, capsys, out, *named):
    """main(argv) == 2, one stderr line naming every string in ``named``, ``out`` unchanged."""
    before = _snapshot(out)
    partial = out.with_name(out.name + ".partial")
    had_partial = partial.exists()
    rc = main([str(a) for a in argv])
    err = capsys.readouterr().err
    lines = [l for l in err.splitlines() if l.strip()]
    assert rc == 2, err
    assert len(lines) == 1 and len(err.strip().splitlines()) == 1, err
    assert lines[0].startswith("genmix: error: ") and "usage:" not in err and "Traceback" not in err
    for n in named:
        assert str(n) in lines[0], (n, lines[0])
    assert _snapshot(out) == before
    assert partial.exists() == had_partial
    return lines[0]


# ---------------------------------------------------------------- image files (folder: datasets)

def _folder(tmp_path):
    data = tmp_path / "data"
    make_folder_dataset(data, (2, 2), size=8)
    return data


def _corrupt_png(d):
    p = d / "train" / "dark" / "x.png"
    p.write_bytes(b"\x89PNG\r\n\x1a\n broken")
    return p, "corrupt"


def _truncated_jpeg(d):
    from PIL import Image

    p = d / "train" / "dark" / "x.jpg"
    Image.fromarray(np.random.default_rng(0).integers(0, 255, (8, 8), dtype=np.uint8)).save(p, quality=95)
    p.write_bytes(p.read_bytes()[:-40])
    return p, "corrupt"


def _nan_tiff(d):
    from PIL import Image

    p = d / "train" / "dark" / "x.tiff"
    arr = np.ones((8, 8), np.float32)
    arr[3, 3] = np.nan
    Image.fromarray(arr, mode="F").save(p)
    return p, "NaN"


def _inf_tiff(d):
    from PIL import Image

    p = d / "val" / "bright" / "x.tif"
    arr = np.ones((8, 8), np.float32)
    arr[0, 0] = np.inf
    Image.fromarray(arr, mode="F").save(p)
    return p, "infinite"


def _wrong_mode(d):  # an RGBA image among grayscale ones
    from PIL import Image

    p = d / "train" / "bright" / "x.png"
    Image.fromarray(np.zeros((8, 8, 4), np.uint8), mode="RGBA").save(p)
    return p, "channel"


def _wrong_size(d):
    p = d / "test" / "dark" / "big.png"
    write_png(p, np.zeros((12, 12), np.uint8))
    return p, "size"


def _empty_png(d):
    p = d / "train" / "dark" / "empty.png"
    p.write_bytes(b"")
    return p, "corrupt"


def _text_as_png(d):
    p = d / "val" / "dark" / "notes.png"
    p.write_text("these are my notes\nnot an image\n")
    return p, "corrupt"


def _dicom_no_pixels(d):
    p = d / "train" / "dark" / "x.dcm"
    write_dicom(p, np.zeros((8, 8)))
    import pydicom

    ds = pydicom.dcmread(str(p))
    del ds.PixelData
    ds.save_as(str(p))
    return p, "pixel"


def _dicom_garbage(d):
    p = d / "train" / "dark" / "x.dcm"
    p.write_bytes(b"this is not a DICOM file at all" * 10)
    return p, "DICOM"


def _dicom_short_pixels(d):  # pixel data shorter than Rows x Columns: the decoder's message spans lines
    p = d / "train" / "dark" / "x.dcm"
    write_dicom(p, np.zeros((8, 8)))
    import pydicom

    ds = pydicom.dcmread(str(p))
    ds.PixelData = ds.PixelData[:20]
    ds.save_as(str(p))
    return p, "corrupt"


def _nifti_3d(d):
    p = d / "train" / "dark" / "x.nii"
    write_nifti(p, np.zeros((8, 8, 3)))
    return p, "3-D"


def _nifti_garbage(d):
    p = d / "train" / "dark" / "x.nii"
    p.write_bytes(b"\x00garbage" * 50)
    return p, "corrupt"


def _nifti_gz_garbage(d):
    p = d / "val" / "bright" / "x.nii.gz"
    p.write_bytes(b"not gzip at all")
    return p, "corrupt"


def _nifti_nan(d):
    p = d / "test" / "bright" / "x.nii"
    arr = np.ones((8, 8))
    arr[1, 1] = np.nan
    write_nifti(p, arr)
    return p, "NaN"


IMAGE_CASES = [_corrupt_png, _truncated_jpeg, _nan_tiff, _inf_tiff, _wrong_mode, _wrong_size, _empty_png,
               _text_as_png, _dicom_no_pixels, _dicom_garbage, _dicom_short_pixels, _nifti_3d, _nifti_garbage,
               _nifti_gz_garbage, _nifti_nan]


@pytest.mark.parametrize("make", IMAGE_CASES, ids=[f.__name__.strip("_") for f in IMAGE_CASES])
def test_bad_image_file(tmp_path, capsys, make):
    data = _folder(tmp_path)
    bad, cause = make(data)
    out = tmp_path / "run"
    msg = _fails_cleanly(["train-classifier", "--data", f"folder:{data}", "--model", "smallcnn", "--epochs", 1,
                          "--out", out, "--quiet"], capsys, out, bad)
    assert cause.lower() in msg.lower()


# ---------------------------------------------------------------- CSV manifests

def _manifest(tmp_path, text, encoding="utf-8"):
    data = tmp_path / "data"
    make_folder_dataset(data, (2, 2), size=8, splits=False)
    m = data / "m.csv"
    m.write_text(text, encoding=encoding)
    return m


ROWS = "".join(f"{c}/{i}.png,{c}\n" for c in ("dark", "bright") for i in range(2))
CSV_CASES = {
    "missing_column": ("path,diagnosis\n" + ROWS, "missing column"),
    "unknown_label": ("path,label,split\n" + "".join(f"{c}/{i}.png,{c},{s}\n" for s in ("train", "val", "test")
                      for c in ("dark", "bright") for i in range(2)).replace("bright/1.png,bright,test",
                                                                            "bright/1.png,brigth,test"),
                      "unknown label 'brigth'"),
    "escaping_path": ("path,label\n../../../etc/passwd,dark\n" + ROWS, "escapes"),
    "empty": ("", "empty"),
    "header_only": ("path,label\n", "empty"),
    "missing_file": ("path,label\n" + ROWS + "dark/nothere.png,dark\n", "file not found"),
    "empty_label": ("path,label\n" + ROWS + "dark/0.png,\n", "empty path or label"),
    "bad_split": ("path,label,split\n" + ROWS.replace(",dark\n", ",dark,training\n", 1), "unknown split"),
}


@pytest.mark.parametrize("case", sorted(CSV_CASES))
def test_bad_csv_manifest(tmp_path, capsys, case):
    text, cause = CSV_CASES[case]
    m = _manifest(tmp_path, text)
    out = tmp_path / "run"
    msg = _fails_cleanly(["train-classifier", "--data", f"csv:{m}", "--model", "smallcnn", "--epochs", 1, "--out", out,
                          "--quiet"], capsys, out, m if case != "missing_file" else "nothere.png")
    assert cause in msg


def test_csv_with_bom_works(tmp_path, capsys):
    """Excel's CSV export starts with a UTF-8 BOM; the 'path' column is still found."""
    data = tmp_path / "data"
    make_folder_dataset(data, (6, 6), size=8, splits=False)
    split = ["train", "train", "val", "val", "test", "test"]
    m = data / "m.csv"
    m.write_text("path,label,split\n" + "".join(f"{c}/{i}.png,{c},{split[i]}\n" for c in ("dark", "bright")
                                                for i in range(6)), encoding="utf-8-sig")
    assert m.read_bytes().startswith(b"\xef\xbb\xbf")
    assert main(["data-info", f"csv:{m}", "--json"]) == 0
    import json

    d = json.loads(capsys.readouterr().out)
    assert {k: s["n"] for k, s in d["splits"].items()} == {"train": 4, "val": 4, "test": 4}


# ---------------------------------------------------------------- MedMNIST npz files

def _npz(path, **arrays):
    buf = io.BytesIO()
    np.savez(buf, **arrays)
    path.write_bytes(buf.getvalue())


def _good_arrays():
    rng = np.random.default_rng(0)
    out = {}
    for s in ("train", "val", "test"):
        out[f"{s}_images"] = rng.integers(0, 255, (4, 28, 28), dtype=np.uint8)
        out[f"{s}_labels"] = np.array([[0], [1], [0], [1]], dtype=np.uint8)
    return out


NPZ_CASES = {
    "missing_key": lambda a: {k: v for k, v in a.items() if k != "val_labels"},
    "wrong_shape": lambda a: {**a, "train_images": a["train_images"].reshape(4, -1)},
    "garbage": None,
}


@pytest.mark.parametrize("case", sorted(NPZ_CASES))
def test_bad_medmnist_npz(tmp_path, capsys, case):
    root = tmp_path / "mm"
    root.mkdir()
    f = root / "breastmnist.npz"
    if NPZ_CASES[case] is None:
        f.write_bytes(b"PK\x03\x04 not really a zip")
    else:
        _npz(f, **NPZ_CASES[case](_good_arrays()))
    out = tmp_path / "run"
    _fails_cleanly(["train-classifier", "--data", "medmnist:breastmnist", "--data-root", root, "--model", "smallcnn",
                    "--epochs", 1, "--out", out, "--quiet"], capsys, out, f)


def _float_images(value, key="train_images"):
    def make(a):
        x = a[key].astype(np.float32) / 255
        x[1, 2, 3] = value
        return {**a, key: x}
    return make


FLOAT_NPZ_CASES = {  # case: (arrays, key named, cause named)
    "nan": (_float_images(np.nan), "train_images", "1 NaN value"),
    "inf": (_float_images(np.inf, "val_images"), "val_images", "1 infinite value"),
    "negative": (_float_images(-0.5, "test_images"), "test_images", "floats from -0.5 to"),
    "over_255": (_float_images(300.0), "train_images", "to 300; expected [0, 1] or [0, 255]"),
    "strings": (lambda a: {**a, "train_images": a["train_images"].astype(str)}, "train_images", "has dtype <U3"),
}


@pytest.mark.parametrize("case", sorted(FLOAT_NPZ_CASES))
def test_medmnist_npz_with_impossible_pixels(tmp_path, capsys, case):
    make, key, cause = FLOAT_NPZ_CASES[case]
    root = tmp_path / "mm"
    root.mkdir()
    f = root / "breastmnist.npz"
    _npz(f, **make(_good_arrays()))
    out = tmp_path / "run"
    line = _fails_cleanly(["train-classifier", "--data", "medmnist:breastmnist", "--data-root", root, "--model",
                           "smallcnn", "--epochs", 1, "--out", out, "--quiet"], capsys, out, f, key, cause)
    assert line.startswith(f"genmix: error: {f}: {key} ")


# ---------------------------------------------------------------- experiment YAML

BASE = {"data": "simulated:fll@16", "seeds": [0], "classifier": {"model": "smallcnn", "epochs": 1},
        "generators": {"dcgan": {"preset": "quick", "steps": 2}}, "rows": ["baseline", "genmix:dcgan"]}
YAML_CASES = {
    "ratio_1.5": ({"genmix": {"ratio": 1.5}}, "genmix.ratio: must be in [0, 1), got 1.5"),
    "alpha_negative": ({"genmix": {"alpha": -1}}, "genmix.alpha: must be > 0, got -1"),
    "seeds_abc": ({"seeds": "abc"}, "seeds: must be a list of integers"),
    "seeds_repeated": ({"seeds": [0, 1, 0]}, "seeds: seed 0 is listed more than once"),
    "epochs_ten": ({"classifier": {"model": "smallcnn", "epochs": "ten"}}, "classifier.epochs: must be a valid integer"),
    "row_typo": ({"rows": ["baseline", "genmix:dcgann"]}, "rows[1]: unknown generator 'dcgann'"),
    "unknown_row": ({"rows": ["baseline", "gan-magic"]}, "rows[1]: unknown row 'gan-magic'"),
    "row_without_settings": ({"rows": ["baseline", "synthetic:ddpm"]},
                             "rows[1]: generator 'ddpm' has no settings under 'generators'"),
    "generator_setting_typo": ({"generators": {"dcgan": {"preset": "quick", "nzz": 8}}},
                               "generators.dcgan.nzz: unknown key"),
    "generator_setting_range": ({"generators": {"dcgan": {"nz": -3}}}, "generators.dcgan.nz: must be >= 1, got -3"),
    "unknown_generator": ({"generators": {"dcgan": {}, "dcgann": {}}}, "generators.dcgann: unknown generator"),
    "generator_preset": ({"generators": {"dcgan": {"preset": "fast"}}}, "generators.dcgan.preset: must be"),
    "unknown_top_key": ({"seed": 3}, "seed: unknown key"),
    "row_mapping_ratio": ({"rows": [{"augment": "genmix", "generator": "dcgan", "ratio": 1.0}]},
                          "rows[0].ratio: must be in [0, 1), got 1.0"),
    "candidates_alpha": ({"rows": [{"augment": "genmix", "generator": "dcgan", "select": "val",
                                    "candidates": {"alpha": [0.3, 0]}}]}, "rows[0].candidates.alpha[1]: must be > 0"),
    "budget": ({"budget": "fair"}, "budget: must be 'equal' or 'per-epoch'"),
    "image_size_zero": ({"image_size": 0}, "image_size: must be >= 1, got 0"),
    "sampler_setting": ({"generators": {"dcgan": {"synthesis": {"sample": {"stepz": 3}}}}},
                        "generators.dcgan.synthesis.sample.stepz"),
}


@pytest.mark.parametrize("case", sorted(YAML_CASES))
def test_bad_experiment_yaml(tmp_path, capsys, case):
    over, expected = YAML_CASES[case]
    p = tmp_path / "x.yaml"
    p.write_text(yaml.safe_dump({**BASE, **over}))
    out = tmp_path / "exp"
    msg = _fails_cleanly(["run", p, "--out", out, "--quiet"], capsys, out, p)
    assert f"{p}: {expected}" in msg


@pytest.mark.parametrize("text,cause", [("- data: simulated:fll\n- rows: []\n", "expected a mapping"),
                                        ("data: [unclosed\n", "not valid YAML"),
                                        ("data: x\n\tseeds: [0]\n", "not valid YAML")],
                         ids=["not_a_mapping", "unclosed", "tab"])
def test_unparsable_yaml(tmp_path, capsys, text, cause):
    p = tmp_path / "x.yaml"
    p.write_text(text)
    out = tmp_path / "exp"
    assert cause in _fails_cleanly(["run", p, "--out", out], capsys, out, p)


# ---------------------------------------------------------------- CLI values

CLI_CASES = {
    "per_class": (["synthesize", "GEN", "--out", "OUT", "--per-class", "3,x"], "--per-class", "3,x"),
    "alpha": (["train-classifier", "--data", "simulated:fll", "--out", "OUT", "--alpha", "-1"], "--alpha", "> 0"),
    "image_size": (["train-classifier", "--data", "simulated:fll", "--out", "OUT", "--image-size", "0"],
                   "--image-size", ">= 1"),
    "ratio": (["train-classifier", "--data", "simulated:fll", "--out", "OUT", "--ratio", "1.5"], "--ratio", "[0, 1)"),
    "seeds": (["run", "CFG", "--out", "OUT", "--seeds", "a"], "--seeds", "'a'"),
    "seeds_repeated": (["run", "CFG", "--out", "OUT", "--seeds", "0,1,1"], "--seeds", "more than once"),
    "workers": (["run", "CFG", "--out", "OUT", "--workers", "0"], "--workers", ">= 1"),
    "epochs": (["train-classifier", "--data", "simulated:fll", "--out", "OUT", "--epochs", "0"], "--epochs", ">= 1"),
    "lr": (["train-classifier", "--data", "simulated:fll", "--out", "OUT", "--lr", "-1"], "--lr", "> 0"),
    "lr_nan": (["train-generator", "--data", "simulated:fll", "--generator", "dcgan", "--out", "OUT", "--lr", "nan"],
               "--lr", "finite"),
    "batch_size": (["train-classifier", "--data", "simulated:fll", "--out", "OUT", "--batch-size", "x"],
                   "--batch-size", "integer"),
    "steps": (["train-generator", "--data", "simulated:fll", "--generator", "dcgan", "--out", "OUT", "--steps", "-5"],
              "--steps", ">= 1"),
    "missing_out": (["train-classifier", "--data", "simulated:fll"], "--out", "required"),
    "bad_choice": (["train-classifier", "--data", "simulated:fll", "--out", "OUT", "--monitor", "acc"],
                   "--monitor", "invalid choice"),
    "set_range": (["train-generator", "--data", "simulated:fll@16", "--generator", "dcgan", "--out", "OUT",
                   "--set", "nz=-3"], "dcgan", "nz: must be >= 1"),
    "set_unknown": (["train-generator", "--data", "simulated:fll@16", "--generator", "dcgan", "--out", "OUT",
                     "--set", "nzz=3"], "nzz", "unknown key"),
    "pretrain_ddpm_image_size": (["pretrain-ddpm", "--out", "OUT", "--image-size", "0"], "--image-size", ">= 1"),
    "pretrain_t2i_steps": (["pretrain-t2i", "--out", "OUT", "--steps", "-5"], "--steps", ">= 1"),
    "pretrain_classifier_lr": (["pretrain-classifier", "--out", "OUT", "--lr", "nan"], "--lr", "finite"),
    "unknown_generator": (["train-generator", "--data", "simulated:fll@16", "--generator", "gan", "--out", "OUT"],
                          "gan", "unknown generator"),
}


@pytest.mark.parametrize("case", sorted(CLI_CASES))
def test_bad_cli_value(tmp_path, capsys, case):
    argv, flag, cause = CLI_CASES[case]
    out = tmp_path / "out"
    cfg = tmp_path / "c.yaml"
    cfg.write_text(yaml.safe_dump(BASE))
    argv = [str(out) if a == "OUT" else str(cfg) if a == "CFG" else str(tmp_path / "gen") if a == "GEN" else a
            for a in argv]
    _fails_cleanly(argv, capsys, out, flag, cause)


# ---------------------------------------------------------------- output locations

def test_out_is_an_existing_file(tmp_path, capsys):
    data = _folder(tmp_path)
    out = tmp_path / "run"
    out.write_bytes(b"my precious notes")
    _fails_cleanly(["train-classifier", "--data", f"folder:{data}", "--model", "smallcnn", "--epochs", 1,
                    "--out", out, "--quiet"], capsys, out, out, "not a folder")
    assert out.read_bytes() == b"my precious notes"


def test_out_below_a_file(tmp_path, capsys):
    data = _folder(tmp_path)
    f = tmp_path / "file"
    f.write_text("x")
    out = f / "run"
    _fails_cleanly(["train-classifier", "--data", f"folder:{data}", "--model", "smallcnn", "--epochs", 1,
                    "--out", out, "--quiet"], capsys, f, f, "not a folder")


def test_run_out_is_an_existing_file(tmp_path, capsys):
    cfg = tmp_path / "c.yaml"
    cfg.write_text(yaml.safe_dump({**BASE, "generators": {}, "rows": ["baseline"]}))
    out = tmp_path / "exp"
    out.write_text("x")
    _fails_cleanly(["run", cfg, "--out", out], capsys, out, out, "not a folder")


def test_synthesize_out_is_an_existing_file(tmp_path, capsys):
    out = tmp_path / "synth"
    out.write_text("x")
    _fails_cleanly(["synthesize", tmp_path / "gen", "--out", out], capsys, out, out, "not a folder")


def test_read_only_folder(tmp_path, capsys, monkeypatch):
    data = _folder(tmp_path)
    ro = tmp_path / "ro"
    ro.mkdir()
    if os.geteuid() == 0:  # root writes anywhere: a read-only folder is simulated at mkdir
        real = pathlib.Path.mkdir

        def mkdir(self, *a, **kw):
            if pathlib.Path(self).is_relative_to(ro) and self != ro:
                raise PermissionError(errno.EACCES, os.strerror(errno.EACCES), str(self))
            return real(self, *a, **kw)

        monkeypatch.setattr(pathlib.Path, "mkdir", mkdir)
    else:
        ro.chmod(0o555)
    try:
        out = ro / "run"
        _fails_cleanly(["train-classifier", "--data", f"folder:{data}", "--model", "smallcnn", "--epochs", 1,
                        "--out", out, "--quiet"], capsys, ro, "Permission denied", "run.partial")
    finally:
        ro.chmod(0o755)


def test_no_space_left(tmp_path, capsys, monkeypatch):
    """The disk fills up at the first file written: one line, no OUT, no OUT.partial."""
    data = _folder(tmp_path)
    out = tmp_path / "deep" / "run"

    def full(self, *a, **kw):
        raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC), str(self))

    monkeypatch.setattr(pathlib.Path, "write_text", full)
    _fails_cleanly(["train-classifier", "--data", f"folder:{data}", "--model", "smallcnn", "--epochs", 1,
                    "--batch-size", 2, "--out", out, "--quiet"], capsys, tmp_path / "deep", "No space left on device",
                   "run.partial")


def _full_disk_save_file(kind):
    """A stand-in for safetensors' save_file that writes part of the file, then fails as a full disk
    does: safetensors' own error text (what 0.8 raises on ENOSPC), or a plain OSError."""
    def save_file(tensors, filename, metadata=None):
        pathlib.Path(filename).write_bytes(b"half a checkpoint")
        if kind == "safetensors":
            from safetensors import SafetensorError

            raise SafetensorError("Error while serializing: I/O error: No space left on device (os error 28)")
        raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))
    return save_file


@pytest.mark.parametrize("kind", ["safetensors", "oserror"])
def test_no_space_left_for_a_checkpoint(tmp_path, capsys, monkeypatch, kind):
    """The disk fills up while the first checkpoint is written: one line naming the checkpoint,
    exit 2, no OUT, no OUT.partial, no temp file."""
    import safetensors.torch

    data = _folder(tmp_path)
    out = tmp_path / "deep" / "run"
    monkeypatch.setenv("GENMIX_CHECKPOINT_EVERY_S", "0")  # the first checkpoint comes before the model file
    monkeypatch.setattr(safetensors.torch, "save_file", _full_disk_save_file(kind))
    line = _fails_cleanly(["train-classifier", "--data", f"folder:{data}", "--model", "smallcnn", "--epochs", 1,
                           "--batch-size", 2, "--out", out, "--quiet"], capsys, tmp_path / "deep",
                          "No space left on device")
    assert line == f"genmix: error: {out.parent / 'run.partial' / 'checkpoint.safetensors'}: No space left on device"
    assert not (tmp_path / "deep").exists()


def test_no_space_left_keeps_the_previous_checkpoint(tmp_path, monkeypatch):
    import safetensors.torch
    import torch

    from genmix.checkpoint import load_state, save_state

    ck = tmp_path / "checkpoint.safetensors"
    save_state(ck, {"step": 1, "w": torch.ones(3)})
    monkeypatch.setattr(safetensors.torch, "save_file", _full_disk_save_file("safetensors"))
    with pytest.raises(OSError) as e:
        save_state(ck, {"step": 2, "w": torch.zeros(3)})
    assert e.value.errno == errno.ENOSPC and e.value.filename == str(ck)
    assert [p.name for p in tmp_path.iterdir()] == [ck.name] and load_state(ck)["step"] == 1


def test_evaluate_missing_run(tmp_path, capsys):
    out = tmp_path / "nothing"
    _fails_cleanly(["evaluate", out], capsys, out, "model.safetensors", "not found")


def test_report_on_a_file(tmp_path, capsys):
    f = tmp_path / "results.csv"
    f.write_text("a,b\n")
    _fails_cleanly(["report", f], capsys, f, f, "not an experiment folder")


# ---------------------------------------------------------------- one line from multi-line library messages

class Evil:  # a pickled object that is not a tensor
    pass


def test_weights_only_refusal_is_one_line_without_advice(tmp_path, capsys):
    import torch

    f = tmp_path / "backbone.pt"
    torch.save({"conv1.weight": torch.zeros(1), "obj": Evil()}, f)
    data = _folder(tmp_path)
    out = tmp_path / "run"
    msg = _fails_cleanly(["train-classifier", "--data", f"folder:{data}", "--model", "resnet18", "--pretrained", f,
                          "--epochs", 1, "--out", out, "--quiet"], capsys, out, f)
    cause = msg.split(str(f), 1)[1]
    assert "pickled Python objects" in cause and "Evil" in cause
    assert "weights_only" not in cause and "trust" not in cause.lower()  # no advice to turn the protection off
