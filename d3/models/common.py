"""Shared building blocks for the input models (units are in the type names)."""

from __future__ import annotations

from typing import Annotated

from pydantic import BaseModel, ConfigDict, Field


class Strict(BaseModel):
    """Closed schema: unknown keys are errors (with a nearest-key hint), NaN/inf rejected."""

    model_config = ConfigDict(extra="forbid", frozen=True, allow_inf_nan=False)


class OpenRow(BaseModel):
    """A CSV row: extra columns are allowed and ignored (SPEC §1)."""

    model_config = ConfigDict(extra="ignore", frozen=True, allow_inf_nan=False)


Pct = Annotated[float, Field(ge=0, le=100)]  # 0..100
Frac = Annotated[float, Field(ge=0, le=1)]  # 0..1
Eur = Annotated[float, Field(ge=0)]  # money, EUR, never negative
PosFloat = Annotated[float, Field(gt=0)]
NonNegInt = Annotated[int, Field(ge=0)]
PosInt = Annotated[int, Field(ge=1)]
Month = Annotated[int, Field(ge=1, le=12)]
