"""Successive halving of a ``select: val`` row's candidates: train each to a rung, finish only the best.

A row with ``halving: {at: 0.25, keep: 1}`` trains each of its own candidates for the first ``at`` of its
validations (rung units: the same run, stopped there with its resume checkpoint), ranks every candidate on its
best validation macro-F1 up to that validation (ties: lower validation loss, then the order listed), and
continues the ``keep`` best from their checkpoints to the full budget. A candidate that another row trains in
full anyway (the Baseline, the GenMix row) is ranked from its own history and costs nothing. The others stop at
the rung. The choice uses the validation split only; a continued candidate is bit-identical to the same
candidate trained without halving (a resume replays exactly), so halving changes a row's result only when the
rung ranks another candidate first than the full budget would (benchmarks/speed/halving.py measures how often).

Units: ``rung`` (one per candidate of the row's own), ``halving`` (the decision, per row and seed, after every
rung), and the candidate's own classifier unit, which depends on the decision: it resumes from its rung when
promoted and writes ``STOPPED.json`` otherwise.
"""

from __future__ import annotations

import csv
import json
import math
from pathlib import Path

from ..checkpoint import config_hash
from .labels import slug


def rung_validations(train_config: dict, at: float) -> tuple[int, int]:
    """(validations at the rung, validations of the full run) for a classifier unit's train config."""
    if train_config.get("max_steps"):
        total = math.ceil(train_config["max_steps"] / train_config["eval_every"])
    else:
        total = int(train_config["epochs"])
    return max(1, math.ceil(at * total)), total


def add_halving(units: dict, entry: dict, halving: dict, own: set[str], exp_dir: Path) -> None:
    """Gate the candidates of a select ``entry`` by successive halving: rung units for the candidate units in
    ``own`` (those no plain row trains), one decision unit, and the candidates' gates. Nothing happens when
    halving cannot save anything (``keep`` at least the candidates, or a rung at the full budget)."""
    by_id = {u["id"]: u for u in units["clf"]}
    cands = list(dict.fromkeys(c["unit"] for c in entry["candidates"] if c.get("unit")))
    if not cands or any(not c.get("unit") for c in entry["candidates"]) or halving["keep"] >= len(cands):
        return
    rung, total = rung_validations(by_id[cands[0]]["train_config"], halving["at"])
    if rung >= total:
        return
    group = units.setdefault("halving", [])
    known = {u["id"]: u for u in group}
    ranked = []
    for uid in cands:
        u = by_id[uid]
        if uid not in own:
            ranked.append({"unit": uid, "dir": u["dir"]})
            continue
        rid = f"rung{rung}-{uid}"
        if rid not in known:
            known[rid] = {"kind": "rung", "id": rid, "stop_after": rung, "row": u["row"],
                          "seed": u["seed"], "train_config": u["train_config"], "data": u["data"],
                          "synth": u.get("synth"), "dir": str(Path(exp_dir) / "units" / rid)}
            group.append(known[rid])
        u["rung"] = rid
        ranked.append({"unit": uid, "dir": known[rid]["dir"], "rung": rid})
    did = f"halving-{slug(entry['row'])}-s{entry['seed']}-" + config_hash({"c": cands, "r": rung, "k": halving["keep"]})
    if did not in known:
        group.append({"kind": "halving", "id": did, "rung_units": [r["rung"] for r in ranked if r.get("rung")],
                      "waits_for": [r["unit"] for r in ranked if not r.get("rung")], "candidates": ranked,
                      "validations": rung, "of": total, "keep": halving["keep"], "row": entry["row"],
                      "seed": entry["seed"], "dir": str(Path(exp_dir) / "units" / did)})
    for uid in cands:
        if uid in own:
            by_id[uid].setdefault("decisions", [])
            if did not in by_id[uid]["decisions"]:
                by_id[uid]["decisions"].append(did)
    entry["halving"] = {"unit": did, "validations": rung, "of": total, "keep": halving["keep"]}


