"""Summarise a finished quality run: table.md, wall time, peak RSS, unit timings -> results JSON."""

import csv
import re
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from _common import save  # noqa: E402


def main(exp, cfg, seeds, time_file, workers="1"):
    exp = Path(exp)
    tree = Path(time_file.replace("_time.txt", "_tree_rss.txt"))
    text = Path(time_file).read_text() if Path(time_file).is_file() else ""
    wall = re.search(r"Elapsed \(wall clock\) time.*: (.+)", text)
    rss = re.search(r"Maximum resident set size \(kbytes\): (\d+)", text)
    with open(exp / "timings.csv") as f:
        timings = list(csv.DictReader(f))
    by_kind = {}
    for t in timings:
        by_kind[t["kind"]] = round(by_kind.get(t["kind"], 0.0) + float(t["wall_s"]), 1)
    save(f"quality_{Path(cfg).stem}", {
        "benchmark": f"Table 1 on {Path(cfg).stem}", "seeds": seeds,
        "wall_clock": wall.group(1).strip() if wall else None,
        "peak_rss_gib": round(int(rss.group(1)) / 2**20, 2) if rss else None,  # largest single process
        "peak_tree_rss_gib": round(int(tree.read_text()) / 2**20, 2) if tree.is_file() else None,  # all summed
        "workers": int(workers),
        "unit_seconds_by_kind": by_kind, "table_md": (exp / "table.md").read_text(),
        "command": f"benchmarks/quality/run.sh {cfg} {seeds} {workers}"})


if __name__ == "__main__":
    main(*sys.argv[1:6])
