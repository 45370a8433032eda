import pytest
import torch
import torch.nn.functional as F

from genmix.augment import create_augmentation
from genmix.augment.genmix import GenMix
from genmix.data.base import Split
from genmix.errors import GenmixError


def _synth_dir(tmp_path, counts=(40, 40), size=8, value=(200, 30), source="toy:real"):
    """A synthetic set written as genmix synthesize writes it (PNGs + manifest + synth.json)."""
    import csv
    import json

    from PIL import Image

    root = tmp_path / "synth"
    rows = []
    for c, n in enumerate(counts):
        (root / str(c)).mkdir(parents=True)
        for i in range(n):
            Image.fromarray(torch.full((size, size), value[c], dtype=torch.uint8).numpy()).save(root / str(c) / f"{i}.png")
            rows.append([f"{c}/{i}.png", c, f"k{c}", "dcgan", "h", 0, "train", source])
    with open(root / "manifest.csv", "w", newline="") as f:
        w = csv.writer(f)
        w.writerow(["path", "label", "class_name", "generator", "checkpoint_hash", "seed", "source_split",
                    "source_dataset"])
        w.writerows(rows)
    (root / "synth.json").write_text(json.dumps({"source_split": "train", "source_dataset": source,
                                                 "class_names": ["k0", "k1"], "channels": 1, "image_size": size}))
    return root


def _real(n0=30, n1=10, size=8):
    imgs = torch.cat([torch.full((n0, 1, size, size), 100), torch.full((n1, 1, size, size), 150)]).byte()
    return Split("train", imgs, torch.cat([torch.zeros(n0), torch.ones(n1)]).long())


def _prepared(tmp_path, **kw):
    aug = GenMix(str(_synth_dir(tmp_path)), **kw)
    out = aug.prepare(_real(), 2, torch.Generator().manual_seed(0), "toy:real")
    return aug, out


def test_genmix_lambda_zero_is_real_lambda_one_is_pool(tmp_path):
    aug, train = _prepared(tmp_path, epoch="real")
    x, y = train.batch(torch.arange(8))
    y = F.one_hot(y, 2).float()
    params = aug.sample(x, y, torch.Generator().manual_seed(1))
    zero = aug.apply(x, y, {**params, "lam": torch.zeros(8)})
    assert torch.equal(zero.x, x) and torch.equal(zero.y, y)
    one = aug.apply(x, y, {**params, "lam": torch.ones(8)})
    xs, ys = aug.pool.batch(params["pool_index"])
    assert torch.equal(one.x, xs) and torch.equal(one.y, F.one_hot(ys, 2).float())


def test_genmix_labels_follow_formula(tmp_path):
    aug, train = _prepared(tmp_path, alpha=0.3, epoch="real")
    x, y = train.batch(torch.arange(0, 40, 4))
    y = F.one_hot(y, 2).float()
    params = aug.sample(x, y, torch.Generator().manual_seed(2))
    again = aug.sample(x, y, torch.Generator().manual_seed(2))
    assert torch.equal(params["lam"], again["lam"]) and torch.equal(params["pool_index"], again["pool_index"])
    out = aug.apply(x, y, params)
    lam = params["lam"].view(-1, 1)
    xs, ys = aug.pool.batch(params["pool_index"])
    assert torch.allclose(out.y, lam * F.one_hot(ys, 2).float() + (1 - lam) * y)
    assert torch.allclose(out.x, lam.view(-1, 1, 1, 1) * xs + (1 - lam.view(-1, 1, 1, 1)) * x)
    assert torch.allclose(out.y.sum(1), torch.ones(10))
    assert params["lam"].unique().numel() == 10  # per sample by default


def test_genmix_lambda_distribution_is_beta_alpha_one(tmp_path):
    aug, train = _prepared(tmp_path, alpha=0.3)
    x, y = train.batch(torch.arange(40))
    g = torch.Generator().manual_seed(0)
    lams = torch.cat([aug.sample(x, y, g)["lam"] for _ in range(2000)])
    assert abs(float(lams.mean()) - 0.3 / 1.3) < 0.01
    per_batch = GenMix(None, per_sample=False)
    per_batch.prepare(_real(), 2, g)
    assert per_batch.sample(x, y, g)["lam"].ndim == 0


def test_pool_holds_the_asked_ratio_per_class(tmp_path):
    for ratio in (0.5, 0.25):
        aug = GenMix(str(_synth_dir(tmp_path / str(ratio))), ratio=ratio)
        aug.prepare(_real(), 2, torch.Generator().manual_seed(0), "toy:real")
        syn = aug.pool.labels[aug.is_synthetic]
        real = aug.pool.labels[~aug.is_synthetic]
        for c in (0, 1):
            s, r = int((syn == c).sum()), int((real == c).sum())
            assert abs(s / (s + r) - ratio) < 0.03


