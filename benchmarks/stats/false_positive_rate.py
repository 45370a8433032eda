"""Issue 28 item 0: how often each test says "different" when the two rows are equally good.

Two rows of the same quality scored on one test set (tests/stats/simulate.py: 156 images, 27 % rare class,
per-image difficulty shared by every model, replicate-level spread), R replicates each; per simulation the
paired test of genmix.stats.paired (replicate differences + the shared-image test-set error), the plain paired
t-test, and the hierarchical bootstrap the tables used before 2026-12-05 (replicates, then images, with
replacement), and the paired test with R - 1 degrees of freedom (its conservative bound: Satterthwaite's df
can only be larger). Also the adaptive procedure of genmix.stats.sequential (looks at 3, 5, 7, 10; effect 5 F1
points). Reports the rate of p < 0.05 with the binomial standard error of that rate.

Run:  python benchmarks/stats/false_positive_rate.py [--sims 1000] [--spread 0.35]
Writes benchmarks/results/stats_false_positive_rate.json.
"""

import argparse
import json
import math
import sys
from pathlib import Path

import numpy as np
from scipy import stats

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "benchmarks"))
from _common import RESULTS, header  # noqa: E402

from genmix.stats.bootstrap import bootstrap_p, hierarchical_bootstrap, image_bootstrap  # noqa: E402
from genmix.stats.paired import paired_test  # noqa: E402
from genmix.stats.sequential import look  # noqa: E402
from tests.stats.simulate import draw_test_set, predictions, replicate_diffs  # noqa: E402


def rates(replicates, sims, spread, seed):
    rng = np.random.default_rng(seed)
    hits = {"paired (genmix.stats)": 0, "paired, df = R - 1 (conservative bound)": 0,
            "paired t, no test-set error": 0, "hierarchical bootstrap (old)": 0}
    for s in range(sims):
        labels, difficulty = draw_test_set(rng)
        row, base = predictions(rng, labels, difficulty, replicates, spread=spread)
        d, _ = replicate_diffs(labels, row, base, "f1_macro")
        se_img = image_bootstrap(labels, row, 2, "f1_macro", base_preds=base, n_boot=200, seed=s).std(ddof=1)
        t = paired_test(d, se_img)
        hits["paired (genmix.stats)"] += t.p < 0.05
        hits["paired, df = R - 1 (conservative bound)"] += 2 * stats.t.sf(abs(t.mean) / t.se, replicates - 1) < 0.05
        hits["paired t, no test-set error"] += paired_test(d).p < 0.05
        hits["hierarchical bootstrap (old)"] += bootstrap_p(
            hierarchical_bootstrap(labels, row, 2, "f1_macro", base_preds=base, n_boot=400, seed=s)) < 0.05
    return {k: {"rate": v / sims, "se": math.sqrt(max(v, 1) / sims * (1 - v / sims) / sims)} for k, v in hits.items()}


def adaptive(sims, spread, seed, plan=(3, 5, 7, 10)):
    rng = np.random.default_rng(seed)
    diff, ns = 0, []
    for _ in range(sims):
        labels, difficulty = draw_test_set(rng)
        row, base = predictions(rng, labels, difficulty, plan[-1], spread=spread)
        d, _ = replicate_diffs(labels, row, base, "f1_macro")
        for n in plan:
            se = image_bootstrap(labels, row[:n], 2, "f1_macro", base_preds=base[:n], n_boot=200, seed=n).std(ddof=1)
            r = look(d[:n], se, list(plan), 0.05)
            if r.state != "continue":
                break
        diff += r.state == "different"
        ns.append(r.n)
    return {"plan": list(plan), "rate": diff / sims, "se": math.sqrt(max(diff, 1) / sims * (1 - diff / sims) / sims),
            "mean_replicates": float(np.mean(ns))}


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--sims", type=int, default=1000)
    ap.add_argument("--spread", type=float, default=0.35)
    a = ap.parse_args()
    out = {"header": header(), "sims": a.sims, "spread": a.spread, "n_test": 156, "level": 0.05,
           "fixed": {str(r): rates(r, a.sims, a.spread, r) for r in (3, 5, 10)},
           "adaptive": adaptive(a.sims, a.spread, 99)}
    (RESULTS / "stats_false_positive_rate.json").write_text(json.dumps(out, indent=1) + "\n")
    for r, v in out["fixed"].items():
        print(r, {k: f"{100 * x['rate']:.1f} %" for k, x in v.items()})
    print("adaptive", out["adaptive"])


if __name__ == "__main__":
    main()
