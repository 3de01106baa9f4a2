"""Variables: fixed / low_to_high / random knobs over the operator constants (SPEC §3).

A variables CSV row names an operator key (``path``) in its scope and says how the key varies:

* ``fixed``       — always ``default``;
* ``low_to_high`` — every grid value ``min + k*step`` (k = 0..n, computed in decimal, so 0.1
  steps from 0 to 1 give exactly 0.0, 0.1, …, 1.0), or every value of a discrete variable;
* ``random``      — one draw per ``(grid_index, replicate_index)`` from the variable's own keyed
  stream, quantised to the step grid, uniform unless the ``distribution`` column says
  ``triangular``, ``pert``, ``normal``, ``lognormal`` or ``beta``; with
  ``stochastic.sampling: latin_hypercube`` the R replicates of a grid point are stratified
  (:func:`lhs_column`), and ``correlations.csv`` pairs them (:mod:`d3.core.correlation`).
  The optional ``sd`` column (in the variable's unit) sets the spread of ``normal``,
  ``lognormal`` and ``beta``; a lognormal with ``sd`` has mean = default, without it
  median = default (:func:`lognormal_params`, :func:`beta_shapes`).

The run grid is the cartesian product of all ``low_to_high`` values, scopes in the order
general × public_tap × private_tap and rows in file order; the last variable varies fastest.
"""

from __future__ import annotations

import functools
import itertools
import math
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from decimal import Decimal, InvalidOperation
from typing import Any

import numpy as np

from d3.core.errors import Issue
from d3.core.rng import lhs_stream, params_stream
from d3.core.schema_issues import number_hint
from d3.models.common import MAX_INPUT_MAGNITUDE, MIN_INPUT_MAGNITUDE, magnitude_ok

SCOPES = ("general", "public_tap", "private_tap")
ALLOWED_ROOTS = {
    "general": ("finance.", "insurances.", "tax.", "reserves."),
    "public_tap": (
        "pricing_policy.public_tap.", "prepaid_policy.credits.", "acquisition.", "autoscaling.",
    ),
    "private_tap": ("pricing_policy.private_tap.", "acquisition."),
}
REQUIRED_COLUMNS = (
    "variable_id", "scope", "path", "type", "unit", "min", "max", "step", "default",
    "treatment", "notes",
)
TREATMENTS = ("fixed", "low_to_high", "random")
KINDS = ("numeric", "discrete")
DISTRIBUTIONS = ("uniform", "triangular", "pert", "normal", "lognormal", "beta")
SD_DISTRIBUTIONS = ("normal", "lognormal", "beta")  # the ones the ``sd`` column parameterises
_ID = re.compile(r"^[A-Za-z][A-Za-z0-9_.\-]*$")
_TRUNCATION_TRIES = 10_000  # rejection-sampling bound for normal/lognormal truncation


