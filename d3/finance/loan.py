"""Loan schedule (SPEC §7): monthly rate = annual nominal / 12; ``grace_period_months``
interest-only; then ``annuity`` (level payment over the remaining months), ``flat`` (equal
principal) or ``bullet`` (all principal at the end).

Amounts are in cents internally (integers), so interest + principal = payment exactly, the
principal sums to the loan and the closing balance ends at 0; the rounding residue goes into
the last payment.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np


@dataclass(frozen=True)
class LoanSchedule:
    """Per month 1..term, EUR (cents exact)."""

    opening_principal: np.ndarray
    interest: np.ndarray
    principal: np.ndarray
    payment: np.ndarray
    closing_principal: np.ndarray

    def padded(self, months: int) -> LoanSchedule:
        """The schedule over ``months`` (zeros after the term)."""
        def pad(x):
            out = np.zeros(months)
            out[: min(months, len(x))] = x[:months]
            return out
        return LoanSchedule(*(pad(getattr(self, f)) for f in
                              ("opening_principal", "interest", "principal", "payment",
                               "closing_principal")))


def annuity_payment(amount: float, monthly_rate: float, months: int) -> float:
    """Closed form ``P·r / (1 − (1 + r)^−n)`` (``P / n`` when r = 0)."""
    if monthly_rate == 0:
        return amount / months
    return amount * monthly_rate / (1.0 - (1.0 + monthly_rate) ** -months)


def _cents(x: float) -> int:
    return int(round(x * 100))


def loan_schedule(*, amount_eur: float, term_months: int, interest_rate_pct_flat: float,
                  grace_period_months: int = 0, repayment: str = "annuity") -> LoanSchedule:
    rate = interest_rate_pct_flat / 100.0 / 12.0
    balance = _cents(amount_eur)
    amortising = term_months - grace_period_months
    level = _cents(annuity_payment(amount_eur, rate, amortising)) if amortising > 0 else 0
    flat_principal = balance // amortising if amortising > 0 else 0
    rows = []
    for month in range(1, term_months + 1):
        interest = int(round(balance * rate))
        if month <= grace_period_months or balance == 0:
            principal = 0
        elif month == term_months:
            principal = balance  # the rounding residue lands in the last payment
        elif repayment == "annuity":
            principal = min(level - interest, balance)
        elif repayment == "flat":
            principal = min(flat_principal, balance)
        else:  # bullet
            principal = 0
        rows.append((balance, interest, principal, interest + principal, balance - principal))
        balance -= principal
    cols = np.array(rows, dtype=np.int64).T / 100.0
    return LoanSchedule(*cols)
