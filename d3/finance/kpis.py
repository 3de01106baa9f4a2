"""Per-sample KPIs, then percentiles across samples (SPEC §7: per sample first, then across).
Their Monte Carlo standard errors respect the replicate blocks: d3/finance/mc_error.py."""

from __future__ import annotations

import numpy as np


def month_or_nan(flags: np.ndarray) -> np.ndarray:
    """1-based first month where ``flags`` is true per sample; NaN when never (so a sample
    that never gets there is not counted as month 0 in the percentiles)."""
    first = first_true_month(flags).astype(float)
    return np.where(first > 0, first, np.nan)


def first_true_month(flags: np.ndarray) -> np.ndarray:
    """1-based first month where ``flags`` is true per sample; 0 when never."""
    any_true = flags.any(axis=-1)
    return np.where(any_true, flags.argmax(axis=-1) + 1, 0)


def nan_min(x: np.ndarray) -> np.ndarray:
    """Row minimum ignoring NaN (NaN when the whole row is NaN or empty: a plan of fewer
    months than the window, e.g. 6 months and a T12 DSCR from month 12, has no value)."""
    if x.shape[-1] == 0:
        return np.full(x.shape[:-1], np.nan)
    with np.errstate(all="ignore"):
        filled = np.where(np.isnan(x), np.inf, x)
        out = filled.min(axis=-1)
    return np.where(np.isinf(out), np.nan, out)


