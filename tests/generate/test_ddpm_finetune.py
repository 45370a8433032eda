"""ddpm fine-tuned from a pretrained diffusion folder (genmix pretrain-ddpm) with another channel and
class count: adapted convolutions, zero-initialised class embedding, exclusion rule, fig2.png."""

import json

import pytest
import torch
import yaml

from genmix.cli import main
from genmix.data.base import ImageDataset, Split
from genmix.generate import build_generator
from genmix.generate.ddpm import adapt_conv_in, adapt_conv_out
from genmix.generate.fit import train_generator
from tests.generate.toy import toy_images

NET = dict(block_out_channels=[16, 32], layers_per_block=1, attention_levels=[False, False])
FT = dict(steps=6, batch_size=8, lr=1e-3, ema_decay=0.9, checkpoint_every=3, log_every=3, **NET)


def bars(n=48, size=16):
    splits = {}
    for i, s in enumerate(("train", "val", "test")):
        xs = torch.cat([toy_images(n, 0, size, i), toy_images(n, 1, size, i)])
        splits[s] = Split(s, (xs * 255).round().byte(), torch.cat([torch.zeros(n), torch.ones(n)]).long())
    return ImageDataset("folder:/nonexistent/toy-bars", ["dark", "bright"], splits)  # its own source


@pytest.fixture(scope="module")
def pretrained(tmp_path_factory):
    """A 3-channel class-agnostic model pretrained on the simulated FLL patches (16 px)."""
    from genmix.pretrain.ddpm import pretrain_ddpm

    out = tmp_path_factory.mktemp("pre") / "ddpm-fll"
    meta = pretrain_ddpm(["simulated:fll@16"], out, image_size=16, channels=3, preset="quick",
                         overrides=dict(steps=60, batch_size=16, lr=3e-3, ema_decay=0.9, checkpoint_every=1000,
                                        log_every=10, **NET), max_per_dataset=200, progress=False)
    return out, meta


def test_pretrained_folder_is_a_class_agnostic_diffusers_pipeline(pretrained):
    from diffusers import DDPMPipeline

    out, meta = pretrained
    pipe = DDPMPipeline.from_pretrained(out)
    assert pipe.unet.config.in_channels == 3 and pipe.unet.class_embedding is None
    assert meta["corpus"] == ["simulated:fll@16"] and meta["steps"] == 60 and meta["final_loss"] > 0
    assert json.loads((out / "genmix.json").read_text())["corpus"] == ["simulated:fll@16"]
    assert (out / "training" / "fig2.png").is_file()


def test_init_adapts_channels_and_zero_class_embedding(pretrained):
    from diffusers import UNet2DModel

    out, _ = pretrained
    src = UNet2DModel.from_pretrained(out, subfolder="unet").eval()
    model = build_generator("ddpm", {**FT, "init": str(out)}, 2, 1, 16)
    unet = model.unet.eval()
    assert unet.config.in_channels == unet.config.out_channels == 1 and unet.config.sample_size == 16
    assert torch.count_nonzero(unet.class_embedding.weight) == 0 and unet.class_embedding.num_embeddings == 3
    x, t = torch.randn(4, 1, 16, 16), torch.tensor([10, 200, 500, 900])
    with torch.no_grad():
        outs = [unet(x, t, class_labels=torch.full((4,), c)).sample for c in range(3)]
        ref = src(x.repeat(1, 3, 1, 1), t).sample.mean(1, keepdim=True)  # gray replica in, mean prediction out
    assert torch.equal(outs[0], outs[1]) and torch.equal(outs[0], outs[2])
    assert torch.allclose(outs[0], ref, atol=1e-4)


def test_conv_adaptation_exact_on_replicated_gray():
    torch.manual_seed(0)
    conv3 = torch.nn.Conv2d(3, 8, 3, padding=1)
    gray = torch.rand(2, 1, 8, 8)
    assert torch.allclose(adapt_conv_in(conv3, 1)(gray), conv3(gray.repeat(1, 3, 1, 1)), atol=1e-6)
    conv1 = torch.nn.Conv2d(1, 8, 3, padding=1)
    assert torch.allclose(adapt_conv_in(conv1, 3)(gray.repeat(1, 3, 1, 1)), conv1(gray), atol=1e-6)
    h = torch.rand(2, 8, 8, 8)
    out3 = torch.nn.Conv2d(8, 3, 3, padding=1)
    assert torch.allclose(adapt_conv_out(out3, 1)(h), out3(h).mean(1, keepdim=True), atol=1e-6)
    out1 = torch.nn.Conv2d(8, 1, 3, padding=1)
    assert torch.allclose(adapt_conv_out(out1, 3)(h), out1(h).repeat(1, 3, 1, 1), atol=1e-6)


