"""Rows of the consolidated CSVs (fixed columns and precision; empty cell for no value)."""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

import numpy as np

from d3.core.percentiles import percentiles
from d3.finance.mc_error import between_replicate_se, mean, median
from d3.finance.statements import safe_ratio
from d3.io.writers import calendar_month, fmt_float

PNL_SERIES = (
    "revenue_public_eur", "revenue_private_eur", "revenue_eur", "cogs_public_eur",
    "cogs_private_eur", "cogs_eur", "gross_margin_eur", "acquisition_eur", "fixed_costs_eur",
    "insurance_eur", "bizdev_eur", "contingency_eur", "opex_eur", "ebitda_eur",
    "depreciation_eur", "ebit_eur", "interest_eur", "ebt_eur", "tax_eur", "net_income_eur",
    "overhead_public_eur", "overhead_private_eur", "loan_interest_eur", "overdraft_interest_eur",
)
CASH_SERIES = (
    "opening_cash_eur", "operating_cash_eur", "delta_working_capital_eur", "receivables_eur",
    "payables_eur", "deferred_revenue_eur", "vat_collected_eur", "vat_paid_eur",
    "vat_remitted_eur", "capex_eur", "interest_eur", "principal_eur", "closing_cash_eur",
    "dscr", "dscr_t12", "icr", "tax_paid_eur", "tax_payable_eur", "overdraft_interest_eur",
    "overdraft_drawn_eur", "funding_gap_drawn_eur", "overdraft_eur", "funding_gap_eur",
    "net_cash_eur", "free_cash_eur",
)
BALANCE_SHEET_SERIES = (
    "bs_cash_eur", "bs_receivables_eur", "bs_fixed_assets_net_eur", "bs_vat_receivable_eur",
    "bs_total_assets_eur", "bs_payables_eur", "bs_deferred_revenue_eur", "bs_vat_payable_eur",
    "bs_corporate_tax_payable_eur", "bs_loan_eur", "bs_overdraft_eur", "bs_funding_gap_eur",
    "bs_total_liabilities_eur", "bs_paid_in_capital_eur", "bs_retained_earnings_eur",
    "bs_total_equity_eur",
)
BALANCE_SHEET_PERCENTILES = BALANCE_SHEET_SERIES
YEAR_SERIES = ("revenue_public_eur", "revenue_private_eur", "revenue_eur", "cogs_eur",
               "gross_margin_eur", "acquisition_eur", "opex_eur", "ebitda_eur",
               "depreciation_eur", "interest_eur", "tax_eur", "net_income_eur")
YEAR_COLUMNS = ("grid_index", "year", "months", "metric", "reference", "p10", "p50", "p90",
                "mean")
VAT_SERIES = ("vat_collected_eur", "vat_paid_eur", "vat_remitted_eur", "vat_payable_eur",
              "vat_set_aside_eur")
LOAN_COLUMNS = ("month", "opening_principal", "interest", "principal", "payment",
                "closing_principal")
# Lines shown only when some configuration of the run uses them, so that a plan without
# salaries or distributions writes the same bytes as before they were modelled.
SALARY_SERIES = ("salaries_eur", "social_security_eur")
DISTRIBUTION_SERIES = ("founder_draw_eur", "dividends_gross_eur", "dividend_withholding_eur",
                       "distributions_eur", "reserve_floor_eur")


@dataclass(frozen=True)
class OptionalLines:
    """Which optional lines the tables show: salaries (P&L, after the fixed costs) and the
    owner's distributions (cash flow, after the principal)."""

    salaries: bool = False
    distributions: bool = False

    def hidden(self) -> tuple[str, ...]:
        """Series left out of every table and of the reference-path JSON."""
        return (*(() if self.salaries else SALARY_SERIES),
                *(() if self.distributions else DISTRIBUTION_SERIES))

    def pnl_series(self) -> tuple[str, ...]:
        return _inserted(PNL_SERIES, "fixed_costs_eur", SALARY_SERIES, self.salaries)

    def cash_series(self) -> tuple[str, ...]:
        return _inserted(CASH_SERIES, "principal_eur", DISTRIBUTION_SERIES, self.distributions)

    def year_series(self) -> tuple[str, ...]:
        return _inserted(YEAR_SERIES, "acquisition_eur", SALARY_SERIES, self.salaries)


