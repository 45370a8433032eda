import pytest
import torch

from genmix.generate import build_generator
from genmix.generate.fit import train_generator
from genmix.generate.quality import sliced_wasserstein
from genmix.generate.stylegan2 import ModConv, diff_augment
from tests.generate.toy import toy_dataset, toy_images

SMALL = dict(z_dim=16, w_dim=16, mapping_layers=2, channel_max=32, channel_min=16, cmap_dim=16)


@pytest.mark.parametrize("size,channels", [(28, 1), (28, 3), (64, 1), (64, 3)])
def test_forward_backward_and_every_parameter_gets_a_gradient(size, channels):
    m = build_generator("stylegan2", {**SMALL, "r1_every": 1}, 3, channels, size)
    m.configure_optimizers()
    g = torch.Generator().manual_seed(0)
    x = torch.rand(4, channels, size, size, generator=g)
    y = torch.tensor([0, 1, 2, 1])
    # G and D losses in one graph so every parameter's gradient can be checked
    fake, _ = m.G(torch.randn(4, 16, generator=g), y, z2=torch.randn(4, 16, generator=g), cutoff=2, generator=g)
    assert fake.shape == (4, channels, size, size)
    loss = torch.nn.functional.softplus(-m.D(fake, y)).mean() + torch.nn.functional.softplus(-m.D(x * 2 - 1, y)).mean()
    loss.backward()
    missing = [n for n, p in m.named_parameters() if p.requires_grad and (p.grad is None or not torch.isfinite(p.grad).all()
               or (p.grad == 0).all() and "noise_strength" not in n)]
    assert missing == []
    out = m.training_step(x, y, g)
    assert all(torch.isfinite(v) for v in out.values()) and float(out["r1"]) > 0


def test_modulated_conv_equals_per_sample_weights():
    m = ModConv(8, 16, 3, 10, up=True)
    x, w = torch.randn(3, 8, 5, 5), torch.randn(3, 10)
    s = m.affine(w)
    ref = []
    for i in range(3):
        wg = m.scale * m.weight[0] * s[i].view(1, -1, 1, 1)
        wg = wg * torch.rsqrt(wg.pow(2).sum([1, 2, 3]) + 1e-8).view(-1, 1, 1, 1)
        xi = torch.nn.functional.interpolate(x[i:i + 1], scale_factor=2, mode="bilinear", align_corners=False)
        ref.append(torch.nn.functional.conv2d(xi, wg, padding=1))
    assert torch.allclose(m(x, w), torch.cat(ref), atol=1e-5)


def test_diffaugment_is_random_differentiable_and_seeded():
    x = torch.rand(4, 1, 16, 16, requires_grad=True)
    a = diff_augment(x, torch.Generator().manual_seed(0))
    b = diff_augment(x, torch.Generator().manual_seed(0))
    c = diff_augment(x, torch.Generator().manual_seed(1))
    assert torch.equal(a, b) and not torch.equal(a, c)
    a.sum().backward()
    assert x.grad is not None and (x.grad != 0).any()
    # cutout zeroes a block in every image
    assert ((diff_augment(torch.ones(4, 1, 16, 16), torch.Generator(), ("cutout",)) == 0).flatten(1).sum(1) > 0).all()


def test_style_mixing_and_truncation_change_outputs_as_expected():
    m = build_generator("stylegan2", SMALL, 2, 1, 16)
    G = m.G
    G.w_avg.normal_()
    g = torch.Generator().manual_seed(0)
    z1, z2 = torch.randn(4, 16, generator=g), torch.randn(4, 16, generator=g)
    y = torch.zeros(4, dtype=torch.long)
    with torch.no_grad():
        a, _ = G(z1, y, noise_mode="const")
        b, _ = G(z2, y, noise_mode="const")
        mixed_late, _ = G(z1, y, z2=z2, cutoff=G.num_ws - 1, noise_mode="const")
        mixed_early, _ = G(z1, y, z2=z2, cutoff=1, noise_mode="const")
        # mixing at the last layer changes little, mixing from the first layer moves toward z2's image
        assert (mixed_late - a).abs().mean() < (mixed_early - a).abs().mean()
        assert (mixed_early - b).abs().mean() < (a - b).abs().mean()
        # psi = 0: every z gives the class-mean image; psi = 1: no truncation
        t0, _ = G(torch.cat([z1, z2]), torch.zeros(8, dtype=torch.long), truncation=0.0, noise_mode="const")
        assert torch.allclose(t0, t0[:1].expand_as(t0), atol=1e-5)
        t1, _ = G(z1, y, truncation=1.0, noise_mode="const")
        assert torch.equal(t1, a)
        half, _ = G(torch.cat([z1, z2]), torch.zeros(8, dtype=torch.long), truncation=0.5, noise_mode="const")
        full = torch.cat([a, b])
        assert half.std(0).mean() < full.std(0).mean()


