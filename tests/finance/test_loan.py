"""Loan schedules against independently computed numbers."""

import math

import pytest

from d3.finance.loan import annuity_payment, loan_schedule


def closed_form(p, annual_pct, n):
    r = annual_pct / 100 / 12
    return p * r / (1 - (1 + r) ** -n)


def test_annuity_30k_60_months_9_95_pct():
    s = loan_schedule(amount_eur=30_000, term_months=60, interest_rate_pct_flat=9.95)
    level = closed_form(30_000, 9.95, 60)  # 636.6735… → 636.67 per month
    assert round(level, 2) == 636.67
    assert s.payment[:-1].tolist() == [636.67] * 59
    # Paying 0.35 cent less than the exact annuity for 59 months leaves ≈ 59 × 0.0035 × (1+r)^k
    # ≈ 0.24 EUR, which the last payment absorbs: 636.91.
    assert s.payment[-1] == 636.91
    assert abs(s.payment[-1] - level) < 60 * 0.005 * (1 + 0.0995 / 12) ** 60
    assert round(s.principal.sum(), 2) == 30_000.00
    assert s.closing_principal[-1] == 0
    assert all(round(i + p, 2) == round(pay, 2) for i, p, pay in
               zip(s.interest, s.principal, s.payment, strict=True))
    # month 1 interest = 30 000 × 0.0995 / 12 = 248.75
    assert s.interest[0] == 248.75
    assert s.opening_principal[1] == s.closing_principal[0]


def test_grace_months_pay_interest_only_then_annuity_over_the_rest():
    s = loan_schedule(amount_eur=30_000, term_months=60, interest_rate_pct_flat=9.95,
                      grace_period_months=3)
    assert s.principal[:3].tolist() == [0, 0, 0]
    assert s.payment[:3].tolist() == [248.75] * 3
    assert s.payment[3] == round(closed_form(30_000, 9.95, 57), 2)
    assert round(s.principal.sum(), 2) == 30_000 and s.closing_principal[-1] == 0


def test_flat_repayment():
    s = loan_schedule(amount_eur=30_000, term_months=60, interest_rate_pct_flat=9.95,
                      repayment="flat")
    assert s.principal.tolist() == [500.0] * 60
    # month 2 interest: 29 500 × 0.0995/12 = 244.604… → 244.60
    assert s.interest[1] == 244.60
    assert s.closing_principal[-1] == 0


def test_bullet_repayment():
    s = loan_schedule(amount_eur=30_000, term_months=60, interest_rate_pct_flat=9.95,
                      repayment="bullet")
    assert s.principal[:-1].sum() == 0 and s.principal[-1] == 30_000
    assert s.interest.tolist() == [248.75] * 60
    assert s.payment[-1] == 30_248.75


def test_zero_rate_annuity_and_closed_form_helper():
    assert annuity_payment(1200, 0.0, 12) == 100
    assert math.isclose(annuity_payment(30_000, 0.0995 / 12, 60), closed_form(30_000, 9.95, 60))
    s = loan_schedule(amount_eur=1000, term_months=3, interest_rate_pct_flat=0)
    assert s.payment.tolist() == [333.33, 333.33, 333.34]
    assert s.interest.sum() == 0 and s.principal.sum() == pytest.approx(1000)
