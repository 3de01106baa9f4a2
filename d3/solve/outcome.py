"""One candidate plan evaluated: is it fundable, how far short is it, what it yields — and the
order in which candidates rank (feasible first, then nearest, then the higher p50 net income).
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from d3.core.percentiles import percentiles
from d3.finance.tables import kpi_columns, kpi_table_rows
from d3.model import Evaluation
from d3.sensitivity.outputs import binding_probability_pct

# The shortfall of a candidate that was not evaluated — its values are not valid together (the
# validator refused them) or the evaluation failed: beyond any real shortfall, so it ranks last.
INVALID_SHORTFALL = 1e6


@dataclass(frozen=True)
class Judged:
    """One criterion of one grid point as a candidate's evaluation decided it: ``ok``, the
    share of futures meeting it (``probability``, 0..1; None: decided on one trace or the
    reference card) and its between-replicate standard error (None: one replicate)."""

    grid_index: int
    name: str
    ok: bool
    probability: float | None
    probability_se: float | None = None


@dataclass(frozen=True)
class Failure:
    """A criterion a grid point fails, with its probability (None: decided on one trace)."""

    grid_index: int
    name: str
    probability: float | None

    def text(self, grid_labels: Sequence[str] = ()) -> str:
        """``min_cash[pub_margin=40%]=0.2750`` or ``autoscaler_no_sla_violations[base]``: the
        grid point by its knob values (``grid_label``, as every other CSV names it; its index
        when no label is known)."""
        where = grid_labels[self.grid_index] if self.grid_index < len(grid_labels) \
            else str(self.grid_index)
        p = "" if self.probability is None else f"={self.probability:.4f}"
        return f"{self.name}[{where}]{p}"


def criterion_shortfall(ok: bool, probability: float | None, min_probability: float) -> float:
    """How far one criterion is from holding, 0..1, the same scale for every kind: 0 when it
    holds; for a criterion decided over the futures the share of the required probability
    that is missing, ``(threshold − p) / threshold`` (1 at p = 0); a failed pass/fail criterion
    (one trace, or the reference price card) 1 — it holds in none of the futures it is judged
    on. So a candidate that trades one failure for another, equally complete, is no closer."""
    if ok:
        return 0.0
    if probability is None:
        return 1.0
    return max(0.0, min_probability - probability) / min_probability


@dataclass(frozen=True)
class Outcome:
    """A candidate's evaluation: ``feasible`` when every criterion of every grid point holds;
    ``shortfall`` = Σ over grid points and criteria of :func:`criterion_shortfall` (each
    failing criterion 0..1, 1 when it holds nowhere); the binding (lowest) probability in %
    among the criteria decided over samples; the lowest p50 net income, the highest p90
    funding need and the lowest p10 of the lowest free cash over the grid points (EUR; the
    lender's two cash measures, which a change can worsen while the criteria improve), with
    the grid point each comes from (``worst_grid``: measure → grid index); every criterion
    decided (``criteria``) and each grid point's knob values (``grid_labels``, by index);
    ``invalid``: the validator's first message when the values are not valid together (then
    nothing else is known)."""

    feasible: bool
    shortfall: float
    binding_probability_pct: float
    failures: tuple[Failure, ...]
    net_income_p50_eur: float
    funding_need_p90_eur: float
    lowest_free_cash_p10_eur: float = float("nan")
    invalid: str = ""
    error: str = ""
    samples: int = 0
    evaluation: Evaluation | None = field(default=None, compare=False, repr=False)
    criteria: tuple[Judged, ...] = ()
    grid_labels: tuple[str, ...] = ()
    worst_grid: tuple[tuple[str, int], ...] = ()

    @property
    def evaluated(self) -> bool:
        """Was the candidate evaluated (neither refused by the validator nor failed)?"""
        return not (self.invalid or self.error)

    @property
    def binding(self) -> Judged | None:
        """The binding criterion: the lowest probability among the criteria decided over the
        futures, the first in grid and criterion order on a tie (None: none is)."""
        decided = [c for c in self.criteria if c.probability is not None]
        return min(decided, key=lambda c: c.probability) if decided else None


def outcome_of(ev: Evaluation, min_probability: float, *, keep: bool = False) -> Outcome:
    """The :class:`Outcome` of an evaluation with its criteria (``keep``: hold the evaluation
    for its KPIs and acceptance document)."""
    judged = tuple(Judged(g, c.name, c.ok, c.probability, c.probability_se)
                   for g, grid in sorted(ev.grid.items()) for c in grid.criteria)
    shortfall = math.fsum(criterion_shortfall(c.ok, c.probability, min_probability)
                          for c in judged)
    binding = [binding_probability_pct(g.criteria) for g in ev.grid.values()]
    binding = [b for b in binding if not math.isnan(b)]
    labels = getattr(ev, "grid_labels", {})
    measures = {name: _over_grid(ev, kpi, q, pick) for name, kpi, q, pick in _MEASURES}
    return Outcome(
        feasible=ev.accepted, shortfall=shortfall,
        binding_probability_pct=min(binding) if binding else float("nan"),
        failures=tuple(Failure(c.grid_index, c.name, c.probability) for c in judged
                       if not c.ok),
        net_income_p50_eur=measures["net_income_p50_eur"][0],
        funding_need_p90_eur=measures["funding_need_p90_eur"][0],
        lowest_free_cash_p10_eur=measures["lowest_free_cash_p10_eur"][0],
        samples=sum(len(g.replicate_index) for g in ev.grid.values()),
        evaluation=ev if keep else None, criteria=judged,
        grid_labels=tuple(labels[g] for g in sorted(labels)),
        worst_grid=tuple((name, g) for name, (_, g) in measures.items() if g is not None))


# The lender's measures over the grid points: (name, KPI, percentile, the worst of the grid).
_MEASURES = (("net_income_p50_eur", "net_income_eur", 50, min),
             ("funding_need_p90_eur", "funding_need_eur", 90, max),
             ("lowest_free_cash_p10_eur", "min_free_cash_eur", 10, min))


def invalid_outcome(message: str) -> Outcome:
    """A candidate the validator refused (``message``: its first issue line)."""
    nan = float("nan")
    return Outcome(False, INVALID_SHORTFALL, nan, (), nan, nan, invalid=message)


def failed_outcome(exc: Exception) -> Outcome:
    """A candidate whose evaluation raised ``exc`` (not a validation error): recorded with
    the error's text, ranked last, so one failure does not end the search."""
    nan = float("nan")
    return Outcome(False, INVALID_SHORTFALL, nan, (), nan, nan,
                   error=f"{type(exc).__name__}: {exc}")


