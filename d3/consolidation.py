"""The consolidation of one run, grid point by grid point: per-sample finance → the monthly,
yearly, break-even, KPI and covenant tables, the reference path, the metrics and the summary
entry (what the ``consolidate`` stage writes; no file I/O here)."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import numpy as np

from d3.consolidate import (
    GeneralConfigs,
    autoscaler_kpis,
    max_loan_for_dscr,
    private_line,
    public_kpis,
    public_line,
    reference_finance,
)
from d3.core.percentiles import monthly_percentiles, percentiles
from d3.finance.kpis import covenant_probabilities, distribution_kpis, sample_kpis
from d3.finance.mc_error import between_replicate_se, median
from d3.finance.tables import (
    BALANCE_SHEET_PERCENTILES,
    BALANCE_SHEET_SERIES,
    VAT_SERIES,
    OptionalLines,
    autoscaler_table_rows,
    break_even_rows,
    cell,
    kpi_table_rows,
    monthly_rows,
    year_rows,
)
from d3.io.writers import json_numbers

if TYPE_CHECKING:  # d3.model imports this module
    from d3.streaming import GridPart

# The lines' per-sample series the consolidation keeps beside the finance (max-loan search,
# break-even per head, fans); memory scales with their number.
PUBLIC_SERIES = ("revenue_eur", "budget_eur", "credits_sold_eur", "refunds_eur", "deferred_eur",
                 "cogs_eur", "tokens_served", "tokens_demanded", "unserved_tokens",
                 "served_eur", "priced_cogs_eur", "active_customers", "instances_total",
                 "capacity_violations")
PRIVATE_SERIES = ("revenue_eur", "cogs_eur", "budget_eur", "hours", "active_clients",
                  "block_purchases_eur", "deferred_eur", "invoiced_eur")
# DVC metrics: (name, KPI, percentile), rounded like consolidated_kpis.csv so the two agree.
# Only the headline figures (docs/DECISIONS.md, "DVC"): every one is a column per grid point
# in `dvc exp show`; the other percentiles are in consolidated_kpis.csv.
METRIC_PERCENTILES = (
    ("revenue_total_eur_p50", "revenue_total_eur", 50), ("ebitda_eur_p50", "ebitda_eur", 50),
    ("min_free_cash_eur_p10", "min_free_cash_eur", 10),
    ("funding_need_eur_p90", "funding_need_eur", 90),
    ("min_dscr_t12_p10", "min_dscr_t12", 10),
)
FAN_QUANTILES = (10, 50, 90)


@dataclass(frozen=True)
class Consolidation:
    """A run's settings for the consolidation of its grid points (``grid_points``, in order):
    the lines' stage summaries (``None`` when a line is not run), the general configuration
    and the plan's settings. Each grid point's samples come as the workers reduced them
    (:class:`d3.streaming.GridPart`, :func:`grid_tables`)."""

    grid_points: tuple[int, ...]
    demand_doc: Mapping[str, Any] | None  # public_demand.json (expected paths per grid)
    private_doc: Mapping[str, Any] | None
    scaler_rows: Sequence[Mapping[str, str]]  # public_tap_autoscaling_kpis.csv
    configs: GeneralConfigs
    premiums: Mapping[str, float]
    qs: Sequence[int]
    horizon: int
    min_dscr: float
    driver: str
    hours: float
    calendar: tuple[int, int]
    months: int
    lines_on: OptionalLines  # the optional P&L lines any configuration of the run has


def kept_line(part: GridPart, line: str) -> dict[str, np.ndarray] | None:
    """The kept per-sample series of ``line`` (``public`` | ``private``), ``None`` when the
    line was not run."""
    prefix = f"{line}."
    out = {k.removeprefix(prefix): v for k, v in part.kept.items() if k.startswith(prefix)}
    return out or None


def kept_finance(part: GridPart) -> dict[str, np.ndarray]:
    """The kept per-sample finance series ``(kept samples, months)``."""
    return {k: v for k, v in part.kept.items() if "." not in k}


@dataclass
class GridTables:
    """Everything the stage writes for one grid point (rows are formatted strings)."""

    pnl: list = field(default_factory=list)
    cash: list = field(default_factory=list)
    balance_sheet: list = field(default_factory=list)
    vat: list = field(default_factory=list)
    break_even: list = field(default_factory=list)
    years: list = field(default_factory=list)
    kpi_rows: list = field(default_factory=list)
    kpis: dict[str, tuple[str, np.ndarray]] = field(default_factory=dict)
    reference: dict[str, Any] = field(default_factory=dict)  # JSON: NaN as null
    summary: dict[str, Any] = field(default_factory=dict)
    metrics: dict[str, Any] = field(default_factory=dict)
    fans: dict[str, list[list[str]]] = field(default_factory=dict)  # plots of grid point 0


def reference_kpis(reference: Mapping[str, np.ndarray], pub_expected: Mapping | None,
                   horizon: int, *, min_dscr: float, cash_buffer_eur: float,
                   distributions: bool) -> dict[str, tuple[str, np.ndarray]]:
    """The KPIs of the reference path (one "sample"), beside the samples' percentiles."""
    ref = {k: np.asarray(v)[None, :] for k, v in reference.items()}
    out = sample_kpis(ref, horizon, min_dscr=min_dscr, cash_buffer_eur=cash_buffer_eur)
    if distributions:
        out.update(distribution_kpis(ref, horizon))
    if pub_expected is not None:
        out.update(public_kpis({k: np.array(v)[None, :] for k, v in pub_expected.items()
                                if k in PUBLIC_SERIES}, ref, horizon))
    return out


