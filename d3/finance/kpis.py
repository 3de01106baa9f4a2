"""Per-sample KPIs, then percentiles across samples (SPEC §7: per sample first, then across).

The standard error of a percentile uses the distribution-free order-statistic interval: the
ranks ``n·q ± 1.96·√(n·q·(1−q))`` bracket the q-quantile with ≈ 95 % probability, so half the
distance between those order statistics, divided by 1.96, estimates its standard error.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np


def percentiles(values: np.ndarray, qs: Sequence[int]) -> np.ndarray:
    """Linear-interpolation percentiles of finite values (NaN when there are none)."""
    v = values[np.isfinite(values)]
    if v.size == 0:
        return np.full(len(qs), np.nan)
    return np.percentile(v, list(qs), method="linear")


def percentile_se(values: np.ndarray, q: float) -> float:
    v = np.sort(values[np.isfinite(values)])
    n = v.size
    if n < 2:
        return float("nan")
    p = q / 100.0
    half = 1.96 * np.sqrt(n * p * (1 - p))
    lo = int(np.clip(np.floor(n * p - half), 0, n - 1))
    hi = int(np.clip(np.ceil(n * p + half), 0, n - 1))
    return float((v[hi] - v[lo]) / 2.0 / 1.96)


def first_true_month(flags: np.ndarray) -> np.ndarray:
    """1-based first month where ``flags`` is true per sample; 0 when never."""
    any_true = flags.any(axis=-1)
    return np.where(any_true, flags.argmax(axis=-1) + 1, 0)


def nan_min(x: np.ndarray) -> np.ndarray:
    """Row minimum ignoring NaN (NaN when the whole row is NaN)."""
    with np.errstate(all="ignore"):
        filled = np.where(np.isnan(x), np.inf, x)
        out = filled.min(axis=-1)
    return np.where(np.isinf(out), np.nan, out)


def sample_kpis(r: dict[str, np.ndarray], horizon: int, *, min_dscr: float,
                dscr_from_month: int = 12) -> dict[str, tuple[str, np.ndarray]]:
    """Scalars per sample: ``{metric: (unit, values)}``. Flows are summed over the horizon;
    covenant measures look at the whole loan term."""
    h = slice(0, horizon)
    t12 = r["dscr_t12"][:, dscr_from_month - 1:] if r["dscr_t12"].shape[1] >= dscr_from_month \
        else r["dscr_t12"]
    breach = (r["closing_cash_eur"] < 0) | (np.nan_to_num(r["dscr_t12"], nan=np.inf) < min_dscr) \
        * (np.arange(r["dscr_t12"].shape[1]) >= dscr_from_month - 1)
    ebitda_cum = np.cumsum(r["ebitda_eur"], axis=-1)
    return {
        "revenue_total_eur": ("EUR", r["revenue_eur"][:, h].sum(axis=1)),
        "revenue_public_eur": ("EUR", r["revenue_public_eur"][:, h].sum(axis=1)),
        "revenue_private_eur": ("EUR", r["revenue_private_eur"][:, h].sum(axis=1)),
        "gross_margin_eur": ("EUR", r["gross_margin_eur"][:, h].sum(axis=1)),
        "opex_eur": ("EUR", r["opex_eur"][:, h].sum(axis=1)),
        "ebitda_eur": ("EUR", r["ebitda_eur"][:, h].sum(axis=1)),
        "net_income_eur": ("EUR", r["net_income_eur"][:, h].sum(axis=1)),
        "closing_cash_horizon_eur": ("EUR", r["closing_cash_eur"][:, horizon - 1]),
        "min_cash_eur": ("EUR", r["closing_cash_eur"].min(axis=1)),
        "min_dscr_monthly": ("ratio", nan_min(r["dscr"])),
        "min_dscr_t12": ("ratio", nan_min(t12)),
        "months_to_ebitda_break_even": ("months", first_true_month(r["ebitda_eur"] >= 0)
                                        .astype(float)),
        "months_to_cumulative_break_even": ("months", first_true_month(ebitda_cum >= 0)
                                            .astype(float)),
        "runway_months": ("months", np.where((r["closing_cash_eur"] < 0).any(axis=1),
                                             first_true_month(r["closing_cash_eur"] < 0) - 1,
                                             r["closing_cash_eur"].shape[1]).astype(float)),
        "first_breach_month": ("months", first_true_month(breach).astype(float)),
    }


def covenant_probabilities(kpis: dict[str, tuple[str, np.ndarray]], *,
                           min_dscr: float) -> dict[str, float]:
    n = len(kpis["min_cash_eur"][1])
    breach = kpis["first_breach_month"][1]
    return {
        "p_min_dscr_t12_below_target": float(np.mean(
            np.nan_to_num(kpis["min_dscr_t12"][1], nan=np.inf) < min_dscr)) if n else 0.0,
        "p_cash_negative_any_month": float(np.mean(kpis["min_cash_eur"][1] < 0)) if n else 0.0,
        "p_any_breach": float(np.mean(breach > 0)) if n else 0.0,
    }
