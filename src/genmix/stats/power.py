"""How large an effect a comparison could have detected, and how many replicates a stated effect needs.

Both come from the test in stats.paired: power(δ) = P(|T| > t_crit) with T non-central t (df, δ / se), se
and df from the observed spread of the paired replicate differences and the test-set error
(stats.paired.combined_se). With no test-set error this is the one-sample t-test's power (what statsmodels'
TTestPower computes); the test-set error does not shrink with replicates, so some effects need more than
any number of replicates on a given test set — then ``replicates_needed`` returns None.
"""

from __future__ import annotations

import math

from .paired import combined_se

POWER = 0.8
MAX_REPLICATES = 200


def power(effect: float, se: float, df: float, level: float) -> float:
    """Two-sided power at ``level`` of a t-test with standard error se and df degrees of freedom."""
    from scipy import stats

    if not se > 0:
        return 1.0 if effect != 0 else level
    nc = abs(effect) / se
    if math.isinf(df):
        z = stats.norm.ppf(1 - level / 2)
        return float(stats.norm.sf(z - nc) + stats.norm.cdf(-z - nc))
    crit = stats.t.ppf(1 - level / 2, df)
    lower = stats.nct.cdf(-crit, df, nc)  # the far tail: negligible, and scipy returns nan for some large nc
    return float(stats.nct.sf(crit, df, nc) + (0.0 if lower != lower else lower))


def detectable_effect(sd: float, n: int, se_img: float, level: float, target: float = POWER) -> float:
    """The smallest |effect| detected with probability ``target`` at ``level`` by n replicates whose paired
    differences spread by sd, on a test set with error se_img; nan when it cannot be estimated (one
    replicate and no image error)."""
    from scipy.optimize import brentq

    if n < 2 and not se_img > 0:
        return math.nan
    se, df = combined_se(0.0 if n < 2 else sd, n, se_img)
    if not se > 0:
        return 0.0
    hi = se
    while power(hi, se, df, level) < target:
        hi *= 2
    return float(brentq(lambda e: power(e, se, df, level) - target, 0.0, hi, xtol=1e-10 * max(se, 1e-12)))


def replicates_needed(effect: float, sd: float, se_img: float, level: float, target: float = POWER,
                      max_n: int = MAX_REPLICATES) -> int | None:
    """The fewest replicates (>= 2) whose test detects ``effect`` with probability ``target``, for the observed
    spread sd and test-set error se_img; None when even ``max_n`` do not (the test set limits it)."""
    if not sd == sd:  # nan: one replicate, no spread to plan with
        return None
    for n in range(2, max_n + 1):
        se, df = combined_se(sd, n, se_img)
        if power(effect, se, df, level) >= target:
            return n
    return None