def rung_score(run_dir, validations: int) -> tuple[float, float] | None:
    """(best validation macro-F1, its loss) over a run's first ``validations`` validations (history.csv),
    the same rule as the run's kept checkpoint; None when it has none yet."""
    f = Path(run_dir) / "history.csv"
    if not f.is_file():
        return None
    with open(f) as fh:
        rows = list(csv.DictReader(fh))[:validations]
    if not rows:
        return None
    best = max(rows, key=lambda r: (float(r["val_f1_macro"]), -float(r["val_loss"])))
    return float(best["val_f1_macro"]), float(best["val_loss"])


def decide(unit: dict) -> dict:
    """Rank the candidates at the rung, promote the ``keep`` best; writes and returns decision.json."""
    scored = []
    for i, c in enumerate(unit["candidates"]):
        s = rung_score(c["dir"], unit["validations"])
        if s is None:
            raise RuntimeError(f"{c['dir']}: no validation history at the rung")
        scored.append({"unit": c["unit"], "val_f1_macro": s[0], "val_loss": s[1], "order": i})
    ranked = sorted(scored, key=lambda c: (-c["val_f1_macro"], c["val_loss"], c["order"]))
    promoted = [c["unit"] for c in ranked[: unit["keep"]]]
    out = {"validations": unit["validations"], "of": unit["of"], "keep": unit["keep"], "promoted": promoted,
           "scores": [{k: v for k, v in c.items() if k != "order"} for c in scored]}
    d = Path(unit["dir"])
    d.mkdir(parents=True, exist_ok=True)
    tmp = d / "decision.json.tmp"
    tmp.write_text(json.dumps(out, indent=2))
    tmp.replace(d / "decision.json")
    return out


def promoted(unit: dict, units_dir: Path) -> bool:
    """Whether a gated candidate goes on: a row without halving needs it, or a decision promoted it."""
    if unit.get("required"):
        return True
    for did in unit.get("decisions", []):
        f = Path(units_dir) / did / "decision.json"
        if unit["id"] in json.loads(f.read_text())["promoted"]:
            return True
    return False


def stopped(run_dir) -> dict | None:
    """STOPPED.json of a candidate that successive halving stopped at its rung (and that has not been trained
    in full since), or None."""
    d = Path(run_dir)
    f = d / "STOPPED.json"
    return json.loads(f.read_text()) if f.is_file() and not (d / "metrics.json").is_file() else None


def stopped_by(unit: dict) -> dict | None:
    """STOPPED.json of a classifier unit when the decisions that gate it now are the ones that stopped it."""
    s = stopped(unit["dir"])
    if s is None or unit.get("required") or sorted(s.get("decisions", [])) != sorted(unit.get("decisions", [])):
        return None
    return s


def gate(unit: dict, d: Path) -> str:
    """Before a classifier unit trains: ``stopped`` (a gated candidate not promoted: STOPPED.json written) or
    ``train``. A unit that goes on starts from a rung's checkpoint when one is there — its own, or one a run
    with halving left — so the result is the same run as without halving; a stale STOPPED.json is dropped."""
    import shutil

    if unit.get("rung") and not promoted(unit, d.parent):
        d.mkdir(parents=True, exist_ok=True)
        (d / "STOPPED.json").write_text(json.dumps({"reason": "stopped at its rung by successive halving",
                                                    "rung": unit["rung"], "decisions": unit["decisions"]}))
        return "stopped"
    if (d / "STOPPED.json").is_file() and not (d / "metrics.json").is_file():
        shutil.rmtree(d)
    work = d.with_name(d.name + ".partial")
    if not d.exists() and not work.exists():
        rungs = [p for p in d.parent.glob(f"rung*-{d.name}") if (p / "rung.json").is_file()]
        if rungs:  # the furthest rung
            best = max(rungs, key=lambda p: json.loads((p / "rung.json").read_text())["validations"])
            shutil.copytree(best, work, ignore=shutil.ignore_patterns("wall.json", "rung.json"))
            (work / "resumed_from.json").write_text(json.dumps({"rung": best.name, **json.loads(
                (best / "rung.json").read_text())}))  # where this run's first validations were trained
    return "train"
