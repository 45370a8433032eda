"""Successive halving of the ``select: val`` candidates: what it saves and whether it changes the choice (issue 29).

configs/breastmnist.yaml's protocol (equal budget, ``replicate: full``, quick presets, ResNet-18 from scratch) with
the rows Baseline, GenMix (DCGAN) and GenMix (DCGAN, selected) — candidates alpha {0.3, 1} x epoch {pool, real}
plus no augmentation, as in that config — run per seed twice into one experiment folder: first with
``halving: {at: 0.25, keep: 1}`` (the 3 candidates of the row's own train 5 of 20 validations, the best of all 5 on
validation goes on), then without halving, which finishes the stopped candidates from their rungs. A continued
candidate is bit-identical to one trained without halving (tests/experiment/test_halving.py), so both tables come
from the same runs and differ only where the rung ranked another candidate first than the full budget would:
per seed, the chosen candidate with and without halving and the selected row's test macro-F1 / accuracy.
Worker-seconds of the row's own candidates with halving (rungs + the continued one + the decision) and without
(each candidate's rung + its continuation = its full run), measured in this run, and the per-replicate ratio of
configs/breastmnist.yaml that follows from them (its unit counts and the grid's measured shares).

Run:  python benchmarks/speed/halving.py [--seeds 0 1 2 3 4] [--out runs/bench-halving]
Writes benchmarks/results/speed_halving.json.
"""

import argparse
import csv
import json
import os
import shutil
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from _common import RESULTS, ROOT, data_root, save  # noqa: E402

SELECT = {"augment": "genmix", "generator": "dcgan", "select": "val",
          "candidates": {"alpha": [0.3, 1.0], "epoch": ["pool", "real"]}}
HALVING = {"at": 0.25, "keep": 1}


def configs(path: Path) -> dict:
    from genmix.experiment.config import load_config

    cfg = load_config(path)
    base = {**cfg, "rows": None, "audit": False, "name": f"{cfg['name']}-halving",
            "generators": {"dcgan": cfg["generators"]["dcgan"]}}
    from genmix.experiment.config import expand_rows

    out = {}
    for side, row in (("halving", {**SELECT, "halving": HALVING}), ("full", SELECT)):
        c = {**base, "rows": ["baseline", "genmix:dcgan", row]}
        expand_rows(c)  # checks the row
        out[side] = c
    return out


def walls(exp: Path) -> dict:
    """{unit id: wall seconds} of every unit folder (wall.json; a resumed unit's adds up its attempts)."""
    return {f.parent.name: json.loads(f.read_text())["wall_s"] for f in (exp / "units").glob("*/wall.json")}


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--config", type=Path, default=ROOT / "configs" / "breastmnist.yaml")
    ap.add_argument("--seeds", type=int, nargs="+", default=[0, 1, 2, 3, 4])
    ap.add_argument("--out", type=Path, default=ROOT / "runs" / "bench-halving")
    a = ap.parse_args()
    os.environ.setdefault("GENMIX_DATA_ROOT", data_root())
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    from genmix.experiment.run import plan, run_experiment

    cfgs = configs(a.config)
    stop_walls: dict = {}
    for seed in a.seeds:  # interleaved by seed: host drift hits both sides alike
        for side in ("halving", "full"):
            print(f"== seed {seed}, {side}", flush=True)
            run_experiment(cfgs[side], a.out, seeds=[seed], workers=1, progress=True)
            if side == "halving":  # a stopped candidate's wall.json is replaced when it is finished later
                # (a few ms: it writes STOPPED.json; not kept when this script is rerun on finished units)
                stop_walls.update({u: w for u, w in walls(a.out).items() if (a.out / "units" / u / "STOPPED.json").is_file()})
    tables = {}
    for side in ("halving", "full"):  # everything is cached now: each side's tables over all the seeds
        run_experiment(cfgs[side], a.out, seeds=a.seeds, workers=1, progress=False)
        for f in ("results.csv", "candidates.csv"):
            shutil.copy(a.out / f, a.out / f"{side}_{f}")
        with open(a.out / "results.csv") as f:
            tables[side] = {int(r["seed"]): r for r in csv.DictReader(f) if r["row"].endswith("selected)")}
    ph = plan(cfgs["halving"], a.out, a.seeds)
    w = walls(a.out)
    decisions = [u for u in ph["units"]["halving"] if u["kind"] == "halving"]
    per_seed = []
    for seed in a.seeds:
        dec = next(d for d in decisions if d["seed"] == seed)
        promoted = json.loads((Path(dec["dir"]) / "decision.json").read_text())["promoted"]
        own = [u for u in ph["units"]["clf"] if u.get("rung") and u["seed"] == seed]
        rung_s = sum(w[u["rung"]] for u in own)
        cont = {u["id"]: w[u["id"]] for u in own}  # continuation from the rung (the stopped ones: finished later)
        with_h = rung_s + sum(cont[u] for u in cont if u in promoted) + w[dec["id"]] + \
            sum(stop_walls.get(u, 0.0) for u in cont if u not in promoted)
        without = rung_s + sum(cont.values())
        h, f = tables["halving"][seed], tables["full"][seed]
        per_seed.append({"seed": seed, "chosen_halving": h["chosen"], "chosen_full": f["chosen"],
                         "same_choice": h["chosen"] == f["chosen"], "promoted": promoted,
                         "f1_halving": 100 * float(h["f1_macro"]), "f1_full": 100 * float(f["f1_macro"]),
                         "acc_halving": 100 * float(h["accuracy"]), "acc_full": 100 * float(f["accuracy"]),
                         "own_candidates_worker_s": {"halving": with_h, "full": without}})
        print(per_seed[-1], flush=True)
    tot_h = sum(s["own_candidates_worker_s"]["halving"] for s in per_seed)
    tot_f = sum(s["own_candidates_worker_s"]["full"] for s in per_seed)
    shared = [u for u in ph["units"]["clf"] if not u.get("rung")]
    shared_s = sum(w[u["id"]] for u in shared) / len(shared)  # one shared classifier unit
    own_unit_s = tot_f / len(a.seeds) / 3  # one own candidate trained in full
    # configs/breastmnist.yaml per replicate: 11 plain classifier units + 4 selected rows x 3 own candidates;
    # generators and syntheses at the grid's measured worker-seconds (speed_profile_replicate.json), the
    # classifiers at the levers' 1.71x (speed_levers.json)
    prof = json.loads((RESULTS / "speed_profile_replicate.json").read_text())["grid_worker_s_per_replicate"]
    clf_now = prof["clf"] / 1.71
    own_share = 12 / 23
    before = prof["gen"] + prof["synth"] + prof["clf"]
    levers = prof["gen"] + prof["synth"] + clf_now
    halving = prof["gen"] + prof["synth"] + clf_now * (1 - own_share) + clf_now * own_share * tot_h / tot_f
    save("speed_halving", {
        "config": str(a.config.relative_to(ROOT)), "halving": HALVING, "seeds": a.seeds, "per_seed": per_seed,
        "same_choice": sum(s["same_choice"] for s in per_seed), "n": len(per_seed),
        "own_candidates_worker_s": {"halving": tot_h, "full": tot_f}, "own_candidates_ratio": tot_f / tot_h,
        "unit_s": {"shared_classifier": shared_s, "own_candidate_full": own_unit_s},
        "replicate_worker_s": {"before_levers": before, "levers": levers, "levers_and_halving": halving},
        "replicate_ratio": {"levers": before / levers, "levers_and_halving": before / halving},
        "command": "python benchmarks/speed/halving.py --seeds " + " ".join(map(str, a.seeds))})


if __name__ == "__main__":
    main()
