"""Adaptive replicates (``replicates: {min, max, step}``): add replicates until every verdict is decided.

Seeds 0, 1, … are run in looks at min, min + step, …, max replicates (units already finished are reused from
the cache, so a look only trains the new seeds). After each look the tables are rebuilt and each verdict
comparison (one per generator: experiment.compare.verdict_rows) is judged by genmix.stats.sequential at the
family's level α/m (Bonferroni over the m verdicts): "different" when it crosses the look's O'Brien–Fleming
boundary, "no-larger" when these replicates already detect the config's ``effect`` (F1 points) — a futility
stop — else the run goes on to the next look, and at ``max`` a comparison still open is "undecided". The
boundaries are calibrated for the t-statistics by simulation, and the whole procedure keeps its error rate
≤ 5 % under no effect (tests/stats/test_sequential.py). ``sequential.json`` records the plan and each look.
"""

from __future__ import annotations

import json
from pathlib import Path

from .compare import STATE


def run_adaptive(cfg: dict, exp_dir, run, progress: bool = True, **kw) -> dict:
    """Run looks until every verdict is decided or ``max`` replicates ran; ``run(cfg, exp, seeds=..., **kw)``
    is experiment.run.run_experiment. Returns the final state (also in sequential.json)."""
    import sys

    from ..stats.sequential import looks
    from .tables import build_tables

    exp = Path(exp_dir)
    rep = cfg["replicates"]
    r = {"min": 3, "max": 10, "step": 1, **rep}
    state = {"plan": looks(r["min"], r["max"], r["step"]), "effect": float(cfg.get("effect", 5.0)), "looks": []}
    for n in state["plan"]:
        run(cfg, exp, seeds=list(range(n)), progress=progress, **kw)
        exp.mkdir(parents=True, exist_ok=True)
        (exp / STATE).write_text(json.dumps(state, indent=1) + "\n")
        table = build_tables(exp)
        decided = {e["row"]: e.get("sequential_state", "") for e in table if e.get("verdict_row")}
        state["looks"].append({"replicates": n, "states": decided})
        (exp / STATE).write_text(json.dumps(state, indent=1) + "\n")
        if progress:
            print(f"genmix: look at {n} replicates: " + ", ".join(f"{k} {v}" for k, v in decided.items()),
                  file=sys.stderr, flush=True)
        if all(v != "continue" for v in decided.values()):
            break
    return state