def test_synthetic_blend_trains_on_real_plus_synthetic_at_ratio(tmp_path):
    aug = create_augmentation("synthetic", synthetic=str(_synth_dir(tmp_path)), ratio=0.5)
    pool = aug.prepare(_real(), 2, torch.Generator().manual_seed(0), "toy:real")
    assert pool.counts(2) == [60, 20]
    syn = pool.labels[aug.is_synthetic]
    assert [int((syn == c).sum()) for c in (0, 1)] == [30, 10]
    # synthetic members are the synthetic pixels (200 / 30), real ones stay 100 / 150
    assert set(pool.images[aug.is_synthetic][:, 0, 0, 0].tolist()) == {200, 30}
    x, y = pool.batch(torch.arange(4))
    out = aug(x, F.one_hot(y, 2).float(), torch.Generator())
    assert torch.equal(out.x, x)


def test_pool_refuses_too_few_synthetic_and_foreign_sets(tmp_path):
    with pytest.raises(GenmixError, match="needs 90 synthetic images"):
        GenMix(str(_synth_dir(tmp_path / "a")), ratio=0.75).prepare(_real(), 2, torch.Generator(), "toy:real")
    with pytest.raises(GenmixError, match="synthesised from 'toy:real'"):
        GenMix(str(_synth_dir(tmp_path / "b"))).prepare(_real(), 2, torch.Generator(), "medmnist:other")
    with pytest.raises(GenmixError, match="needs --synthetic"):
        create_augmentation("genmix")


def test_genmix_epoch_over_pool_iterates_the_pool_and_mixes_with_real(tmp_path):
    aug, train = _prepared(tmp_path, alpha=0.3, epoch="pool")
    assert train is aug.pool and len(train) == 80  # 40 real + 40 synthetic at ratio 0.5
    x, y = train.batch(torch.arange(30, 50))  # crosses from real into synthetic images
    y = F.one_hot(y, 2).float()
    params = aug.sample(x, y, torch.Generator().manual_seed(3))
    assert int(params["pool_index"].max()) < len(aug.real)  # x_R is drawn from the real images only
    out = aug.apply(x, y, params)
    lam = params["lam"].view(-1, 1)
    xr, yr = aug.real.batch(params["pool_index"])
    assert torch.allclose(out.y, lam * y + (1 - lam) * F.one_hot(yr, 2).float())  # λ weighs x_S (the batch)
    assert torch.allclose(out.x, lam.view(-1, 1, 1, 1) * x + (1 - lam.view(-1, 1, 1, 1)) * xr)
    assert torch.allclose(out.y.sum(1), torch.ones(20))
    with pytest.raises(ValueError, match="epoch"):
        GenMix(None, epoch="synthetic")


def test_pool_takes_one_folder_however_spelled(tmp_path, monkeypatch):
    """A synthetic set made from folder:DIR is the same dataset as folder:DIR/, folder:./DIR and the
    absolute path; another folder is still refused."""
    (tmp_path / "DIR").mkdir()
    (tmp_path / "OTHER").mkdir()
    monkeypatch.chdir(tmp_path)
    synth = str(_synth_dir(tmp_path / "s", source="folder:DIR"))
    for spelling in ("folder:DIR/", "folder:./DIR", f"folder:{tmp_path / 'DIR'}", "folder:DIR//"):
        pool = GenMix(synth, ratio=0.5).prepare(_real(), 2, torch.Generator().manual_seed(0), spelling)
        assert pool.counts(2) == [60, 20]  # 30 + 10 real, the same again synthetic
    with pytest.raises(GenmixError, match="synthesised from 'folder:DIR', but training uses 'folder:OTHER/'"):
        GenMix(synth, ratio=0.5).prepare(_real(), 2, torch.Generator(), "folder:OTHER/")


def test_canonical_spec_spellings(tmp_path, monkeypatch):
    from genmix.data import canonical_spec, same_dataset

    monkeypatch.chdir(tmp_path)
    assert canonical_spec("folder:d/") == canonical_spec("folder:./d") == f"folder:{tmp_path / 'd'}"
    assert canonical_spec("medmnist:BreastMNIST@28") == "medmnist:breastmnist"
    assert canonical_spec("medmnist:breastmnist@64") == "medmnist:breastmnist@64"
    assert canonical_spec("named:bloodmnist-small") == "bloodmnist-small"
    assert same_dataset("csv:a.csv", "csv:./a.csv") and not same_dataset("csv:a.csv", "csv:b.csv")
    assert not same_dataset("medmnist:breastmnist", "medmnist:breastmnist@64")
    assert same_dataset("not a spec", "not a spec") and not same_dataset("not a spec", "toy:real")