@dataclass(frozen=True)
class Variable:
    """One parsed, validated variables row. Numeric bounds are exact decimals."""

    variable_id: str
    scope: str
    path: str
    kind: str  # numeric | discrete
    unit: str
    treatment: str
    distribution: str
    file: str
    row: int
    lo: Decimal | None = None
    hi: Decimal | None = None
    step: Decimal | None = None
    default: Any = None  # Decimal for numeric, typed value for discrete
    values: tuple[Any, ...] = ()
    as_int: bool = False  # the operator key holds an integer
    sd: Decimal | None = None  # standard deviation in the variable's unit (``sd`` column)
    # ``(partner variable_id, target Spearman rank correlation)`` from
    # ``variables/correlations.csv``, both directions stored, partners in file order.
    rank_correlations: tuple[tuple[str, float], ...] = ()

    @property
    def location(self) -> str:
        return f"row {self.row} ({self.variable_id})"

    @property
    def decimals(self) -> int:
        """Decimals of the step as written (1e6 → 0, 0.25 → 2): the precision of every value."""
        if self.step is None:
            return 0
        return max(0, -int(self.step.normalize().as_tuple().exponent))

    @property
    def n_steps(self) -> int:
        """Number of steps from min to the largest grid value ≤ max."""
        assert self.lo is not None and self.hi is not None and self.step is not None
        return int((self.hi - self.lo) // self.step)

    def grid_point(self, k: int) -> Decimal:
        assert self.lo is not None and self.step is not None
        return self.lo + self.step * k

    def grid_points(self) -> tuple[Any, ...]:
        """Every value a ``low_to_high`` treatment visits, in order."""
        if self.kind == "discrete":
            return self.values
        return tuple(self.grid_point(k) for k in range(self.n_steps + 1))

    def typed(self, value: Any) -> Any:
        """The value as it overrides the operator key: int, float or the discrete value."""
        if self.kind == "discrete":
            return value
        if not isinstance(value, Decimal):  # read back from the sample table as int/float
            value = Decimal(repr(value))
        if self.as_int and value == value.to_integral_value():
            return int(value)
        return float(value)

    def text(self, value: Any) -> str:
        """Transcript text: numeric values at the step's decimals, exactly."""
        if self.kind == "discrete":
            return str(value).lower() if isinstance(value, bool) else str(value)
        return format(value.quantize(Decimal(1).scaleb(-self.decimals)), "f")


# --- parsing ----------------------------------------------------------------------------------


def _decimal(text: Any) -> Decimal | None:
    try:
        value = Decimal(str(text).strip())
    except (InvalidOperation, ValueError):
        return None
    return value if value.is_finite() else None


def discrete_value(text: str) -> Any:
    """``"3"`` → 3, ``"0.5"`` → 0.5, ``"true"`` → True, else the text itself."""
    stripped = text.strip()
    lowered = stripped.lower()
    if lowered in ("true", "false"):
        return lowered == "true"
    for cast in (int, float):
        try:
            value = cast(stripped)
        except ValueError:
            continue
        if isinstance(value, float) and not math.isfinite(value):
            break
        return value
    return stripped


def discrete_values(notes: str) -> tuple[Any, ...] | None:
    match = re.search(r"values\s*=\s*([^;]*)", notes or "")
    if not match:
        return None
    items = [v for v in match.group(1).split("|") if v.strip() != ""]
    return tuple(discrete_value(v) for v in items)


def node_at(tree: Any, path: str) -> tuple[bool, Any]:
    """(found, value) for a dotted path in nested mappings; the value may be a mapping."""
    node: Any = tree
    for part in path.split("."):
        if not isinstance(node, Mapping) or part not in node:
            return False, None
        node = node[part]
    return True, node


def leaf(tree: Mapping[str, Any], path: str) -> tuple[bool, Any]:
    """(found, value) for a dotted path in nested mappings; a mapping is not a leaf."""
    found, node = node_at(tree, path)
    return (found and not isinstance(node, Mapping)), (node if found else None)


def with_override(tree: Mapping[str, Any], path: str, value: Any) -> dict[str, Any]:
    """A copy of ``tree`` with the leaf at ``path`` replaced (the input is not mutated)."""
    head, _, rest = path.partition(".")
    out = dict(tree)
    out[head] = with_override(tree.get(head, {}), rest, value) if rest else value
    return out


def with_overrides(tree: Mapping[str, Any], overrides: Mapping[str, Any]) -> dict[str, Any]:
    out = dict(tree)
    for path, value in overrides.items():
        out = with_override(out, path, value)
    return out


def _row_issue(file: str, row: int, vid: str, message: str, hint: str) -> Issue:
    return Issue(file, f"row {row} ({vid})", message, hint)


def _numeric_fields(
    record: Mapping[str, Any], file: str, row: int, vid: str, issues: list[Issue]
) -> tuple[Decimal, Decimal, Decimal, Decimal] | None:
    parsed = {}
    for col in ("min", "max", "step", "default"):
        if col not in record:
            issues.append(_row_issue(file, row, vid, f"{col} is empty",
                                     "numeric variables need min, max, step and default"))
            continue
        value = _decimal(record[col])
        if value is None:
            issues.append(_row_issue(file, row, vid, f"{col} must be a finite number, got "
                                     f"{record[col]!r}", number_hint(record[col])))
        elif not magnitude_ok(float(value)):
            # Before any Decimal arithmetic: 1e-300 steps or 1e308 bounds exceed its precision.
            issues.append(_row_issue(file, row, vid, f"{col} {value} is outside the magnitude "
                                     f"guard (0 or {MIN_INPUT_MAGNITUDE:g}.."
                                     f"{MAX_INPUT_MAGNITUDE:g} in size)", "check the unit and "
                                     "the number of zeros"))
        else:
            parsed[col] = value
    if len(parsed) < 4:
        return None
    lo, hi, step, default = parsed["min"], parsed["max"], parsed["step"], parsed["default"]
    ok = True
    if step <= 0:
        issues.append(_row_issue(file, row, vid, f"step must be > 0, got {step}",
                                 "use a positive step"))
        ok = False
    if lo > hi:
        issues.append(_row_issue(file, row, vid, f"min {lo} is greater than max {hi}",
                                 "swap min and max"))
        ok = False
    elif not lo <= default <= hi:
        issues.append(_row_issue(file, row, vid, f"default {default} is outside [{lo}, {hi}]",
                                 "put default between min and max"))
        ok = False
    on_grid = ok
    if ok and (default - lo) % step != 0:
        below = lo + step * ((default - lo) // step)
        issues.append(_row_issue(file, row, vid,
                                 f"default {default} is not on the step grid {lo} + k×{step}",
                                 f"use {below} or {below + step}, or change step"))
        ok = False
    if on_grid and (hi - lo) % step != 0:
        # A grid that stops short of max would silently never visit the stated maximum.
        below = lo + step * ((hi - lo) // step)
        issues.append(_row_issue(file, row, vid,
                                 f"max {hi} is not on the step grid {lo} + k×{step} (the last "
                                 f"value would be {below})", f"use max {below} or "
                                 f"{below + step}, or a step that divides {hi - lo}"))
        ok = False
    return (lo, hi, step, default) if ok else None


def parse_variable(
    record: Mapping[str, Any],
    *,
    file: str,
    row: int,
    file_scope: str,
    operator: Mapping[str, Any] | None,
    issues: list[Issue],
) -> Variable | None:
    """One CSV record → a :class:`Variable`, appending every problem found to ``issues``."""
    vid = str(record.get("variable_id", "")).strip()
    if not vid:
        issues.append(Issue(file, f"row {row}", "variable_id is empty", "give the row an id"))
        return None
    start = len(issues)
    if not _ID.match(vid):
        issues.append(_row_issue(file, row, vid, "variable_id has characters other than "
                                 "letters, digits, _ . -", "rename it, e.g. pub_target_margin"))
    scope = str(record.get("scope", "")).strip()
    if scope != file_scope:
        issues.append(_row_issue(file, row, vid, f"scope {scope!r} in the {file_scope} "
                                 "variables file", f"set scope to {file_scope} or move the row"))
    kind = str(record.get("type", "")).strip()
    if kind not in KINDS:
        issues.append(_row_issue(file, row, vid, f"type must be one of {KINDS}, got {kind!r}",
                                 "use numeric or discrete"))
    treatment = str(record.get("treatment", "")).strip()
    if treatment not in TREATMENTS:
        issues.append(_row_issue(file, row, vid, f"treatment must be one of {TREATMENTS}, got "
                                 f"{treatment!r}", "use fixed, low_to_high or random"))
    distribution = str(record.get("distribution", "uniform")).strip() or "uniform"
    if distribution not in DISTRIBUTIONS:
        issues.append(_row_issue(file, row, vid, f"distribution must be one of {DISTRIBUTIONS}, "
                                 f"got {distribution!r}", "use uniform, triangular, pert, "
                                 "normal, lognormal or beta"))
    path = str(record.get("path", "")).strip()
    roots = ALLOWED_ROOTS.get(file_scope, ())
    found, current = False, None
    if not path.startswith(roots):
        issues.append(_row_issue(file, row, vid, f"path {path!r} is outside the {file_scope} "
                                 "scope", f"paths here start with {', '.join(roots)}"))
    elif operator is not None:
        found, current = leaf(operator, path)
        if not found:
            issues.append(_row_issue(file, row, vid, f"path {path!r} names no key of the "
                                     f"{file_scope} operator YAML",
                                     "use the dotted path of an existing key (docs/INPUTS.md)"))
    if len(issues) > start:
        return None

    common = dict(variable_id=vid, scope=scope, path=path, kind=kind,
                  unit=str(record.get("unit", "")), treatment=treatment,
                  distribution=distribution, file=file, row=row)
    if kind == "discrete":
        values = discrete_values(str(record.get("notes", "")))
        if not values:
            issues.append(_row_issue(file, row, vid, "discrete variable without values",
                                     "write values=a|b|c in the notes column"))
            return None
        default = discrete_value(str(record.get("default", "")))
        if default not in values:
            issues.append(_row_issue(file, row, vid, f"default {default!r} is not one of the "
                                     f"values {list(values)}", "add it to values= or change it"))
            return None
        if distribution != "uniform":
            issues.append(_row_issue(file, row, vid, f"distribution {distribution} needs a "
                                     "numeric variable", "leave distribution empty (uniform)"))
            return None
        if not _sd_field(record, file, row, vid, distribution, issues)[0]:
            return None
        return Variable(**common, default=default, values=values,
                        as_int=isinstance(current, int) and not isinstance(current, bool))

    bounds = _numeric_fields(record, file, row, vid, issues)
    if bounds is None:
        return None
    lo, hi, step, default = bounds
    if isinstance(current, bool | str):
        issues.append(_row_issue(file, row, vid, f"path {path!r} holds {current!r}, not a number",
                                 "use type discrete with values=… for this key"))
        return None
    if distribution == "lognormal" and lo <= 0:
        issues.append(_row_issue(file, row, vid, "lognormal needs min > 0", "raise min above 0"))
        return None
    sd_ok, sd = _sd_field(record, file, row, vid, distribution, issues)
    if not sd_ok:
        return None
    if distribution == "beta" and not _beta_feasible(lo, hi, default, sd, file, row, vid,
                                                      issues):
        return None
    return Variable(**common, lo=lo, hi=hi, step=step, default=default,
                    as_int=isinstance(current, int) and step == step.to_integral_value()
                    and lo == lo.to_integral_value(), sd=sd)


def _sd_field(record: Mapping[str, Any], file: str, row: int, vid: str, distribution: str,
              issues: list[Issue]) -> tuple[bool, Decimal | None]:
    """``(valid, sd)`` of the optional ``sd`` cell (``sd`` is None when the cell is empty)."""
    if "sd" not in record:
        return True, None
    if distribution not in SD_DISTRIBUTIONS:
        issues.append(_row_issue(file, row, vid, f"sd is set but distribution {distribution} "
                                 "has no sd", "remove sd, or use distribution normal, "
                                 "lognormal or beta"))
        return False, None
    sd = _decimal(record["sd"])
    if sd is None or sd <= 0:
        issues.append(_row_issue(file, row, vid, f"sd must be a finite number > 0, got "
                                 f"{record['sd']!r}", number_hint(record["sd"]) if sd is None
                                 else "write the standard deviation in the variable's unit, "
                                 "> 0 (or leave sd empty)"))
        return False, None
    return True, sd


def _beta_feasible(lo: Decimal, hi: Decimal, mean: Decimal, sd: Decimal | None, file: str,
                   row: int, vid: str, issues: list[Issue]) -> bool:
    """A beta on [min, max] with mean = default and sd exists iff sd² < (mean − min)(max − mean)
    (method of moments: v < m(1 − m)); checked exactly in decimal. A one-value range is
    constant and needs no shape."""
    if lo == hi:
        return True
    if not lo < mean < hi:
        issues.append(_row_issue(file, row, vid, f"beta needs min < default < max (default is "
                                 f"the mean), got default {mean} at an end of [{lo}, {hi}]",
                                 "move default inside the range, or use another distribution"))
        return False
    room = (mean - lo) * (hi - mean)  # = (max − min)² · m(1 − m)
    if (sd * sd < room) if sd is not None else ((hi - lo) ** 2 < 36 * room):
        return True
    largest = float(room.sqrt())
    given = (f"sd {sd}" if sd is not None
             else f"the default sd (max − min)/6 = {float(hi - lo) / 6:.6g}")
    issues.append(_row_issue(file, row, vid, f"no beta on [{lo}, {hi}] has mean {mean} and "
                             f"{given}: sd must be below √((mean − min)(max − mean)) = "
                             f"{largest:.6g}", f"set sd below {largest:.6g}, or widen "
                             "[min, max] around the default"))
    return False


# --- the sample space -------------------------------------------------------------------------


def grid_variables(variables: Sequence[Variable]) -> tuple[Variable, ...]:
    return tuple(v for v in variables if v.treatment == "low_to_high")


def grid_size(variables: Sequence[Variable]) -> int:
    """Number of run-grid points (1 when nothing is ``low_to_high``), computed arithmetically
    so that an oversized grid is refused by ``run.max_grid_size`` before anything is built."""
    return math.prod(len(v.values) if v.kind == "discrete" else v.n_steps + 1
                     for v in grid_variables(variables))


def grid_point_values(variables: Sequence[Variable], grid_index: int) -> dict[str, Any]:
    """Values of the ``low_to_high`` variables at ``grid_index`` (last variable fastest)."""
    axes = grid_variables(variables)
    out: dict[str, Any] = {}
    rest = grid_index
    for var in reversed(axes):
        points = var.grid_points()
        rest, k = divmod(rest, len(points))
        out[var.variable_id] = points[k]
    return {v.variable_id: out[v.variable_id] for v in axes}


_UNIT_SUFFIX = {"pct": "%", "eur": " EUR", "eur_per_month": " EUR/month", "hours": " h",
                "months": " months", "tokens": " tokens"}


def grid_label(variables: Sequence[Variable], grid_index: int) -> str:
    """The knob values that define grid point ``grid_index``, e.g. ``pub_target_margin=45%``
    (``low_to_high`` variables in file order, joined by ``, ``; ``base`` when the plan has no
    grid axis). The one name a grid point carries in every table, chart and CSV."""
    values = grid_point_values(variables, grid_index)
    if not values:
        return "base"
    units = {v.variable_id: v.unit for v in grid_variables(variables)}
    return ", ".join(f"{vid}={_label_value(x)}{_UNIT_SUFFIX.get(units[vid], '')}"
                     for vid, x in values.items())


def _label_value(x: Any) -> str:
    if isinstance(x, Decimal):
        return format(x.normalize(), "f")
    return str(x)


def grid_points(variables: Sequence[Variable]) -> list[dict[str, Any]]:
    """All grid points in ``grid_index`` order (cartesian product, last variable fastest)."""
    axes = grid_variables(variables)
    return [
        {v.variable_id: p for v, p in zip(axes, combo, strict=True)}
        for combo in itertools.product(*(v.grid_points() for v in axes))
    ]


def _quantised(var: Variable, x: float) -> Decimal:
    k = round((x - float(var.lo)) / float(var.step))
    return var.grid_point(min(max(k, 0), var.n_steps))


def _truncated(draw, lo: float, hi: float) -> float:
    for _ in range(_TRUNCATION_TRIES):
        x = float(draw())
        if lo <= x <= hi:
            return x
    return min(max(x, lo), hi)


def _ends(var: Variable) -> tuple[float, float, float]:
    """(min, max, default) as floats; max is the last grid value."""
    return float(var.lo), float(var.grid_point(var.n_steps)), float(var.default)


def spread_sd(var: Variable) -> float:
    """The sd of a normal or beta variable: the ``sd`` column, else (max − min)/6 (±3 sd
    span the range)."""
    lo, hi, _ = _ends(var)
    return float(var.sd) if var.sd is not None else (hi - lo) / 6


def lognormal_params(var: Variable) -> tuple[float, float]:
    """``(μ, σ)`` of ln X. With ``sd``: mean = default, sd = sd, so σ² = ln(1 + sd²/mean²) and
    μ = ln(mean) − σ²/2. Without: median = default (μ = ln default), σ = ln(max/min)/6."""
    lo, hi, mode = _ends(var)
    if var.sd is None:
        return math.log(mode), (math.log(hi) - math.log(lo)) / 6
    sigma2 = math.log1p((float(var.sd) / mode) ** 2)
    return math.log(mode) - sigma2 / 2, math.sqrt(sigma2)


def beta_shapes(var: Variable) -> tuple[float, float]:
    """``(α, β)`` of the beta on [min, max] with mean = default and sd = ``sd`` (else
    (max − min)/6), by the method of moments: m = (mean − min)/(max − min),
    v = sd²/(max − min)², α = m·(m(1 − m)/v − 1), β = (1 − m)·(m(1 − m)/v − 1). The validator
    guarantees v < m(1 − m), i.e. α, β > 0."""
    lo, hi, mean = _ends(var)
    m = (mean - lo) / (hi - lo)
    v = (spread_sd(var) / (hi - lo)) ** 2
    k = m * (1 - m) / v - 1
    return m * k, (1 - m) * k


def random_draw(var: Variable, gen: np.random.Generator) -> Any:
    """One draw of a ``random`` variable from its own stream (SPEC §3 distributions)."""
    if var.kind == "discrete":
        return var.values[int(gen.integers(0, len(var.values)))]
    n = var.n_steps
    if var.distribution == "uniform" or n == 0:
        return var.grid_point(int(gen.integers(0, n + 1)))
    lo, hi, mode = _ends(var)
    if var.distribution == "triangular":
        x = float(gen.triangular(lo, mode, hi))
    elif var.distribution == "pert":
        # Beta-PERT with lambda = 4: mean = (min + 4·mode + max) / 6.
        a = 1 + 4 * (mode - lo) / (hi - lo)
        b = 1 + 4 * (hi - mode) / (hi - lo)
        x = lo + float(gen.beta(a, b)) * (hi - lo)
    elif var.distribution == "beta":
        # mean = default, sd = sd (else range / 6); already on [min, max].
        x = lo + float(gen.beta(*beta_shapes(var))) * (hi - lo)
    elif var.distribution == "normal":
        # mean = default, sd = sd (else range / 6); truncated by rejection.
        sd = spread_sd(var)
        x = _truncated(lambda: gen.normal(mode, sd), lo, hi)
    else:
        # lognormal (lognormal_params); truncated by rejection.
        mu, sigma = lognormal_params(var)
        x = _truncated(lambda: gen.lognormal(mu, sigma), lo, hi)
    return _quantised(var, x)


SAMPLINGS = ("random", "latin_hypercube")  # params.yaml stochastic.sampling


def block_values(
    variables: Sequence[Variable],
    seeds: Mapping[str, int],
    grid_index: int,
    replicate_index: int,
    grid_values: Mapping[str, Any] | None = None,
    *,
    replicates: int = 1,
    sampling: str = "random",
) -> dict[str, Any]:
    """Every variable's value (decimal or discrete) in one ``(grid_index, replicate_index)``.

    ``random`` variables are drawn each on its own: ``sampling="random"`` from the block's own
    stream (:func:`random_draw`), ``latin_hypercube`` as row ``replicate_index`` of the grid
    point's :func:`replicate_columns` (``replicates`` is R, the replicates per grid point).
    The rank correlations of ``correlations.csv`` are imposed on top by
    :func:`d3.core.samples.blocks_values`."""
    at_grid = grid_values if grid_values is not None else grid_point_values(variables, grid_index)
    drawn: dict[str, Any] = {}
    if sampling != "random":  # the grid point's replicates are drawn together (cached)
        randoms = tuple(v for v in variables if v.treatment == "random")
        columns = replicate_columns(randoms, tuple(seeds[v.scope] for v in randoms),
                                    grid_index, replicates, sampling)
        drawn = {v.variable_id: c[replicate_index] for v, c in zip(randoms, columns,
                                                                   strict=True)}
    out: dict[str, Any] = {}
    for var in variables:
        if var.treatment == "fixed":
            out[var.variable_id] = var.default
        elif var.treatment == "low_to_high":
            out[var.variable_id] = at_grid[var.variable_id]
        elif var.variable_id in drawn:
            out[var.variable_id] = drawn[var.variable_id]
        else:
            gen = params_stream(seeds[var.scope], var.scope, var.variable_id, grid_index,
                                replicate_index)
            out[var.variable_id] = random_draw(var, gen)
    return out


@functools.lru_cache(maxsize=4)  # blocks come grid point by grid point: a few entries suffice
def replicate_columns(randoms: tuple[Variable, ...], seeds: tuple[int, ...], grid_index: int,
                      replicates: int, sampling: str) -> tuple[tuple[Any, ...], ...]:
    """The R = ``replicates`` values of each ``random`` variable at one grid point, before
    rank correlation; ``seeds[j]`` is the seed of ``randoms[j]``'s scope.

    ``random``: replicate r is :func:`random_draw` on the stream ``(params, scope,
    variable_id, grid_index, r)``, the same value a block computes alone. ``latin_hypercube``:
    :func:`lhs_column`. A pure function of hashable arguments, cached, so a worker computing
    one block of a grid point draws its R values once (O(R) per grid point, not O(R²))."""
    if sampling not in SAMPLINGS:
        raise ValueError(f"unknown sampling {sampling!r}; expected one of {SAMPLINGS}")
    if sampling == "latin_hypercube":
        return tuple(lhs_column(v, seed, grid_index, replicates)
                     for v, seed in zip(randoms, seeds, strict=True))
    return tuple(
        tuple(random_draw(v, params_stream(seed, v.scope, v.variable_id, grid_index, r))
              for r in range(replicates))
        for v, seed in zip(randoms, seeds, strict=True))


def lhs_column(var: Variable, seed: int, grid_index: int, replicates: int) -> tuple[Any, ...]:
    """Latin hypercube sample of a ``random`` variable over the R = ``replicates`` replicates
    of one grid point: u_r = (π(r) + U_r)/R, one u in each of the R equal-probability strata
    ``[i/R, (i+1)/R)`` (π a random permutation, U_r uniform on [0, 1)), from
    ``scipy.stats.qmc.LatinHypercube(d=1)`` on the stream ``(lhs, scope, variable_id,
    grid_index, 0)``; each u_r then goes through the inverse CDF on the step grid
    (:func:`quantile_value`)."""
    from scipy.stats import qmc  # ≈ 0.5 s to import; only latin_hypercube plans need it

    gen = lhs_stream(seed, var.scope, var.variable_id, grid_index)
    u = qmc.LatinHypercube(d=1, rng=gen).random(replicates)[:, 0]
    return tuple(quantile_value(var, float(x)) for x in u)


def quantile_value(var: Variable, u: float) -> Any:
    """The value at cumulative probability ``u`` ∈ [0, 1) of a ``random`` variable: its inverse
    CDF over the distribution :func:`random_draw` samples from (:func:`grid_value_probabilities`
    — the smallest grid value whose cumulative probability exceeds ``u``). Uniform numeric and
    discrete variables take value index ⌊u·n⌋ of their n values, exactly."""
    if var.kind == "discrete":
        return var.values[min(int(u * len(var.values)), len(var.values) - 1)]
    n = var.n_steps
    if var.distribution == "uniform" or n == 0:
        return var.grid_point(min(int(u * (n + 1)), n))
    return var.grid_point(min(int(np.searchsorted(_grid_cdf(var), u, side="right")), n))


@functools.lru_cache(maxsize=1024)
def _grid_cdf(var: Variable) -> np.ndarray:
    return np.cumsum(grid_value_probabilities(var))


def order_key(var: Variable, value: Any) -> float:
    """Where ``value`` ranks among a variable's values, for rank correlation: the number
    itself; for a discrete variable with non-numeric values (text, true/false) its position
    in ``values=`` as written (list them low to high)."""
    if var.kind == "numeric":
        return float(value)
    if all(isinstance(x, int | float) and not isinstance(x, bool) for x in var.values):
        return float(value)
    return float(var.values.index(value))


def overrides_of(variables: Sequence[Variable], values: Mapping[str, Any], scope: str) -> dict:
    """``{path: typed value}`` for one scope, ready for :func:`with_overrides`."""
    return {v.path: v.typed(values[v.variable_id]) for v in variables if v.scope == scope}


@functools.lru_cache(maxsize=1024)
def grid_value_probabilities(var: Variable) -> np.ndarray:
    """Probability of each grid value ``min + k·step`` (k = 0..n) under the variable's
    ``random`` distribution, after truncation to ``[min, max]`` and quantisation to the nearest
    grid value — the distribution :func:`random_draw` samples from. Source of the CDFs:
    ``scipy.stats`` (triang, beta for PERT with λ = 4 and for beta, norm, lognorm). Read-only
    and cached per variable (by value): the validator, the reference path and the solver ask
    for it on every evaluation, and each frozen scipy distribution costs ≈ 0.3 ms to build."""
    probs = _grid_value_probabilities(var)
    probs.setflags(write=False)
    return probs


def _grid_value_probabilities(var: Variable) -> np.ndarray:
    n = var.n_steps
    if var.distribution == "uniform" or n == 0:
        return np.full(n + 1, 1.0 / (n + 1))
    lo, hi, _ = _ends(var)
    step = float(var.step)
    edges = np.clip(lo + (np.arange(n + 2) - 0.5) * step, lo, hi)
    mass = np.diff(continuous_distribution(var).cdf(edges))
    return mass / mass.sum()


def continuous_distribution(var: Variable):
    """The frozen ``scipy.stats`` distribution of a numeric ``random`` variable that is not
    uniform, before truncation to ``[min, max]`` and quantisation (triang, beta for PERT with
    λ = 4 and for beta, norm, lognorm)."""
    # Imported here: scipy.stats costs ≈ 0.5 s at start-up, and most stages never draw.
    from scipy import stats

    lo, hi, mode = _ends(var)
    if var.distribution == "triangular":
        return stats.triang((mode - lo) / (hi - lo), loc=lo, scale=hi - lo)
    if var.distribution == "pert":
        return stats.beta(1 + 4 * (mode - lo) / (hi - lo), 1 + 4 * (hi - mode) / (hi - lo),
                          loc=lo, scale=hi - lo)
    if var.distribution == "beta":
        return stats.beta(*beta_shapes(var), loc=lo, scale=hi - lo)
    if var.distribution == "normal":
        return stats.norm(mode, spread_sd(var))
    mu, sigma = lognormal_params(var)
    # The median e^μ; without sd exactly the default (e^ln(x) may differ from x by an ulp).
    return stats.lognorm(sigma, scale=mode if var.sd is None else math.exp(mu))


def continuous_quantile(var: Variable, q: float) -> float:
    """The ``q``-quantile (0..1) of a numeric ``random`` variable's distribution truncated to
    ``[min, max]``, before quantisation to its step grid: ``min + q·(max − min)`` when uniform,
    else ``x = F⁻¹(F(min) + q·(F(max) − F(min)))`` with :func:`continuous_distribution`'s CDF
    ``F``. Unlike :func:`quantile_value` it does not collapse onto a coarse grid's ends."""
    lo, hi, _ = _ends(var)
    if var.distribution == "uniform" or var.n_steps == 0:
        return lo + q * (hi - lo)
    dist = continuous_distribution(var)
    f_lo, f_hi = dist.cdf(lo), dist.cdf(hi)
    return float(np.clip(dist.ppf(f_lo + q * (f_hi - f_lo)), lo, hi))


def reference_value(var: Variable) -> Any:
    """The value a variable takes on the reference path: the default when ``fixed``; the
    **mean** of its quantised distribution when ``random`` (a numeric discrete variable: the
    mean of its values); the median value for an integer key or a non-numeric discrete
    variable, whose mean is not a value the key can hold. Never an arbitrary default."""
    if var.treatment != "random":
        return var.default
    if var.kind == "discrete":
        numeric = all(isinstance(x, int | float) and not isinstance(x, bool) for x in var.values)
        if numeric and not var.as_int:
            return Decimal(repr(float(np.mean(var.values))))
        return sorted(var.values, key=(float if numeric else str))[(len(var.values) - 1) // 2]
    probs = grid_value_probabilities(var)
    points = np.array([float(var.grid_point(k)) for k in range(var.n_steps + 1)])
    if var.as_int:
        return var.grid_point(int(np.searchsorted(np.cumsum(probs), 0.5)))
    return Decimal(repr(math.fsum(probs * points)))


def reference_values(variables: Sequence[Variable], grid_index: int | None = None) -> dict:
    """The reference configuration: ``fixed`` variables at their default, ``random`` ones at
    their mean (:func:`reference_value`), ``low_to_high`` ones at ``grid_index`` (at their
    default when no grid point is given)."""
    values = {v.variable_id: reference_value(v) for v in variables}
    if grid_index is not None:
        values.update(grid_point_values(variables, grid_index))
    return values


def reference_overrides(variables: Sequence[Variable], scope: str,
                        grid_index: int | None = None) -> dict[str, Any]:
    """``{path: value}`` for one scope at the reference configuration (see
    :func:`reference_values`) that the price card and the reference paths use."""
    values = reference_values(variables, grid_index)
    return {v.path: v.typed(values[v.variable_id]) for v in variables if v.scope == scope}
