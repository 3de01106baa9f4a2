"""Rows of the Private Tap CSVs (fixed columns and precision)."""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import numpy as np

from d3.io.writers import calendar_month, fmt_float

PROVIDER_COLUMNS = ("gpu", "provider", "usd_hr", "eur_hr", "availability_frac",
                    "reputation_frac", "provider_eur_hr_med")
# SPEC §6.2 columns first (``margin_eur_hr``/``margin_pct`` against the median provider), then
# the fees, the provider count and the margin against the vendor actually paid.
ECONOMICS_COLUMNS = ("gpu", "provider_eur_hr_med", "markup_pct", "sell_eur_hr", "margin_eur_hr",
                     "margin_pct", "management_fee_eur_per_month", "base_fee_eur_per_month",
                     "providers", "vendor_provider", "vendor_paid_eur_hr",
                     "margin_vendor_eur_hr", "margin_vendor_pct")
VENDOR_COLUMNS = ("gpu", "provider", "usd_hr", "eur_hr_effective", "score")
PERCENTILE_SERIES = ("active_clients", "new_clients", "hours", "revenue_eur", "cogs_eur",
                     "gross_margin_eur")
BASE_COLUMNS = ("month", "private_budget_eur", "private_cac_eur", "expected_new_clients",
                "active_clients", "hours", "sell_eur_hr", "revenue_eur", "grid_index",
                "calendar_month", "usage_revenue_eur", "fee_revenue_eur", "cogs_eur",
                "gross_margin_eur", "cost_eur_hr", "block_purchases_eur", "deferred_eur",
                "expired_eur", "invoiced_eur")
CASH_SERIES = ("block_purchases_eur", "deferred_eur", "expired_eur", "invoiced_eur")


def economics_row(e, providers: int) -> list[str]:
    """One ``private_tap_economics.csv`` row of a ``ClassEconomics`` (EUR/hr 6 decimals,
    percentages 4, fees 2)."""
    return [e.gpu, fmt_float(e.provider_eur_hr_med, 6), fmt_float(e.markup_pct, 2),
            fmt_float(e.sell_eur_hr, 6), fmt_float(e.margin_eur_hr_vs_median, 6),
            fmt_float(e.margin_pct_vs_median, 4), fmt_float(e.management_fee_eur_per_month, 2),
            fmt_float(e.base_fee_eur_per_month, 2), str(providers), e.vendor_provider,
            fmt_float(e.vendor_paid_eur_hr, 6), fmt_float(e.margin_vendor_eur_hr, 6),
            fmt_float(e.margin_vendor_pct, 4)]


def class_summary(e) -> dict:
    """A class's entry in ``private_pricing.json`` (full precision; acceptance reads
    ``margin_vendor_pct``)."""
    return {"sell_eur_hr": e.sell_eur_hr, "provider_eur_hr_med": e.provider_eur_hr_med,
            "margin_pct_vs_median": e.margin_pct_vs_median,
            "vendor_provider": e.vendor_provider, "vendor_paid_eur_hr": e.vendor_paid_eur_hr,
            "margin_vendor_eur_hr": e.margin_vendor_eur_hr,
            "margin_vendor_pct": e.margin_vendor_pct}


def customers_columns(percentiles: Sequence[int]) -> tuple[str, ...]:
    return BASE_COLUMNS + tuple(f"p{q}_{s}" for s in PERCENTILE_SERIES for q in percentiles)


def customers_rows(grid_index: int, expected: Mapping[str, np.ndarray], inp, pct, percentiles,
                   calendar: tuple[int, int]) -> list[list[str]]:
    e = {k: v[0] for k, v in expected.items()}
    rows = []
    for m in range(len(e["budget_eur"])):
        row = [str(m + 1), fmt_float(e["budget_eur"][m], 2),
               fmt_float(1.0 / inp.customers_per_eur, 2), fmt_float(e["new_clients"][m], 4),
               fmt_float(e["active_clients"][m], 4), fmt_float(e["hours"][m], 2),
               fmt_float(inp.sell_eur_hr, 6), fmt_float(e["revenue_eur"][m], 2),
               str(grid_index), calendar_month(*calendar, m + 1),
               fmt_float(e["usage_revenue_eur"][m], 2), fmt_float(e["fee_revenue_eur"][m], 2),
               fmt_float(e["cogs_eur"][m], 2), fmt_float(e["gross_margin_eur"][m], 2),
               fmt_float(inp.cost_eur_hr, 6), *(fmt_float(e[s][m], 2) for s in CASH_SERIES)]
        for s in PERCENTILE_SERIES:
            for i, _ in enumerate(percentiles):
                row.append(fmt_float(pct[s][i, m], 2))
        rows.append(row)
    return rows
