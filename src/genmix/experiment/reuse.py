"""Reuse another experiment's finished units (``genmix run --reuse OTHER_EXP``).

A unit's id ends in the hash of its content (generator config and seed; the synthesis request and its
generator; the classifier's TrainConfig with its synthesis, data and backbone fingerprints), so two
configs that share a generator, a synthesis or a classifier run plan units with the same hash even when
their row names differ. Every planned generator, synthesis and classifier unit that is not on disk yet and
whose (kind, hash) is a finished unit of an OTHER_EXP is linked into this experiment's units/ folder; the
cache then treats it as done. Nothing is copied or retrained, and a failed unit is never reused.
"""

from __future__ import annotations

from pathlib import Path

from ..errors import GenmixError
from .units import FINISHED


def content_key(unit_id: str) -> tuple[str, str]:
    """(kind, content hash) of a unit id such as ``clf-genmix-dcgan-s0-1a2b3c``."""
    return unit_id.split("-", 1)[0], unit_id.rsplit("-", 1)[-1]


def finished_units(exp: Path) -> dict[tuple[str, str], Path]:
    """The finished generator, synthesis and classifier units of the experiment folder ``exp``, by content key."""
    units = Path(exp) / "units"
    if not units.is_dir():
        raise GenmixError(f"{exp}: no units/ folder (not a `genmix run` experiment folder); --reuse needs one")
    found = {}
    for d in sorted(units.iterdir()):
        kind = d.name.split("-", 1)[0]
        if kind in FINISHED and (d / FINISHED[kind]).is_file() and not (d / "FAILED.json").is_file():
            found[content_key(d.name)] = d.resolve()
    return found


def reusable(sources) -> dict[tuple[str, str], Path]:
    """The finished units of every folder in ``sources`` by content key (the first folder that has one wins);
    a folder that is not an experiment is a one-line error."""
    finished: dict = {}
    for src in sources:
        for key, path in finished_units(Path(src)).items():
            finished.setdefault(key, path)
    return finished


def link_reused(units: list[dict], finished: dict[tuple[str, str], Path], exp: Path) -> list[str]:
    """Link each planned unit not on disk yet to the finished unit with its content key in ``finished``
    (:func:`reusable`), each logged ``reused`` in ``exp``'s units.log. Returns the ids linked."""
    from .graph import log_line

    linked = []
    for u in units:
        if u.get("kind") not in FINISHED or "dir" not in u:
            continue
        target = finished.get(content_key(u["id"]))
        link = Path(u["dir"])
        if target is None or link.exists() or link.is_symlink() or target == link.resolve():
            continue
        link.parent.mkdir(parents=True, exist_ok=True)
        link.symlink_to(target, target_is_directory=True)
        log_line(exp, f"reused {u['id']}")
        linked.append(u["id"])
    return linked
