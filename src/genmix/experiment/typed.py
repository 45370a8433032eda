"""What a loaded config and a plan hold, as typed dicts: :class:`ExperimentConfig` (what
:func:`genmix.experiment.config.load_config` returns, after the schema) and the unit kinds of a :class:`Plan`.

Configs and units stay plain dicts on the wire (``plan.json``, Ray, worker processes; the task graph reads dependencies from
their fields), and these types say what each kind carries. :func:`check_plan` validates every unit of a plan
against its kind when the plan is made, so a field that a module adds, renames or forgets fails there, by name,
instead of as a ``KeyError`` in a worker an hour later.

Kinds: ``gen`` (a generator training), ``synth`` (a synthesis from one generator), ``clf`` (a classifier run of
one row and seed; a ``select: val`` candidate too), ``rung`` / ``halving`` (successive halving of candidates:
the cheap partial runs and the decision over them), ``audit-real-classifier`` / ``audit`` (the audit's
real-train classifier and one audit per synthesis). A field naming another unit's id is an edge of the graph.
"""

from __future__ import annotations

from functools import cache
from typing import Annotated, Any, Literal

from pydantic import ConfigDict, Field, TypeAdapter, with_config
from typing_extensions import NotRequired, TypedDict

STRICT = ConfigDict(extra="forbid")


class ExperimentConfig(TypedDict):
    """A config after :func:`genmix.experiment.config.load_config`: the schema's keys (genmix.experiment.schema,
    values checked there) with the top-level defaults filled in."""
    name: str
    data: str
    seeds: list[int]
    classifier: dict[str, Any]           # classifier settings over the preset (schema.ClassifierSettings)
    generators: dict[str, dict[str, Any]]  # generator name -> its preset and settings
    synthesis: dict[str, Any]
    genmix: dict[str, Any]
    mixup: dict[str, Any]
    rows: list[str | dict[str, Any]]     # as written; genmix.experiment.config.expand_rows resolves them
    budget: Literal["equal", "per-epoch"]
    replicate: Literal["classifier", "full"]
    audit: bool | dict[str, Any]
    data_root: NotRequired[str | None]
    image_size: NotRequired[int | None]
    channels: NotRequired[int | None]
    workers: NotRequired[int]
    figures: NotRequired[bool]
    effect: NotRequired[float]
    replicates: NotRequired[dict[str, int]]  # adaptive replicates (instead of a fixed list of seeds)
    _path: str                           # the file it was read from, for error messages


@with_config(STRICT)
class DataRef(TypedDict):
    """The dataset every unit of a run reads: its spec, root, image size and channels (None: as stored)."""
    spec: str
    root: str | None
    size: int | None
    channels: int | None


@with_config(STRICT)
class GenUnit(TypedDict):
    kind: Literal["gen"]
    id: str
    generator: str           # the registry name (genmix.generate.GENERATORS)
    gen_key: str             # the generator per replicate: "ddpm" or "ddpm@s3" (replicate: full)
    config: dict[str, Any]   # the resolved generator settings (preset + overrides)
    data: DataRef
    dir: str
    synthesis: dict[str, Any]  # the defaults its syntheses start from (ratio, seed, balance, sample)


@with_config(STRICT)
class SynthUnit(TypedDict):
    kind: Literal["synth"]
    id: str
    gen: str                 # the generator unit's id
    gen_dir: str
    generator: str
    gen_key: str
    ratio: float
    balance: bool
    seed: int
    sample: dict[str, Any]   # sampler settings (e.g. {"steps": 25})
    dir: str


@with_config(STRICT)
class ClfUnit(TypedDict):
    kind: Literal["clf"]
    id: str
    row: str
    augment: str
    seed: int
    generator: str | None
    ratio: float | str | None
    alpha: float | None
    status: Literal["planned", "not run"]
    train_config: NotRequired[dict[str, Any]]  # genmix.classify.train.TrainConfig as a dict (absent: not run)
    data: NotRequired[DataRef]
    dir: NotRequired[str]
    reason: NotRequired[str]       # why it cannot run (status "not run")
    synth: NotRequired[str]        # the synthesis unit it trains with
    gen_key: NotRequired[str]
    candidate: NotRequired[str]    # a select: val candidate's label
    rung: NotRequired[str]         # its partial run under successive halving
    decisions: NotRequired[list[str]]  # the halving units that decide whether it finishes
    required: NotRequired[bool]    # a row without halving needs it in full


@with_config(STRICT)
class RungUnit(TypedDict):
    kind: Literal["rung"]
    id: str
    stop_after: int          # validations before it stops
    row: str
    seed: int
    train_config: dict[str, Any]
    data: DataRef
    synth: str | None
    dir: str


@with_config(STRICT)
class HalvingUnit(TypedDict):
    kind: Literal["halving"]
    id: str
    rung_units: list[str]
    waits_for: list[str]     # candidates that are full runs of other rows (no rung of their own)
    candidates: list[dict[str, Any]]
    validations: int
    of: int
    keep: int
    row: str
    seed: int
    dir: str


@with_config(STRICT)
class AuditRealUnit(TypedDict):
    kind: Literal["audit-real-classifier"]
    id: str
    data: DataRef
    model: str
    epochs: int
    classifier_dir: str
    dir: str


@with_config(STRICT)
class AuditUnit(TypedDict):
    kind: Literal["audit"]
    id: str
    synth: str
    synth_dir: str
    real_classifier: str
    data: DataRef
    settings: dict[str, Any]
    classifier_dir: str
    dir: str


Unit = Annotated[GenUnit | SynthUnit | ClfUnit | RungUnit | HalvingUnit | AuditRealUnit | AuditUnit,
                 Field(discriminator="kind")]


class Units(TypedDict):
    gen: dict[str, GenUnit]
    synth: dict[str, SynthUnit]
    clf: list[ClfUnit]
    audit: dict[str, AuditRealUnit | AuditUnit]
    halving: NotRequired[list[RungUnit | HalvingUnit]]


class Plan(TypedDict):
    """:func:`genmix.experiment.planner.plan`'s answer."""
    units: Units
    unavailable: dict[str, str]   # generator -> why it cannot run
    rows: list[dict[str, Any]]    # the expanded rows (genmix.experiment.config.expand_rows)
    budget: dict[str, Any]
    replicate: str
    select: list[dict[str, Any]]  # per select: val row and seed, its candidates and their units
    notes: list[str]


@cache
def _adapter() -> TypeAdapter:
    return TypeAdapter(Unit)


def check_plan(units: dict) -> None:
    """Every unit of a plan's ``units`` matches its kind's fields; an error names the unit and the field."""
    from pydantic import ValidationError

    for group in units.values():
        for u in group.values() if isinstance(group, dict) else group:
            try:
                _adapter().validate_python(u)
            except ValidationError as exc:
                err = exc.errors()[0]
                where = ".".join(str(p) for p in err["loc"][1:]) or "(unit)"
                raise TypeError(f"plan unit {u.get('id', '?')} ({u.get('kind', '?')}): {where}: {err['msg']}") from None