def _inserted(series: Sequence[str], after: str, extra: Sequence[str], on: bool):
    """``series`` with ``extra`` after ``after`` when ``on``."""
    if not on:
        return tuple(series)
    i = series.index(after) + 1
    return (*series[:i], *extra, *series[i:])


KPI_BASE = ("grid_index", "metric", "unit")
BREAK_EVEN_COLUMNS = ("month", "grid_index", "fixed_costs_eur", "acquisition_eur", "opex_eur",
                      "p50_gross_margin_pct", "p50_revenue_needed_eur", "p50_revenue_eur",
                      "p10_ebitda_eur", "p50_ebitda_eur", "p90_ebitda_eur",
                      "p_covered", "covered", "reference_ebitda_eur", "reference_covered",
                      "public_customers_needed", "private_clients_needed")


def cell(value: float, decimals: int = 2) -> str:
    return "" if value is None or not math.isfinite(value) else fmt_float(value, decimals)


def _decimals(name: str) -> int:
    return 4 if name in ("dscr", "dscr_t12", "icr") else 2


def monthly_columns(series: Sequence[str], pct_series: Sequence[str],
                    qs: Sequence[int]) -> tuple[str, ...]:
    return ("month", "grid_index", "calendar_month", *series,
            *(f"p{q}_{s}" for s in pct_series for q in qs))


def monthly_rows(grid_index: int, expected: Mapping[str, np.ndarray], series: Sequence[str],
                 pct: Mapping[str, np.ndarray], pct_series: Sequence[str], qs: Sequence[int],
                 calendar: tuple[int, int]) -> list[list[str]]:
    months = len(expected[series[0]])
    rows = []
    for m in range(months):
        row = [str(m + 1), str(grid_index), calendar_month(*calendar, m + 1)]
        row += [cell(float(expected[s][m]), _decimals(s)) for s in series]
        row += [cell(float(pct[s][i, m]), _decimals(s)) for s in pct_series
                for i in range(len(qs))]
        rows.append(row)
    return rows


def kpi_columns(qs: Sequence[int]) -> tuple[str, ...]:
    return (*KPI_BASE, *(f"p{q}" for q in qs), "mean", "se_p50", "se_mean", "reference")


