"""Reuse another experiment's finished units: link every unit of CONFIG's plan (in DST_EXP) whose content
hash equals a finished unit of SRC_EXP — the generators, syntheses and classifier runs the two configs share,
even when a row name differs (a `select: val` candidate equal to a plain GenMix row has the same hash but
another unit id). Nothing is copied or retrained; `genmix run CONFIG --out DST_EXP` then runs only the rest.

usage: python benchmarks/quality/link_units.py SRC_EXP CONFIG DST_EXP SEEDS   (SEEDS: e.g. 0,1,2)
"""

import sys
from pathlib import Path

from genmix.experiment.config import load_config
from genmix.experiment.run import plan

DONE = {"gen": "model.safetensors", "synth": "synth.json", "clf": "metrics.json"}


def main():
    if len(sys.argv) != 5:
        raise SystemExit(__doc__.strip().splitlines()[-1])
    src, config, dst, seeds = Path(sys.argv[1]), sys.argv[2], Path(sys.argv[3]), sys.argv[4]
    if not (src / "units").is_dir():
        raise SystemExit(f"{src}: no units/ folder (not a `genmix run` experiment)")
    finished = {}
    for d in sorted((src / "units").iterdir()):
        kind, h = d.name.split("-", 1)[0], d.name.rsplit("-", 1)[-1]
        if kind in DONE and (d / DONE[kind]).is_file() and not (d / "FAILED.json").is_file():
            finished[(kind, h)] = d.resolve()
    p = plan(load_config(config), dst, [int(s) for s in seeds.split(",")])
    units = list(p["units"]["gen"].values()) + list(p["units"]["synth"].values()) + p["units"]["clf"]
    (dst / "units").mkdir(parents=True, exist_ok=True)
    linked = 0
    for u in units:
        target = finished.get((u["kind"], u["id"].rsplit("-", 1)[-1]))
        link = dst / "units" / u["id"]
        if target is not None and not link.exists() and target != link.resolve():
            link.symlink_to(target)
            linked += 1
    print(f"linked {linked} of {len(units)} units of {config} from {src}")


if __name__ == "__main__":
    main()
