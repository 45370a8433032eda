"""The experiment YAML as typed pydantic v2 models, checked before anything is written or trained.

``experiment_model()`` builds ``ExperimentConfig`` with one ``generators.<name>`` entry per
registered generator: the generator's own declared settings (its ``settings`` class in
genmix.generate.<module>), the fit loop's (``FitSettings``), ``preset`` (one of its presets)
and ``synthesis``. Unknown keys anywhere, unknown generators and rows naming a generator that
has no entry under ``generators`` are errors; messages name the key path (``rows[3].ratio``).

To add a key: a field on the model that holds it (``ExperimentConfig`` for the top level,
``ClassifierSettings``, ``RowSpec``, ``Candidates``, ``SynthesisSettings``, ``GenMixSettings``,
``MixUpSettings``, ``AuditSettings``).
"""

from __future__ import annotations

import difflib
from functools import lru_cache
from typing import Annotated, Any, Literal

from pydantic import (
    AfterValidator,
    BeforeValidator,
    Discriminator,
    Field,
    Tag,
    ValidationInfo,
    create_model,
    field_validator,
    model_validator,
)
from pydantic_core import PydanticCustomError

from ..validation import NonNegativeFloat, NonNegativeInt, PositiveFloat, PositiveInt, Ratio, Strict

BASE_ROW_NAMES = ("baseline", "none", "mixup", "cutmix", "augmix")
AUGMENTS = ("none", "mixup", "cutmix", "augmix", "synthetic", "genmix")
ROW_HINT = "baseline, mixup, cutmix, augmix, synthetic:<generator>, genmix:<generator>, or a mapping"


def _close(word, known) -> str:
    m = difflib.get_close_matches(word, list(known), n=1)
    return f"; did you mean '{m[0]}'?" if m else ""


def _registered() -> dict:
    from ..generate import GENERATORS, load_all

    load_all()
    return GENERATORS


def _check_generator(gen: str, info: ValidationInfo) -> str:
    known = _registered()
    if gen not in known:
        raise PydanticCustomError("genmix_unknown_generator", "unknown generator '{g}' (known: {k}){hint}",
                                  {"g": gen, "k": ", ".join(sorted(known)), "hint": _close(gen, known)})
    configured = (info.context or {}).get("generators")
    if configured is not None and gen not in configured:
        raise PydanticCustomError("genmix_generator_not_configured",
                                  "generator '{g}' has no settings under 'generators' (add an entry '{g}' "
                                  "there, e.g. with preset: quick)", {"g": gen})
    return gen


def _check_row_name(v: str, info: ValidationInfo) -> str:
    if v in BASE_ROW_NAMES:
        return v
    kind, _, gen = v.partition(":")
    if kind in ("synthetic", "genmix") and gen:
        _check_generator(gen, info)
        return v
    raise PydanticCustomError("genmix_unknown_row", "unknown row '{r}' ({hint}){close}",
                              {"r": v, "hint": ROW_HINT, "close": _close(v, [*BASE_ROW_NAMES, "synthetic:", "genmix:"])})


def _seeds(v):
    if isinstance(v, str):
        try:
            return [int(s) for s in v.split(",")]
        except ValueError:
            raise PydanticCustomError("genmix_seeds", "must be a list of integers (or '0,1,2'), got {v}",
                                      {"v": repr(v)}) from None
    if isinstance(v, int) and not isinstance(v, bool):
        return [v]
    return v


def _unique(v):
    dup = sorted({s for s in v if v.count(s) > 1})
    if dup:  # a repeated seed would count one replicate twice in every mean, interval and test
        raise PydanticCustomError("genmix_seeds", "seed {d} is listed more than once", {"d": dup[0]})
    return v


Seeds = Annotated[list[NonNegativeInt], Field(min_length=1), BeforeValidator(_seeds), AfterValidator(_unique)]
Epoch = Literal["pool", "real"]


def _pretrained(v):
    if not isinstance(v, (bool, str)):
        raise PydanticCustomError("genmix_pretrained", "must be true, false or a path to a backbone file, got {v}",
                                  {"v": repr(v)})
    return v


