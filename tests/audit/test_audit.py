"""genmix audit on real BreastMNIST at 16 px with a smallcnn encoder: three "generators" — one that
returns training images, held-out real images (validation split), and uniform noise."""

import csv
import json
import math

import pytest
import torch

from genmix.audit import audit_synthetic
from genmix.cli import main
from genmix.data import load_dataset
from tests.audit.fakes import per_class_pick, write_synth_dir

N = 20  # per class
KW = dict(encoder_model="smallcnn", encoder_epochs=2, samples_per_class=N, seed=0)


@pytest.fixture(scope="module")
def audits(tmp_path_factory):
    from tests.conftest import data_root

    root = data_root()
    if not (root / "breastmnist.npz").is_file():
        pytest.skip(f"{root / 'breastmnist.npz'} missing")  # the medmnist_root fixture is function-scoped
    torch.set_num_threads(2)
    tmp = tmp_path_factory.mktemp("audit")
    ds = load_dataset("medmnist:breastmnist", root, image_size=16)
    names = ds.class_names
    tr, va = ds["train"], ds["val"]
    ci, vi = per_class_pick(tr, N, seed=5), per_class_pick(va, N, seed=5)  # not the floor's draw (seed + 1)
    g = torch.Generator().manual_seed(0)
    noise = (torch.rand(2 * N, 1, 16, 16, generator=g) * 255).round().byte()
    sets = {"copies": (tr.images[ci], tr.labels[ci]), "heldout": (va.images[vi], va.labels[vi]),
            "noise": (noise, torch.arange(2).repeat_interleave(N))}
    out = {}
    for name, (x, y) in sets.items():
        d = write_synth_dir(tmp / name, x, y, names)
        out[name] = audit_synthetic(d, ds, tmp / f"{name}-audit", classifier_dir=tmp / "classifiers", **KW)
    return out, tmp, ds


def _overall(result):
    return next(r for r in result["rows"] if r["class"] == "overall")


def test_training_copies_are_flagged_as_memorising_and_held_out_images_are_not(audits):
    res, tmp, _ = audits
    cp, ho = _overall(res["copies"]), _overall(res["heldout"])
    assert cp["near_copy_fraction"] == 1.0 and cp["near_copies"] == 2 * N and cp["memorising"]
    assert cp["nn_pixel_median"] == 0.0
    assert ho["near_copy_fraction"] <= 0.05 and not ho["memorising"]
    assert ho["nn_calibrated_median"] > res["copies"]["memorisation"]["near_copy_threshold"] > 0
    assert cp["nn_calibrated_median"] == 0.0
    # held-out real images sit as far from the training set as the test images do
    assert 0.7 < ho["nn_pixel_median"] / ho["nn_pixel_baseline_median"] < 1.4
    pairs = res["copies"]["memorisation"]["worst_pairs"]
    assert len(pairs) == 8 and all(p["pixel_rms"] == 0.0 and p["score"] == 0.0 for p in pairs)
    from PIL import Image

    im = Image.open(tmp / "copies-audit" / "worst_pairs.png")
    assert im.width >= 8 * 16 * 4 and im.height >= 2 * 16 * 4  # upscaled 4x


def test_a_smooth_image_near_many_training_images_is_not_a_near_copy(audits):
    from genmix.audit.memorisation import K, calibrated, nearest, pixel_vectors, threshold

    _, _, ds = audits
    xtr, ytr = ds["train"].batch(slice(None))
    xte, _ = ds["test"].batch(slice(None))
    means = torch.stack([xtr[ytr == c].mean(0) for c in range(2)])  # the blurry average image of each class
    bank = pixel_vectors(xtr)
    thr = threshold(calibrated(*nearest(pixel_vectors(xte), bank, K)[::2]))
    d, _, m = nearest(pixel_vectors(means), bank, K)
    assert (calibrated(d, m) > thr).all()
    d, _, m = nearest(pixel_vectors(xtr[:5]), bank, K)
    assert (calibrated(d, m) <= thr).all()  # while copies are caught