def test_samples_move_toward_target_and_resume(tmp_path):
    ds = toy_dataset(128)
    cfg = {**SMALL, "steps": 300, "batch_size": 32, "lr": 3e-3, "checkpoint_every": 100, "log_every": 50,
           "ema_decay": 0.9, "style_mixing": 0.5}
    before = build_generator("stylegan2", cfg, 2, 1, 16).sample(256, torch.arange(256) % 2,
                                                               generator=torch.Generator().manual_seed(0))
    m = train_generator(ds, "stylegan2", cfg, tmp_path / "full", "cpu", progress=False)
    after = m.sample(256, torch.arange(256) % 2, generator=torch.Generator().manual_seed(0))
    target = torch.cat([toy_images(128, 0, seed=9), toy_images(128, 1, seed=9)])
    d0, d1 = sliced_wasserstein(before, target), sliced_wasserstein(after, target)
    assert d1 < d0 / 2, (d0, d1)
    g = torch.Generator().manual_seed(1)
    assert m.sample(64, torch.zeros(64), generator=g).mean() + 0.1 < m.sample(64, torch.ones(64), generator=g).mean()
    # resume: a run stopped at step 100 and resumed ends with the same weights
    short = {**cfg, "steps": 20, "checkpoint_every": 10}
    full = train_generator(ds, "stylegan2", short, tmp_path / "a", "cpu", progress=False)
    assert train_generator(ds, "stylegan2", short, tmp_path / "b", "cpu", progress=False, stop_after=10) is None
    resumed = train_generator(ds, "stylegan2", short, tmp_path / "b", "cpu", progress=False)
    for (k, a), (_, b) in zip(full.state_dict().items(), resumed.state_dict().items()):
        assert torch.equal(a, b), k


# --- ADA (issue 30) ------------------------------------------------------------------------------
class _ConstD(torch.nn.Module):
    """A discriminator that outputs ``value`` for every image (through a parameter, so losses backprop)."""

    def __init__(self, value):
        super().__init__()
        self.w = torch.nn.Parameter(torch.zeros(()))
        self.value = value

    def forward(self, x, y):
        return self.value + self.w * x.flatten(1).mean(1)