class ClassifierSettings(Strict):
    """``classifier:``; unset keys come from the preset (genmix.classify.train.PRESETS)."""
    preset: Literal["paper", "quick"] = "quick"
    model: str = Field(None)
    epochs: PositiveInt = Field(None)
    batch_size: PositiveInt = Field(None)
    lr: PositiveFloat = Field(None)
    weight_decay: NonNegativeFloat = Field(None)
    schedule: Literal["constant", "cosine"] = Field(None)
    patience: PositiveInt = Field(None)
    monitor: Literal["f1_macro", "loss"] = Field(None)
    pretrained: Annotated[Any, BeforeValidator(_pretrained)] = Field(None)  # false | true | FILE

    @field_validator("model")
    @classmethod
    def _model(cls, v):
        from ..classify.models import MODELS

        if v not in MODELS:
            raise PydanticCustomError("genmix_model", "unknown model '{m}' (known: {k}){hint}",
                                      {"m": v, "k": ", ".join(MODELS), "hint": _close(v, MODELS)})
        return v


class SynthesisSettings(Strict):
    """``synthesis:`` (and ``generators.<name>.synthesis``)."""
    ratio: Ratio = Field(None)
    seed: NonNegativeInt = Field(None)
    balance: bool = Field(None)
    sample: dict[str, Any] = Field(None)  # sampler keyword arguments, checked per generator


class GenMixSettings(Strict):
    """``genmix:``: defaults of every genmix:<generator> row."""
    alpha: PositiveFloat = 0.3
    ratio: Ratio = 0.5
    per_sample: bool = True
    epoch: Epoch = "pool"


class MixUpSettings(Strict):
    alpha: PositiveFloat = Field(None)
    per_sample: bool = Field(None)


class AuditSettings(Strict):
    """``audit:`` as a mapping (genmix.audit.experiment.audit_settings resolves the defaults)."""
    samples_per_class: PositiveInt = Field(None)
    model: Literal["resnet18", "smallcnn", "resnet18-cifar", "vgg16"] = Field(None)
    epochs: PositiveInt = Field(None)
    features: str = Field(None)
    features_model: Literal["resnet18", "vgg16"] = Field(None)


class Candidates(Strict):
    """``candidates:`` of a ``select: val`` row: values tried, the best validation macro-F1 kept."""
    alpha: Annotated[list[PositiveFloat], Field(min_length=1)] = Field(None)
    ratio: Annotated[list[Ratio], Field(min_length=1)] = Field(None)
    balance: Annotated[list[bool], Field(min_length=1)] = Field(None)
    epoch: Annotated[list[Epoch], Field(min_length=1)] = Field(None)


class Halving(Strict):
    """``halving:`` of a ``select: val`` row: successive halving of its candidates (genmix.experiment.halving)."""
    at: Annotated[float, Field(gt=0, lt=1)] = 0.25  # the rung: this fraction of the row's validations
    keep: PositiveInt = 1  # candidates that go on to the full budget from the rung


class RowSpec(Strict):
    """A row given as a mapping."""
    name: str = Field(None)
    augment: Literal[AUGMENTS]
    generator: Annotated[str, AfterValidator(_check_generator)] = Field(None)
    ratio: Ratio = Field(None)
    alpha: PositiveFloat = Field(None)
    per_sample: bool = Field(None)
    balance: bool = Field(None)
    epoch: Epoch = Field(None)
    select: Literal["val"] = Field(None)
    candidates: Candidates = Field(None)
    fallback_baseline: bool = True
    halving: Halving = Field(None)
    classifier: ClassifierSettings = Field(None)  # this row's classifier start/settings over the top-level ones

    @model_validator(mode="after")
    def _consistent(self):
        if self.augment in ("synthetic", "genmix") and "generator" not in self.model_fields_set:
            raise ValueError(f"augment '{self.augment}' needs 'generator'")
        if self.augment not in ("synthetic", "genmix") and "generator" in self.model_fields_set:
            raise ValueError(f"'generator' applies to synthetic and genmix rows, not '{self.augment}'")
        if "candidates" in self.model_fields_set and "select" not in self.model_fields_set:
            raise ValueError("'candidates' needs 'select: val'")
        if "halving" in self.model_fields_set and "select" not in self.model_fields_set:
            raise ValueError("'halving' needs 'select: val'")
        return self


