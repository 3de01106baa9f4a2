"""The month recursion of cash, bank financing, corporate tax and owner distributions, compiled
(numba): :func:`financing_paths`, called by :func:`d3.finance.statements.bank_financing`.

A month's overdraft interest depends on the previous month's cash, the tax on the interest,
and the distributions on both, so the months run in order; each sample runs on its own. The
rules (docs/FINANCE.md, "Corporate tax" and "Distributions"), per sample and month ``m``:

1. overdraft interest = cents(rate / 12 × max(−net cash, 0)) on the opening overdraft and
   funding gap;
2. corporate tax per fiscal year: EBT to date (after that interest) less losses brought
   forward, × rate, to the cent; the month accrues that minus the previous month's tax to
   date (a loss month reverses tax accrued earlier in the year); at the year's last month
   (fiscal month 12) the tax to date is assessed and due ``tax_lag`` months later; losses
   carried into the next year are ``max(losses − year EBT, 0)`` (none without carry-forward);
3. net cash += cash flow before financing − interest − tax paid;
4. distributions, when the policy pays (:class:`d3.finance.distributions.DistributionPolicy`):
   retained earnings += net income; the founder draw (flat, or a percent of a positive
   month's net income) is capped by ``max(retained earnings, 0)`` and by
   ``max(free cash − reserve floor, 0)`` (free cash: net cash − VAT owed − tax owed); at a
   fiscal year's last month the year's dividend is declared, ``dividend_pct × max(year net
   income − year draws, 0)``, and paid ``dividend_lag`` months later after that month's draw,
   capped the same way (what a cap cuts stays in the company); net cash −= draw + dividend.

Every amount is booked in whole cents with numpy's rounding (:func:`cents_one`), and every
``max``/``min`` is numpy's (:mod:`d3.core.scalar_math`: NaN propagates, ties to the second
argument), so on finite inputs the numbers — the sign of a zero included — are those of the
same recursion in numpy (``tests/finance/test_cash_recursion.py`` checks the bytes against a
vectorised step-by-step reference on random plans). A NaN input gives NaN where numpy does,
possibly with another sign bit. ``tax_lag_months`` and ``dividend_lag_months`` must be ≥ 0
(:func:`d3.finance.statements.bank_financing` checks).
"""

from __future__ import annotations

import numba
import numpy as np

from d3.core.scalar_math import larger, smaller

DRAW_NONE, DRAW_FLAT, DRAW_PERCENT = 0, 1, 2
DRAW_KINDS = {"none": DRAW_NONE, "flat": DRAW_FLAT, "percent_of_profit": DRAW_PERCENT}


@numba.njit(cache=True, nogil=True)
def cents_one(x: float) -> float:  # pragma: no cover - compiled
    """One amount to the cent as :func:`d3.finance.money.cents` books it: numpy's
    ``round(x, 2)`` is ``rint(x × 100) / 100`` (half to even on the scaled value)."""
    return np.rint(x * 100.0) / 100.0


@numba.njit(cache=True, nogil=True)
def founder_draw_wanted_eur(kind: int, flat_eur: float, pct_of_profit: float,
                            net_income_eur: float) -> float:  # pragma: no cover - compiled
    """The month's draw before the caps (EUR): ``flat_eur`` (already in cents) under
    ``DRAW_FLAT``, ``pct_of_profit`` % of a positive net income to the cent under
    ``DRAW_PERCENT``, 0 under ``DRAW_NONE``."""
    if kind == DRAW_FLAT:
        return flat_eur
    if kind == DRAW_PERCENT:
        return cents_one(pct_of_profit / 100.0 * larger(net_income_eur, 0.0))
    return 0.0


@numba.njit(cache=True, nogil=True)
def financing_paths(ebt_before_overdraft, flow_before_financing, vat_owed, fiscal_month,
                    reserve_floor, opening_cash_eur, overdraft_rate_monthly, tax_rate_pct,
                    tax_lag_months, loss_carry_forward, pays, draw_kind, draw_flat_eur,
                    draw_pct_of_profit, dividend_pct,
                    dividend_lag_months):  # pragma: no cover - compiled
    """The recursion of the module docstring. Arrays ``(samples, months)`` EUR (float64,
    C-contiguous) except ``fiscal_month`` (1..12, int64) and ``reserve_floor`` (EUR, cents)
    ``(months,)``; ``overdraft_rate_monthly`` a fraction per month. Returns (overdraft
    interest, tax accrued, tax paid, net cash, founder draw, dividends), each ``(samples,
    months)`` EUR."""
    n, t = ebt_before_overdraft.shape
    interest, accrued, paid = np.zeros((n, t)), np.zeros((n, t)), np.zeros((n, t))
    net_cash, draw, dividend = np.zeros((n, t)), np.zeros((n, t)), np.zeros((n, t))
    tax_due, dividend_due = np.zeros(t), np.zeros(t)  # by payment month, one sample at a time
    tax_frac = tax_rate_pct / 100.0
    for i in range(n):
        tax_due[:] = 0.0
        dividend_due[:] = 0.0
        net, tax_owed = opening_cash_eur, 0.0
        ebt_ytd, losses, tax_ytd = 0.0, 0.0, 0.0
        retained, year_income, year_draws = 0.0, 0.0, 0.0
        for m in range(t):
            fiscal = fiscal_month[m]
            new_year = fiscal == 1 and m > 0
            owed_interest = cents_one(overdraft_rate_monthly * larger(-net, 0.0))
            if new_year:
                losses = larger(losses - ebt_ytd, 0.0) if loss_carry_forward else 0.0
                ebt_ytd, tax_ytd = 0.0, 0.0
            ebt_ytd = ebt_ytd + (ebt_before_overdraft[i, m] - owed_interest)
            tax_to_date = cents_one(tax_frac * larger(ebt_ytd - losses, 0.0))
            tax_accrued, tax_ytd = tax_to_date - tax_ytd, tax_to_date
            if fiscal == 12 and m + tax_lag_months < t:
                tax_due[m + tax_lag_months] += tax_to_date
            tax_paid = tax_due[m]
            net = net + flow_before_financing[i, m] - owed_interest - tax_paid
            if pays:
                tax_owed = tax_owed + (tax_accrued - tax_paid)
                net_income = ebt_before_overdraft[i, m] - owed_interest - tax_accrued
                free_cash = net - vat_owed[i, m] - tax_owed
                if new_year:
                    year_income, year_draws = 0.0, 0.0
                retained = retained + net_income
                year_income = year_income + net_income
                room = larger(free_cash - reserve_floor[m], 0.0)
                wanted = founder_draw_wanted_eur(draw_kind, draw_flat_eur, draw_pct_of_profit,
                                                 net_income)
                drawn = smaller(smaller(wanted, larger(retained, 0.0)), room)
                retained = retained - drawn
                year_draws = year_draws + drawn
                if fiscal == 12 and dividend_pct > 0 and m + dividend_lag_months < t:
                    dividend_due[m + dividend_lag_months] = cents_one(
                        dividend_pct / 100.0 * larger(year_income - year_draws, 0.0))
                paid_out = smaller(smaller(dividend_due[m], larger(retained, 0.0)),
                                    room - drawn)
                retained = retained - paid_out
                net = net - drawn - paid_out
                draw[i, m], dividend[i, m] = drawn, paid_out
            interest[i, m], accrued[i, m], paid[i, m] = owed_interest, tax_accrued, tax_paid
            net_cash[i, m] = net
    return interest, accrued, paid, net_cash, draw, dividend
