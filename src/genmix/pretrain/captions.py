"""Captions for a pretraining corpus, built from each dataset's own metadata.

A caption is ``"<modality>, <class name>"``: the modality comes from the dataset's description
(``medmnist.INFO[flag]["description"]`` for MedMNIST), the class name from its label names, e.g.
"breast ultrasound, malignant", "chest X-ray, pneumonia", "abdominal CT, liver", "blood cell
microscopy, neutrophil". Other specs (a user's folder, the simulated set) use their spec's name.
"""

from __future__ import annotations

import re
from pathlib import Path

# keywords of medmnist.INFO[flag]["description"] -> the modality phrase used in captions
_MODALITY_KEYWORDS = [
    ("breast ultrasound", "breast ultrasound"),
    ("chest x-ray", "chest X-ray"),
    ("computed tomography", "abdominal CT"),
    ("blood", "blood cell microscopy"),
    ("dermatoscopic", "dermatoscopy"),
    ("optical coherence tomography", "retinal OCT"),
    ("fundus", "retinal fundus photograph"),
    ("colorectal", "colon pathology"),
    ("kidney cortex", "kidney cortex microscopy"),
]


def modality(spec: str) -> str:
    """The modality phrase of a dataset spec, from its metadata."""
    from ..data import parse_spec

    kind, value, _ = parse_spec(spec)
    if kind == "named":
        from ..data.subsets import NAMED

        return modality(NAMED[value]["base"])
    if kind == "medmnist":
        from medmnist import INFO

        desc = INFO.get(value.lower(), {}).get("description", "").lower()
        for key, phrase in _MODALITY_KEYWORDS:
            if key in desc:
                return phrase
        return value.lower().replace("mnist", "")
    if kind == "simulated":
        return "simulated liver CT"
    return Path(value).name.replace("_", " ").replace("-", " ") or kind


def clean_label(name: str) -> str:
    """'immature granulocytes(myelocytes, ...)' -> 'immature granulocytes'; 'femur-left' -> 'left femur';
    'normal, benign' -> 'normal or benign'."""
    name = re.sub(r"\(.*?\)", "", name).strip()
    m = re.fullmatch(r"(.+)-(left|right)", name)
    if m:
        name = f"{m.group(2)} {m.group(1)}"
    return re.sub(r"\s*,\s*", " or ", name).replace("_", " ").strip()


def captions_for(spec: str, class_names: list[str]) -> list[str]:
    mod = modality(spec)
    return [f"{mod}, {clean_label(c)}" for c in class_names]