def fan_rows(values: np.ndarray) -> list[list[str]]:
    """``month, p10, p50, p90`` rows of a ``(samples, months)`` series (fan-chart data)."""
    pcts = monthly_percentiles(values, FAN_QUANTILES, finite_only=True)
    return [[str(m + 1), *(cell(float(pcts[k][m]), 4) for k in range(len(FAN_QUANTILES)))]
            for m in range(values.shape[1])]


def grid_tables(c: Consolidation, part: GridPart) -> GridTables:
    """A grid point's tables, KPIs, reference path, summary entry and metrics, from its samples
    as the workers reduced them: every sample's KPIs, and the kept monthly series — every
    finance series and the lines' :data:`PUBLIC_SERIES` / :data:`PRIVATE_SERIES` as
    ``public.<name>`` / ``private.<name>`` — of every sample or of the stratified subsample of
    ``stochastic.percentile_samples`` (the monthly statistics, the max-loan search and the
    balance-sheet check run on those)."""
    g, lines_on = part.grid_index, c.lines_on
    reps = part.replicate_index
    months, qs = c.months, c.qs
    results, pub, pri = kept_finance(part), kept_line(part, "public"), kept_line(part, "private")
    general = c.configs.reference(g)
    reference = reference_finance(g, general, c.premiums, months, c.demand_doc, c.private_doc,
                                  c.driver, c.hours)
    t = GridTables()
    _monthly_tables(t, c, g, results, reference, lines_on)
    t.break_even = break_even_rows(g, results, reference,
                                   pub["active_customers"] if pub else None,
                                   pri["active_clients"] if pri else None)
    t.years = year_rows(g, results, reference, qs, lines_on.year_series())
    buffer = general.reserves.cash_buffer_eur
    t.kpis = part.kpis
    ref_kpis = reference_kpis(reference, c.demand_doc["grid"][str(g)]["expected"]
                              if c.demand_doc is not None else None, c.horizon,
                              min_dscr=c.min_dscr, cash_buffer_eur=buffer,
                              distributions=lines_on.distributions)
    t.reference = {k: json_numbers(v) for k, v in reference.items()
                   if k not in lines_on.hidden()}
    autoscaler = autoscaler_kpis([r for r in c.scaler_rows if r["grid_index"] == str(g)])
    t.kpi_rows = kpi_table_rows(g, t.kpis, ref_kpis, reps, qs) + autoscaler_table_rows(
        g, autoscaler, qs)
    covenants = covenant_probabilities(t.kpis, min_dscr=c.min_dscr)
    loan_max, loan_tol = max_loan_for_dscr(
        public_line(pub) if pub else None, private_line(pri) if pri else None, general,
        c.premiums, months, min_dscr=c.min_dscr, shape=results["revenue_eur"].shape)
    t.summary = _summary_entry(c, part, t.kpis, ref_kpis, reps, results, buffer, autoscaler,
                               covenants, (loan_max, loan_tol))
    t.metrics = grid_metrics(t.kpis, covenants, loan_max)
    if g == c.grid_points[0]:
        t.fans = {"plot_revenue": fan_rows(results["revenue_eur"]),
                  "plot_cash": fan_rows(results["free_cash_eur"]),
                  "plot_dscr": fan_rows(results["dscr_t12"]),
                  **({"plot_customers": fan_rows(pub["active_customers"])} if pub else {})}
    return t


