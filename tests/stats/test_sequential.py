"""Adaptive replicates keep the verdict's error rate: the spending function, the t-calibrated boundaries,
and the whole adaptive procedure (looks, early stop for a difference, futility stop) simulated under no
effect on correlated predictions, as tests/stats/test_paired.py does for a fixed replicate count."""

import numpy as np
import pytest

from genmix.stats.bootstrap import image_bootstrap
from genmix.stats.sequential import boundaries, crosses, look, looks, spent, t_pvalues

from .simulate import draw_test_set, predictions, replicate_diffs


def test_spending_function():
    assert spent(1.0, 0.05) == pytest.approx(0.05)
    assert spent(0.0, 0.05) == 0.0
    ts = np.linspace(0.05, 1, 20)
    assert np.all(np.diff([spent(t, 0.05) for t in ts]) > 0)
    # O'Brien-Fleming type: at 30 % of the information almost nothing is spent,
    # 2 - 2 Phi(1.959964 / sqrt(0.3)) = 2 - 2 Phi(3.57839) = 0.000346
    assert spent(0.3, 0.05) == pytest.approx(0.000346, abs=1e-6)
    assert spent(0.5, 0.05) == pytest.approx(0.005575, abs=1e-6)  # 2 - 2 Phi(2.77181)


def test_looks_and_bad_plans():
    assert looks(3, 10, 3) == [3, 6, 9, 10]
    assert looks(5, 5) == [5]
    for bad in [(1, 5), (5, 3), (3, 5, 0)]:
        with pytest.raises(ValueError):
            looks(*bad)
    with pytest.raises(ValueError):
        crosses(0.01, 4, [3, 5])


def test_boundaries_one_look_is_the_fixed_test_and_levels_rise():
    assert boundaries([5]) == [0.05]
    b = boundaries([3, 5, 7, 10])
    assert all(x < y for x, y in zip(b, b[1:])) and b[-1] < 0.05 and b[0] < 0.001
    assert boundaries([3, 5, 7, 10]) == b  # a design constant: the same every time


@pytest.mark.parametrize("plan", [[3, 4, 5, 6, 7, 8, 9, 10], [3, 5, 7, 10], [5, 10]])
def test_t_procedure_error_rate_on_fresh_simulations(plan):
    # the boundaries were found on seed 0; here new draws, and differences with another SD (the t-statistics
    # are pivotal): the overall error rate is 5 % within Monte Carlo error (SE 0.1 point at 50k)
    rng = np.random.default_rng(11)
    p = t_pvalues(rng.normal(0, 3.0, size=(50_000, plan[-1])), plan)
    rate = (p < np.array(boundaries(plan))).any(axis=1).mean()
    assert abs(rate - 0.05) < 0.004
    # the classical normal-theory boundaries are too loose for t-statistics at these replicate counts
    naive = [0.00035, 0.00182, 0.00486, 0.00934, 0.0148, 0.02093, 0.02733, 0.03385]
    if plan == [3, 4, 5, 6, 7, 8, 9, 10]:
        assert (p < np.array(naive)).any(axis=1).mean() > 0.054


def _adaptive(rng, effect_probit, plan, effect=0.05, spread=0.35):
    labels, difficulty = draw_test_set(rng)
    row, base = predictions(rng, labels, difficulty, plan[-1], effect=effect_probit, spread=spread)
    d, _ = replicate_diffs(labels, row, base, "f1_macro")
    for n in plan:
        se_img = image_bootstrap(labels, row[:n], 2, "f1_macro", base_preds=base[:n], n_boot=100,
                                 seed=n).std(ddof=1)
        r = look(d[:n], se_img, plan, effect)
        if r.state != "continue":
            return r


def test_adaptive_procedure_under_no_effect_keeps_its_error_rate():
    rng = np.random.default_rng(3)
    plan = [3, 5, 7, 10]
    out = [_adaptive(rng, 0.0, plan) for _ in range(400)]
    rate = np.mean([r.state == "different" for r in out])
    assert rate <= 0.05 + 0.011  # 400 simulations: one binomial SE of 5 % is 1.1 points
    states = {r.state for r in out}
    assert "no-larger" in states  # the futility stop happens: some runs end before 10 replicates
    assert np.mean([r.n for r in out]) < 10


def test_adaptive_procedure_finds_a_large_effect_early():
    rng = np.random.default_rng(5)
    out = [_adaptive(rng, 0.8, [3, 5, 7, 10]) for _ in range(60)]
    assert np.mean([r.state == "different" for r in out]) >= 0.8
    assert np.mean([r.n for r in out if r.state == "different"]) < 10
