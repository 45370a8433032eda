import pytest

from genmix.corpus import PUBLIC_CORPUS, allowed_corpus, check_disjoint, sources_of
from genmix.errors import GenmixError


def test_same_source_is_refused_whatever_the_spec():
    with pytest.raises(GenmixError, match="organamnist.*LiTS"):
        check_disjoint(["medmnist:organamnist"], "organamnist-fll3", "m")
    with pytest.raises(GenmixError, match="breastmnist"):
        check_disjoint(["medmnist:pneumoniamnist", "medmnist:breastmnist@64"], "medmnist:breastmnist", "m")
    with pytest.raises(GenmixError):  # another plane of the same CT volumes
        check_disjoint(["medmnist:organcmnist"], "medmnist:organamnist", "m")


def test_disjoint_corpus_passes_and_default_corpus_excludes_target(tmp_path):
    check_disjoint(["medmnist:pneumoniamnist", "medmnist:bloodmnist"], "medmnist:breastmnist", "m")
    assert allowed_corpus("organamnist-fll3", PUBLIC_CORPUS) == [
        "medmnist:breastmnist", "medmnist:pneumoniamnist", "medmnist:bloodmnist"]
    sub = tmp_path / "s.yaml"
    sub.write_text("base: medmnist:bloodmnist\nclasses: [0, 1]\ncounts: {train: [1, 1], val: [1, 1], test: [1, 1]}\n")
    assert sources_of(f"subset:{sub}") == sources_of("medmnist:bloodmnist")
    assert "medmnist:bloodmnist" not in allowed_corpus(f"subset:{sub}", PUBLIC_CORPUS)
    with pytest.raises(GenmixError):
        check_disjoint([f"folder:{tmp_path}"], f"folder:{tmp_path}/.", "m")
