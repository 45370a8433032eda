"""Adaptive replicates with a valid stopping rule: a group-sequential design with O'Brien–Fleming-type
(Lan–DeMets) alpha spending, for the verdict's t-test.

Looks fall at replicate counts n_1 < … < n_K (the last is the most a run may train). By look k the test may
have spent α(t_k) of the error rate, t_k = n_k / n_K the information fraction and
α(t) = 2 − 2 Φ(z_{1−α/2} / √t) the O'Brien–Fleming-type spending function. At look k a comparison is
"different" when its p-value (stats.paired) is below the look's nominal level. The classical boundaries
assume normal statistics with known variance; with 3–10 replicates the variance is estimated, and those
boundaries used on t-tests give 5.6 % errors at a 5 % level (looks at 3…10). So the nominal levels here are
computed for the t-statistics themselves: under no effect the sequence of one-sample t-statistics of
normal differences does not depend on their SD, and its crossing probabilities are found by simulation
(``sims`` draws, a fixed seed: the levels are a deterministic design constant). Early looks spend almost
nothing (3 of 10 replicates: about 0.0003), the last one most of α. Stopping because no effect larger than
the one of interest is left (a futility stop) never rejects, so it only lowers the error rate.
tests/stats/test_sequential.py simulates the whole adaptive procedure under no effect.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from functools import lru_cache

SIMS = 200_000


def spent(t: float, alpha: float) -> float:
    """O'Brien–Fleming-type spending: the error rate spent by information fraction t."""
    from scipy.stats import norm

    if t <= 0:
        return 0.0
    return float(min(alpha, 2 - 2 * norm.cdf(norm.ppf(1 - alpha / 2) / math.sqrt(min(t, 1.0)))))


def looks(min_replicates: int, max_replicates: int, step: int = 1) -> list[int]:
    """Replicate counts at which an adaptive run looks: min, min + step, …, max."""
    if min_replicates < 2 or max_replicates < min_replicates or step < 1:
        raise ValueError("need 2 <= min <= max and step >= 1")
    out = list(range(min_replicates, max_replicates + 1, step))
    return out if out[-1] == max_replicates else out + [max_replicates]


def boundaries(plan: list[int], alpha: float = 0.05, sims: int = SIMS, seed: int = 0) -> list[float]:
    """Nominal two-sided p-value levels, one per look of the plan (replicate counts >= 2)."""
    plan = sorted(set(int(n) for n in plan))
    if not plan or plan[0] < 2:
        raise ValueError("looks are replicate counts >= 2")
    return list(_boundaries(tuple(plan), float(alpha), int(sims), int(seed)))


@lru_cache(maxsize=64)
def _boundaries(plan: tuple[int, ...], alpha: float, sims: int, seed: int) -> tuple[float, ...]:
    import numpy as np

    if len(plan) == 1:
        return (alpha,)
    p = t_pvalues(np.random.default_rng(seed).standard_normal((sims, plan[-1])), plan)
    alive = np.ones(sims, dtype=bool)
    levels, before = [], 0.0
    for k, n in enumerate(plan):
        now = spent(n / plan[-1], alpha)
        m = int(round((now - before) * sims))  # how many of the sims this look may newly reject
        before = now
        q = np.sort(p[alive, k])
        level = 0.0 if m == 0 else float(q[m - 1] + q[m]) / 2 if m < len(q) else 1.0
        levels.append(level)
        alive &= ~(p[:, k] < level)
    return tuple(levels)


def t_pvalues(d, plan):
    """Two-sided one-sample t-test p-values of the first n columns of each row of d, for each n in plan."""
    import numpy as np
    from scipy import stats

    n = np.asarray(plan)
    s1 = np.cumsum(d, axis=1)[:, n - 1]
    s2 = np.cumsum(d * d, axis=1)[:, n - 1]
    mean = s1 / n
    var = np.maximum((s2 - n * mean * mean) / (n - 1), 1e-300)
    return 2 * stats.t.sf(np.abs(mean) / np.sqrt(var / n), n - 1)


def crosses(p: float, n: int, plan: list[int], alpha: float = 0.05) -> bool:
    """Whether a p-value seen at n replicates crosses the boundary of the look at n in the plan."""
    if n not in plan:
        raise ValueError(f"{n} replicates is not a look of {plan}")
    return p < boundaries(plan, alpha)[sorted(plan).index(n)]


@dataclass(frozen=True)
class Look:
    state: str         # "different" | "no-larger" (no effect of the stated size is left) | "continue" | "undecided"
    n: int             # replicates seen
    p: float           # the paired test's p-value (stats.paired)
    level: float       # this look's nominal level
    detectable: float  # the effect this many replicates detect with 80 % power at the overall level


def look(diffs, se_img: float, plan: list[int], effect: float, alpha: float = 0.05) -> Look:
    """One look of the adaptive procedure at n = len(diffs) replicates: "different" when the paired test
    crosses this look's boundary; else "no-larger" when the replicates so far already detect ``effect`` (a
    futility stop: an effect that large would likely have been seen); else "continue", or at the last look
    "undecided". ``alpha`` is the comparison's own level (a family of m verdicts passes α/m)."""
    from .paired import paired_test

    return decide(paired_test(diffs, se_img), plan, effect, alpha)


def decide(r, plan: list[int], effect: float, alpha: float = 0.05) -> Look:
    """``look`` for a paired test already done (a stats.paired.Paired of r.n replicates)."""
    from .power import detectable_effect

    plan = sorted(set(plan))
    n = r.n
    if n not in plan:
        raise ValueError(f"{n} replicates is not a look of {plan}")
    level = boundaries(plan, alpha)[plan.index(n)]
    det = detectable_effect(r.sd, n, r.se_img, alpha) if n >= 2 else math.inf
    if r.p < level:
        state = "different"
    elif det <= effect:
        state = "no-larger"
    else:
        state = "undecided" if n == plan[-1] else "continue"
    return Look(state, n, r.p, level, det)
