"""What the report reads (:class:`ReportData`) and the look-ups every section shares: a KPI
cell, an operator setting of a grid point, a grid point's name, and the grid point the
statements show (:func:`focus_grid`)."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

from d3.core.variables import Variable, grid_label, grid_point_values, grid_size

Rows = list[dict[str, str]]


@dataclass
class ReportData:
    horizon_months: int
    term_months: int
    percentiles: list[int]
    acceptance: dict[str, Any]
    summary: dict[str, Any]
    kpis: Rows
    plan: dict[str, Any]  # resolved plan + seeds (validated/plan.json)
    validation: dict[str, Any]
    vendor_choice: Rows | None = None
    prices: Rows | None = None
    price_card: dict[str, Any] | None = None
    public_op: dict[str, Any] | None = None
    scenarios: Rows | None = None
    autoscaling: Rows | None = None
    scaling_events: int = 0
    economics: Rows | None = None
    vendors: Rows | None = None
    pnl: Rows = field(default_factory=list)
    cashflow: Rows = field(default_factory=list)
    vat: Rows = field(default_factory=list)
    loan: Rows = field(default_factory=list)
    break_even: Rows = field(default_factory=list)
    market: dict[str, Any] = field(default_factory=dict)
    catalog: dict[str, Any] = field(default_factory=dict)
    public_customers: Rows | None = None
    pnl_by_year: Rows = field(default_factory=list)
    balance_sheet: Rows = field(default_factory=list)
    unserved: Rows | None = None
    margin_by_model: Rows | None = None
    charts: list[tuple[str, str]] = field(default_factory=list)  # (file, caption)
    general: dict[str, Any] | None = None  # validated/operator_general.json
    private_op: dict[str, Any] | None = None  # validated/operator_private_tap.json
    overrides: list[dict[str, Any]] = field(default_factory=list)  # logs/variables.json
    # grid_index → the knob values that define it (grid_points_of); empty: "grid point N"
    grid_labels: dict[str, str] = field(default_factory=dict)
    # the grid point whose knob values are the variables' defaults (the price list's
    # configuration), None when the defaults are not a grid point
    reference_grid: str | None = None
    # the sensitivity stage's tables and summary (None when not run)
    sensitivity_tornado: Rows | None = None
    sensitivity_sobol: Rows | None = None
    sensitivity_ranks: Rows | None = None
    sensitivity_summary: dict[str, Any] | None = None
    # the solve stage's solve_best.json (None when not run)
    solve_best: dict[str, Any] | None = None


@dataclass(frozen=True)
class GridPoints:
    labels: dict[str, str]  # grid_index → label, e.g. "0" → "pub_target_margin=45%"
    reference: str | None  # the grid point at the variables' defaults, if one is


def grid_points_of(variables: Sequence[Variable]) -> GridPoints:
    """Every grid point's name (:func:`d3.core.variables.grid_label`) and the one whose knob
    values are the variables' defaults."""
    n = grid_size(variables)
    labels = {str(g): grid_label(variables, g) for g in range(n)}
    defaults = {v.variable_id: v.default for v in variables if v.treatment == "low_to_high"}
    reference = next((str(g) for g in range(n)
                      if _same(grid_point_values(variables, g), defaults)), None)
    return GridPoints(labels, reference)


def _same(values: Mapping[str, Any], defaults: Mapping[str, Any]) -> bool:
    def norm(x: Any) -> Any:
        return Decimal(str(x)) if isinstance(x, int | float | Decimal) else x
    return {k: norm(v) for k, v in values.items()} == {k: norm(v) for k, v in defaults.items()}


def label(d: ReportData, g: str) -> str:
    """Grid point ``g``'s name: its knob values (``pub_target_margin=45%``), or
    ``grid point g`` when the run's variables are not at hand. Plain text: escape it."""
    return d.grid_labels.get(str(g), f"grid point {g}")


def kpi(d: ReportData, g: str, metric: str) -> dict[str, str]:
    """Grid point ``g``'s row of ``consolidated_kpis.csv`` for ``metric`` ({} when absent)."""
    return next((r for r in d.kpis if r["grid_index"] == g and r["metric"] == metric), {})


def cell(row: Mapping[str, str], key: str) -> float | None:
    v = row.get(key, "")
    return float(v) if v not in ("", None) else None


def at(doc: Mapping[str, Any] | None, path: str, default: Any = None) -> Any:
    """The value at a dotted key (``reserves.distribution_policy.dividend_pct``) of a validated
    operator document, or ``default`` when the key is absent (opt-in keys are written only
    when set, so a document may lack a key its schema has)."""
    for part in path.split("."):
        if not isinstance(doc, Mapping) or part not in doc:
            return default
        doc = doc[part]
    return doc


def _value(text: str) -> float | str:
    """A variable's value as the run summary writes it (a string): a number when it is one."""
    try:
        return float(text)
    except ValueError:
        return text


def setting(d: ReportData, scope: str, path: str, g: str, default: Any = None) -> Any:
    """The value grid point ``g``'s reference path used for an operator key: the grid point's
    value of a variable overriding it (a random variable at its mean), else the operator
    file's value, else ``default``."""
    docs = {"general": d.general, "public_tap": d.public_op, "private_tap": d.private_op}
    for o in d.overrides:
        if o["scope"] == scope and o["path"] == path:
            value = d.summary.get("reference_values", {}).get(g, {}).get(o["variable_id"])
            if value is not None:
                return _value(value)
    return at(docs[scope], path, default)


def failing(info: Mapping[str, Any]) -> list[dict[str, Any]]:
    """A grid point's failing criteria (``acceptance.json``), in the file's order."""
    return [c for c in info.get("criteria", []) if not c["ok"]]


def focus_grid(d: ReportData) -> str:
    """The grid point the statements show: the one closest to fundable — accepted before not
    accepted, then the fewest failing criteria, then the smallest funding need at 90 %
    confidence over the loan term (p90 of ``funding_need_term_eur``), then the lowest index."""
    def rank(g: str) -> tuple:
        info = d.acceptance["grid"][g]
        need = cell(kpi(d, g, "funding_need_term_eur"), "p90")
        return (not info.get("accepted", False), len(failing(info)),
                float("inf") if need is None else need, int(g))
    return min(d.acceptance["grid"], key=rank)
