"""Corporate tax by fiscal year: accrual, loss carry-forward, payment month (issue 11 item 6)."""

from __future__ import annotations

import numpy as np
import pytest

from d3.finance.statements import fiscal_months, pnl_and_cashflow
from tests.finance._plans import corporate_tax_by_fiscal_year, line, schedules


def _tax(ebt_by_month: dict[int, float], months: int, *, start_month=1, fiscal_start=1, lag=5,
         carry_forward=True, rate=20.0):
    ebt = np.zeros((1, months))
    for month, value in ebt_by_month.items():
        ebt[0, month - 1] = value
    return corporate_tax_by_fiscal_year(
        ebt, rate_pct=rate, payment_lag_months=lag, carry_forward=carry_forward,
        fiscal_month=fiscal_months(months, start_month=start_month,
                                   fiscal_year_start_month=fiscal_start))


def test_fiscal_months_follow_the_calendar():
    assert fiscal_months(3, start_month=4).tolist() == [4, 5, 6]  # plan starts in April
    # a fiscal year starting in July: January is fiscal month 7, June fiscal month 12
    assert fiscal_months(8, start_month=1, fiscal_year_start_month=7).tolist() == \
        [7, 8, 9, 10, 11, 12, 1, 2]


def test_a_loss_later_in_the_year_reverses_tax_accrued_on_earlier_profit():
    # EBT +1000, +1000, −1500 at 20 %: tax to date 200, 400, 100 → accruals 200, 200, −300.
    # The year is taxed on 500 → 100 (month-by-month tax would have charged 400).
    t = _tax({1: 1000, 2: 1000, 3: -1500}, 12)
    assert t.accrued[0, :3].tolist() == [200.0, 200.0, -300.0]
    assert t.accrued[0].sum() == pytest.approx(100.0)


def test_losses_carry_forward_across_years_and_are_not_reset_by_a_profit_month():
    # Year 1 (months 1–12): −6000. Year 2: +1000 in month 13, +3000 in month 14 → the 4000
    # profit is absorbed by the 6000 loss: no tax in year 2, 2000 of loss left (a model that
    # resets losses after the profit month 13 would tax month 14).
    # Year 3: +3000 in month 25, −500 in month 26 → taxable 2500 − 2000 = 500 → 100;
    # tax to date: month 25 (3000 − 2000) × 20 % = 200, month 26 (2500 − 2000) × 20 % = 100.
    t = _tax({1: -6000, 13: 1000, 14: 3000, 25: 3000, 26: -500}, 36)
    assert t.accrued[0, :24].tolist() == [0.0] * 24
    assert t.accrued[0, 24:26].tolist() == [200.0, -100.0]
    assert t.payable[0, -1] == pytest.approx(100.0)  # year 3 is paid after the plan
    # without carry-forward across years, year 3 is taxed on its own 2500 → 500
    assert _tax({1: -6000, 13: 1000, 14: 3000, 25: 3000, 26: -500}, 36,
                carry_forward=False).accrued[0, 24:].sum() == pytest.approx(500.0)


def test_the_year_is_paid_lag_months_after_it_ends():
    # Plan starts in April: plan months 1–9 are April–December of year 1. EBT 1000 in month 1
    # → 200 assessed in December (plan month 9), paid 5 months later in plan month 14 (May).
    t = _tax({1: 1000}, 18, start_month=4)
    assert np.flatnonzero(t.paid[0]).tolist() == [13] and t.paid[0, 13] == 200.0
    assert t.payable[0].tolist() == [200.0] * 13 + [0.0] * 5
    # fiscal year from July, plan from January: year 1 ends in plan month 6, paid in month 11
    t = _tax({1: 1000, 7: 500}, 18, fiscal_start=7)
    assert t.paid[0, 10] == 200.0 and t.paid[0].sum() == 200.0
    # lag 0: paid in the year's last month
    assert _tax({1: 1000}, 12, lag=0).paid[0].tolist() == [0.0] * 11 + [200.0]


def test_dscr_uses_tax_paid_not_tax_accrued():
    # revenue 1000 a month, debt service 1000 (principal), tax 20 % paid in the year's last
    # month (lag 0): tax accrued 200 a month, the year's 2400 paid in month 12.
    # DSCR months 1–11 = (1000 − 0) / 1000 = 1; month 12 = (1000 − 2400) / 1000 = −1.4.
    g = schedules(12, principal=[1000.0] * 12, corporate_tax_pct=20.0,
                  corporate_tax_payment_lag_months=0, opening_cash_eur=12_000.0)
    r = pnl_and_cashflow(line(1, 12, 1000.0), line(1, 12), g)
    assert r["tax_eur"][0].tolist() == [200.0] * 12
    assert r["tax_paid_eur"][0].tolist() == [0.0] * 11 + [2400.0]
    assert r["dscr"][0].tolist() == pytest.approx([1.0] * 11 + [-1.4])
    assert r["dscr_t12"][0, 11] == pytest.approx((12_000 - 2400) / 12_000)  # 0.8
