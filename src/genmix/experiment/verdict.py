"""The verdict in words, one line per generator: does GenMix beat the equal-budget Baseline on macro-F1?

The comparison is the ``select: val`` GenMix row when it finished, else the fixed GenMix row
(experiment.compare.verdict_rows); "beats" / "is worse than" when its Holm-adjusted p over the verdict family
(one comparison per generator) is below the level, else "is indistinguishable" with what the replicates can
say (experiment.compare.power_words): no effect larger than the detectable one, or how many replicates would
decide the effect of interest. Lines of markdown (table.md and report.html show them); verdict.json holds the
same numbers.
"""

from __future__ import annotations

import csv
import json
import math
from pathlib import Path

from .compare import LEVEL, power_words, verdict_key, verdict_label, verdict_rows
from .labels import column_label

AUDIT_LOW = 0.8  # a class's GAN-test accuracy below this fraction of its floor (real test images) counts as low


def read_audit(path: Path) -> dict | None:
    """generator -> (class, GAN-test accuracy, floor) of its class furthest below ``AUDIT_LOW`` x the floor
    (the same real-train classifier on the real test images of that class), each the mean over the generator's
    syntheses (one per replicate); None for a generator with no such class; None when audit.csv is absent."""
    if not path.is_file():
        return None
    acc: dict = {}
    with open(path) as f:
        for r in csv.DictReader(f):
            if r.get("class") == "overall":
                continue
            try:
                a, fl = float(r["gan_test"]), float(r["gan_test_floor"])
            except (KeyError, ValueError):
                continue
            if a == a and fl == fl:  # not NaN (a class without synthetic images has none)
                acc.setdefault(r["generator"], {}).setdefault(r["class"], []).append((a, fl))
    out = {}
    for g, by_class in acc.items():
        means = {c: (sum(a for a, _ in v) / len(v), sum(f for _, f in v) / len(v)) for c, v in by_class.items()}
        low = [(a / fl, c, a, fl) for c, (a, fl) in means.items() if fl > 0 and a < AUDIT_LOW * fl]
        out[g] = min(low)[1:] if low else None
    return out


def unpaired_note(e: dict, base: dict) -> str:
    """When a row or Baseline has replicates the other lacks, the two F1 means are over different sets."""
    vals = [x.get(k) for x, k in ((e, "n_seeds"), (base, "n_seeds"), (e, "n_paired"))]
    if any(v in ("", None) for v in vals):
        return ""
    n, b, paired = (int(float(v)) for v in vals)
    return "" if n == b == paired else f"; the F1 means are over {n} and {b} replicates, ΔF1 over the {paired} paired"


def _num(e, k):
    v = e.get(k, "")
    return None if v in ("", None) or (isinstance(v, float) and math.isnan(v)) else float(v)


def _budget_mode(exp_dir) -> str:
    if exp_dir is not None and (Path(exp_dir) / "plan.json").is_file():
        return (json.loads((Path(exp_dir) / "plan.json").read_text()).get("budget") or {}).get("mode", "per-epoch")
    return "equal"


def word(e: dict, level: float = LEVEL) -> str:
    """beats / is worse than / is indistinguishable from (Baseline), on the verdict family's Holm p."""
    d, p = _num(e, "delta_f1_macro_mean"), _num(e, "verdict_p_f1_macro")
    if e.get("sequential_state"):  # adaptive replicates: the sequential design decides
        if e["sequential_state"] == "different":
            return "beats" if d > 0 else "is worse than"
        return "is indistinguishable from"
    if p is not None and p < level and d > 0:
        return "beats"
    if p is not None and p < level and d < 0:
        return "is worse than"
    return "is indistinguishable from"


def verdict_summary(table: list[dict], exp_dir=None, level: float = LEVEL) -> list[dict]:
    """verdict.json: per generator the row, the word, the numbers behind it, and the generator's audit state
    (genmix.audit.health)."""
    from ..audit.health import generator_health

    health = generator_health(Path(exp_dir) / "audit.csv") if exp_dir is not None else {}
    out = []
    for g, e in verdict_rows(table).items():
        out.append({"generator": g, "row": e["row"], "verdict": word(e, level),
                    "generator_state": health.get(g.partition(" [")[0], {}).get("state", "not audited"),
                    **{k: e.get(k) for k in ("delta_f1_macro_mean", "verdict_low_f1_macro", "verdict_high_f1_macro",
                                             "verdict_p_f1_macro", "verdict_family", "p_f1_macro", "n_paired",
                                             "detectable_f1_macro", "replicates_needed_f1_macro", "effect",
                                             "power_level", "se_img_f1_macro", "delta_f1_macro_sd",
                                             "sequential_state", "sequential_n", "sequential_level")},
                    "says": power_words(e) if word(e, level) == "is indistinguishable from" else ""})
    return out


