import torch

from genmix.augment import beta_sample, create_augmentation


def _batch(n=6, k=3):
    g = torch.Generator().manual_seed(1)
    x = torch.rand(n, 1, 8, 8, generator=g)
    y = torch.nn.functional.one_hot(torch.arange(n) % k, k).float()
    return x, y


def test_mixup_equals_formula_for_fixed_generator():
    x, y = _batch()
    aug = create_augmentation("mixup", alpha=0.4)
    params = aug.sample(x, y, torch.Generator().manual_seed(7))
    again = aug.sample(x, y, torch.Generator().manual_seed(7))
    assert torch.equal(params["perm"], again["perm"]) and float(params["lam"]) == float(again["lam"])
    out = aug.apply(x, y, params)
    lam, p = float(params["lam"]), params["perm"]
    assert torch.allclose(out.x, lam * x + (1 - lam) * x[p])
    assert torch.allclose(out.y, lam * y + (1 - lam) * y[p])
    assert torch.allclose(out.y.sum(1), torch.ones(len(y)))
    assert 0 < lam < 1 and not torch.equal(out.x, x)


def test_mixup_per_sample_lambda_is_a_vector():
    x, y = _batch()
    aug = create_augmentation("mixup", alpha=1.0, per_sample=True)
    params = aug.sample(x, y, torch.Generator().manual_seed(0))
    assert params["lam"].shape == (6,) and params["lam"].unique().numel() == 6
    out = aug.apply(x, y, params)
    lam = params["lam"].view(-1, 1)
    assert torch.allclose(out.y, lam * y + (1 - lam) * y[params["perm"]])


def test_cutmix_labels_follow_pasted_area():
    x, y = _batch()
    aug = create_augmentation("cutmix", alpha=1.0)
    params = aug.sample(x, y, torch.Generator().manual_seed(3))
    out = aug.apply(x, y, params)
    y0, y1, x0, x1 = params["box"]
    p = params["perm"]
    assert torch.equal(out.x[:, :, y0:y1, x0:x1], x[p][:, :, y0:y1, x0:x1])
    keep = torch.ones(8, 8, dtype=torch.bool)
    keep[y0:y1, x0:x1] = False
    assert torch.equal(out.x[:, :, keep], x[:, :, keep])
    lam = keep.float().mean()
    assert torch.allclose(out.y, lam * y + (1 - lam) * y[p])
    assert torch.allclose(out.y.sum(1), torch.ones(6))


def test_beta_sample_moments():
    g = torch.Generator().manual_seed(0)
    a = beta_sample(0.3, 1.0, (200_000,), g)
    assert abs(float(a.mean()) - 0.3 / 1.3) < 0.005
    b = beta_sample(0.4, 0.4, (200_000,), g)
    assert abs(float(b.mean()) - 0.5) < 0.005
    var = 0.4 * 0.4 / (0.8 ** 2 * 1.8)
    assert abs(float(b.var()) - var) < 0.005


def test_augmix_reproducible_and_changes_images():
    x, y = _batch(4)
    aug = create_augmentation("augmix", jsd=True)
    a = aug(x, y, torch.Generator().manual_seed(5))
    b = aug(x, y, torch.Generator().manual_seed(5))
    assert len(a.views) == 2 and torch.equal(a.x, x) and torch.equal(a.y, y)
    assert torch.equal(a.views[0], b.views[0]) and torch.equal(a.views[1], b.views[1])
    assert not torch.equal(a.views[0], a.views[1])
    assert a.views[0].min() >= 0 and a.views[0].max() <= 1
    plain = create_augmentation("augmix", jsd=False)(x, y, torch.Generator().manual_seed(5))
    assert plain.views == () and plain.x.shape == x.shape


def test_jensen_shannon_zero_for_identical_views_positive_otherwise():
    from genmix.augment.augmix import jensen_shannon

    z = torch.randn(5, 3)
    assert float(jensen_shannon([z, z, z])) < 1e-6
    assert float(jensen_shannon([z, -z, z * 2])) > 0.01
