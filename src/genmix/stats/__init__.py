"""Statistics of a comparison between rows: numpy / scipy only, nothing from the rest of genmix.

- ``bootstrap``: confusion-matrix metrics, the test-image bootstrap (images shared by every replicate),
  the older hierarchical bootstrap, Holm.
- ``paired``: the verdict's test — a t-test on the replicate-level paired differences whose standard
  error also holds the test-image sampling variance (Welch–Satterthwaite degrees of freedom).
- ``power``: the detectable effect at 80 % power and the replicates a stated effect needs.
- ``sequential``: O'Brien–Fleming (Lan–DeMets) alpha spending for adaptive replicates.
- ``meta``: random-effects meta-analysis across datasets (statsmodels' combine_effects).
"""
