"""Did a generator learn the data? A marker from the audit genmix run already computes (audit.csv).

Per generator, averaged over its syntheses (one per replicate under ``replicate: full``), from the audit's
overall row and its class rows — none of it reads the test split:
- recall and coverage (Kynkäänniemi et al. 2019; Naeem et al. 2020, k = 5) of its images against real
  training images, on the audit's features: how much of the real data's variety the synthetic images cover;
- per class, GAN-train: a classifier trained on the synthetic images alone, scored on the real validation
  images of that class, against the same classifier trained on real training images (the floor).

States, first that applies:
- **collapsed**: recall < 0.1 or coverage < 0.1 — a few distinct images; its rows test noise, not GenMix;
- **label-unfaithful**: in some class GAN-train < 0.5 x its floor — the images do not look like their label;
- **below the bar**: recall < 0.5, coverage < 0.3 or some class's GAN-train < 0.8 x its floor (the quality
  bar of issue 30: a generator that passes it draws varied images recognisable as their class);
- **ok** otherwise.
The collapse thresholds sit far below what the quick presets reach on the shared sets when they work
(recall 0.51-0.95, coverage 0.28-1.0; benchmarks/results/dcgan_small_data.json) and above what a collapsed
DCGAN gave on BloodMNIST-small (recall 0.00, coverage 0.05).
"""

from __future__ import annotations

import csv
import math
from pathlib import Path

COLLAPSED_RECALL = 0.1
COLLAPSED_COVERAGE = 0.1
UNFAITHFUL = 0.5
BAR_RECALL, BAR_COVERAGE, BAR_GAN_TRAIN = 0.5, 0.3, 0.8


def _f(v) -> float:
    try:
        x = float(v)
    except (TypeError, ValueError):
        return math.nan
    return x


def generator_health(audit_csv, by: str = "generator") -> dict[str, dict]:
    """generator -> {state, recall, coverage, class, gan_train, gan_train_floor} from audit.csv; {} without it.
    ``by="synthesis"``: the same per synthesis (each replicate judged alone, as issue 30's bar asks), each
    entry also naming its ``generator``."""
    if by not in ("generator", "synthesis"):
        raise ValueError(f"by must be 'generator' or 'synthesis', not {by!r}")
    path = Path(audit_csv)
    if not path.is_file():
        return {}
    overall: dict = {}
    classes: dict = {}
    generator_of: dict = {}
    with open(path) as f:
        for r in csv.DictReader(f):
            g = r.get(by, "")
            generator_of[g] = r.get("generator", "")
            if r.get("class") == "overall":
                overall.setdefault(g, []).append((_f(r.get("recall")), _f(r.get("coverage"))))
            else:
                a, fl = _f(r.get("gan_train")), _f(r.get("gan_train_floor"))
                if math.isfinite(a) and math.isfinite(fl) and fl > 0:
                    classes.setdefault(g, {}).setdefault(r["class"], []).append((a, fl))
    out = {}
    for g, vals in overall.items():
        rec = [v[0] for v in vals if math.isfinite(v[0])]
        cov = [v[1] for v in vals if math.isfinite(v[1])]
        recall = sum(rec) / len(rec) if rec else math.nan
        coverage = sum(cov) / len(cov) if cov else math.nan
        worst = None
        for c, v in classes.get(g, {}).items():
            a, fl = sum(x for x, _ in v) / len(v), sum(y for _, y in v) / len(v)
            if worst is None or a / fl < worst[1] / worst[2]:
                worst = (c, a, fl)
        ratio = worst[1] / worst[2] if worst else math.nan
        if recall < COLLAPSED_RECALL or coverage < COLLAPSED_COVERAGE:
            state = "collapsed"
        elif ratio < UNFAITHFUL:
            state = "label-unfaithful"
        elif recall < BAR_RECALL or coverage < BAR_COVERAGE or ratio < BAR_GAN_TRAIN:
            state = "below the bar"
        else:
            state = "ok"
        out[g] = {"generator": generator_of[g], "state": state, "recall": recall, "coverage": coverage, "class": worst[0] if worst else "",
                  "gan_train": worst[1] if worst else math.nan, "gan_train_floor": worst[2] if worst else math.nan}
    return out


def health_note(name: str, h: dict) -> str:
    """One sentence for the verdict and table.md; '' for a generator that is ok."""
    rc = f"recall {h['recall']:.2f}, coverage {h['coverage']:.2f}"
    gt = (f"GAN-train on {h['class']} {h['gan_train']:.2f} vs {h['gan_train_floor']:.2f} from real images"
          if h.get("class") else "")
    if h["state"] == "collapsed":
        return f"{name} collapsed: {rc} — its rows test noise, not GenMix"
    if h["state"] == "label-unfaithful":
        return f"{name} is label-unfaithful: {gt} — its rows test mislabelled images, not GenMix"
    if h["state"] == "below the bar":
        return f"{name} is below the quality bar ({rc}" + (f"; {gt}" if gt else "") + ")"
    return ""


def health_notes(exp_dir, display: dict | None = None) -> dict[str, str]:
    """generator -> its note (generators that are ok are absent), from EXP_DIR/audit.csv; ``display`` maps a
    generator to the name the note uses."""
    display = display or {}
    notes = {g: health_note(display.get(g, g), h) for g, h in generator_health(Path(exp_dir) / "audit.csv").items()}
    return {g: n for g, n in notes.items() if n}
