import csv

import pytest
import torch

from genmix.errors import GenmixError
from genmix.generate import build_generator
from genmix.generate.fit import train_generator
from tests.generate.toy import toy_dataset, toy_images

CFG = dict(steps=250, batch_size=32, lr=3e-3, block_out_channels=[16, 32], layers_per_block=1,
           attention_levels=[False, False], ema_decay=0.95, sampling_steps=20, checkpoint_every=100,
           log_every=10, label_dropout=0.1)


@pytest.fixture(scope="module")
def trained(tmp_path_factory):
    out = tmp_path_factory.mktemp("ddpm")
    g = torch.Generator().manual_seed(0)
    before = build_generator("ddpm", CFG, 2, 1, 16).sample(64, torch.arange(64) % 2, generator=g)
    model = train_generator(toy_dataset(), "ddpm", CFG, out, "cpu", progress=False)
    return out, model, before


def test_loss_falls(trained):
    out, _, _ = trained
    rows = list(csv.DictReader(open(out / "log.csv")))
    losses = [float(r["loss"]) for r in rows]
    assert sum(losses[-5:]) / 5 < 0.6 * sum(losses[:2]) / 2


def test_sample_statistics_approach_target(trained):
    _, model, before = trained
    g = torch.Generator().manual_seed(0)
    for label in (0, 1):
        target = toy_images(64, label, seed=5)
        x = model.sample(64, torch.full((64,), label), generator=g)
        b = before[torch.arange(64) % 2 == label]
        err_after = abs(x.mean() - target.mean()) + abs(x.std() - target.std())
        err_before = abs(b.mean() - target.mean()) + abs(b.std() - target.std())
        assert err_after < err_before / 2, (label, err_before, err_after)


def test_class_conditioning_and_guidance(trained):
    _, model, _ = trained
    g = torch.Generator().manual_seed(1)
    dark = model.sample(32, torch.zeros(32), generator=g)
    bright = model.sample(32, torch.ones(32), generator=g)
    assert dark.mean() + 0.2 < bright.mean()
    guided = model.sample(32, torch.ones(32), generator=torch.Generator().manual_seed(1), guidance_scale=3.0)
    assert guided.shape == (32, 1, 16, 16) and guided.mean() > dark.mean() + 0.2


def test_ddim_and_ddpm_samplers_shape_and_range(trained):
    _, model, _ = trained
    for sampler, steps in (("ddim", 5), ("ddpm", 30)):
        x = model.sample(3, torch.tensor([0, 1, 0]), generator=torch.Generator().manual_seed(0), sampler=sampler,
                         steps=steps)
        assert x.shape == (3, 1, 16, 16) and x.min() >= 0 and x.max() <= 1
    a = model.sample(2, None, generator=torch.Generator().manual_seed(3), steps=5)
    b = model.sample(2, None, generator=torch.Generator().manual_seed(3), steps=5)
    assert torch.equal(a, b)


def test_ema_weights_differ_from_online_weights(trained):
    _, model, _ = trained
    diffs = [not torch.equal(a, b) for a, b in zip(model.ema.parameters(), model.unet.parameters())]
    assert any(diffs)


def test_init_offline_without_weights_is_a_clear_error(tmp_path):
    from genmix.errors import UnavailableInput

    # a local folder not built yet: says how to build it, and is retried by genmix run once it exists
    with pytest.raises(UnavailableInput, match="cannot load a pretrained diffusers UNet2DModel: no such folder "
                       "yet .*genmix pretrain-ddpm"):
        build_generator("ddpm", {**CFG, "init": str(tmp_path / "missing")}, 2, 1, 16)
    # an existing folder that does not load is bad input (cached as a failure, not retried)
    (tmp_path / "broken").mkdir()
    (tmp_path / "broken" / "config.json").write_text("{not json")
    with pytest.raises(GenmixError, match="cannot load a pretrained diffusers UNet2DModel") as err:
        build_generator("ddpm", {**CFG, "init": str(tmp_path / "broken")}, 2, 1, 16)
    assert not isinstance(err.value, UnavailableInput)
    # a hub id offline is unavailable, with the download hint
    with pytest.raises(UnavailableInput, match="huggingface-cli download"):
        build_generator("ddpm", {**CFG, "init": "no-such-org-genmix/no-such-model"}, 2, 1, 16)


def test_init_from_a_local_pretrained_unet(tmp_path):
    from diffusers import UNet2DModel

    unet = UNet2DModel(sample_size=16, in_channels=1, out_channels=1, block_out_channels=(16, 32),
                       layers_per_block=1, down_block_types=("DownBlock2D", "DownBlock2D"),
                       up_block_types=("UpBlock2D", "UpBlock2D"), norm_num_groups=8)
    unet.save_pretrained(tmp_path / "unet")
    model = build_generator("ddpm", {**CFG, "init": str(tmp_path / "unet")}, 2, 1, 16)
    assert torch.equal(model.unet.conv_in.weight, unet.conv_in.weight)
    assert model.unet.class_embedding.num_embeddings == 3