@pytest.mark.parametrize("value,start,rises", [(5.0, 0.0, True), (-5.0, 0.5, False)])
def test_ada_p_rises_when_d_overfits_and_falls_otherwise(value, start, rises):
    m = build_generator("stylegan2", {**SMALL, "augment": "ada", "r1_gamma": 0.0, "ada_interval": 2,
                                      "ada_kimg": 0.1}, 2, 1, 16)
    m.D = _ConstD(value)
    m.configure_optimizers()
    m.ada.p.fill_(start)
    g = torch.Generator().manual_seed(0)
    x, y = torch.rand(8, 1, 16, 16, generator=g), torch.tensor([0, 1] * 4)
    ps = [float(m.training_step(x, y, g)["ada_p"]) for _ in range(6)]
    # r_t = +1 (> target 0.6) raises p, r_t = -1 lowers it, by 16 images / 100 per adjustment (every 2 steps)
    want = [min(1.0, max(0.0, start + (1 if rises else -1) * 0.16 * (i // 2))) for i in range(1, 7)]
    assert ps == pytest.approx(want, abs=1e-6)
    assert float(m.ada.rt) == (1.0 if rises else -1.0)


def test_ada_augment_applies_each_op_with_probability_p():
    from genmix.generate.diffaugment import ada_augment

    x = torch.rand(400, 1, 16, 16, requires_grad=True)
    assert torch.equal(ada_augment(x, torch.Generator().manual_seed(0), 0.0), x)
    flipped = ada_augment(x, torch.Generator().manual_seed(0), 0.3, ("flip",))
    frac = float((flipped != x).flatten(1).any(1).float().mean())
    assert 0.2 < frac < 0.4
    assert torch.equal(ada_augment(x, torch.Generator().manual_seed(0), 1.0, ("flip",)), x.flip(3))
    out = ada_augment(x, torch.Generator().manual_seed(0), 0.5, ("flip", "rot90", "color", "translation", "cutout"))
    out.sum().backward()
    assert x.grad is not None and (x.grad != 0).any()


def test_ada_trains_logs_p_and_resumes_with_p_restored(tmp_path):
    import csv

    from genmix.checkpoint import load_state

    ds = toy_dataset(64)
    cfg = {**SMALL, "steps": 20, "batch_size": 16, "lr": 3e-3, "checkpoint_every": 10, "log_every": 5,
           "augment": "ada", "ada_kimg": 0.2, "ada_interval": 2, "ada_target": 0.0, "r1_every": 4}
    full = train_generator(ds, "stylegan2", cfg, tmp_path / "a", "cpu", progress=False)
    rows = list(csv.DictReader(open(tmp_path / "a" / "log.csv")))
    assert "ada_p" in rows[0] and "ada_rt" in rows[0]
    assert float(full.ada.p) > 0  # an untrained D scores reals above a target of 0: p has risen
    assert train_generator(ds, "stylegan2", cfg, tmp_path / "b", "cpu", progress=False, stop_after=10) is None
    st = load_state(tmp_path / "b" / "checkpoint.safetensors")
    assert float(st["model"]["ada.p"]) > 0
    resumed = train_generator(ds, "stylegan2", cfg, tmp_path / "b", "cpu", progress=False)
    assert float(resumed.ada.p) == float(full.ada.p)
    for k, a in full.state_dict().items():
        assert torch.equal(a, resumed.state_dict()[k]), k


def test_checkpoint_written_before_augment_settings_loads_with_diffaugment(tmp_path):
    import json

    from genmix.checkpoint import load_state, save_state
    from genmix.generate.fit import load_generator

    ds = toy_dataset(16)
    cfg = {**SMALL, "steps": 2, "batch_size": 8, "checkpoint_every": 10, "log_every": 1}
    model = train_generator(ds, "stylegan2", cfg, tmp_path, "cpu", progress=False)
    new_keys = ("augment", "ada_target", "ada_interval", "ada_kimg")
    st = load_state(tmp_path / "model.safetensors")
    for k in new_keys:
        st["meta"]["config"].pop(k)
    save_state(tmp_path / "model.safetensors", st)
    meta = json.loads((tmp_path / "generator.json").read_text())
    meta["config"] = {k: v for k, v in meta["config"].items() if k not in new_keys}
    (tmp_path / "generator.json").write_text(json.dumps(meta))
    loaded, _ = load_generator(tmp_path)
    assert loaded.config["augment"] == "diffaugment" and loaded.ada is None
    assert loaded.policy == ("color", "translation", "cutout")
    y = torch.arange(4) % 2
    assert torch.equal(loaded.sample(4, y, generator=torch.Generator().manual_seed(0)),
                       model.sample(4, y, generator=torch.Generator().manual_seed(0)))


def test_ada_moves_toward_target(tmp_path):
    ds = toy_dataset(128)
    cfg = {**SMALL, "steps": 300, "batch_size": 32, "lr": 3e-3, "checkpoint_every": 100, "log_every": 50,
           "ema_decay": 0.9, "style_mixing": 0.5, "augment": "ada", "ada_kimg": 2.0}
    before = build_generator("stylegan2", cfg, 2, 1, 16).sample(256, torch.arange(256) % 2,
                                                               generator=torch.Generator().manual_seed(0))
    m = train_generator(ds, "stylegan2", cfg, tmp_path, "cpu", progress=False)
    after = m.sample(256, torch.arange(256) % 2, generator=torch.Generator().manual_seed(0))
    target = torch.cat([toy_images(128, 0, seed=9), toy_images(128, 1, seed=9)])
    d0, d1 = sliced_wasserstein(before, target), sliced_wasserstein(after, target)
    assert d1 < d0 / 2, (d0, d1)
