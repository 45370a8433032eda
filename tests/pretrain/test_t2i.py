"""genmix pretrain-t2i: captions from metadata, an offline tokenizer, a diffusers pipeline folder that
loads like a hub id, resume, the exclusion rule, and textual inversion on the result. Tiny configs."""

import json

import pytest
import torch

from genmix.errors import GenmixError
from genmix.pretrain.captions import captions_for, clean_label, modality
from genmix.pretrain.t2i import check_pretrained, pretrain_t2i, resolve_corpus
from genmix.pretrain.tokenizer import words_of, write_tokenizer
from tests.helpers import make_folder_dataset

TINY = dict(image_size=8, steps=4, vae_steps=2, batch_size=4, vae_channels=[8, 16], unet_channels=[8, 16],
            text_dim=16, text_layers=1, text_heads=2, max_length=16, train_timesteps=50, sample_steps=2,
            samples_per_caption=2, log_every=1, checkpoint_every=3)


@pytest.fixture(scope="module")
def corpus(tmp_path_factory):
    root = tmp_path_factory.mktemp("corpus")
    make_folder_dataset(root / "ultrasound", (4, 4), size=16)
    make_folder_dataset(root / "xray", (4, 4), size=16, seed=1)
    return [f"folder:{root / 'ultrasound'}", f"folder:{root / 'xray'}"]


@pytest.fixture(scope="module")
def model_dir(corpus, tmp_path_factory):
    out = tmp_path_factory.mktemp("t2i") / "m"
    pretrain_t2i(corpus, out, TINY, progress=False)
    return out


def test_captions_come_from_medmnist_metadata():
    from medmnist import INFO

    def caps(flag):
        return captions_for(f"medmnist:{flag}", list(INFO[flag]["label"].values()))

    assert caps("breastmnist") == ["breast ultrasound, malignant", "breast ultrasound, normal or benign"]
    assert caps("pneumoniamnist") == ["chest X-ray, normal", "chest X-ray, pneumonia"]
    assert "abdominal CT, liver" in caps("organamnist") and "abdominal CT, left femur" in caps("organamnist")
    assert "blood cell microscopy, neutrophil" in caps("bloodmnist")
    assert "blood cell microscopy, immature granulocytes" in caps("bloodmnist")
    assert modality("organamnist-fll3") == "abdominal CT"  # a derived set keeps its base's modality
    assert clean_label("kidney-right") == "right kidney"


def test_tokenizer_is_written_offline_with_one_token_per_word(tmp_path):
    from transformers import CLIPTokenizer

    texts = ["abdominal CT, left kidney", "chest X-ray, pneumonia", "a close-up medical image of {token}",
             "an image of a scan", "pancreas", "as", "spleen", "microscopy", "granulocytes", "platelet"]
    tok = write_tokenizer(tmp_path / "tok", words_of(texts) + ["tissue"], 16)
    tok.save_pretrained(str(tmp_path / "saved"))
    again = CLIPTokenizer.from_pretrained(str(tmp_path / "saved"))
    for w in words_of(texts) + ["tissue"]:
        assert len(again.encode(w, add_special_tokens=False)) == 1, w
    assert again("chest X-ray, pneumonia").input_ids == tok("chest X-ray, pneumonia").input_ids
    assert len(again.encode("zebra", add_special_tokens=False)) > 1  # unknown words still tokenise, byte-wise


def test_exclude_target_drops_every_set_of_the_same_source():
    pub = ["medmnist:breastmnist", "medmnist:pneumoniamnist", "medmnist:organamnist", "medmnist:bloodmnist"]
    assert resolve_corpus(pub, "medmnist:breastmnist") == (pub[1:], pub[:1])
    assert resolve_corpus(pub, "organamnist-fll3") == ([pub[0], pub[1], pub[3]], [pub[2]])
    assert resolve_corpus(["medmnist:organcmnist"], None) == (["medmnist:organcmnist"], [])
    with pytest.raises(GenmixError, match="nothing is left"):
        resolve_corpus(["medmnist:organcmnist"], "organamnist-fll3")