def year_rows(grid_index: int, results: Mapping[str, np.ndarray],
              reference: Mapping[str, np.ndarray], qs: Sequence[int],
              series: Sequence[str] = YEAR_SERIES) -> list[list[str]]:
    """Per plan year (months 1–12, 13–24, …) and in total: each sample's sum, then the
    percentiles across samples (never the sum of monthly percentiles), beside the reference
    path's sum."""
    months = results[series[0]].shape[1]
    periods = [(str(y + 1), slice(12 * y, min(12 * (y + 1), months)))
               for y in range((months + 11) // 12)] + [("total", slice(0, months))]
    rows = []
    for label, sl in periods:
        n = sl.stop - sl.start
        for s in series:
            per_sample = results[s][:, sl].sum(axis=1)
            pv = np.percentile(per_sample, list(qs), method="linear")
            rows.append([str(grid_index), label, str(n), s,
                         cell(float(np.sum(reference[s][sl]))),
                         *(cell(float(x)) for x in pv), cell(float(per_sample.mean()))])
    return rows


def break_even_rows(g: int, results: Mapping[str, np.ndarray],
                    reference: Mapping[str, np.ndarray], public_active: np.ndarray | None,
                    private_active: np.ndarray | None) -> list[list[str]]:
    """Break-even by the P&L's own definition: a month is covered when EBITDA ≥ 0 (ad spend
    included). Per sample first: the revenue that would cover the month's opex (fixed costs,
    salaries and social security, insurance, bizdev, contingency **and** acquisition) at the
    sample's gross margin, and the
    customers (clients) that would bring it at the sample's revenue per head; then the p50
    across samples. ``p_covered`` is the share of samples with EBITDA ≥ 0; ``covered`` is the
    p50 EBITDA ≥ 0 (the same numbers as ``pnl_by_month.csv``'s ``p50_ebitda_eur``)."""
    rows = []
    months = results["ebitda_eur"].shape[1]
    fixed = (reference["fixed_costs_eur"] + reference.get("salaries_eur", 0.0)
             + reference.get("social_security_eur", 0.0) + reference["insurance_eur"]
             + reference["bizdev_eur"] + reference["contingency_eur"])
    gm = safe_ratio(results["gross_margin_eur"], results["revenue_eur"])
    needed = safe_ratio(results["opex_eur"], gm)
    per_public = _per_head(results["revenue_public_eur"], public_active)
    per_private = _per_head(results["revenue_private_eur"], private_active)
    for m in range(months):
        e = results["ebitda_eur"][:, m]
        p10, p50, p90 = np.percentile(e, [10, 50, 90], method="linear")
        rows.append([
            str(m + 1), str(g), cell(float(fixed[m])),
            cell(_p50(results["acquisition_eur"][:, m])), cell(_p50(results["opex_eur"][:, m])),
            cell(_p50(gm[:, m]) * 100, 4),
            # No revenue covers the opex while the typical sample loses money on each sale.
            cell(_p50(needed[:, m]) if _p50(gm[:, m]) > 0 else float("nan")),
            cell(_p50(results["revenue_eur"][:, m])), cell(float(p10)), cell(float(p50)),
            cell(float(p90)), cell(float(np.mean(e >= 0)), 4), _flag(p50 >= 0),
            cell(float(reference["ebitda_eur"][m])), _flag(reference["ebitda_eur"][m] >= 0),
            _needed_heads(needed[:, m], per_public, m, _p50(gm[:, m])),
            _needed_heads(needed[:, m], per_private, m, _p50(gm[:, m]))])
    return rows


def _needed_heads(needed: np.ndarray, per_head: np.ndarray | None, m: int,
                  gm_p50: float) -> str:
    if per_head is None:
        return ""
    return cell(_p50(safe_ratio(needed, per_head[:, m])) if gm_p50 > 0 else float("nan"))


def _per_head(revenue: np.ndarray, heads: np.ndarray | None) -> np.ndarray | None:
    return None if heads is None else safe_ratio(revenue, heads)


def _p50(values: np.ndarray) -> float:
    """Median of the finite values (NaN when none)."""
    return float(percentiles(values, [50])[0])


def _flag(value) -> str:
    return "true" if bool(value) else "false"


def balance_sheet_difference_eur(r: Mapping[str, np.ndarray]) -> float:
    """max |assets − liabilities − equity| over every sample and month, in EUR (0.00 when the
    sheet balances to the cent)."""
    diff = r["bs_total_assets_eur"] - r["bs_total_liabilities_eur"] - r["bs_total_equity_eur"]
    return float(np.max(np.abs(diff))) if diff.size else 0.0


AUTOSCALER_KPIS = (("scale_events", "events", 0), ("avg_util_pct", "pct", 4),
                   ("p95_util_pct", "pct", 4), ("sla_violations", "ticks", 0))
KPI_DECIMALS = {"EUR": 2, "ratio": 4, "pct": 4, "flag": 4}


def kpi_table_rows(grid_index: int, kpis: Mapping[str, tuple[str, np.ndarray]],
                   reference_kpis: Mapping[str, tuple[str, np.ndarray]],
                   replicate_ids: np.ndarray, qs: Sequence[int]) -> list[list[str]]:
    """Rows of ``consolidated_kpis.csv`` for one grid point: percentiles and mean of each
    per-sample KPI, its between-replicate standard errors and the reference path's value."""
    rows = []
    for metric, (unit, values) in kpis.items():
        places = KPI_DECIMALS.get(unit, 1)
        finite = values[np.isfinite(values)]
        ref = float(reference_kpis[metric][1][0]) if metric in reference_kpis else float("nan")
        rows.append([str(grid_index), metric, unit,
                     *(cell(float(x), places) for x in percentiles(values, qs)),
                     cell(float(finite.mean()) if finite.size else float("nan"), places),
                     cell(between_replicate_se(values, replicate_ids, median), places),
                     cell(between_replicate_se(values, replicate_ids, mean), places),
                     cell(ref, places)])
    return rows


def autoscaler_table_rows(grid_index: int, autoscaler: Mapping[str, Mapping[str, Mapping]],
                          qs: Sequence[int]) -> list[list[str]]:
    """The autoscaler's KPIs per model (and all models) as ``consolidated_kpis.csv`` rows. The
    simulator replays the p50 and p90 demand traces: their values sit in the p50 and p90
    columns; the other columns have no meaning here and stay empty."""
    return [[str(grid_index), f"autoscaler_{metric}[{model}]", unit,
             *(cell(traces[f"p{q}"][metric], places) if f"p{q}" in traces else "" for q in qs),
             "", "", "", ""]
            for model, traces in autoscaler.items() for metric, unit, places in AUTOSCALER_KPIS]
