"""The verdict's test: paired replicate-level differences, with the test set's own sampling error.

A row and Baseline are trained R times (replicate r of both from seed r) and scored on one test set. The
differences d_r = metric(row_r) − metric(Baseline_r) vary between replicates (initialisation, data order,
and under ``replicate: full`` each replicate's own generator); their mean also carries the error of having
one finite test set, which is the same for every replicate and so is not in the spread of the d_r. The
standard error holds both::

    se² = s_d² / R + se_img²        (se_img: the shared-image bootstrap SD of the mean difference)

and the statistic mean / se is referred to Student's t with the Welch–Satterthwaite degrees of freedom
df = (R − 1) · ((v + se_img²) / v)², v = s_d² / R at its median-unbiased value (s_d² · (R − 1) / χ²₀.₅(R − 1);
the image part counts as known). With se_img = 0 this is the paired t-test. Simulated under no effect with
predictions correlated across rows as real ones are, its false-positive rate stays at the nominal 5 % at 3,
5 and 10 replicates (tests/stats/test_paired.py, benchmarks/stats/false_positive_rate.py); with the plain
plug-in v it was ~6 % at 3, and the hierarchical bootstrap of earlier tables reached 16 % at 3 replicates.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np


@dataclass(frozen=True)
class Paired:
    mean: float      # mean paired difference
    sd: float        # SD of the replicate-level differences (ddof 1; nan for one replicate)
    n: int           # replicates paired
    se_img: float    # test-set sampling error of the mean difference
    se: float        # combined standard error
    df: float        # Welch–Satterthwaite degrees of freedom (inf when only the image part is left)
    p: float         # two-sided p-value of no difference

    def interval(self, level: float = 0.05) -> tuple[float, float]:
        """Two-sided (1 − level) interval of the mean difference; (nan, nan) when it cannot be estimated."""
        if not self.se > 0 or math.isnan(self.se):
            return (self.mean, self.mean) if self.se == 0 else (math.nan, math.nan)
        from scipy import stats

        half = float(stats.t.ppf(1 - level / 2, self.df)) * self.se
        return self.mean - half, self.mean + half


def combined_se(sd: float, n: int, se_img: float) -> tuple[float, float]:
    """(se, df) of the mean of n replicate differences with spread sd plus a test-set error se_img.

    The df are Welch–Satterthwaite's with the replicate variance taken at its median-unbiased value,
    s_d² · (n − 1) / χ²₀.₅(n − 1), for the df only: the plain plug-in makes df large exactly when s_d happens
    to be small, which at 3 replicates says "different" ~6 % of the time under no effect."""
    from scipy import stats

    rep = sd * sd / n
    se2 = rep + se_img * se_img
    if rep <= 0:
        return math.sqrt(se2), math.inf
    rep_df = rep * (n - 1) / float(stats.chi2.ppf(0.5, n - 1))
    return math.sqrt(se2), (n - 1) * ((rep_df + se_img * se_img) / rep_df) ** 2


def paired_test(diffs, se_img: float = 0.0) -> Paired:
    """The test of mean(diffs) = 0 described above; one replicate leaves only se_img (df = inf) when it is
    positive, else no test (p = nan)."""
    from scipy import stats

    d = np.asarray(diffs, dtype=float)
    n = len(d)
    if n == 0:
        raise ValueError("no paired differences")
    mean = float(d.mean())
    if n == 1 and not se_img > 0:
        return Paired(mean, math.nan, 1, float(se_img), math.nan, math.nan, math.nan)
    sd = float(d.std(ddof=1)) if n > 1 else 0.0
    se, df = combined_se(sd, n, float(se_img))
    if se == 0:  # identical differences and no image error: identical predictions (p 1) or nothing to test
        p = 1.0 if mean == 0 else 0.0
    else:
        p = float(2 * stats.t.sf(abs(mean) / se, df))
    return Paired(mean, sd if n > 1 else math.nan, n, float(se_img), se, df, min(1.0, p))
