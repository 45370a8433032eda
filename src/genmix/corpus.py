"""Where a dataset's images come from, so a pretrained model never saw the set it later trains on.

Every pretrained model genmix builds (text-to-image LDM, diffusion model, classifier backbone)
records the dataset specs of its corpus. Before a model is used on a dataset, ``check_disjoint``
refuses it when the two share a *source*: the same patients or volumes, whatever the spec says.
OrganAMNIST, OrganCMNIST and OrganSMNIST are three planes of the same LiTS CT volumes, so they
are one source; ``organamnist-fll3`` and any ``subset:`` inherit their base's source.

A user's own data (``folder:``, ``csv:``) has no known source; its spec (resolved path) is its
source, and a pretraining corpus that names the same path is refused.
"""

from __future__ import annotations

from pathlib import Path

from .errors import GenmixError

# MedMNIST v2 2-D flags -> the public source they were built from (medmnist.INFO, Yang et al. 2023)
MEDMNIST_SOURCES = {
    "breastmnist": "BUSI (breast ultrasound, Al-Dhabyani et al.)",
    "pneumoniamnist": "Kermany et al. pediatric chest X-ray",
    "organamnist": "LiTS abdominal CT volumes",
    "organcmnist": "LiTS abdominal CT volumes",
    "organsmnist": "LiTS abdominal CT volumes",
    "bloodmnist": "Acevedo et al. blood cell microscopy",
    "chestmnist": "NIH ChestX-ray14",
    "dermamnist": "HAM10000",
    "octmnist": "Kermany et al. retinal OCT",
    "retinamnist": "DeepDRiD",
    "pathmnist": "NCT-CRC-HE-100K / CRC-VAL-HE-7K",
    "tissuemnist": "BBBC051 kidney cortex",
}


def sources_of(spec: str) -> set[str]:
    """The sources a dataset spec draws its images from (never loads any image)."""
    from .data import parse_spec

    kind, value, _ = parse_spec(spec)
    if kind == "medmnist":
        return {MEDMNIST_SOURCES.get(value.lower(), f"medmnist:{value.lower()}")}
    if kind == "named":
        from .data.subsets import NAMED

        return sources_of(NAMED[value]["base"])
    if kind == "subset":
        import yaml

        p = Path(value)
        try:
            base = (yaml.safe_load(p.read_text()) or {}).get("base")
        except (OSError, yaml.YAMLError):
            base = None
        return sources_of(base) if isinstance(base, str) else {f"subset:{p.resolve()}"}
    if kind == "simulated":
        return {f"simulated:{value}"}
    if kind == "synthetic":
        return {f"synthetic:{Path(value).resolve()}"}
    return {f"{kind}:{Path(value).resolve()}"}  # a user's own folder or manifest


def check_disjoint(corpus: list[str], target: str, model: str = "pretrained model") -> None:
    """Raise a one-line GenmixError when ``corpus`` shares a source with ``target``."""
    tgt = sources_of(target)
    for spec in corpus:
        shared = sources_of(spec) & tgt
        if shared:
            raise GenmixError(f"{model}: pretrained on {spec}, which shares its source ({', '.join(sorted(shared))}) "
                              f"with the data it would train on ({target}); pretrain without it")


def allowed_corpus(target: str, candidates: list[str]) -> list[str]:
    """The candidate specs that share no source with ``target`` (the default corpus for a target)."""
    tgt = sources_of(target)
    return [c for c in candidates if not (sources_of(c) & tgt)]


# the public corpus on this project's machines (../shared/data/medmnist)
PUBLIC_CORPUS = ["medmnist:breastmnist", "medmnist:pneumoniamnist", "medmnist:organamnist", "medmnist:bloodmnist"]
