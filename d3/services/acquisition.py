"""Acquisition maths shared by both taps (SPEC §5.3, §6.3): the monthly ads budget (growth,
flat or percent-of-inflow policy), CAC from ad channels, expected and Monte Carlo customer paths.

Shapes: expected paths are ``(months,)``; Monte Carlo paths ``(simulations, months)``. Money is
EUR; ``churn_frac`` is the monthly churn as a fraction.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping
from typing import Any, Protocol

import numpy as np

BUDGET_POLICIES = ("growth", "flat", "pct_of_inflow")


# _samplers: d3.core.inverse_sampling is imported where the draws are made. Its numba kernels
# load at import (≈ 0.4 s), and most stages import this module (through the validator's
# guards) without drawing anything: every `dvc repro` stage process paid for them.


def budget_path(budget_month0_eur: float, growth_pct_mom: float, months: int, *,
                policy: str = "growth", budget_monthly_eur: float = 0.0) -> np.ndarray:
    """The monthly ads budget in EUR for m = 1..months, never negative, under ``policy``:
    ``growth`` — ``budget_0 × (1 + g/100)^(m−1)``; ``flat`` — ``budget_monthly_eur`` every
    month (``budget_0`` and ``g`` unused)."""
    if policy == "flat":
        return np.full(months, max(budget_monthly_eur, 0.0), dtype=np.float64)
    if policy == "pct_of_inflow":
        raise ValueError("a pct_of_inflow budget follows the customer paths: use "
                         "inflow_funded_paths")
    if policy != "growth":
        raise ValueError(f"unknown budget policy {policy!r}; expected one of {BUDGET_POLICIES}")
    growth = (1.0 + growth_pct_mom / 100.0) ** np.arange(months, dtype=np.float64)
    return np.maximum(budget_month0_eur * growth, 0.0)


class BudgetTerms(Protocol):
    """The budget fields both taps' block inputs carry (``DemandInputs``, ``ClientInputs``)."""

    months: int
    budget_month0_eur: float
    budget_growth_pct_mom: float
    budget_policy: str
    budget_monthly_eur: float
    budget_pct_of_inflow: float
    budget_cap_monthly_eur: float
    customers_per_eur: float
    churn_frac: float


def monthly_budget_eur(terms: BudgetTerms) -> np.ndarray:
    """A block's ads budget per month, EUR ``(months,)`` (:func:`budget_path`); not defined for
    ``pct_of_inflow``, whose budget depends on the path (:func:`inflow_funded_paths`)."""
    return budget_path(terms.budget_month0_eur, terms.budget_growth_pct_mom, terms.months,
                       policy=terms.budget_policy, budget_monthly_eur=terms.budget_monthly_eur)