def test_noise_scores_far_worse_than_held_out_real_images(audits):
    res, _, _ = audits
    ho, nz = _overall(res["heldout"]), _overall(res["noise"])
    assert nz["fd"] > 5 * ho["fd"]
    assert nz["kid"] > 5 * max(ho["kid"], 1e-3)
    assert nz["precision"] < ho["precision"] - 0.3 and nz["density"] < ho["density"]
    assert nz["coverage"] < ho["coverage"]
    gt = lambda r: [x["gan_test"] for x in r["rows"] if x["class"] != "overall"]  # noqa: E731
    assert sum(gt(res["noise"])) / 2 < sum(gt(res["heldout"])) / 2 - 0.1  # mean per-class accuracy
    assert not nz["memorising"]


def test_real_training_images_score_at_the_floor(audits):
    res, _, _ = audits
    for r in res["copies"]["rows"]:
        assert r["fd"] != r["fd_floor"] and 0.5 < r["fd"] / r["fd_floor"] < 2.0, r  # other training images
    ho = _overall(res["heldout"])
    assert ho["fd"] < 2.0 * ho["fd_floor"]
    assert abs(ho["precision"] - ho["precision_floor"]) < 0.25


def test_outputs_state_the_encoder_and_hold_a_row_per_class(audits):
    res, tmp, ds = audits
    j = json.loads((tmp / "heldout-audit" / "audit.json").read_text())
    assert j["encoder"]["kind"] == "trained" and "smallcnn trained 2 epoch(s)" in j["encoder"]["description"]
    with open(tmp / "heldout-audit" / "audit.csv") as f:
        rows = list(csv.DictReader(f))
    assert [r["class"] for r in rows] == [*ds.class_names, "overall"]
    assert rows[-1]["n_synthetic"] == str(2 * N) and float(rows[-1]["fd_floor"]) > 0
    # one real-train classifier and one GAN-train floor classifier shared by the three sets; GAN-train per set
    kinds = sorted(p.name.rsplit("-", 1)[0] for p in (tmp / "classifiers").iterdir() if p.is_dir())
    assert kinds == ["real-subset-train", "real-train", "synthetic-train", "synthetic-train", "synthetic-train"]


def test_a_backbone_file_can_be_the_feature_encoder(audits, tmp_path):
    res, tmp, ds = audits
    from torchvision.models import resnet18

    w = tmp_path / "backbone.pth"
    torch.manual_seed(0)
    torch.save(resnet18(weights=None).state_dict(), w)
    r = audit_synthetic(tmp / "copies", ds, tmp_path / "a", features=w, classifier_dir=tmp / "classifiers", **KW)
    assert r["encoder"]["kind"] == "file" and r["encoder"]["model"] == "resnet18"
    assert r["floor_split"] == "train"  # a backbone from elsewhere never saw the training images
    assert str(w) in r["encoder"]["description"] and len(r["encoder"]["sha256_16"]) == 16
    o, o_trained = _overall(r), _overall(res["copies"])
    assert o["fd"] != o_trained["fd"]  # another feature space
    assert o["memorising"] and o["gan_test"] == o_trained["gan_test"]  # same pixels, same real classifier