def runway_months(free_cash: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Months of free cash ≥ 0 before it first goes negative (first such month − 1), NaN when
    it never does; and a 1/0 flag of those never-ending samples."""
    short = free_cash < 0
    never = ~short.any(axis=-1)
    return np.where(never, np.nan, first_true_month(short) - 1.0), never.astype(float)


def funding_need_eur(free_cash_without_overdraft_interest: np.ndarray, horizon: int, *,
                     cash_buffer_eur: float) -> np.ndarray:
    """Smallest equity added in month 1 that keeps free cash ≥ the buffer over the horizon.

    With that much equity no overdraft is ever drawn within the horizon, so free cash is the
    path without overdraft interest shifted up by the equity (tax and VAT do not depend on
    equity); hence ``max(0, buffer − min free cash)`` over that path (proof in FINANCE.md)."""
    low = free_cash_without_overdraft_interest[:, :horizon].min(axis=1)
    return np.maximum(cash_buffer_eur - low, 0.0)


def first_breach(r: dict[str, np.ndarray], *, min_dscr: float, dscr_from_month: int):
    """Per sample and month: free cash < 0, or (from month ``dscr_from_month`` on) trailing-12
    DSCR below ``min_dscr``."""
    months = r["dscr_t12"].shape[1]
    dscr_low = np.nan_to_num(r["dscr_t12"], nan=np.inf) < min_dscr
    dscr_tested = np.arange(months) >= dscr_from_month - 1
    return (r["free_cash_eur"] < 0) | (dscr_low & dscr_tested)


def sample_kpis(r: dict[str, np.ndarray], horizon: int, *, min_dscr: float,
                dscr_from_month: int = 12,
                cash_buffer_eur: float = 0.0) -> dict[str, tuple[str, np.ndarray]]:
    """Scalars per sample: ``{metric: (unit, values)}``. Flows are summed over the horizon;
    cash and covenant measures look at every month (the whole loan term); the funding need
    at the horizon. Cash measures: ``min_cash_eur`` is the lowest net cash (bank cash −
    overdraft − funding gap), ``min_free_cash_eur`` the lowest free cash (net cash less VAT
    and corporate tax owed)."""
    h = slice(0, horizon)
    t12 = r["dscr_t12"][:, dscr_from_month - 1:] if r["dscr_t12"].shape[1] >= dscr_from_month \
        else r["dscr_t12"]
    ebitda_cum = np.cumsum(r["ebitda_eur"], axis=-1)
    runway, never = runway_months(r["free_cash_eur"])
    min_free = r["free_cash_eur"].min(axis=1)
    gap = r["funding_gap_eur"]
    return {
        "revenue_total_eur": ("EUR", r["revenue_eur"][:, h].sum(axis=1)),
        "revenue_public_eur": ("EUR", r["revenue_public_eur"][:, h].sum(axis=1)),
        "revenue_private_eur": ("EUR", r["revenue_private_eur"][:, h].sum(axis=1)),
        "gross_margin_eur": ("EUR", r["gross_margin_eur"][:, h].sum(axis=1)),
        "opex_eur": ("EUR", r["opex_eur"][:, h].sum(axis=1)),
        "ebitda_eur": ("EUR", r["ebitda_eur"][:, h].sum(axis=1)),
        "net_income_eur": ("EUR", r["net_income_eur"][:, h].sum(axis=1)),
        "closing_cash_horizon_eur": ("EUR", r["net_cash_eur"][:, horizon - 1]),
        "min_cash_eur": ("EUR", r["net_cash_eur"].min(axis=1)),
        "min_free_cash_eur": ("EUR", min_free),
        "min_free_cash_less_buffer_eur": ("EUR", min_free - cash_buffer_eur),
        "min_dscr_monthly": ("ratio", nan_min(r["dscr"])),
        "min_dscr_t12": ("ratio", nan_min(t12)),
        "months_to_ebitda_break_even": ("months", month_or_nan(r["ebitda_eur"] >= 0)),
        "ebitda_break_even_never": ("flag", (~(r["ebitda_eur"] >= 0).any(axis=1))
                                    .astype(float)),
        "months_to_cumulative_break_even": ("months", month_or_nan(ebitda_cum >= 0)),
        "cumulative_break_even_never": ("flag", (~(ebitda_cum >= 0).any(axis=1))
                                        .astype(float)),
        "runway_months": ("months", runway),
        "runway_never_ends": ("flag", never),
        "funding_need_eur": ("EUR", funding_need_eur(
            r["free_cash_without_overdraft_interest_eur"], horizon,
            cash_buffer_eur=cash_buffer_eur)),
        # The same over the whole loan term (every month the plan has).
        "funding_need_term_eur": ("EUR", funding_need_eur(
            r["free_cash_without_overdraft_interest_eur"],
            r["free_cash_without_overdraft_interest_eur"].shape[1],
            cash_buffer_eur=cash_buffer_eur)),
        "max_funding_gap_eur": ("EUR", gap.max(axis=1)),
        "months_with_funding_gap": ("months", (gap > 0).sum(axis=1).astype(float)),
        "first_breach_month": ("months", first_true_month(first_breach(
            r, min_dscr=min_dscr, dscr_from_month=dscr_from_month)).astype(float)),
    }


# The owner's distributions as KPIs (only when the run can pay them, like their table lines).
DISTRIBUTION_KPI_SERIES = ("founder_draw_eur", "dividends_gross_eur", "dividend_withholding_eur",
                           "distributions_eur")


def distribution_kpis(r: dict[str, np.ndarray], horizon: int) -> dict[str, tuple[str, np.ndarray]]:
    """Per sample, EUR: each distribution line summed over the horizon and, as ``*_term``, over
    every month of the plan (a year's dividend is paid with its corporate tax, months after the
    year ends, so a one-year horizon rarely holds one). ``distributions_eur`` is the gross
    (company cash out) = draws + gross dividends; the owner receives it less the withholding."""
    h = slice(0, horizon)
    out = {s: ("EUR", r[s][:, h].sum(axis=1)) for s in DISTRIBUTION_KPI_SERIES}
    out.update({s.removesuffix("_eur") + "_term_eur": ("EUR", r[s].sum(axis=1))
                for s in DISTRIBUTION_KPI_SERIES})
    return out


def covenant_probabilities(kpis: dict[str, tuple[str, np.ndarray]], *,
                           min_dscr: float) -> dict[str, float]:
    """Shares of samples: T12 DSCR below target, net cash < 0 (overdraft or gap drawn) in any
    month, free cash below the buffer in any month, a funding gap in any month, any breach."""
    n = len(kpis["min_cash_eur"][1])
    if n == 0:
        return dict.fromkeys(("p_min_dscr_t12_below_target", "p_cash_negative_any_month",
                              "p_free_cash_below_buffer_any_month", "p_funding_gap_any_month",
                              "p_any_breach"), 0.0)
    return {
        "p_min_dscr_t12_below_target": float(np.mean(
            np.nan_to_num(kpis["min_dscr_t12"][1], nan=np.inf) < min_dscr)),
        "p_cash_negative_any_month": float(np.mean(kpis["min_cash_eur"][1] < 0)),
        "p_free_cash_below_buffer_any_month": float(np.mean(
            kpis["min_free_cash_less_buffer_eur"][1] < 0)),
        "p_funding_gap_any_month": float(np.mean(kpis["max_funding_gap_eur"][1] > 0)),
        "p_any_breach": float(np.mean(kpis["first_breach_month"][1] > 0)),
    }
