import pytest
import torch

from genmix.errors import GenmixError
from genmix.generate import build_generator
from genmix.generate.fit import load_generator, train_generator
from genmix.generate.quality import sliced_wasserstein
from tests.generate.toy import toy_dataset, toy_images

CFG = dict(steps=300, batch_size=32, lr=2e-3, ngf=16, ndf=16, nz=16, embed_dim=8, checkpoint_every=100,
           log_every=50)


@pytest.fixture(scope="module")
def trained(tmp_path_factory):
    ds = toy_dataset()
    out = tmp_path_factory.mktemp("dcgan")
    g = torch.Generator().manual_seed(0)
    init = build_generator("dcgan", CFG, 2, 1, 16)
    before = init.sample(256, torch.arange(256) % 2, generator=g)
    model = train_generator(ds, "dcgan", CFG, out, "cpu", progress=False)
    return ds, out, model, before


def _target(n=256):
    return torch.cat([toy_images(n // 2, 0, seed=9), toy_images(n // 2, 1, seed=9)])


def test_samples_move_toward_target(trained):
    _, _, model, before = trained
    after = model.sample(256, torch.arange(256) % 2, generator=torch.Generator().manual_seed(0))
    target = _target()
    d0, d1 = sliced_wasserstein(before, target), sliced_wasserstein(after, target)
    assert d1 < d0 / 2, (d0, d1)


def test_class_conditioning(trained):
    _, _, model, _ = trained
    g = torch.Generator().manual_seed(1)
    dark = model.sample(64, torch.zeros(64), generator=g)
    bright = model.sample(64, torch.ones(64), generator=g)
    assert dark.mean() + 0.2 < bright.mean()
    # the bars sit where the class puts them
    assert dark[..., 2:5].mean() > dark[..., 6:10].mean()
    assert bright[..., 11:14].mean() < bright[..., 6:10].mean()


def test_sample_shape_and_range(trained):
    _, out, _, _ = trained
    model, meta = load_generator(out)
    x = model.sample(5, torch.tensor([0, 1, 0, 1, 1]), generator=torch.Generator().manual_seed(0))
    assert x.shape == (5, 1, 16, 16) and x.dtype == torch.float32
    assert x.min() >= 0 and x.max() <= 1
    assert meta["source_split"] == "train" and meta["train_counts"] == [128, 128]


def test_per_class_mode_trains_one_model_per_class(tmp_path):
    ds = toy_dataset(64)
    model = train_generator(ds, "dcgan", {**CFG, "steps": 150, "per_class": True}, tmp_path, "cpu", progress=False)
    assert len(model.G) == 2 and model.G[0].embed is None
    g = torch.Generator().manual_seed(0)
    assert model.sample(32, torch.zeros(32), generator=g).mean() + 0.2 < model.sample(32, torch.ones(32), generator=g).mean()


def test_resume_gives_the_same_weights(tmp_path):
    ds = toy_dataset(32)
    cfg = {**CFG, "steps": 20, "checkpoint_every": 10}
    full = train_generator(ds, "dcgan", cfg, tmp_path / "full", "cpu", progress=False)
    assert train_generator(ds, "dcgan", cfg, tmp_path / "part", "cpu", progress=False, stop_after=10) is None
    assert (tmp_path / "part" / "checkpoint.safetensors").is_file()
    resumed = train_generator(ds, "dcgan", cfg, tmp_path / "part", "cpu", progress=False)
    for (k, a), (_, b) in zip(full.state_dict().items(), resumed.state_dict().items()):
        assert torch.equal(a, b), k


def test_nan_loss_stops_and_keeps_last_good_checkpoint(tmp_path, monkeypatch):
    from genmix.checkpoint import load_state
    from genmix.generate.dcgan import DCGAN

    ds = toy_dataset(32)
    cfg = {**CFG, "steps": 30, "checkpoint_every": 10}
    orig = DCGAN.training_step
    calls = {"n": 0}

    def poisoned(self, x, y, generator):
        calls["n"] += 1
        out = orig(self, x, y, generator)
        if calls["n"] == 15:
            out["loss_g"] = torch.tensor(float("nan"))
        return out

    monkeypatch.setattr(DCGAN, "training_step", poisoned)
    with pytest.raises(GenmixError, match="diverged at step 15") as e:
        train_generator(ds, "dcgan", cfg, tmp_path, "cpu", progress=False)
    assert "checkpoint.safetensors (step 10)" in str(e.value)
    st = load_state(tmp_path / "checkpoint.safetensors")
    assert st["step"] == 10
    assert all(torch.isfinite(v).all() for v in st["model"].values() if v.is_floating_point())
    assert not (tmp_path / "model.safetensors").exists()


def test_mismatched_config_fails_loudly(trained, tmp_path):
    import json
    import shutil

    _, out, _, _ = trained
    copy = tmp_path / "g"
    shutil.copytree(out, copy)
    meta = json.loads((copy / "generator.json").read_text())
    meta["config"]["ngf"] = 64
    (copy / "generator.json").write_text(json.dumps(meta))
    with pytest.raises(GenmixError, match="mismatched config"):
        load_generator(copy)
    ds = toy_dataset()
    with pytest.raises(GenmixError, match="another config"):
        train_generator(ds, "dcgan", {**CFG, "lr": 1e-4}, out, "cpu", progress=False)
