"""Typed settings shared by configs and the command line: constrained types (pydantic v2) and
one-line messages from pydantic's errors (``genmix.ratio: must be in [0, 1), got 1.5``).

Generators declare their settings as a ``GeneratorSettings`` subclass (genmix.generate.*);
the experiment YAML schema is genmix.experiment.schema.
"""

from __future__ import annotations

from typing import Annotated, Any

from pydantic import AfterValidator, BaseModel, ConfigDict, Field, ValidationError
from pydantic_core import PydanticCustomError

from .errors import GenmixError


def _ratio(v: float) -> float:
    if not 0 <= v < 1:
        raise PydanticCustomError("ratio_range", "must be in [0, 1)")
    return v


PositiveInt = Annotated[int, Field(ge=1)]
NonNegativeInt = Annotated[int, Field(ge=0)]
PositiveFloat = Annotated[float, Field(gt=0, allow_inf_nan=False)]
NonNegativeFloat = Annotated[float, Field(ge=0, allow_inf_nan=False)]
FiniteFloat = Annotated[float, Field(allow_inf_nan=False)]
Ratio = Annotated[float, Field(allow_inf_nan=False), AfterValidator(_ratio)]  # synthetic share, [0, 1)
Fraction = Ratio  # decays, dropout rates, Adam betas: [0, 1)
Probability = Annotated[float, Field(ge=0, le=1, allow_inf_nan=False)]


class Strict(BaseModel):
    """Unknown keys are errors; YAML values keep their types (no "3" -> 3)."""
    model_config = ConfigDict(extra="forbid", strict=True, populate_by_name=True)


class GeneratorSettings(Strict):
    """A generator's own settings, with their defaults (the generator's single declaration)."""


def _loc(loc) -> str:
    out = ""
    for part in loc:
        if isinstance(part, int):
            out += f"[{part}]"
        elif isinstance(part, str) and part.startswith("<") and part.endswith(">"):
            continue  # a union's tag, not a key
        else:
            out += ("." if out else "") + str(part)
    return out


_BOUNDS = {"greater_than": ">", "greater_than_equal": ">=", "less_than": "<", "less_than_equal": "<="}
_CTX = {"greater_than": "gt", "greater_than_equal": "ge", "less_than": "lt", "less_than_equal": "le"}


def _shown(v) -> str:
    s = repr(v)
    return s if len(s) <= 60 else s[:57] + "..."


def error_message(err: dict, known=None) -> str:
    """One pydantic error as '<key path>: <cause>, got <value>'."""
    t, ctx = err["type"], err.get("ctx") or {}
    if t in _BOUNDS:
        b = ctx.get(_CTX[t])
        msg = f"must be {_BOUNDS[t]} {int(b) if isinstance(b, float) and b.is_integer() else b}"
    elif t == "extra_forbidden":
        import difflib

        key = str(err["loc"][-1])
        what = "generator" if len(err["loc"]) > 1 and err["loc"][-2] == "generators" else "key"
        close = difflib.get_close_matches(key, known or [], n=1)
        msg = f"unknown {what}" + (f" (known: {', '.join(sorted(known))})" if known else "")
        msg += f"; did you mean '{close[0]}'?" if close else ""
        return f"{_loc(err['loc'])}: {msg}"
    elif t.startswith("genmix_"):  # our own messages say what they got
        return f"{_loc(err['loc'])}: {err['msg']}"
    elif t == "missing":
        return f"{_loc(err['loc'])}: required"
    else:
        msg = err["msg"].replace("Input should be", "must be").replace("Value error, ", "")
    loc = _loc(err["loc"])
    inp = err.get("input")
    got = "" if isinstance(inp, (dict, list)) else f", got {_shown(inp)}"
    return f"{loc}: {msg}{got}" if loc else f"{msg}{got}"


def known_keys(model: type[BaseModel], loc) -> list[str] | None:
    """The keys allowed at the mapping that holds ``loc[-1]`` (for 'unknown key' messages)."""
    import typing

    def models_in(tp):
        if isinstance(tp, type) and issubclass(tp, BaseModel):
            return [tp]
        return [m for a in typing.get_args(tp) for m in models_in(a)]

    current = [model]
    for part in loc[:-1]:
        nxt = []
        for m in current:
            if isinstance(part, int) or (isinstance(part, str) and part.startswith("<")):
                nxt.append(m)
                continue
            for name, f in m.model_fields.items():
                if part in (name, f.alias):
                    nxt += models_in(f.annotation)
        current = nxt
        if not current:
            return None
    keys = [f.alias or n for m in current for n, f in m.model_fields.items()]
    return sorted(set(keys)) or None


def validate(model: type[BaseModel], data: Any, where: str, context=None, prefix=()) -> BaseModel:
    """``model.model_validate(data)``; the first error becomes a one-line GenmixError
    '<where>: <prefix>.<key path>: <cause>, got <value>' (plus how many more errors there are)."""
    try:
        return model.model_validate(data, context=context)
    except ValidationError as exc:
        errs = exc.errors(include_url=False)
        first = {**errs[0], "loc": (*prefix, *errs[0]["loc"])}
        known = known_keys(model, errs[0]["loc"]) if first["type"] == "extra_forbidden" else None
        more = f" (and {len(errs) - 1} more error{'s' if len(errs) > 2 else ''})" if len(errs) > 1 else ""
        raise GenmixError(f"{where}: {error_message(first, known)}{more}") from None
