"""The verdict's test keeps its error rate: simulated under no effect at 3, 5 and 10 replicates."""

import math

import numpy as np
import pytest
from scipy import stats

from genmix.stats.bootstrap import bootstrap_p, hierarchical_bootstrap, image_bootstrap
from genmix.stats.paired import combined_se, paired_test

from .simulate import draw_test_set, predictions, replicate_diffs

SIMS = 500
SPREAD = 0.35  # replicate-level quality spread (probit): accuracy varies ~8 points between replicates


def _null_rates(replicates, sims=SIMS, hierarchical=0):
    rng = np.random.default_rng(replicates)
    ours = old = 0
    for s in range(sims):
        labels, difficulty = draw_test_set(rng)
        row, base = predictions(rng, labels, difficulty, replicates, spread=SPREAD)
        d, _ = replicate_diffs(labels, row, base, "f1_macro")
        se_img = image_bootstrap(labels, row, 2, "f1_macro", base_preds=base, n_boot=100, seed=s).std(ddof=1)
        ours += paired_test(d, se_img).p < 0.05
        if s < hierarchical:
            old += bootstrap_p(hierarchical_bootstrap(labels, row, 2, "f1_macro", base_preds=base, n_boot=400,
                                                      seed=s)) < 0.05
    return ours / sims, (old / hierarchical if hierarchical else None)


@pytest.mark.parametrize("replicates", [3, 5, 10])
def test_false_positive_rate_under_no_effect_is_at_most_nominal(replicates):
    rate, old = _null_rates(replicates, hierarchical=200 if replicates == 3 else 0)
    assert rate <= 0.05 + 0.01  # 500 simulations: one binomial SE of 5 % is 1 point
    if old is not None:  # the earlier tables' bootstrap fails the same check: the simulation can tell
        assert old > 0.10


def test_it_detects_a_real_effect():
    rng = np.random.default_rng(7)
    hits = 0
    for s in range(100):
        labels, difficulty = draw_test_set(rng)
        row, base = predictions(rng, labels, difficulty, 10, effect=0.6, spread=SPREAD)
        d, _ = replicate_diffs(labels, row, base, "f1_macro")
        se_img = image_bootstrap(labels, row, 2, "f1_macro", base_preds=base, n_boot=100, seed=s).std(ddof=1)
        hits += paired_test(d, se_img).p < 0.05
    assert hits >= 70


def test_without_image_error_it_is_the_paired_t_test():
    d = np.array([0.03, -0.01, 0.05, 0.02])
    r = paired_test(d)
    assert r.p == pytest.approx(stats.ttest_1samp(d, 0).pvalue)
    lo, hi = r.interval(0.05)
    ci = stats.ttest_1samp(d, 0).confidence_interval(0.95)
    assert (lo, hi) == pytest.approx((ci.low, ci.high))


def test_image_error_widens_and_satterthwaite_df():
    d = np.array([0.03, -0.01, 0.05])
    plain, wide = paired_test(d), paired_test(d, se_img=0.02)
    assert wide.p > plain.p and wide.se == pytest.approx(math.sqrt(plain.se ** 2 + 0.02 ** 2))
    se, df = combined_se(d.std(ddof=1), 3, 0.02)
    v = d.var(ddof=1) / 3 * 2 / 1.3862943611198906  # median-unbiased: chi2(2)'s median is 2 ln 2
    assert df == pytest.approx(2 * ((v + 0.02 ** 2) / v) ** 2) and df > 2
    assert df < 2 * (se ** 2 / (d.var(ddof=1) / 3)) ** 2  # fewer df than the plain plug-in
    assert combined_se(0.0, 3, 0.02) == (0.02, math.inf)


def test_degenerate_inputs():
    assert paired_test([0.0, 0.0, 0.0]).p == 1.0  # identical predictions
    assert math.isnan(paired_test([0.02]).p)  # one replicate, no image error: no test
    assert not math.isnan(paired_test([0.02], se_img=0.01).p)
    with pytest.raises(ValueError):
        paired_test([])


def test_image_bootstrap_shares_the_draw_across_replicates_and_rows():
    rng = np.random.default_rng(0)
    labels = rng.integers(0, 3, 200)
    p = np.where(rng.random((4, 200)) < 0.8, labels, (labels + 1) % 3)
    assert np.all(image_bootstrap(labels, p, 3, "f1_macro", base_preds=p, n_boot=50) == 0)
    one = image_bootstrap(labels, p[:1].repeat(4, 0), 3, "accuracy", n_boot=300, seed=1)
    # four identical replicates: the same spread as one (the draw is shared), binomial sd of an 80 % accuracy
    assert one.std() == pytest.approx(math.sqrt(0.8 * 0.2 / 200), rel=0.25)
    assert np.array_equal(one, image_bootstrap(labels, p[:1].repeat(4, 0), 3, "accuracy", n_boot=300, seed=1))
