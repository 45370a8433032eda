"""Does fused Adam change the results? A paired check over replicates of configs/breastmnist.yaml (issue 29 item 2).

Fused Adam computes the same elementwise update as the per-tensor loop, but rounds differently (within 1e-6 per
step, tests/test_optim.py); over hundreds of steps a classifier's path drifts, so its results are not
bit-identical. This checks that they move by less than the replicate-to-replicate noise: the same grid
(configs/breastmnist.yaml's protocol — equal budget, ``replicate: full``, quick presets — with the rows Baseline,
MixUp, DCGAN (50 %) and GenMix (DCGAN): the DCGAN trains with Adam too) run with the per-tensor loop
(``genmix.optim.FUSED = False``, "before") and with fused Adam ("now"), seed by seed, interleaved (before s0,
now s0, before s1, ...) so the host's drift hits both alike, every unit in this process with the default
threads. Per row: the paired now − before difference of test macro-F1 and accuracy with its t interval over the
replicates, beside the replicates' own spread (SD across seeds, "before"; a pair of runs whose rounding paths
diverge differs like two seeds, by ~sqrt(2) x that SD): unchanged means no systematic shift, the paired
interval contains 0. Also the worker-seconds per unit kind of each
side (a ratio measured in one run).

Run:  python benchmarks/speed/unchanged_results.py [--seeds 0 1 2] [--out runs/bench-unchanged]
Writes benchmarks/results/speed_unchanged_results.json.
"""

import argparse
import csv
import os
import statistics
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from _common import ROOT, data_root, save  # noqa: E402

ROWS = ["baseline", "mixup", "synthetic:dcgan", "genmix:dcgan"]
SIDES = {"before": False, "now": True}  # genmix.optim.FUSED


def run_side(cfg: dict, out: Path, seeds: list[int], fused: bool) -> None:
    from genmix import optim
    from genmix.experiment.run import run_experiment

    optim.FUSED = fused
    try:
        run_experiment(cfg, out, seeds=seeds, workers=1, progress=True)
    finally:
        optim.FUSED = True


def read(out: Path) -> tuple[dict, dict]:
    """{(row, seed): (f1, acc)} of results.csv and {kind: worker-seconds} of timings.csv."""
    with open(out / "results.csv") as f:
        res = {(r["row"], int(r["seed"])): (100 * float(r["f1_macro"]), 100 * float(r["accuracy"]))
               for r in csv.DictReader(f) if r["status"] == "done"}
    with open(out / "timings.csv") as f:
        kinds: dict = {}
        for r in csv.DictReader(f):
            kinds[r["kind"]] = kinds.get(r["kind"], 0.0) + float(r["wall_s"])
    return res, kinds


def paired(diffs: list[float]) -> dict:
    from scipy import stats

    n = len(diffs)
    mean = statistics.mean(diffs)
    if n < 2:
        return {"mean": mean, "n": n}
    se = statistics.stdev(diffs) / n ** 0.5
    t = stats.t.ppf(0.975, n - 1)
    return {"mean": mean, "ci95": [float(mean - t * se), float(mean + t * se)], "n": n, "diffs": diffs}


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--config", type=Path, default=ROOT / "configs" / "breastmnist.yaml")
    ap.add_argument("--seeds", type=int, nargs="+", default=[0, 1, 2])
    ap.add_argument("--out", type=Path, default=ROOT / "runs" / "bench-unchanged")
    a = ap.parse_args()
    os.environ.setdefault("GENMIX_DATA_ROOT", data_root())
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    from genmix.experiment.config import load_config

    cfg = load_config(a.config)
    cfg = {**cfg, "rows": ROWS, "audit": False, "name": f"{cfg['name']}-unchanged"}
    cfg["generators"] = {"dcgan": cfg["generators"]["dcgan"]}
    for seed in a.seeds:
        for side, fused in SIDES.items():
            print(f"== seed {seed}, {side} (fused Adam {fused})", flush=True)
            run_side(cfg, a.out / side, [seed], fused)
    for side, fused in SIDES.items():  # every unit is cached now: results.csv / timings.csv of all the seeds
        run_side(cfg, a.out / side, a.seeds, fused)
    (res_b, kinds_b), (res_n, kinds_n) = read(a.out / "before"), read(a.out / "now")
    rows = {}
    for row in dict.fromkeys(r for r, _ in res_b):
        seeds = [s for s in a.seeds if (row, s) in res_b and (row, s) in res_n]
        entry = {"seeds": seeds}
        for i, metric in enumerate(("f1_macro", "accuracy")):
            before = [res_b[row, s][i] for s in seeds]
            now = [res_n[row, s][i] for s in seeds]
            d = paired([n - b for n, b in zip(now, before)])
            spread = statistics.stdev(before) if len(before) > 1 else float("nan")
            # two rounding paths diverge like two seeds do, so a single pair differs by ~sqrt(2) x the seeds' SD;
            # "unchanged": no systematic shift (the paired interval contains 0)
            unchanged = bool("ci95" in d and d["ci95"][0] <= 0 <= d["ci95"][1])
            entry[metric] = {"before": before, "now": now, "paired_difference": d,
                             "replicate_sd_before": spread, "pair_noise_sd": spread * 2 ** 0.5,
                             "unchanged": unchanged}
        rows[row] = entry
        f, acc = entry["f1_macro"], entry["accuracy"]
        print(f"{row}: dF1 {f['paired_difference']['mean']:+.2f} (SD of replicates {f['replicate_sd_before']:.2f}), "
              f"dAcc {acc['paired_difference']['mean']:+.2f} (SD {acc['replicate_sd_before']:.2f})", flush=True)
    # every row x seed pair together (pairs of one seed share a generator, so this is a summary, not a test)
    pooled = {m: paired([d for r in rows.values() for d in r[m]["paired_difference"].get("diffs", [])])
              for m in ("f1_macro", "accuracy")}
    save("speed_unchanged_results", {
        "config": str(a.config.relative_to(ROOT)), "rows_run": ROWS, "seeds": a.seeds,
        "rows": rows, "pooled": pooled, "all_unchanged": all(r[m]["unchanged"] for r in rows.values() for m in ("f1_macro", "accuracy")),
        "worker_s_by_kind": {"before": kinds_b, "now": kinds_n},
        "ratio_by_kind": {k: kinds_b[k] / kinds_n[k] for k in kinds_b if kinds_n.get(k)},
        "ratio_total": sum(kinds_b.values()) / max(sum(kinds_n.values()), 1e-9),
        "command": "python benchmarks/speed/unchanged_results.py --seeds " + " ".join(map(str, a.seeds))})


if __name__ == "__main__":
    main()
