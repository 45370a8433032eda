"""Textual inversion, fully offline, on tiny pipelines the tests build from configs."""

import pytest
import torch

from genmix.generate import build_generator
from genmix.generate.fit import load_generator, train_generator
from genmix.generate.synthesize import synthesize
from tests.generate.tiny_pipeline import build_tiny_ldm, build_tiny_sd
from tests.generate.toy import toy_dataset


@pytest.fixture(scope="module")
def sd_path(tmp_path_factory):
    return build_tiny_sd(tmp_path_factory.mktemp("sd"))


@pytest.fixture(scope="module")
def ldm_path(tmp_path_factory):
    return build_tiny_ldm(tmp_path_factory.mktemp("ldm"))


@pytest.mark.parametrize("which", ["sd", "ldm"])
def test_only_placeholder_rows_change(which, sd_path, ldm_path):
    path = sd_path if which == "sd" else ldm_path
    m = build_generator("textual-inversion", {"pretrained": str(path), "num_vectors": 2, "lr": 0.05}, 2, 1, 16)
    m.configure_optimizers()
    before = m.embedding.weight.detach().clone()
    frozen = {k: v.detach().clone() for k, v in m.parts["unet"].state_dict().items()}
    g = torch.Generator().manual_seed(0)
    losses = [float(m.training_step(torch.rand(4, 1, 16, 16, generator=g), torch.tensor([0, 1, 0, 1]), g)["loss"])
              for _ in range(3)]
    after = m.embedding.weight.detach()
    changed = (before != after).any(1).nonzero().flatten().tolist()
    assert changed == sorted(m.token_ids) and len(changed) == 4  # 2 classes x 2 vectors
    keep = torch.ones(len(after), dtype=torch.bool)
    keep[m.token_ids] = False
    assert torch.equal(before[keep], after[keep])  # bit-identical
    assert all(torch.isfinite(torch.tensor(losses)))
    assert all(torch.equal(v, m.parts["unet"].state_dict()[k]) for k, v in frozen.items())


def test_embeddings_round_trip_through_safetensors(sd_path, tmp_path):
    cfg = {"pretrained": str(sd_path), "steps": 3, "batch_size": 4, "lr": 0.05, "log_every": 1}
    ds = toy_dataset(8)
    model = train_generator(ds, "textual-inversion", cfg, tmp_path / "g", "cpu", progress=False)
    files = sorted((tmp_path / "g").glob("learned_embeds_*.safetensors"))
    assert [f.name for f in files] == ["learned_embeds_0_dark.safetensors", "learned_embeds_1_bright.safetensors"]
    fresh = build_generator("textual-inversion", {"pretrained": str(sd_path)}, 2, 1, 16)
    assert not torch.equal(fresh.learned, model.learned)
    fresh.load_embeddings(files)
    assert torch.equal(fresh.learned, model.learned)
    assert torch.equal(fresh.embedding.weight[fresh.token_ids], model.learned)
    # the generator checkpoint holds the learned rows only, never the frozen pipeline
    loaded, meta = load_generator(tmp_path / "g")
    assert list(loaded.state_dict()) == ["learned"] and torch.equal(loaded.learned, model.learned)


def test_synthesis_writes_the_asked_counts(sd_path, tmp_path):
    cfg = {"pretrained": str(sd_path), "steps": 2, "batch_size": 4, "sampling_steps": 3}
    train_generator(toy_dataset(8), "textual-inversion", cfg, tmp_path / "g", "cpu", progress=False)
    info = synthesize(tmp_path / "g", tmp_path / "s", per_class=[3, 2], progress=False)
    assert info["counts"] == [3, 2]
    from genmix.data import load_dataset

    s = load_dataset(f"synthetic:{tmp_path / 's'}")
    assert s["train"].counts(2) == [3, 2] and s["train"].images.shape[1:] == (1, 16, 16)


def test_missing_pipeline_is_a_clear_error(tmp_path):
    from genmix.errors import UnavailableInput

    with pytest.raises(UnavailableInput, match="cannot load a pretrained text-to-image pipeline: no such folder "
                       "yet .*genmix pretrain-t2i --exclude-target DATA --out"):
        build_generator("textual-inversion", {"pretrained": str(tmp_path / "none")}, 2, 1, 16)


