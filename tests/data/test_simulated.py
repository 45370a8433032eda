import torch

from genmix.data import load_dataset


def test_simulated_fll_counts_and_determinism():
    a = load_dataset("simulated:fll@32")
    b = load_dataset("simulated:fll@32")
    assert a.class_names == ["cyst", "hemangioma", "metastasis"]
    assert a["train"].counts(3) == [433, 70, 178]
    assert a["val"].counts(3) == [115, 30, 157]
    assert a["test"].counts(3) == [128, 30, 149]
    for s in ("train", "val", "test"):
        assert torch.equal(a[s].images, b[s].images)
    assert a["train"].images.shape[1:] == (1, 32, 32)
    # images differ from each other and from the other splits
    assert not torch.equal(a["train"].images[0], a["test"].images[0])
    assert a["train"].images.float().std() > 10


def test_cysts_are_darker_at_the_centre_than_metastases():
    ds = load_dataset("simulated:fll@32")
    x, y = ds["train"].images.float(), ds["train"].labels
    centre = x[:, 0, 12:20, 12:20].mean((1, 2))
    assert centre[y == 0].mean() < centre[y == 2].mean()