def _line(disp: str, e: dict, base: dict, level: float, audit, g: str, instead: str) -> str:
    d, p = _num(e, "delta_f1_macro_mean"), _num(e, "verdict_p_f1_macro")
    lo, hi = _num(e, "verdict_low_f1_macro"), _num(e, "verdict_high_f1_macro")
    kind = "Holm-adjusted interval"
    if lo is None:  # predictions missing: no test-set error; the paired t-interval, and p = 1 in the family
        lo, hi, kind = _num(e, "delta_f1_macro_ci_low"), _num(e, "delta_f1_macro_ci_high"), \
            "paired t-interval (test predictions missing)"
    w = word(e, level)
    span = "n/a" if lo is None else f"[{100 * lo:+.1f}, {100 * hi:+.1f}]"
    line = (f"- {disp}: **{e['row']} {w} {base['row']}** — ΔF1 {100 * d:+.1f} points, {kind} "
            f"{span}, Holm p = {p:.3g} (F1 {100 * _num(e, 'f1_macro_mean'):.1f} vs "
            f"{100 * _num(base, 'f1_macro_mean'):.1f}, {int(_num(e, 'n_paired') or _num(e, 'n_seeds'))} paired "
            f"replicate(s){unpaired_note(e, base)}).")
    if w == "is indistinguishable from":
        line += f" {power_words(e)[0].upper()}{power_words(e)[1:]}."
    if e.get("sequential_state"):
        line += (f" Adaptive replicates (looks at {e.get('sequential_plan', '?')}): {e['sequential_state']} at "
                 f"{int(_num(e, 'sequential_n') or 0)}, where the boundary is p < {_num(e, 'sequential_level') or 0:.3g}"
                 " (O'Brien–Fleming spending, Bonferroni over the verdicts).")
    line += instead
    if audit is not None:
        low = audit.get(g)
        if low:
            c, acc, floor = low
            line += (f" Synthetic images may be unfaithful to their labels — see audit.csv (GAN-test accuracy on "
                     f"{column_label(c)} {acc:.2f}, below {AUDIT_LOW} x the {floor:.2f} of real test images, "
                     f"mean over this generator's syntheses).")
        else:
            line += " Synthetic-data audit: see audit.csv."
    return line


def verdict(table: list[dict], exp_dir=None, level: float = LEVEL) -> list[str]:
    """For each generator: does GenMix beat the equal-budget Baseline on macro-F1, is it indistinguishable (and
    what that means at these replicates), or worse; the numbers behind it; a pointer to audit.csv when it
    exists."""
    from .config import DISPLAY

    bases = {e.get("start", ""): e for e in table if e.get("augment") == "none" and not e.get("select")
             and e.get("status") == "done"}
    gens = list(dict.fromkeys(verdict_key(e) for e in table if e.get("augment") == "genmix" and e.get("generator")))
    if not gens:
        return []
    audit = read_audit(Path(exp_dir) / "audit.csv") if exp_dir is not None else None
    against = "the equal-budget Baseline" if _budget_mode(exp_dir) == "equal" else \
        "Baseline — budgets differ between rows (budget: per-epoch), so a difference is not the augmentation's alone"
    fam = next((e.get("verdict_family") for e in table if e.get("verdict_family")), "")
    over = "one verdict comparison" if fam in (1, 1.0) else f"the {int(fam)} verdict comparisons" if fam else \
        "the verdict comparisons"
    lines = [f"**Verdict** (macro-F1 against {against}; the paired test with the test set's own error, "
             f"Holm-adjusted over {over}, one per generator):", ""]
    from ..audit.health import health_notes

    health = health_notes(exp_dir, DISPLAY) if exp_dir is not None else {}
    chosen = verdict_rows(table)
    for g in gens:
        disp = verdict_label(g)
        cands = [e for e in table if e.get("augment") == "genmix" and verdict_key(e) == g]
        base = bases.get(cands[0].get("start", "") if cands else "")
        sel = next((c for c in cands if c.get("select")), None)
        e = chosen.get(g)
        instead = "" if sel is None or e is sel or e is None else \
            f" ({sel['row']} has no finished run — {sel.get('reason') or sel.get('status')} — so this is the fixed-setting row.)"
        if base is None:
            lines.append(f"- {disp}: no verdict — no finished Baseline row with this classifier start.")
        elif e is None or _num(e, "verdict_p_f1_macro") is None:
            why = cands[0].get("reason") or cands[0].get("status", "") if cands else "no GenMix row"
            lines.append(f"- {disp}: no verdict — GenMix has no finished comparison with Baseline ({why}).")
        else:
            lines.append(_line(disp, e, base, level, audit, g, instead))
        note = health.get(g.partition(" [")[0])
        if note:  # the generator failed the audit: say so before its verdict is read
            lines[-1] = lines[-1].replace(f"- {disp}: ", f"- {disp}: ⚠ {note}. ", 1)
    return lines
