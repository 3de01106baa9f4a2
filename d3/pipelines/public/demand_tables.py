"""Rows of public_tap_customers_by_month.csv and public_tap_scenarios.csv."""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence

import numpy as np

from d3.io.writers import calendar_month, fmt_float, money_text, price_text

PERCENTILE_SERIES = ("active_customers", "new_customers", "tokens", "credits_sold_eur",
                     "revenue_eur", "gross_margin_eur", "tokens_served", "unserved_tokens",
                     "cogs_eur", "tokens_demanded")
_DECIMALS = {"active_customers": 2, "new_customers": 2, "tokens": 0, "tokens_served": 0,
             "unserved_tokens": 0, "tokens_demanded": 0}
BASE_COLUMNS = (
    "month", "budget_eur", "cac_eur", "expected_new_customers", "active_customers", "tokens",
    "blended_sell_eur_per_1k", "credits_sold_eur", "cumulative_credits_eur", "cogs_eur",
    "gross_margin_eur", "grid_index", "calendar_month", "revenue_eur", "expired_eur",
    "deferred_eur", "tokens_served", "tokens_demanded", "unserved_tokens", "refunds_eur",
    "priced_cogs_eur", "priced_margin_pct", "realised_margin_pct",
)
SCENARIO_COLUMNS = (
    "scenario", "grid_index", "period", "months", "new_customers", "active_customers_end",
    "tokens", "credits_sold_eur", "revenue_eur", "cogs_eur", "gross_margin_eur",
    "marketing_eur", "net_eur", "tokens_served", "unserved_tokens", "refunds_eur",
    "priced_margin_pct", "realised_margin_pct",
)


def priced_margin_pct(served_eur: float, priced_cogs_eur: float) -> float:
    """Margin the price list promises on the tokens served: (served revenue − served tokens at
    the priced cost) / served revenue × 100 (NaN when nothing is served)."""
    return (served_eur - priced_cogs_eur) / served_eur * 100.0 if served_eur > 0 else math.nan


def realised_margin_pct(revenue_eur: float, cogs_eur: float) -> float:
    """The P&L's public gross margin: (revenue − rented capacity cost) / revenue × 100."""
    return (revenue_eur - cogs_eur) / revenue_eur * 100.0 if revenue_eur > 0 else math.nan


def customers_columns(percentiles: Sequence[int]) -> tuple[str, ...]:
    return BASE_COLUMNS + tuple(f"p{q}_{s}" for s in PERCENTILE_SERIES for q in percentiles)


def customers_rows(grid_index: int, expected: Mapping[str, np.ndarray], cac_eur: float,
                   price: float, pct: Mapping[str, np.ndarray], percentiles: Sequence[int],
                   calendar: tuple[int, int]) -> list[list[str]]:
    e = {k: v[0] for k, v in expected.items()}
    cumulative = np.cumsum(e["credits_sold_eur"])
    rows = []
    for m in range(len(e["budget_eur"])):
        row = [str(m + 1), money_text(e["budget_eur"][m]), money_text(cac_eur),
               fmt_float(e["new_customers"][m], 4), fmt_float(e["active_customers"][m], 4),
               fmt_float(e["tokens"][m], 0), price_text(price),
               money_text(e["credits_sold_eur"][m]), money_text(cumulative[m]),
               money_text(e["cogs_eur"][m]), money_text(e["gross_margin_eur"][m]),
               str(grid_index), calendar_month(*calendar, m + 1),
               money_text(e["revenue_eur"][m]), money_text(e["expired_eur"][m]),
               money_text(e["deferred_eur"][m]), fmt_float(e["tokens_served"][m], 0),
               fmt_float(e["tokens_demanded"][m], 0), fmt_float(e["unserved_tokens"][m], 0),
               money_text(e["refunds_eur"][m]), money_text(e["priced_cogs_eur"][m]),
               pct_cell(priced_margin_pct(e["served_eur"][m], e["priced_cogs_eur"][m])),
               pct_cell(realised_margin_pct(e["revenue_eur"][m], e["cogs_eur"][m]))]
        for s in PERCENTILE_SERIES:
            for i, _ in enumerate(percentiles):
                row.append(fmt_float(pct[s][i, m], _DECIMALS.get(s, 2)))
        rows.append(row)
    return rows


def scenario_rows(name: str, grid_index: int, paths: Mapping[str, np.ndarray],
                  periods: Mapping[str, int]) -> list[list[str]]:
    e = {k: v[0] for k, v in paths.items()}
    # Money is booked in cents month by month (as the P&L books it), then summed.
    e.update({k: np.round(e[k], 2) for k in ("credits_sold_eur", "revenue_eur", "cogs_eur",
                                              "budget_eur", "refunds_eur",
                                              "served_eur", "priced_cogs_eur")})
    rows = []
    for period, n in periods.items():
        margin = e["revenue_eur"][:n].sum() - e["cogs_eur"][:n].sum()
        marketing = e["budget_eur"][:n].sum()
        rows.append([name, str(grid_index), period, str(n),
                     fmt_float(e["new_customers"][:n].sum(), 2),
                     fmt_float(e["active_customers"][n - 1], 2),
                     fmt_float(e["tokens"][:n].sum(), 0),
                     money_text(e["credits_sold_eur"][:n].sum()),
                     money_text(e["revenue_eur"][:n].sum()),
                     money_text(e["cogs_eur"][:n].sum()), money_text(margin),
                     money_text(marketing), money_text(margin - marketing),
                     fmt_float(e["tokens_served"][:n].sum(), 0),
                     fmt_float(e["unserved_tokens"][:n].sum(), 0),
                     money_text(e["refunds_eur"][:n].sum()),
                     pct_cell(priced_margin_pct(e["served_eur"][:n].sum(),
                                                e["priced_cogs_eur"][:n].sum())),
                     pct_cell(realised_margin_pct(e["revenue_eur"][:n].sum(),
                                                  e["cogs_eur"][:n].sum()))])
    return rows


def pct_cell(value: float) -> str:
    """A percentage at 4 decimals; empty when undefined."""
    return "" if not math.isfinite(value) else fmt_float(value, 4)
