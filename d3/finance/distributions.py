"""Distributions to the owner: founder draws and dividends (docs/FINANCE.md, "Distributions:
founder draw and dividends").

Distributions are equity, not expenses: they change neither EBITDA, EBT nor the corporate
tax. They are paid only from distributable profit (retained earnings: cumulative net income
less the distributions paid before) and never take free cash below the reserve floor. Every
array is ``(samples,)`` or ``(months,)`` in EUR, booked in whole cents.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from d3.finance.money import cents


@dataclass(frozen=True)
class DistributionPolicy:
    """The owner's policy (``reserves.*`` and ``tax.dividend_withholding_pct``); the monthly
    rules that apply it are in :mod:`d3.finance.cash_recursion`.

    ``founder_draw``: ``none``, ``flat`` (``founder_draw_eur_per_month`` every month) or
    ``percent_of_profit`` (``founder_draw_pct_of_profit`` of the month's positive net income).
    ``dividend_pct`` of each closed fiscal year's profit less that year's draws is paid
    ``payment_lag_months`` after the year's last month. ``withholding_pct`` of every
    distribution is dividend tax, withheld from the owner and remitted by the company."""

    founder_draw: str = "none"
    founder_draw_eur_per_month: float = 0.0
    founder_draw_pct_of_profit: float = 0.0
    dividend_pct: float = 0.0
    withholding_pct: float = 0.0
    payment_lag_months: int = 5

    @property
    def pays(self) -> bool:
        """Whether the policy can pay anything at all (else nothing is computed)."""
        return self.founder_draw != "none" or self.dividend_pct > 0


def social_security_eur(salaries_eur, social_security_pct: float):
    """Employer social security on gross salaries: ``salaries × pct / 100``, to the cent."""
    return cents(np.asarray(salaries_eur) * social_security_pct / 100.0)


def reserve_floor_eur(monthly_costs_eur: np.ndarray, *, reserve_months: float,
                      emergency_fund_eur: float, cash_buffer_eur: float) -> np.ndarray:
    """Free cash a distribution must leave, ``(months,)`` EUR: ``max(reserve_months ×
    the month's fixed costs + salaries + social security, emergency fund) + cash buffer``
    (the buffer is the operating minimum the cash criterion already adds on top)."""
    reserve = np.maximum(reserve_months * np.asarray(monthly_costs_eur), emergency_fund_eur)
    return cents(reserve + cash_buffer_eur)


def dividend_withholding_eur(distributions_eur: np.ndarray, withholding_pct: float):
    """Dividend tax withheld from the gross distributions (draws and dividends), to the cent."""
    return cents(distributions_eur * withholding_pct / 100.0)
