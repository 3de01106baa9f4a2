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
    """The owner's policy (``reserves.*`` and ``tax.dividend_withholding_pct``).

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


def founder_draw_wanted_eur(policy: DistributionPolicy, net_income: np.ndarray) -> np.ndarray:
    """The month's draw before the caps, ``(samples,)`` EUR: the flat amount, or the percent
    of the month's net income when positive; 0 without a draw policy."""
    if policy.founder_draw == "flat":
        return np.full(net_income.shape, float(cents(policy.founder_draw_eur_per_month)))
    if policy.founder_draw == "percent_of_profit":
        return cents(policy.founder_draw_pct_of_profit / 100.0 * np.maximum(net_income, 0.0))
    return np.zeros(net_income.shape)


class OwnerDistributions:
    """Founder draws and dividends per sample, stepped month by month after the month's cash
    flow (operations, interest, tax paid) is known.

    Each month: retained earnings += net income; the draw is the wanted draw capped by
    ``max(retained earnings, 0)`` and by ``max(free cash − floor, 0)``. At a fiscal year's last
    month, the year's dividend is fixed at ``dividend_pct × max(year net income − year draws,
    0)`` and paid ``payment_lag_months`` later (after that month's draw), capped the same way;
    what a cap cuts stays in the company (it is not carried to a later month)."""

    def __init__(self, samples: int, policy: DistributionPolicy):
        self.policy = policy
        self.retained = np.zeros(samples)  # cumulative net income − distributions paid
        self.year_income = np.zeros(samples)
        self.year_draws = np.zeros(samples)
        self.due: dict[int, np.ndarray] = {}  # payment month → declared dividend

    def step(self, month: int, fiscal_month: int, net_income: np.ndarray,
             free_cash: np.ndarray, floor_eur: float) -> tuple[np.ndarray, np.ndarray]:
        """Month ``month`` (0-based) → (founder draw, gross dividend), each ``(samples,)``
        EUR; ``free_cash`` is before any distribution of the month."""
        if fiscal_month == 1 and month > 0:
            self.year_income = np.zeros_like(self.year_income)
            self.year_draws = np.zeros_like(self.year_draws)
        self.retained = self.retained + net_income
        self.year_income = self.year_income + net_income
        room = np.maximum(free_cash - floor_eur, 0.0)
        draw = self._capped(founder_draw_wanted_eur(self.policy, net_income), room)
        self.year_draws = self.year_draws + draw
        if fiscal_month == 12 and self.policy.dividend_pct > 0:
            declared = cents(self.policy.dividend_pct / 100.0
                             * np.maximum(self.year_income - self.year_draws, 0.0))
            self.due[month + self.policy.payment_lag_months] = declared
        dividend = self._capped(self.due.pop(month, np.zeros_like(draw)), room - draw)
        return draw, dividend

    def _capped(self, wanted: np.ndarray, room: np.ndarray) -> np.ndarray:
        """``wanted`` capped by distributable profit and ``room``; books it."""
        paid = np.minimum(np.minimum(wanted, np.maximum(self.retained, 0.0)), room)
        self.retained = self.retained - paid
        return paid


def dividend_withholding_eur(distributions_eur: np.ndarray, withholding_pct: float):
    """Dividend tax withheld from the gross distributions (draws and dividends), to the cent."""
    return cents(distributions_eur * withholding_pct / 100.0)