def test_bad_input_is_a_one_line_error_and_writes_nothing(audits, tmp_path, capsys):
    _, tmp, _ = audits
    from tests.conftest import data_root

    base = ["--data", "medmnist:breastmnist", "--data-root", str(data_root()), "--encoder-model", "smallcnn",
            "--quiet"]
    assert main(["audit", str(tmp_path / "nope"), *base, "--image-size", "16", "--out", str(tmp_path / "o")]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "not a synthetic set" in err and not (tmp_path / "o").exists()
    assert main(["audit", str(tmp / "heldout"), *base, "--out", str(tmp_path / "o")]) == 2  # 28 px real data
    err = capsys.readouterr().err
    assert "images are 1x16x16 but medmnist:breastmnist is 1x28x28" in err and not (tmp_path / "o").exists()
    assert main(["audit", str(tmp / "heldout"), *base, "--image-size", "16", "--samples-per-class", "0",
                 "--out", str(tmp_path / "o")]) == 2
    assert "samples per class must be >= 1" in capsys.readouterr().err and not (tmp_path / "o").exists()
    assert main(["audit", str(tmp / "heldout"), *base, "--image-size", "16", "--features", str(tmp_path / "w.pth"),
                 "--out", str(tmp_path / "o")]) == 2
    assert "features file not found" in capsys.readouterr().err and not (tmp_path / "o").exists()
    (tmp_path / "w.pth").write_bytes(b"not weights")
    assert main(["audit", str(tmp / "heldout"), *base, "--image-size", "16", "--features", str(tmp_path / "w.pth"),
                 "--out", str(tmp_path / "o")]) == 2
    err = capsys.readouterr().err
    assert "w.pth: " in err and "pickled" in err and err.count("\n") == 1 and not (tmp_path / "o").exists()


def test_floor_is_unseen_real_data_of_the_same_size_and_overall_fidelity_is_per_class(audits, tmp_path):
    """The floor comes from the validation split (the encoder trained on the training split), at as many
    images per class as the synthetic value it is compared with; a class with no synthetic image keeps
    its floor images; the near-copy threshold is set on validation; overall class fidelity is balanced."""
    from genmix.audit.memorisation import K, calibrated, nearest, pixel_vectors, threshold

    _, tmp, ds = audits
    tr, va = ds["train"], ds["val"]
    n_val = torch.bincount(va.labels, minlength=2).tolist()  # [21, 57]
    ci = per_class_pick(tr, 30, seed=7)[:30]  # 30 malignant training images, no benign one
    d = write_synth_dir(tmp_path / "one-class", tr.images[ci], tr.labels[ci], ds.class_names)
    r = audit_synthetic(d, ds, tmp_path / "a", classifier_dir=tmp_path / "clf", **{**KW, "samples_per_class": None})
    assert r["floor_split"] == "val" and "real val images" in r["floor"]
    mal, ben, o = r["rows"]
    assert (mal["n_synthetic"], mal["n_realism"]) == (30, min(30, n_val[0]))  # realism size-matched to the floor
    assert (ben["n_synthetic"], ben["n_realism"]) == (0, 0) and math.isnan(ben["fd"]) and ben["fd_floor"] > 0
    assert o["n_realism"] == mal["n_realism"]
    # the overall floor still holds every class: it differs from the malignant-only floor
    assert o["fd_floor"] != pytest.approx(mal["fd_floor"])
    # overall GAN-test / GAN-train: means over classes, value and floor alike
    assert o["gan_test"] == mal["gan_test"] and o["gan_test_floor"] == mal["gan_test_floor"]
    assert o["gan_train"] == pytest.approx((mal["gan_train"] + ben["gan_train"]) / 2)
    assert o["gan_train_floor"] == pytest.approx((mal["gan_train_floor"] + ben["gan_train_floor"]) / 2)
    # the near-copy threshold comes from validation -> train distances, not from the test images
    xtr, _ = tr.batch(slice(None))
    xva, _ = va.batch(slice(None))
    v = calibrated(*nearest(pixel_vectors(xva), pixel_vectors(xtr), K)[::2])
    assert r["memorisation"]["near_copy_threshold"] == pytest.approx(threshold(v))
    from genmix.audit.features import extract, fit_classifier

    enc, _ = fit_classifier(tr, ds["test"], ds.class_names, tmp_path / "clf", "cpu", "smallcnn", 2, 0,
                            tag=f"real-train:{ds.spec}")  # the audit's cached encoder
    vf = nearest(extract(enc, xva, "cpu"), extract(enc, xtr, "cpu"))[0]
    assert r["memorisation"]["near_copy_feature_threshold"] == pytest.approx(threshold(vf))
    assert o["near_copies"] == 30 and o["memorising"]