def test_pretrained_folder_loads_like_a_hub_id(model_dir, corpus):
    from diffusers import DiffusionPipeline, StableDiffusionPipeline

    from genmix.pretrain.t2i import generate

    pipe = DiffusionPipeline.from_pretrained(str(model_dir))
    assert isinstance(pipe, StableDiffusionPipeline) and pipe.unet.config.sample_size == 4
    meta = json.loads((model_dir / "genmix.json").read_text())
    assert meta["corpus"] == corpus and meta["excluded"] == []
    assert meta["captions"] == ["ultrasound, bright", "ultrasound, dark", "xray, bright", "xray, dark"]
    assert set(meta["final_losses"]) >= {"vae_mse", "unet_mse"} and meta["steps_done"] == 6
    assert abs(pipe.vae.config.scaling_factor - meta["scaling_factor"]) < 1e-6 and meta["scaling_factor"] != 1.0
    card = (model_dir / "README.md").read_text()
    assert corpus[0] in card and "xray, dark" in card and (model_dir / "samples.png").is_file()
    assert not (model_dir / "checkpoint.safetensors").exists()
    img = generate(pipe, ["xray, dark", ""], seed=0, steps=2)
    assert img.shape == (2, 3, 8, 8) and 0 <= img.min() and img.max() <= 1
    # rerun: the finished model is reused, not retrained
    before = (model_dir / "unet" / "diffusion_pytorch_model.safetensors").stat().st_mtime_ns
    assert pretrain_t2i(corpus, model_dir, TINY, progress=False)["corpus"] == corpus
    assert (model_dir / "unet" / "diffusion_pytorch_model.safetensors").stat().st_mtime_ns == before
    with pytest.raises(GenmixError, match="another corpus or config"):
        pretrain_t2i(corpus, model_dir, {**TINY, "steps": 5}, progress=False)


def test_interrupted_and_resumed_equals_uninterrupted(model_dir, corpus, tmp_path):
    from safetensors.torch import load_file

    out = tmp_path / "m"
    # VAE done, 1 UNet step of a longer run; resumed with the fixture's (shorter) step count
    assert pretrain_t2i(corpus, out, {**TINY, "steps": 9}, progress=False, stop_after=3) is None
    assert (out / "checkpoint.safetensors").is_file() and not (out / "genmix.json").exists()
    with pytest.raises(GenmixError, match="another corpus or config"):
        pretrain_t2i(corpus, out, {**TINY, "lr": 1e-3}, progress=False)
    pretrain_t2i(corpus, out, TINY, progress=False)
    for part in ("unet/diffusion_pytorch_model", "vae/diffusion_pytorch_model", "text_encoder/model"):
        a, b = load_file(str(model_dir / f"{part}.safetensors")), load_file(str(out / f"{part}.safetensors"))
        assert a.keys() == b.keys() and all(torch.equal(a[k], b[k]) for k in a), part


def test_a_checkpoint_written_before_corpus_colour_was_recorded_resumes(corpus, tmp_path):
    from genmix.checkpoint import load_state, save_state

    out = tmp_path / "m"
    assert pretrain_t2i(corpus, out, TINY, progress=False, stop_after=3) is None
    ckpt = out / "checkpoint.safetensors"
    st = load_state(ckpt)
    del st["meta"]["corpus_colour"]  # as an older genmix wrote it
    save_state(ckpt, st)
    meta = pretrain_t2i(corpus, out, TINY, progress=False)
    assert meta["steps_done"] == 6 and meta["corpus_colour"] is False


def test_divergence_stops_with_a_clear_error(corpus, tmp_path):
    with pytest.raises(GenmixError, match="diverged at step 1"):
        pretrain_t2i(corpus, tmp_path / "m", {**TINY, "kl_weight": float("inf")}, progress=False)


def test_cli_refuses_a_corpus_with_nothing_left_and_bad_settings(corpus, tmp_path, capsys):
    from genmix.cli import main

    rc = main(["pretrain-t2i", "--data", corpus[0], "--exclude-target", corpus[0], "--out", str(tmp_path / "x")])
    err = capsys.readouterr().err
    assert rc == 2 and "nothing is left" in err and len(err.strip().splitlines()) == 1
    rc = main(["pretrain-t2i", "--data", corpus[0], "--out", str(tmp_path / "y"), "--set", "width=3"])
    assert rc == 2 and "unknown setting" in capsys.readouterr().err
    assert not (tmp_path / "x").exists() and not (tmp_path / "y").exists()


