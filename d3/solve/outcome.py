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
class Failure:
    """A criterion a grid point fails, with its probability (None: decided on one trace)."""

    grid_index: int
    name: str
    probability: float | None

    def text(self) -> str:
        """``min_cash@0=0.2750`` or ``autoscaler_no_sla_violations@0``."""
        p = "" if self.probability is None else f"={self.probability:.4f}"
        return f"{self.name}@{self.grid_index}{p}"


@dataclass(frozen=True)
class Outcome:
    """A candidate's evaluation: ``feasible`` when every criterion of every grid point holds;
    ``shortfall`` = Σ over grid points and criteria of ``max(0, threshold − probability)``, a
    failed pass/fail criterion (decided on one trace) counting 1; the binding (lowest)
    probability in % among the criteria decided over samples; the lowest p50 net income, the
    highest p90 funding need and the lowest p10 of the lowest free cash over the grid points
    (EUR; the lender's two cash measures, which a change can worsen while the criteria
    improve); ``invalid``: the validator's first message when the values are not valid
    together (then nothing else is known)."""

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

    @property
    def evaluated(self) -> bool:
        """Was the candidate evaluated (neither refused by the validator nor failed)?"""
        return not (self.invalid or self.error)


def outcome_of(ev: Evaluation, min_probability: float, *, keep: bool = False) -> Outcome:
    """The :class:`Outcome` of an evaluation with its criteria (``keep``: hold the evaluation
    for its KPIs and acceptance document)."""
    failures, shortfall = [], 0.0
    for g, grid in sorted(ev.grid.items()):
        for c in grid.criteria:
            if c.probability is None:
                shortfall += 0.0 if c.ok else 1.0
            else:
                shortfall += max(0.0, min_probability - c.probability)
            if not c.ok:
                failures.append(Failure(g, c.name, c.probability))
    binding = [binding_probability_pct(g.criteria) for g in ev.grid.values()]
    binding = [b for b in binding if not math.isnan(b)]
    return Outcome(
        feasible=ev.accepted, shortfall=shortfall,
        binding_probability_pct=min(binding) if binding else float("nan"),
        failures=tuple(failures),
        net_income_p50_eur=_over_grid(ev, "net_income_eur", 50, min),
        funding_need_p90_eur=_over_grid(ev, "funding_need_eur", 90, max),
        lowest_free_cash_p10_eur=_over_grid(ev, "min_free_cash_eur", 10, min),
        samples=sum(len(g.replicate_index) for g in ev.grid.values()),
        evaluation=ev if keep else None)


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


def _over_grid(ev: Evaluation, kpi: str, q: int, pick) -> float:
    values = [float(percentiles(np.asarray(g.kpis[kpi][1], dtype=float), [q])[0])
              for g in ev.grid.values() if kpi in g.kpis]
    values = [v for v in values if not math.isnan(v)]
    return pick(values) if values else float("nan")


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
