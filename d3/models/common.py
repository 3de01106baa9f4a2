"""Shared building blocks for the input models (units are in the type names)."""

from __future__ import annotations

import types
import typing
from typing import Annotated, Any

from pydantic import BaseModel, ConfigDict, Field, ValidationInfo, field_validator

# Magnitude guard: no number in the inputs may exceed this (EUR, tokens, hours, counts). Money
# beyond 1e12 EUR is a typo in a plan for a small business, and it keeps every sum over
# samples × months finite (docs/DECISIONS.md, "Guards").
MAX_INPUT_MAGNITUDE = 1e12
# Non-zero numbers below this are refused too: 1e-300 or a subnormal 5e-324 underflows to 0 in
# a product and divides by zero (a throughput, an FX rate, a loan rate).
MIN_INPUT_MAGNITUDE = 1e-9


def types_in(annotation: Any) -> list[Any]:
    """The concrete types inside Optional/Union/Annotated (``int | None`` → [int, None])."""
    origin = typing.get_origin(annotation)
    if origin is typing.Annotated:
        return types_in(typing.get_args(annotation)[0])
    if origin in (typing.Union, types.UnionType):
        return [t for a in typing.get_args(annotation) for t in types_in(a)]
    return [annotation]


def _bool_for_number(annotation: Any, value: Any) -> str | None:
    """Where ``value`` holds a YAML boolean although ``annotation`` wants a number:
    ``""`` for the value itself, ``"[2]"``/``".key"`` inside a list or mapping, else None."""
    if not isinstance(value, bool | list | dict):
        return None  # a number or a text: nothing to look for (runs for every field)
    kinds = types_in(annotation)
    if isinstance(value, bool):
        numeric = any(t in (int, float) for t in kinds)
        return "" if numeric and bool not in kinds else None
    for kind in kinds:
        origin, args = typing.get_origin(kind), typing.get_args(kind)
        if origin is list and isinstance(value, list):
            for i, item in enumerate(value):
                inner = _bool_for_number(args[0], item)
                if inner is not None:
                    return f"[{i}]{inner}"
        if origin is dict and isinstance(value, dict):
            for key, item in value.items():
                inner = _bool_for_number(args[1], item)
                if inner is not None:
                    return f".{key}{inner}"
    return None


def magnitude_ok(value: float) -> bool:
    """0, or ``MIN_INPUT_MAGNITUDE ≤ |value| ≤ MAX_INPUT_MAGNITUDE``."""
    return value == 0 or MIN_INPUT_MAGNITUDE <= abs(value) <= MAX_INPUT_MAGNITUDE


def _oversized(value: Any) -> tuple[str, float] | None:
    """``(where, number)`` of the first number in ``value`` (a number, or a list or mapping
    of numbers) beyond :data:`MAX_INPUT_MAGNITUDE`, else None."""
    if isinstance(value, int | float) and not isinstance(value, bool):
        return ("", value) if not magnitude_ok(value) else None
    items = (value.items() if isinstance(value, dict)
             else enumerate(value) if isinstance(value, list | tuple) else ())
    for key, item in items:
        found = _oversized(item)
        if found is not None:
            where = f"[{key}]" if isinstance(key, int) else f".{key}"
            return where + found[0], found[1]
    return None


def _no_bool_for_number(cls: type[BaseModel], value: Any, info: ValidationInfo) -> Any:
    """Refuse what pydantic's lax mode would coerce silently: ``true`` read as 1."""
    if not isinstance(value, bool | list | dict):
        return value  # a number, a text or a model: nothing to look for (the common case)
    where = _bool_for_number(cls.model_fields[info.field_name].annotation, value)
    if where is not None:
        raise ValueError(f"must be a number, got a boolean{' at ' + where if where else ''}"
                         " — write a number (true/false are not numbers)")
    return value


def _bounded_magnitude(cls: type[BaseModel], value: Any, info: ValidationInfo) -> Any:
    """Refuse magnitudes no plan needs (``1e308`` EUR overflows the sums); seeds are ids,
    not quantities, and are exempt."""
    if type(value) in (int, float) and magnitude_ok(value):
        return value  # the common case, without the generic walk
    if not isinstance(value, int | float | dict | list | tuple) or isinstance(value, bool):
        return value  # a text, a model or a boolean holds no number to bound
    if info.field_name == "seed" or info.field_name.endswith("random_seed"):
        return value
    found = _oversized(value)
    if found is not None:
        where, number = found
        raise ValueError(f"{number:g}{' at ' + where if where else ''} is outside the magnitude "
                         f"guard (0 or {MIN_INPUT_MAGNITUDE:g}..{MAX_INPUT_MAGNITUDE:g} in size) "
                         "— check the unit and the number of zeros")
    return value


class Strict(BaseModel):
    """Closed schema: unknown keys are errors (with a nearest-key hint), NaN/inf rejected,
    booleans never taken as numbers, magnitudes bounded."""

    model_config = ConfigDict(extra="forbid", frozen=True, allow_inf_nan=False)

    _no_bool = field_validator("*", mode="before")(classmethod(_no_bool_for_number))
    _magnitude = field_validator("*", mode="after")(classmethod(_bounded_magnitude))


class OpenRow(BaseModel):
    """A CSV row: extra columns are allowed and ignored (SPEC §1)."""

    model_config = ConfigDict(extra="ignore", frozen=True, allow_inf_nan=False)

    _no_bool = field_validator("*", mode="before")(classmethod(_no_bool_for_number))
    _magnitude = field_validator("*", mode="after")(classmethod(_bounded_magnitude))


Pct = Annotated[float, Field(ge=0, le=100)]  # 0..100
Frac = Annotated[float, Field(ge=0, le=1)]  # 0..1
Eur = Annotated[float, Field(ge=0)]  # money, EUR, never negative
PosFloat = Annotated[float, Field(gt=0)]
NonNegInt = Annotated[int, Field(ge=0)]
PosInt = Annotated[int, Field(ge=1)]
Month = Annotated[int, Field(ge=1, le=12)]