def test_class_conditional_checkpoint_of_another_class_count(tmp_path):
    from diffusers import UNet2DModel

    torch.manual_seed(0)
    src = UNet2DModel(sample_size=8, in_channels=1, out_channels=1, block_out_channels=(16, 32), layers_per_block=1,
                      down_block_types=("DownBlock2D", "DownBlock2D"), up_block_types=("UpBlock2D", "UpBlock2D"),
                      norm_num_groups=8, num_class_embeds=5)
    src.save_pretrained(tmp_path / "unet5")
    unet = build_generator("ddpm", {**FT, "init": str(tmp_path / "unet5")}, 2, 3, 16).unet.eval()
    assert unet.class_embedding.num_embeddings == 3 and unet.config.sample_size == 16
    x = torch.randn(2, 3, 16, 16)
    with torch.no_grad():
        a, b = (unet(x, torch.tensor([5, 50]), class_labels=torch.full((2,), c)).sample for c in (0, 2))
    assert torch.equal(a, b) and a.shape == (2, 3, 16, 16)


def test_step0_loss_below_scratch_and_resume_exact(pretrained, tmp_path):
    out, _ = pretrained
    ds = bars()
    x, y = ds["train"].batch(torch.arange(0, len(ds["train"]), 3))
    losses = {}
    for name, init in (("scratch", None), ("pretrained", str(out))):
        m = build_generator("ddpm", {**FT, "init": init}, 2, 1, 16)
        with torch.no_grad():
            losses[name] = sum(float(m(x, y, torch.Generator().manual_seed(s))) for s in range(2)) / 2
    assert losses["pretrained"] < 0.8 * losses["scratch"], losses

    cfg = {**FT, "init": str(out)}
    full = train_generator(ds, "ddpm", cfg, tmp_path / "full", "cpu", progress=False)
    assert train_generator(ds, "ddpm", cfg, tmp_path / "cut", "cpu", progress=False, stop_after=3) is None
    resumed = train_generator(ds, "ddpm", cfg, tmp_path / "cut", "cpu", progress=False)
    for (k, a), b in zip(full.state_dict().items(), resumed.state_dict().values()):
        assert torch.equal(a, b), k
    assert (tmp_path / "cut" / "fig2.png").read_bytes() == (tmp_path / "full" / "fig2.png").read_bytes()
    from PIL import Image

    w, h = Image.open(tmp_path / "full" / "fig2.png").size
    assert h > 250 and w > 500  # three rows (steps 0, 3, 6) of eight samples


def test_overlapping_pretrained_folder_refused(pretrained, tmp_path, capsys):
    out, _ = pretrained
    rc = main(["train-generator", "--data", "simulated:fll@16", "--generator", "ddpm", "--out", str(tmp_path / "g"),
               "--steps", "2", "--set", f"init={out}", "--set", "block_out_channels=[16, 32]",
               "--set", "attention_levels=[false, false]", "--quiet"])
    err = capsys.readouterr().err.strip()
    assert rc == 2 and len(err.splitlines()) == 1 and "shares its source" in err and str(out) in err
    assert not (tmp_path / "g").exists()
    cfg = tmp_path / "exp.yaml"
    cfg.write_text(yaml.safe_dump({"data": "simulated:fll@16", "seeds": [0], "rows": ["genmix:ddpm"],
                                   "classifier": {"model": "smallcnn", "epochs": 1},
                                   "generators": {"ddpm": {"init": str(out), "steps": 2, **NET}}}))
    rc = main(["run", str(cfg), "--out", str(tmp_path / "exp"), "--quiet"])
    err = capsys.readouterr().err.strip()
    assert rc == 2 and len(err.splitlines()) == 1 and "shares its source" in err
    assert not (tmp_path / "exp" / "units").exists()