def _row_kind(v):
    return "<name>" if isinstance(v, str) else "<mapping>" if isinstance(v, (dict, RowSpec)) else None


Row = Annotated[Annotated[Annotated[str, AfterValidator(_check_row_name)], Tag("<name>")] | Annotated[RowSpec, Tag("<mapping>")],
                Discriminator(_row_kind, custom_error_type="genmix_row",
                              custom_error_message=f"a row is a name or a mapping ({ROW_HINT})")]


def _audit_kind(v):
    return "<mapping>" if isinstance(v, (dict, AuditSettings)) else "<flag>"


Audit = Annotated[Annotated[bool, Tag("<flag>")] | Annotated[AuditSettings, Tag("<mapping>")],
                  Discriminator(_audit_kind)]


class Replicates(Strict):
    """``replicates:``: adaptive replicates (genmix.experiment.adaptive): looks at min, min + step, ..., max."""
    min: Annotated[int, Field(ge=2)] = 3
    max: PositiveInt = 10
    step: PositiveInt = 1

    @model_validator(mode="after")
    def _order(self):
        if self.max < self.min:
            raise ValueError(f"max ({self.max}) is below min ({self.min})")
        return self


class ExperimentBase(Strict):
    """Top-level keys (``generators`` is added per registered generator by experiment_model())."""
    name: str = Field(None)
    data: str
    data_root: str | None = None
    image_size: PositiveInt | None = None
    channels: PositiveInt | None = None
    seeds: Seeds = [0]
    classifier: ClassifierSettings = Field(None)
    synthesis: SynthesisSettings = Field(None)
    rows: Annotated[list[Row], Field(min_length=1)] = Field(None)
    genmix: GenMixSettings = Field(None)
    mixup: MixUpSettings = Field(None)
    workers: PositiveInt = Field(None)
    figures: bool = Field(None)
    budget: Literal["equal", "per-epoch"] = "equal"
    replicate: Literal["classifier", "full"] = "classifier"
    audit: Audit = True
    effect: PositiveFloat = 5.0  # macro-F1 points: the effect of interest the report plans replicates for
    replicates: Replicates = Field(None)

    @model_validator(mode="after")
    def _seeds_or_replicates(self):
        if "replicates" in self.model_fields_set and "seeds" in self.model_fields_set:
            raise ValueError("set 'seeds' (a fixed count) or 'replicates' (adaptive: seeds 0 .. max-1), not both")
        return self


def generator_entry(cls) -> type:
    """``generators.<name>``: the generator's declared settings + fit loop + preset + synthesis
    (nothing is filled in: unset keys come from the preset, then the declared defaults)."""
    from ..generate.base import FitSettings

    bases = (cls.settings, FitSettings) if cls.settings is not None else (FitSettings,)
    fields = {}
    # constraints live in the annotations' metadata; copy them with the bare types
    for b in bases:
        for k, f in b.model_fields.items():
            fields[k] = (Annotated[(f.annotation, *f.metadata)] if f.metadata else f.annotation, Field(None))
    fields["preset"] = (Literal[tuple(cls.presets)], Field(None)) if cls.presets else (None, None)
    fields["synthesis"] = (SynthesisSettings, Field(None))
    return create_model(f"{cls.__name__}Entry", __base__=Strict, **fields)


@lru_cache(maxsize=1)
def experiment_model() -> type:
    gens = _registered()
    fields = {n.replace("-", "_"): (generator_entry(c) | None, Field(None, alias=n)) for n, c in sorted(gens.items())}
    Generators = create_model("Generators", __base__=Strict, **fields)
    return create_model("ExperimentConfig", __base__=ExperimentBase, generators=(Generators, Field(None)))
