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


# --- small-data options (issue 30) --------------------------------------------------------------
SMALL_DATA = dict(diffaugment="color,translation,cutout", spectral_norm=True, ema_decay=0.9, loss="hinge",
                  lr_d=4e-3)


def test_small_data_recipe_moves_toward_target_and_samples_the_ema(tmp_path):
    ds = toy_dataset()
    cfg = {**CFG, **SMALL_DATA}
    g = torch.Generator().manual_seed(0)
    before = build_generator("dcgan", cfg, 2, 1, 16).sample(256, torch.arange(256) % 2, generator=g)
    model = train_generator(ds, "dcgan", cfg, tmp_path, "cpu", progress=False)
    after = model.sample(256, torch.arange(256) % 2, generator=torch.Generator().manual_seed(0))
    d0, d1 = sliced_wasserstein(before, _target()), sliced_wasserstein(after, _target())
    assert d1 < d0 / 2, (d0, d1)
    assert model.opt_d.param_groups[0]["lr"] == 4e-3 and model.opt_g.param_groups[0]["lr"] == 2e-3
    # the EMA differs from the raw G, is saved with the model, and is what sample() draws from
    raw = dict(model.G.named_parameters())
    assert any(not torch.equal(p, raw[k]) for k, p in model.ema.named_parameters())
    loaded, _ = load_generator(tmp_path)
    assert any(k.startswith("ema.") for k in loaded.state_dict())
    z_gen = torch.Generator().manual_seed(3)
    y = torch.arange(8) % 2
    with torch.no_grad():
        z = torch.randn(8, CFG["nz"], generator=z_gen)
        loaded.ema.eval(), loaded.G.eval()
        from_ema, from_raw = (loaded.ema[0](z, y) + 1) / 2, (loaded.G[0](z, y) + 1) / 2
    s = loaded.sample(8, y, generator=torch.Generator().manual_seed(3))
    assert torch.allclose(s, from_ema.clamp(0, 1), atol=1e-6) and not torch.allclose(s, from_raw.clamp(0, 1))


def test_spectral_norm_is_on_every_d_layer_when_set():
    from torch.nn.utils import parametrize

    on = build_generator("dcgan", {**CFG, "spectral_norm": True}, 2, 1, 16)
    layers = [m for m in on.D.modules() if isinstance(m, (torch.nn.Conv2d, torch.nn.Linear, torch.nn.Embedding))]
    assert layers and all(parametrize.is_parametrized(m, "weight") for m in layers)
    assert not any(isinstance(m, torch.nn.BatchNorm2d) for m in on.D.modules())
    off = build_generator("dcgan", CFG, 2, 1, 16)
    assert not any(parametrize.is_parametrized(m) for m in off.D.modules())
    assert not any(parametrize.is_parametrized(m) for m in on.G.modules())
    # the normalised weight has spectral norm ~1 after a few power iterations
    on.train()
    x = torch.rand(4, 1, 16, 16)
    for _ in range(20):
        on.D[0](x, torch.zeros(4, dtype=torch.long))
    w = on.D[0].net[0].weight.flatten(1)
    assert abs(float(torch.linalg.matrix_norm(w.detach(), 2)) - 1) < 0.05


def test_hinge_and_bce_loss_formulas():
    g = torch.Generator().manual_seed(0)
    dr, df, dg = (torch.randn(16, generator=g) for _ in range(3))
    hinge = build_generator("dcgan", {**CFG, "loss": "hinge"}, 2, 1, 16)
    ld, lg = hinge.losses(dr, df, dg)
    assert torch.allclose(ld, torch.clamp(1 - dr, min=0).mean() + torch.clamp(1 + df, min=0).mean())
    assert torch.allclose(lg, -dg.mean())
    ld, lg = build_generator("dcgan", CFG, 2, 1, 16).losses(dr, df, dg)
    assert torch.allclose(ld, -torch.log(torch.sigmoid(dr)).mean() - torch.log(1 - torch.sigmoid(df)).mean(), atol=1e-6)
    assert torch.allclose(lg, -torch.log(torch.sigmoid(dg)).mean(), atol=1e-6)


def test_small_data_resume_gives_the_same_weights(tmp_path):
    ds = toy_dataset(32)
    cfg = {**CFG, **SMALL_DATA, "steps": 20, "checkpoint_every": 10}
    full = train_generator(ds, "dcgan", cfg, tmp_path / "full", "cpu", progress=False)
    assert train_generator(ds, "dcgan", cfg, tmp_path / "part", "cpu", progress=False, stop_after=10) is None
    resumed = train_generator(ds, "dcgan", cfg, tmp_path / "part", "cpu", progress=False)
    sd = resumed.state_dict()
    assert any(k.startswith("ema.") for k in sd) and any("parametrizations" in k for k in sd)
    for k, a in full.state_dict().items():
        assert torch.equal(a, sd[k]), k


def test_checkpoint_written_before_the_small_data_settings_loads_as_the_plain_recipe(trained, tmp_path):
    import json
    import shutil

    from genmix.checkpoint import load_state, save_state
    from genmix.generate.dcgan import DCGANSettings

    _, out, model, _ = trained
    old = tmp_path / "old"
    shutil.copytree(out, old)
    new_keys = ("diffaugment", "spectral_norm", "ema_decay", "loss", "lr_d")
    st = load_state(old / "model.safetensors")
    for k in new_keys:
        st["meta"]["config"].pop(k)
    save_state(old / "model.safetensors", st)
    meta = json.loads((old / "generator.json").read_text())
    meta["config"] = {k: v for k, v in meta["config"].items() if k not in new_keys}
    (old / "generator.json").write_text(json.dumps(meta))
    loaded, _ = load_generator(old)
    assert {k: loaded.config[k] for k in new_keys} == {k: DCGANSettings().model_dump()[k] for k in new_keys}
    assert loaded.ema is None and loaded.policy == ()
    y = torch.arange(16) % 2
    a = loaded.sample(16, y, generator=torch.Generator().manual_seed(0))
    b = model.sample(16, y, generator=torch.Generator().manual_seed(0))
    assert torch.equal(a, b)
