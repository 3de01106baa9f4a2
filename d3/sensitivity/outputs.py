"""The key outputs a sensitivity analysis reports, from one grid point's evaluation."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass

import numpy as np

from d3.acceptance import Criterion
from d3.core.percentiles import percentiles


@dataclass(frozen=True)
class Output:
    """A reported output: percentile ``q`` of the per-sample KPI ``kpi`` (``None``: the
    acceptance probability, from the criteria)."""

    name: str
    label: str  # ``{h}``: the horizon (``targets.horizon_months``); ``{m}``: every month modelled
    unit: str
    kpi: str | None
    q: int | None

    def label_for(self, horizon_months: int, term_months: int) -> str:
        """The label with the months it covers, e.g. "Funding need at 90 % confidence over
        the first 24 months" (a funding need without its horizon cannot be compared).
        ``term_months``: every month the plan models, max(horizon, loan term), as the
        report's "term"."""
        return self.label.format(h=horizon_months, m=term_months)


OUTPUTS = (
    Output("lowest_free_cash_p50_eur", "Lowest free cash over the {m}-month term, p50", "EUR",
           "min_free_cash_eur", 50),
    Output("lowest_free_cash_p10_eur", "Lowest free cash over the {m}-month term, p10", "EUR",
           "min_free_cash_eur", 10),
    Output("funding_need_p90_eur", "Funding need at 90 % confidence over the first {h} months",
           "EUR", "funding_need_eur", 90),
    Output("min_dscr_t12_p10", "Minimum trailing-12-month DSCR, p10", "ratio",
           "min_dscr_t12", 10),
    Output("net_income_p50_eur", "Net income over the first {h} months, p50", "EUR",
           "net_income_eur", 50),
    Output("public_realised_margin_p50_pct",
           "Public Tap realised gross margin over the first {h} months, p50", "%",
           "public_realised_margin_pct", 50),
    Output("binding_criterion_probability_pct",
           "Probability the binding sample criterion holds", "%",
           None, None),
)

# What each KPI covers, for titles that name a KPI without a percentile (Sobol charts).
KPI_LABELS = {
    "min_free_cash_eur": "lowest free cash over the {m}-month term",
    "funding_need_eur": "funding need over the first {h} months",
    "min_dscr_t12": "minimum trailing-12-month DSCR",
    "net_income_eur": "net income over the first {h} months",
    "public_realised_margin_pct": "Public Tap realised gross margin over the first {h} months",
}


def kpi_label(kpi: str, horizon_months: int, term_months: int) -> str:
    """:data:`KPI_LABELS` of ``kpi`` with its months (the KPI's own name when unknown)."""
    return KPI_LABELS.get(kpi, kpi).format(h=horizon_months, m=term_months)


def binding_probability_pct(criteria: Sequence[Criterion]) -> float:
    """The lowest probability, in %, among the criteria decided over the samples (the one that
    binds: the plan is accepted only when it reaches ``targets.min_acceptance_probability``).
    The autoscaler's criteria are judged on two traces, not over samples, and have no
    probability: they are left out (the report lists them). NaN without such criteria."""
    probabilities = [c.probability for c in criteria if c.probability is not None]
    return 100.0 * min(probabilities) if probabilities else float("nan")


def output_values(kpis: Mapping[str, tuple[str, np.ndarray]],
                  criteria: Sequence[Criterion]) -> dict[str, float]:
    """Every :data:`OUTPUTS` value of one grid point: its per-sample ``kpis`` (``{name: (unit,
    values (samples,))}``, as :class:`d3.model.GridEvaluation` holds them) and its criteria.
    NaN for an output whose KPI the run has not (e.g. the Public Tap's margin without that
    line) or whose samples are all undefined (a DSCR without debt service)."""
    out = {}
    for o in OUTPUTS:
        if o.kpi is None:
            out[o.name] = binding_probability_pct(criteria)
        elif o.kpi in kpis:
            out[o.name] = float(percentiles(np.asarray(kpis[o.kpi][1], dtype=float), [o.q])[0])
        else:
            out[o.name] = float("nan")
    return out
