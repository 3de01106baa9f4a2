"""Rows of the consolidated CSVs (fixed columns and precision; empty cell for no value)."""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence

import numpy as np

from d3.io.writers import fmt_float
from d3.pipelines.public.demand_tables import calendar_month

PNL_SERIES = (
    "revenue_public_eur", "revenue_private_eur", "revenue_eur", "cogs_public_eur",
    "cogs_private_eur", "cogs_eur", "gross_margin_eur", "acquisition_eur", "fixed_costs_eur",
    "insurance_eur", "bizdev_eur", "contingency_eur", "opex_eur", "ebitda_eur",
    "depreciation_eur", "ebit_eur", "interest_eur", "ebt_eur", "tax_eur", "net_income_eur",
    "overhead_public_eur", "overhead_private_eur",
)
PNL_PERCENTILES = ("revenue_eur", "ebitda_eur", "net_income_eur")
CASH_SERIES = (
    "opening_cash_eur", "operating_cash_eur", "delta_working_capital_eur", "receivables_eur",
    "payables_eur", "deferred_revenue_eur", "vat_collected_eur", "vat_paid_eur",
    "vat_remitted_eur", "capex_eur", "interest_eur", "principal_eur", "closing_cash_eur",
    "dscr", "dscr_t12", "icr",
)
CASH_PERCENTILES = ("closing_cash_eur", "dscr_t12")
VAT_SERIES = ("vat_collected_eur", "vat_paid_eur", "vat_remitted_eur", "vat_payable_eur",
              "vat_set_aside_eur")
LOAN_COLUMNS = ("month", "opening_principal", "interest", "principal", "payment",
                "closing_principal")
KPI_BASE = ("grid_index", "metric", "unit")
BREAK_EVEN_COLUMNS = ("month", "grid_index", "fixed_costs_eur", "gross_margin_pct",
                      "revenue_needed_eur", "revenue_eur", "public_customers_needed",
                      "private_clients_needed", "covered")


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
    return (*KPI_BASE, *(f"p{q}" for q in qs), "mean", "se_p50")


def break_even_rows(g, e, demand_doc, private_doc, months):
    """Revenue needed to cover the fixed overhead at the month's realised gross margin, and
    the customers (or clients) that would bring it at the month's revenue per head."""
    rows = []
    fixed = e["fixed_costs_eur"] + e["insurance_eur"] + e["bizdev_eur"] + e["contingency_eur"]
    for m in range(months):
        revenue, margin = float(e["revenue_eur"][m]), float(e["gross_margin_eur"][m])
        gm = margin / revenue if revenue > 0 else float("nan")
        needed = fixed[m] / gm if gm and gm > 0 else float("nan")
        per_public = per_private = float("nan")
        if "public_active_customers" in e and e["public_active_customers"][m] > 0:
            per_public = e["revenue_public_eur"][m] / e["public_active_customers"][m]
        if "private_active_clients" in e and e["private_active_clients"][m] > 0:
            per_private = e["revenue_private_eur"][m] / e["private_active_clients"][m]
        rows.append([str(m + 1), str(g), cell(float(fixed[m])), cell(gm * 100, 4), cell(needed),
                     cell(revenue), cell(needed / per_public if per_public > 0 else float("nan")),
                     cell(needed / per_private if per_private > 0 else float("nan")),
                     "true" if margin >= fixed[m] else "false"])
    return rows