def test_textual_inversion_runs_on_the_pretrained_model_and_refuses_its_corpus(model_dir, corpus, tmp_path, capsys):
    from genmix.cli import main

    check_pretrained("CompVis/ldm-text2im-large-256", corpus[0])  # hub ids carry no genmix metadata: no check
    # the target is one of the corpus sets: refused, one line, nothing written
    rc = main(["train-generator", "--data", corpus[1], "--generator", "textual-inversion", "--out",
               str(tmp_path / "ti-bad"), "--steps", "2", "--batch-size", "4", "--quiet", "--set",
               f"pretrained={model_dir}"])
    err = capsys.readouterr().err
    lines = [ln for ln in err.splitlines() if ln.startswith("genmix: error")]  # (diffusers' loading bars aside)
    assert rc == 2 and len(lines) == 1 and "shares its source" in lines[0] and "genmix.json" in lines[0]
    assert not (tmp_path / "ti-bad").exists()
    # a set outside the corpus: textual inversion trains on the pretrained model and synthesises
    make_folder_dataset(tmp_path / "target", (4, 2), size=16, seed=3)
    rc = main(["train-generator", "--data", f"folder:{tmp_path / 'target'}", "--generator", "textual-inversion",
               "--out", str(tmp_path / "ti"), "--steps", "2", "--batch-size", "4", "--quiet", "--set",
               f"pretrained={model_dir}", "--set", "sampling_steps=2", "--set", "initializer_token=tissue"])
    assert rc == 0, capsys.readouterr().err
    rc = main(["synthesize", str(tmp_path / "ti"), "--out", str(tmp_path / "s"), "--per-class", "2,1", "--quiet"])
    assert rc == 0 and (tmp_path / "s" / "grid.png").is_file()


def test_genmix_run_refuses_a_model_pretrained_on_its_data(model_dir, corpus, tmp_path, capsys):
    from genmix.cli import main

    cfg = tmp_path / "exp.yaml"
    cfg.write_text(f"data: {corpus[0]}\nclassifier: {{model: smallcnn, epochs: 1}}\n"
                   f"generators:\n  textual-inversion: {{pretrained: {model_dir}}}\n"
                   "rows: [baseline, synthetic:textual-inversion]\n")
    rc = main(["run", str(cfg), "--out", str(tmp_path / "exp"), "--quiet", "--no-figures"])
    err = capsys.readouterr().err
    lines = [ln for ln in err.splitlines() if ln.startswith("genmix: error")]
    assert rc == 2 and len(lines) == 1 and "generators.textual-inversion" in lines[0] and "shares its source" in lines[0]
    assert not (tmp_path / "exp" / "units").exists()


def test_a_greyscale_corpus_is_recorded_and_noted_for_colour_data(model_dir, corpus, tmp_path, capsys):
    """A model pretrained on greyscale images only cannot draw a colour set: genmix run says so before it runs
    (stderr) and in table.md; a greyscale target gets no note."""
    from genmix.cli import main
    from genmix.pretrain.t2i import corpus_colour

    assert corpus_colour(str(model_dir)) is False and corpus_colour("CompVis/ldm-text2im-large-256") is None
    make_folder_dataset(tmp_path / "colour-corpus", (4, 4), size=16, seed=5, colour=True)
    pretrain_t2i([f"folder:{tmp_path / 'colour-corpus'}"], tmp_path / "m-colour", {**TINY, "steps": 1, "vae_steps": 1},
                 progress=False)
    assert corpus_colour(str(tmp_path / "m-colour")) is True
    # a model pretrained before corpus_colour was recorded: MedMNIST's metadata answers for a MedMNIST corpus
    for corpus_specs, expected in ((["medmnist:breastmnist", "medmnist:organamnist@64"], False),
                                   (["medmnist:breastmnist", "medmnist:bloodmnist"], True),
                                   (["medmnist:breastmnist", corpus[0]], None)):
        old = tmp_path / f"old-{len(corpus_specs)}-{expected}"
        old.mkdir()
        (old / "genmix.json").write_text(json.dumps({"kind": "text-to-image", "corpus": corpus_specs}))
        assert corpus_colour(str(old)) is expected, corpus_specs
    for name, colour in (("rgb", True), ("grey", False)):
        make_folder_dataset(tmp_path / name, (4, 2), size=16, seed=3, colour=colour)
        cfg = tmp_path / f"{name}.yaml"
        cfg.write_text(f"data: folder:{tmp_path / name}\nclassifier: {{model: smallcnn, epochs: 1}}\n"
                       f"generators:\n  textual-inversion: {{pretrained: {model_dir}, steps: 2, batch_size: 4, "
                       "sampling_steps: 2, initializer_token: tissue}\n"
                       "rows: [baseline, synthetic:textual-inversion]\n")
        rc = main(["run", str(cfg), "--out", str(tmp_path / f"exp-{name}"), "--quiet", "--no-figures"])
        err = capsys.readouterr().err
        assert rc == 0, err
        table = (tmp_path / f"exp-{name}" / "table.md").read_text()
        noted = "pretrained on greyscale images only" in err, "pretrained on greyscale images only" in table
        assert noted == (colour, colour), (name, err[-400:])