def test_cli_train_generator_and_synthesize_for_generators_ii(sd_path, tmp_path, capsys):
    from genmix.cli import main
    from tests.helpers import make_folder_dataset

    make_folder_dataset(tmp_path / "data", (4, 4), size=16)
    spec = f"folder:{tmp_path / 'data'}"
    for gen, extra in (("textual-inversion", ["--set", f"pretrained={sd_path}", "--set", "sampling_steps=2"]),
                       ("stylegan2", ["--set", "channel_max=16", "--set", "channel_min=16"])):
        out = tmp_path / gen
        rc = main(["train-generator", "--data", spec, "--generator", gen, "--out", str(out), "--steps", "2",
                   "--batch-size", "4", "--quiet", *extra])
        assert rc == 0, capsys.readouterr().err
        rc = main(["synthesize", str(out), "--out", str(tmp_path / f"s-{gen}"), "--per-class", "2,1", "--quiet"])
        assert rc == 0
        assert (tmp_path / f"s-{gen}" / "grid.png").is_file()
    rc = main(["train-generator", "--data", spec, "--generator", "textual-inversion", "--out", str(tmp_path / "x"),
               "--set", f"pretrained={tmp_path / 'missing'}", "--quiet"])
    assert rc == 2 and not (tmp_path / "x").exists()


@pytest.fixture(scope="module")
def vq_path(tmp_path_factory):
    return build_tiny_ldm(tmp_path_factory.mktemp("vq"), vq=True)


def test_resume_continues_from_the_restored_embeddings(sd_path, tmp_path):
    """Stopped after 3 steps and resumed == 6 uninterrupted steps, bit for bit (the learned vectors
    and the embedding rows the encoder reads)."""
    cfg = {"pretrained": str(sd_path), "steps": 6, "batch_size": 4, "lr": 0.05, "checkpoint_every": 3,
           "log_every": 1}
    ds = toy_dataset(8)
    full = train_generator(ds, "textual-inversion", cfg, tmp_path / "a", "cpu", progress=False)
    assert train_generator(ds, "textual-inversion", cfg, tmp_path / "b", "cpu", progress=False, stop_after=3) is None
    assert (tmp_path / "b" / "checkpoint.safetensors").is_file()
    resumed = train_generator(ds, "textual-inversion", cfg, tmp_path / "b", "cpu", progress=False)
    init = build_generator("textual-inversion", {"pretrained": str(sd_path)}, 2, 1, 16).learned
    assert not torch.equal(full.learned, init)
    assert torch.equal(resumed.learned, full.learned)
    assert torch.equal(resumed.embedding.weight[resumed.token_ids], full.learned)


def test_class_balance_gives_a_rare_class_half_the_draws(sd_path):
    from genmix.data.base import Split

    x = torch.zeros(40, 1, 16, 16, dtype=torch.uint8)
    x[38:] = 255
    y = torch.tensor([0] * 38 + [1] * 2)
    split = Split("train", x, y)
    g = torch.Generator().manual_seed(0)
    for balance, lo, hi in ((True, 0.4, 0.6), (False, 0.0, 0.15)):
        m = build_generator("textual-inversion", {"pretrained": str(sd_path), "lr": 0.05, "class_balance": balance},
                            2, 1, 16)
        m.fit_data(split)
        m.configure_optimizers()
        seen = []
        orig = m._encode_text
        m._encode_text = lambda prompts: (seen.extend(prompts), orig(prompts))[1]
        for _ in range(10):  # the loop hands in class-0 batches; balanced draws its own
            m.training_step(torch.zeros(4, 1, 16, 16), torch.zeros(4, dtype=torch.long), g)
        share = sum(m.tokens[1][0] in p for p in seen) / len(seen)
        assert lo <= share <= hi, (balance, share)


def test_vq_ldm_branch_trains_and_samples(vq_path):
    from diffusers import VQModel

    m = build_generator("textual-inversion", {"pretrained": str(vq_path), "lr": 0.05, "sampling_steps": 2}, 2, 1, 16)
    assert isinstance(m.parts["vae"], VQModel) and m.parts["kind"] == "LDMTextToImagePipeline"
    m.configure_optimizers()
    g = torch.Generator().manual_seed(0)
    before = m.learned.detach().clone()
    loss = m.training_step(torch.rand(4, 1, 16, 16, generator=g), torch.tensor([0, 1, 0, 1]), g)["loss"]
    assert torch.isfinite(loss) and not torch.equal(before, m.learned)
    # the VQ branch encodes to the pre-quantisation latents, of the UNet's shape
    z = m._latents(m._to_pipeline(torch.rand(2, 1, 16, 16, generator=g)), g)
    assert z.shape == (2, 4, 8, 8)
    img = m.sample(3, labels=torch.tensor([0, 1, 1]), generator=torch.Generator().manual_seed(1))
    assert img.shape == (3, 1, 16, 16) and torch.isfinite(img).all() and 0 <= img.min() and img.max() <= 1