def _over_grid(ev: Evaluation, kpi: str, q: int, pick) -> tuple[float, int | None]:
    """The worst (``pick``: min or max) over the grid points of the KPI's ``q``-th percentile,
    and the first grid point that has it; (NaN, None) when no grid point has a value."""
    values = [(float(percentiles(np.asarray(grid.kpis[kpi][1], dtype=float), [q])[0]), g)
              for g, grid in sorted(ev.grid.items()) if kpi in grid.kpis]
    values = [(v, g) for v, g in values if not math.isnan(v)]
    if not values:
        return float("nan"), None
    worst = pick(v for v, _ in values)
    return worst, next(g for v, g in values if v == worst)


def rank_key(distance: float, outcome: Outcome, trial: int) -> tuple:
    """The sort key of a candidate (smaller ranks first), lexicographic: feasible candidates
    first, by distance, then by the higher p50 net income (the objective's tie-break, never
    before the distance); infeasible ones after them, by shortfall, then distance; the trial
    number breaks ties. Distances and shortfalls are rounded to 12 decimals so that sums
    that differ only in floating-point order tie."""
    income = outcome.net_income_p50_eur
    income = -income if not math.isnan(income) else math.inf
    if outcome.feasible:
        return (0, round(distance, 12), income, trial)
    return (1, round(outcome.shortfall, 12), round(distance, 12), trial)


def kpi_rows(ev: Evaluation, qs: Sequence[int]) -> list[dict[str, Any]]:
    """Every grid point's per-sample KPIs as ``consolidated_kpis.csv`` writes them (the same
    text per cell; the reference path's column and the autoscaler rows left out)."""
    columns = kpi_columns(qs)[:-1]
    return [dict(zip(columns, row[:-1], strict=True))
            for g, grid in sorted(ev.grid.items())
            for row in kpi_table_rows(g, grid.kpis, {}, grid.replicate_index, qs)]
