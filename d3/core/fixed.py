"""``fixed_variables`` in ``params.yaml``: a variable fixed at one of its own values.

``fixed_variables: {pub_target_margin: 65}`` makes the variable ``fixed`` at 65 whatever its
treatment in the variables CSV — the one way a ``dvc exp run -S`` can set a key that a
variable sweeps or draws (``-S`` on the operator YAML alone would still be overridden by the
variable). The value must be one of the variable's own values (numeric: on its grid
``min + k·step`` within ``[min, max]``; discrete: one of ``values=``), which the validator has
already judged valid for the key; a pinned variable leaves the grid (``low_to_high``) or stops
being drawn (``random``), and its rank correlations are dropped.
"""

from __future__ import annotations

import difflib
from collections.abc import Mapping, Sequence
from dataclasses import replace
from decimal import Decimal
from typing import Any

from d3.core.errors import Issue
from d3.core.variables import Variable

FIXED_KEY = "fixed_variables"


def _is_number(x: Any) -> bool:
    return isinstance(x, int | float | Decimal) and not isinstance(x, bool)


def _decimal(x: int | float | Decimal) -> Decimal:
    return Decimal(repr(x)) if isinstance(x, float) else Decimal(x)


def own_value(var: Variable, value: Any) -> Any | None:
    """The variable's own value equal to ``value`` (numeric: the grid point ``min + k·step``
    as an exact decimal; discrete: the listed value, numbers compared by value), or None when
    ``value`` is none of them."""
    if var.kind == "discrete":
        return next((x for x in var.values if _same(x, value)), None)
    if not _is_number(value):
        return None
    d = _decimal(value)
    k = (d - var.lo) / var.step
    if d < var.lo or k != k.to_integral_value() or int(k) > var.n_steps:
        return None
    return var.grid_point(int(k))


def _same(a: Any, b: Any) -> bool:
    if _is_number(a) and _is_number(b):
        return _decimal(a) == _decimal(b)
    return type(a) is type(b) and a == b


def nearest_values(var: Variable, value: Any, n: int = 2) -> list[str]:
    """The ``n`` values of ``var`` nearest to ``value`` (every value of a discrete variable
    of text or true/false), as text, in ascending order."""
    points = list(var.grid_points())
    if not (_is_number(value) and all(_is_number(p) for p in points)):
        return [var.text(p) for p in points]
    near = sorted(points, key=lambda p: (abs(_decimal(p) - _decimal(value)), _decimal(p)))[:n]
    return [var.text(p) for p in sorted(near, key=_decimal)]


def domain_text(var: Variable) -> str:
    """``45 to 65 in steps of 10`` or ``values 25|30|35|40``."""
    if var.kind == "discrete":
        return "values " + "|".join(var.text(x) for x in var.values)
    return f"{var.text(var.lo)} to {var.text(var.grid_point(var.n_steps))} in steps of " \
           f"{var.text(var.step)}"


def pinned(var: Variable, value: Any) -> Variable:
    """``var`` fixed at its own value ``value`` (see :func:`own_value`)."""
    return replace(var, treatment="fixed", distribution="uniform", default=value, sd=None,
                   rank_correlations=())


def with_fixed_variables(variables: Sequence[Variable], fixed: Mapping[str, Any], *,
                         file: str, declared: set[str] | None,
                         issues: list[Issue]) -> list[Variable]:
    """``variables`` with each id of ``fixed`` pinned at its value, appending an issue
    (``FILE:fixed_variables.<id>``) for an id that no variables file declares (judged only
    when ``declared`` — the ids of all three files — is known) or a value that is not the
    variable's own. Partners drop their rank correlation with a pinned variable."""
    by_id = {v.variable_id: v for v in variables}
    values: dict[str, Any] = {}
    for vid, value in sorted(fixed.items()):
        where = f"{FIXED_KEY}.{vid}"
        var = by_id.get(vid)
        if var is None:
            if declared is not None and vid not in declared:
                match = difflib.get_close_matches(vid, sorted(declared), n=1, cutoff=0.6)
                issues.append(Issue(file, where, f"unknown variable_id {vid!r}",
                                    f"did you mean `{match[0]}`?" if match else
                                    "use a variable_id of inputs/variables/*.csv: "
                                    + ", ".join(sorted(declared))))
            continue
        own = own_value(var, value)
        if own is None:
            near = nearest_values(var, value)
            issues.append(Issue(file, where, f"{value!r} is not a value of {vid} "
                                f"({domain_text(var)})", "use the nearest value: "
                                + " or ".join(near) if len(near) <= 2 else
                                "use one of " + ", ".join(near)))
            continue
        values[vid] = own
    return [pinned(v, values[v.variable_id]) if v.variable_id in values else
            replace(v, rank_correlations=tuple(p for p in v.rank_correlations
                                               if p[0] not in values))
            for v in variables]