def inflow_funded_paths(
    terms: BudgetTerms,
    customers_per_eur: float,
    churn_frac: float,
    sales_per_new_eur: float | np.ndarray,
    sales_per_returning_eur: float | np.ndarray,
    *,
    simulations: int,
    cac_factor: np.ndarray | None = None,
    new_gen: np.random.Generator | None = None,
    churn_gen: np.random.Generator | None = None,
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Budget, new and active customers, each ``(simulations, months)``, under
    ``budget_policy: pct_of_inflow``: month 1 spends ``budget_month0_eur``; month m ≥ 2 spends
    ``min(budget_cap_monthly_eur, budget_pct_of_inflow/100 × inflow_{m−1})``, where a month's
    inflow is the tap's sales excluding VAT, ``new × sales_per_new + (active − new) ×
    sales_per_returning`` (EUR; scalars or ``(simulations, months)`` arrays). The previous
    month's inflow is used because this month's is not known when the ads are bought.

    Without generators the path is the expected one (``new = budget × customers_per_eur``,
    ``active_m = active_{m−1} × (1 − churn) + new_m``); with them ``new ~ Poisson(budget ×
    customers_per_eur / cac_factor)`` and ``churned ~ Binomial(active_{m−1}, churn)``, each by
    inversion of one uniform per sample and month (:mod:`d3.core.inverse_sampling`: common
    random numbers between plans that differ in a budget or a rate)."""
    from d3.core.inverse_sampling import (  # see _samplers
        binomial_ppf,
        month_major_uniforms,
        poisson_ppf,
    )

    months = terms.months
    shape = (simulations, months)
    per_new = np.broadcast_to(np.asarray(sales_per_new_eur, dtype=np.float64), shape)
    per_returning = np.broadcast_to(np.asarray(sales_per_returning_eur, dtype=np.float64), shape)
    factor = np.ones(shape) if cac_factor is None else cac_factor
    budget, new, active = np.empty(shape), np.empty(shape), np.empty(shape)
    spend = np.full(simulations, max(terms.budget_month0_eur, 0.0))
    previous = np.zeros(simulations, dtype=np.int64 if new_gen is not None else np.float64)
    if new_gen is not None:
        u_new = month_major_uniforms(new_gen, simulations, months)
        u_churn = month_major_uniforms(churn_gen, simulations, months)
    for m in range(months):
        budget[:, m] = spend
        lam = spend * customers_per_eur / factor[:, m]
        if new_gen is None:
            new[:, m] = lam
            previous = previous * (1.0 - churn_frac) + lam
        else:
            new[:, m] = poisson_ppf(u_new[:, m], lam)
            previous = previous - binomial_ppf(u_churn[:, m], previous, churn_frac) + new[
                :, m].astype(np.int64)
        active[:, m] = previous
        inflow = new[:, m] * per_new[:, m] + (active[:, m] - new[:, m]) * per_returning[:, m]
        spend = np.minimum(terms.budget_cap_monthly_eur,
                           terms.budget_pct_of_inflow / 100.0 * np.maximum(inflow, 0.0))
    return budget, new, active


def channel_cac_eur(channel: Mapping[str, Any], *, eur_usd_fx_rate: float) -> float:
    """EUR per new customer from one ad channel: cpc / cvr, or cpm/1000 / (ctr × cvr)."""
    if channel["billing"] == "cpc":
        cost = channel["cost_per_click"] / channel["cvr_click_to_customer_frac"]
    else:
        per_click = channel["cpm"] / 1000.0 / channel["ctr_frac"]
        cost = per_click / channel["cvr_click_to_customer_frac"]
    return cost / eur_usd_fx_rate if channel["currency"] == "USD" else cost


def customers_per_eur(
    channel_allocation: Mapping[str, float],
    channels: Mapping[str, Mapping[str, Any]],
    *,
    cac_base_eur: float | None,
    eur_usd_fx_rate: float,
) -> float:
    """New customers per EUR of budget: ``Σ_c a_c / CAC_c`` over the allocated channels, or
    ``1 / cac_base_eur`` without an allocation (the validator guarantees one of the two)."""
    if channel_allocation:
        return math.fsum(
            share / channel_cac_eur(channels[c], eur_usd_fx_rate=eur_usd_fx_rate)
            for c, share in sorted(channel_allocation.items())
        )
    return 1.0 / cac_base_eur


def expected_active(new: np.ndarray, churn_frac: float) -> np.ndarray:
    """``active_m = active_{m−1} × (1 − churn) + new_m`` (works on the last axis)."""
    active = np.empty_like(new, dtype=np.float64)
    previous = np.zeros(new.shape[:-1])
    for m in range(new.shape[-1]):
        previous = previous * (1.0 - churn_frac) + new[..., m]
        active[..., m] = previous
    return active


def lognormal_mean_one(gen: np.random.Generator, sd_frac: float, shape) -> np.ndarray:
    """Multiplicative noise with mean 1 and standard deviation ``sd_frac`` (1 when sd is 0),
    ``shape = (simulations, months)``, drawn month by month (a longer horizon moves no earlier
    month's noise; see :func:`d3.core.inverse_sampling.month_major_uniforms`)."""
    if sd_frac <= 0:
        return np.ones(shape)
    sigma2 = np.log1p(sd_frac**2)
    simulations, months = shape
    return np.ascontiguousarray(
        gen.lognormal(-sigma2 / 2.0, np.sqrt(sigma2), size=(months, simulations)).T)


def mc_new(gen: np.random.Generator, lam: np.ndarray) -> np.ndarray:
    """New customers ``~ Poisson(λ)``; ``lam`` is ``(simulations, months)``; by inversion of
    one uniform per sample and month (:mod:`d3.core.inverse_sampling`)."""
    from d3.core.inverse_sampling import month_major_uniforms, poisson_ppf  # see _samplers

    return poisson_ppf(month_major_uniforms(gen, *lam.shape), lam).astype(np.float64)


def mc_active(gen: np.random.Generator, new: np.ndarray, churn_frac: float) -> np.ndarray:
    """Active customers with ``churned_m ~ Binomial(active_{m−1}, churn)``, month by month, by
    inversion of one uniform per sample and month (:mod:`d3.core.inverse_sampling`)."""
    from d3.core.inverse_sampling import active_after_churn, month_major_uniforms  # _samplers

    return active_after_churn(month_major_uniforms(gen, *new.shape), new, churn_frac)


Sales = float | np.ndarray


def customer_paths(terms: BudgetTerms, simulations: int,
                   sales_eur: Callable[[], tuple[Sales, Sales]], *,
                   cac_factor: np.ndarray | None = None,
                   new_gen: np.random.Generator | None = None,
                   churn_gen: np.random.Generator | None = None,
                   ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Budget, new and active customers ``(simulations, months)`` of one block of either tap:
    expected without generators, Monte Carlo with them (``new ~ Poisson(budget ×
    customers_per_eur / cac_factor)``, ``churned ~ Binomial(active, churn)``).
    ``sales_eur()`` gives what a new and a returning customer pay in a month (EUR ex VAT),
    asked only under ``pct_of_inflow`` (:func:`inflow_funded_paths`)."""
    if terms.budget_policy == "pct_of_inflow":
        return inflow_funded_paths(terms, terms.customers_per_eur, terms.churn_frac,
                                   *sales_eur(), simulations=simulations,
                                   cac_factor=cac_factor, new_gen=new_gen, churn_gen=churn_gen)
    budget = np.broadcast_to(monthly_budget_eur(terms), (simulations, terms.months))
    if new_gen is None:
        new = np.repeat((budget[0] * terms.customers_per_eur)[None, :], simulations, axis=0)
        return budget, new, expected_active(new, terms.churn_frac)
    new = mc_new(new_gen, budget * terms.customers_per_eur / cac_factor)
    return budget, new, mc_active(churn_gen, new, terms.churn_frac)
