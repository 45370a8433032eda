"""Detectable effect and replicates needed, against the analytic one-sample t-test power."""

import math

import pytest
from statsmodels.stats.power import TTestPower

from genmix.stats.power import detectable_effect, power, replicates_needed


@pytest.mark.parametrize("n,level", [(3, 0.05), (5, 0.05), (10, 0.05), (5, 0.05 / 4)])
def test_detectable_effect_matches_the_t_test_power_for_a_known_variance(n, level):
    sd = 0.045
    want = TTestPower().solve_power(nobs=n, alpha=level, power=0.8, alternative="two-sided") * sd
    assert detectable_effect(sd, n, 0.0, level) == pytest.approx(want, rel=1e-4)


def test_replicates_needed_matches_the_t_test_power():
    sd, effect = 0.045, 0.05
    n = TTestPower().solve_power(effect_size=effect / sd, alpha=0.05, power=0.8, alternative="two-sided")
    assert replicates_needed(effect, sd, 0.0, 0.05) == math.ceil(n)
    # the numbers: a 4.5-point spread detects ~15 points at 3 replicates, ~8 at 5, 5 needs ~9-10
    assert 0.13 < detectable_effect(sd, 3, 0.0, 0.05) < 0.17
    assert 0.06 < detectable_effect(sd, 5, 0.0, 0.05) < 0.09
    assert replicates_needed(0.05, sd, 0.0, 0.05) in (9, 10, 11)


def test_the_test_set_error_sets_a_floor_no_replicate_count_passes():
    assert detectable_effect(0.045, 5, 0.03, 0.05) > detectable_effect(0.045, 5, 0.0, 0.05)
    assert replicates_needed(0.05, 0.045, 0.03, 0.05) is None  # 0.05 / 0.03 < 1.96 + 0.84
    assert replicates_needed(0.05, 0.045, 0.01, 0.05) is not None


def test_power_is_level_at_zero_and_rises_with_the_effect():
    assert power(0.0, 0.02, 4, 0.05) == pytest.approx(0.05)
    assert power(0.02, 0.02, 4, 0.05) < power(0.06, 0.02, 4, 0.05) < 1
    assert math.isnan(detectable_effect(0.04, 1, 0.0, 0.05))