def percentile_series(lines_on: OptionalLines) -> tuple[str, ...]:
    """The P&L, cash-flow and balance-sheet series whose monthly percentiles the tables show."""
    return tuple(sorted({*lines_on.pnl_series(), *lines_on.cash_series(),
                         *BALANCE_SHEET_PERCENTILES}))


def percentile_paths(results: Mapping[str, np.ndarray], lines_on: OptionalLines,
                     qs: Sequence[int]) -> dict[str, np.ndarray]:
    """Per-month percentiles ``(len(qs), months)`` of every :func:`percentile_series`, over a
    grid point's samples (finite values only: a DSCR without debt service is undefined, not
    zero)."""
    return {s: monthly_percentiles(results[s], qs, finite_only=True)
            for s in percentile_series(lines_on)}


def _monthly_tables(t: GridTables, c: Consolidation, g: int, results, reference,
                    lines_on: OptionalLines) -> None:
    """The P&L, cash-flow, balance-sheet and VAT rows: reference path + percentiles."""
    pnl_series, cash_series, qs = lines_on.pnl_series(), lines_on.cash_series(), c.qs
    pct = percentile_paths(results, lines_on, qs)
    t.pnl = monthly_rows(g, reference, pnl_series, pct, pnl_series, qs, c.calendar)
    t.cash = monthly_rows(g, reference, cash_series, pct, cash_series, qs, c.calendar)
    t.balance_sheet = monthly_rows(g, reference, BALANCE_SHEET_SERIES, pct,
                                   BALANCE_SHEET_PERCENTILES, qs, c.calendar)
    policy = c.configs.reference(g).tax.vat_buffer_policy
    t.vat = [row + [policy] for row in
             monthly_rows(g, reference, VAT_SERIES, {}, (), qs, c.calendar)]


def _summary_entry(c: Consolidation, part: GridPart, kpis, ref_kpis, reps, results,
                   buffer: float, autoscaler, covenants,
                   loan: tuple[float, float]) -> dict[str, Any]:
    """A grid point's entry in ``consolidated_summary.json``; ``monthly_statistics_samples``
    is how many samples the monthly statistics and the max-loan search used (every sample
    unless ``stochastic.percentile_samples`` is set)."""
    g, qs = part.grid_index, c.qs
    breach = kpis["first_breach_month"][1]
    breach = breach[breach > 0]

    def sel(doc):
        return (doc or {}).get("grid", {}).get(str(g))

    return {
        "kpis": {m: {"unit": u, **{f"p{q}": _num(x) for q, x in zip(qs, percentiles(v, qs),
                                                                      strict=True)},
                     "mean": _num(float(np.nanmean(v)) if np.isfinite(v).any() else None),
                     "se_p50": _num(between_replicate_se(v, reps, median)),
                     "reference": _num(float(ref_kpis[m][1][0])) if m in ref_kpis else None}
                 for m, (u, v) in kpis.items()},
        "independent_parameter_draws": int(len(np.unique(reps))),
        "balance_sheet_max_abs_difference_eur": part.balance_sheet_difference_eur,
        "cash_buffer_eur": buffer,
        "samples": int(len(reps)),
        "monthly_statistics_samples": int(results["revenue_eur"].shape[0]),
        "autoscaling": autoscaler,
        "covenants": {**covenants,
                      "first_breach_month_percentiles": {
                          f"p{q}": _num(x) for q, x in zip(
                              qs, percentiles(breach.astype(float), qs), strict=True)},
                      "max_loan_eur_p10_dscr": loan[0],
                      "max_loan_tolerance_eur": loan[1]},
        "public": sel(c.demand_doc), "private": sel(c.private_doc),
    }


def grid_metrics(kpis, covenants, loan_max: float) -> dict[str, Any]:
    """DVC metrics of a grid point, rounded like ``consolidated_kpis.csv``."""
    out = {name: _rounded(percentiles(kpis[metric][1], [q])[0],
                          4 if kpis[metric][0] == "ratio" else 2)
           for name, metric, q in METRIC_PERCENTILES}
    out.update(p_cash_negative_any_month=covenants["p_cash_negative_any_month"],
               max_loan_eur_p10_dscr=loan_max)
    return out


def _rounded(x, decimals: int) -> float | None:
    return None if x is None or not np.isfinite(x) else round(float(x), decimals)


def _num(x) -> float | None:
    return None if x is None or not np.isfinite(x) else float(x)
