"""What each input is swung between in the tornado, and the central values the others keep.

A ``random`` variable swings between the 10th and 90th percentile of its distribution (the
continuous, truncated one for a numeric variable; file order for a discrete one) — the
convention of Crystal Ball's and @RISK's tornado charts — and sits at its mean
(:func:`d3.core.variables.reference_value`, the reference path's value) otherwise. A
``low_to_high`` variable (a grid axis) swings between its lowest and highest grid value and sits
at its middle grid value. A key the user lists under ``sensitivity.extra_keys`` swings between
the ``low`` and ``high`` given and keeps the plan's value otherwise. ``fixed`` variables are
not swung (list their key under ``extra_keys`` to swing one).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from decimal import ROUND_HALF_EVEN, Decimal
from typing import Any

from d3.core.variables import (
    Variable,
    continuous_quantile,
    quantile_value,
    reference_value,
)
from d3.models.plan import SensitivityKey

TAIL_Q = 0.10  # the swing of a random variable: its 10th and 90th percentile
SIGNIFICANT = 4  # significant digits of a continuous tornado end
RANDOM_BASIS = "p10 / p90 of its distribution"
GRID_BASIS = "lowest / highest grid value"


@dataclass(frozen=True)
class Swing:
    """One tornado input: the override key (``FILE:dotted.key``), its low, central and high
    values (typed as the key holds them; ``central`` None: the plan's own value) and how the
    ends were chosen."""

    name: str
    key: str
    low: Any
    high: Any
    central: Any
    basis: str


def override_key(var: Variable) -> str:
    """The ``dvc exp run -S`` key a variable sets."""
    return f"inputs/operator/{var.scope}.yaml:{var.path}"


def tail_value(var: Variable, q: float) -> Any:
    """The end a ``random`` variable swings to at quantile ``q`` (0..1): for a numeric
    variable the ``q``-quantile of its continuous, truncated distribution
    (:func:`d3.core.variables.continuous_quantile` — on a coarse grid the grid's own quantile
    would collapse onto its min and max) to :data:`SIGNIFICANT` significant digits, a whole
    number when the key holds an integer; for a discrete variable its value at ``q`` in file
    order (:func:`d3.core.variables.quantile_value`, the inverse CDF the draws use)."""
    if var.kind == "discrete":
        return quantile_value(var, q)
    x = Decimal(repr(continuous_quantile(var, q)))
    if var.as_int:
        return int(x.to_integral_value(ROUND_HALF_EVEN))
    if x == 0:
        return Decimal(0)
    digits = SIGNIFICANT - 1 - x.adjusted()
    return x.quantize(Decimal(1).scaleb(-digits), ROUND_HALF_EVEN).normalize() + Decimal(0)


def end_text(x: Any, *, grouped: bool = False) -> str:
    """A tornado end as text: a number in plain positional notation without a trailing
    ``.0`` or an exponent (``100000000.0`` → ``100000000``, ``2.60`` → ``2.6``; ``grouped``:
    thousands separators, ``100,000,000``); anything else as ``str``."""
    if isinstance(x, bool) or not isinstance(x, int | float | Decimal):
        return str(x)
    d = (x if isinstance(x, Decimal) else Decimal(repr(x))).normalize()
    return format(d + Decimal(0), ",f" if grouped else "f")


def variable_swings(variables: Sequence[Variable]) -> list[Swing]:
    """A swing per ``random`` and ``low_to_high`` variable, in file order."""
    out = []
    for v in variables:
        if v.treatment == "random":
            out.append(Swing(v.variable_id, override_key(v), v.typed(tail_value(v, TAIL_Q)),
                             v.typed(tail_value(v, 1 - TAIL_Q)), v.typed(reference_value(v)),
                             RANDOM_BASIS))
        elif v.treatment == "low_to_high":
            points = v.grid_points()
            out.append(Swing(v.variable_id, override_key(v), v.typed(points[0]),
                             v.typed(points[-1]), v.typed(points[(len(points) - 1) // 2]),
                             GRID_BASIS))
    return out


def grid_axes_central(variables: Sequence[Variable]) -> dict[str, Any]:
    """Overrides that put every grid axis (``low_to_high`` variable) at its middle grid value:
    one grid point, the one the tornado and the Sobol analysis evaluate."""
    return {s.key: s.central for s in variable_swings(variables)
            if s.basis == GRID_BASIS}


def central_grid_index(variables: Sequence[Variable]) -> int:
    """The ``grid_index`` of :func:`grid_axes_central`'s grid point: every axis at its middle
    value ``(n − 1) // 2`` (mixed radix, last axis fastest, as
    :func:`d3.core.variables.grid_point_values` counts); 0 without a grid axis."""
    index = 0
    for v in variables:
        if v.treatment == "low_to_high":
            n = len(v.grid_points())
            index = index * n + (n - 1) // 2
    return index


def extra_swings(keys: Sequence[SensitivityKey]) -> list[Swing]:
    """The user's ``sensitivity.extra_keys``, named by their key."""
    return [Swing(k.key.rpartition(":")[2], k.key, k.low, k.high, None,
                  "sensitivity.extra_keys") for k in keys]


def central_overrides(swings: Sequence[Swing]) -> dict[str, Any]:
    """The overrides that put every swung variable at its central value. Every tornado
    evaluation overrides the same keys, so all of them draw the same keyed random streams
    (common random numbers) and a difference is the swung input's effect alone."""
    return {s.key: s.central for s in swings if s.central is not None}


def swung(central: Mapping[str, Any], swing: Swing, value: Any) -> dict[str, Any]:
    """``central`` with ``swing``'s key at ``value``."""
    return {**central, swing.key: value}
