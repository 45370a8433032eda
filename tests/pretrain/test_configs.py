"""The shipped configs: paper ratios per row, and benchmark textual inversion on offline models."""

from pathlib import Path

from genmix.experiment.config import expand_rows, load_config

CONFIGS = Path(__file__).resolve().parents[2] / "configs"


def test_paper_config_has_the_papers_ratio_per_row():
    rows = {r["name"]: r for r in expand_rows(load_config(CONFIGS / "paper.yaml"))}
    assert len(rows) == 11
    assert rows["StyleGAN (40%)"]["ratio"] == 0.4 and rows["StyleGAN (40%)"]["generator"] == "stylegan2"
    others = [r for n, r in rows.items() if r.get("generator") and n != "StyleGAN (40%)"]
    assert len(others) == 7 and all(r["ratio"] == 0.5 for r in others)
    assert all(rows[f"GenMix ({g})"]["alpha"] == 0.3 for g in ("DCGAN", "StyleGAN", "Textual Inversion", "Diffusion"))


def test_benchmark_configs_run_textual_inversion_on_a_model_without_their_source():
    from genmix.corpus import PUBLIC_CORPUS
    from genmix.pretrain.t2i import resolve_corpus

    for name, source in (("breastmnist", "medmnist:breastmnist"), ("organamnist-fll3", "medmnist:organamnist"),
                         ("pneumoniamnist-small", "medmnist:pneumoniamnist"),
                         ("bloodmnist-small", "medmnist:bloodmnist")):
        cfg = load_config(CONFIGS / f"{name}.yaml")
        assert cfg["generators"]["textual-inversion"]["pretrained"] == f"models/t2i-{name}"
        corpus, excluded = resolve_corpus(PUBLIC_CORPUS, cfg["data"])  # what the documented command trains on
        assert excluded == [source] and len(corpus) == 3
