"""The audit's distances on features with known answers (seeded)."""

import math

import pytest
import torch

from genmix.audit.class_fidelity import per_class_accuracy
from genmix.audit.fidelity import frechet_distance, kernel_distance
from genmix.audit.memorisation import calibrated, nearest, pixel_vectors
from genmix.audit.prdc import prdc


def _gauss(n, mean, seed, d=4):
    g = torch.Generator().manual_seed(seed)
    return torch.randn(n, d, generator=g, dtype=torch.float64) + torch.tensor(mean, dtype=torch.float64)


def test_frechet_distance_of_shifted_gaussians_is_the_squared_shift():
    import numpy as np
    from scipy.linalg import sqrtm

    a, b = _gauss(4000, [0, 0, 0, 0], 0), _gauss(4000, [1, 2, 0, 0], 1)
    fd = frechet_distance(a, b)
    assert fd == pytest.approx(5.0, abs=0.4)
    ca, cb = np.cov(a.numpy(), rowvar=False), np.cov(b.numpy(), rowvar=False)
    ref = ((a.mean(0) - b.mean(0)) ** 2).sum().item() + np.trace(ca + cb - 2 * sqrtm(ca @ cb).real)
    assert fd == pytest.approx(ref, rel=1e-6)  # the closed form on the same samples
    assert frechet_distance(a, _gauss(4000, [0, 0, 0, 0], 2)) < 0.05
    assert math.isnan(frechet_distance(a, b[:1]))


def test_kid_is_near_zero_for_one_distribution_and_seeded():
    a, b, c = _gauss(300, [0] * 4, 0), _gauss(300, [0] * 4, 1), _gauss(300, [2, 0, 0, 0], 2)
    same, _ = kernel_distance(a, b, seed=0)
    far, _ = kernel_distance(a, c, seed=0)
    assert abs(same) < 0.05 < far
    assert kernel_distance(a, c, seed=3) == kernel_distance(a, c, seed=3)


def test_prdc_sees_fidelity_and_diversity_apart():
    real = _gauss(500, [0] * 4, 0)
    same = prdc(real, _gauss(500, [0] * 4, 1))
    assert same["precision"] > 0.9 and same["recall"] > 0.9 and same["coverage"] > 0.9
    collapsed = prdc(real, _gauss(500, [0] * 4, 2) * 0.05)  # realistic but not diverse
    assert collapsed["precision"] > 0.9 and collapsed["recall"] < 0.3 and collapsed["coverage"] < 0.3
    off = prdc(real, _gauss(500, [6, 0, 0, 0], 3))
    assert off["precision"] < 0.05 and off["density"] < 0.05
    small = prdc(real[:3], real[3:6])  # k lowered to 1 for three images; nan below
    assert 0 <= small["precision"] <= 1 and math.isnan(prdc(real[:2], real[2:4])["recall"])


def test_nearest_neighbour_and_calibrated_distance():
    bank = torch.eye(3, dtype=torch.float64)
    d, i, m = nearest(torch.tensor([[1.0, 0, 0], [0, 0.9, 0]]), bank, k=2)
    assert d.tolist() == pytest.approx([0.0, 0.1]) and i.tolist() == [0, 1]
    assert m.tolist() == pytest.approx([math.sqrt(2) / 2, (0.1 + math.sqrt(0.81 + 1)) / 2])
    assert calibrated(d, m)[0] == 0.0
    x = torch.zeros(1, 1, 2, 2)
    y = torch.ones(1, 1, 2, 2)
    assert nearest(pixel_vectors(x), pixel_vectors(y))[0].item() == pytest.approx(1.0)  # RMS of [0,1] pixels


def test_per_class_accuracy():
    per, overall = per_class_accuracy(torch.tensor([0, 0, 1, 1, 1]), torch.tensor([0, 1, 1, 1, 0]), 3)
    assert per[:2] == [0.5, pytest.approx(2 / 3)] and math.isnan(per[2]) and overall == 0.6


def test_a_near_copy_must_be_near_by_calibrated_pixels_and_by_features():
    """The organamnist-fll3 failure: smooth out-of-domain images with one flat "hub" training image
    nearest score a low calibrated pixel distance, yet their features are far from every training
    image; only images near by both are near-copies."""
    from genmix.audit.memorisation import K, calibrated, near_copies, nearest, pixel_vectors, threshold

    g = torch.Generator().manual_seed(0)
    train = torch.rand(200, 1, 16, 16, generator=g)  # noisy "CT" slices
    train[0] = 0.5 + 0.15 * (torch.rand(1, 16, 16, generator=g) - 0.5)  # one low-contrast grey slice: the hub
    val = torch.rand(100, 1, 16, 16, generator=g)
    blobs = 0.5 + 0.05 * torch.randn(20, 1, 2, 2, generator=g).repeat_interleave(8, 2).repeat_interleave(8, 3)
    copies = train[1:21]
    bank = pixel_vectors(train)
    cal = {k: calibrated(*nearest(pixel_vectors(x), bank, K)[::2]) for k, x in
           (("val", val), ("blobs", blobs), ("copies", copies))}
    # features: a texture statistic (local variation) the encoder would see: smooth blobs are far from every slice
    feat = lambda x: (x[..., 1:, :] - x[..., :-1, :]).abs().mean((1, 2, 3)).unsqueeze(1)  # noqa: E731
    fd = {k: nearest(feat(x), feat(train))[0] for k, x in (("val", val), ("blobs", blobs), ("copies", copies))}
    thr, thr_f = threshold(cal["val"]), threshold(fd["val"])
    assert (cal["blobs"] <= thr).all()  # calibration alone calls every blob a copy of the hub
    assert not near_copies(cal["blobs"], fd["blobs"], thr, thr_f).any()
    assert near_copies(cal["copies"], fd["copies"], thr, thr_f).all()
    assert near_copies(cal["val"], fd["val"], thr, thr_f).float().mean() <= 0.02
