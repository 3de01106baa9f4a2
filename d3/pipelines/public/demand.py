"""Public Tap demand and credits per sample and month (SPEC §5.3).

One ``(grid_index, replicate_index)`` block is simulated at a time: the expected path
(``new = λ``, active by the churn recursion) and ``simulations`` Monte Carlo paths with
``new ~ Poisson(λ)``, ``churned ~ Binomial(active_{m−1}, churn)`` and optional mean-1 lognormal
CAC noise, each drawn from its own keyed ``sim`` stream. Every series is EUR, tokens or
customers per month, shaped ``(simulations, months)``.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, replace

import numpy as np

from d3.core.rng import sim_stream
from d3.pipelines.public.capacity import CapacityPolicy, CapacityResult, ModelCapacity, capacity
from d3.pipelines.public.credits import credit_ledger
from d3.services.acquisition import customer_paths as acquisition_paths
from d3.services.acquisition import lognormal_mean_one

SERIES = (
    "budget_eur", "new_customers", "active_customers", "tokens", "credits_sold_eur",
    "consumed_eur", "expired_eur", "revenue_eur", "deferred_eur", "tokens_demanded",
    "tokens_served", "unserved_tokens", "served_eur", "refunds_eur", "gpu_cogs_eur",
    "non_gpu_cogs_eur", "cogs_eur", "priced_cogs_eur", "gross_margin_eur", "instances_total",
    "capacity_violations",
)
STREAMS = {"new": "public.new_customers", "churn": "public.churn", "cac": "public.cac_noise"}


@dataclass(frozen=True)
class DemandInputs:
    """Everything one block needs (scalars; units in the names) and its fleet."""

    months: int
    budget_month0_eur: float
    budget_growth_pct_mom: float
    customers_per_eur: float  # new customers per EUR of budget (1 / CAC)
    churn_frac: float
    tokens_per_conversion: float
    tokens_per_returning_customer_month: float
    blended_sell_eur_per_1k: float
    consumption_months: int
    expiry_months: int
    models: tuple[ModelCapacity, ...]  # public models on g*, with mix, price and priced cost
    capacity_policy: CapacityPolicy
    infra_overhead_pct_of_gpu: float = 0.0
    base_eur_per_1M: float = 0.0
    cac_noise_sd_frac: float = 0.0
    budget_policy: str = "growth"  # growth | flat | pct_of_inflow
    budget_monthly_eur: float = 0.0  # the flat policy's budget
    budget_pct_of_inflow: float = 0.0  # pct_of_inflow: share of last month's credits sold
    budget_cap_monthly_eur: float = 0.0  # pct_of_inflow: the most spent in a month
    min_topup_eur: float = 0.0  # a purchase of credits is at least this (EUR ex VAT)

    def scenario(self, *, budget: float = 1.0, cac: float = 1.0, churn: float = 1.0,
                 tokens: float = 1.0) -> DemandInputs:
        """These inputs with worst/base/best multipliers applied."""
        return replace(
            self,
            budget_month0_eur=self.budget_month0_eur * budget,
            budget_monthly_eur=self.budget_monthly_eur * budget,
            budget_cap_monthly_eur=self.budget_cap_monthly_eur * budget,
            customers_per_eur=self.customers_per_eur / cac,
            churn_frac=min(self.churn_frac * churn, 1.0),
            tokens_per_conversion=self.tokens_per_conversion * tokens,
            tokens_per_returning_customer_month=self.tokens_per_returning_customer_month * tokens,
        )


def fleet(inp: DemandInputs, tokens_demanded: np.ndarray) -> CapacityResult:
    """The planner's fleet for ``tokens_demanded`` (any shape): replicas, served tokens, COGS."""
    return capacity(tokens_demanded, inp.models, inp.capacity_policy,
                    infra_overhead_pct_of_gpu=inp.infra_overhead_pct_of_gpu,
                    base_eur_per_1M=inp.base_eur_per_1M)


def per_model(values: Sequence[float], ndim: int) -> np.ndarray:
    return np.array(values, dtype=float).reshape((-1,) + (1,) * ndim)


def demand_series(inp: DemandInputs, budget: np.ndarray, new: np.ndarray,
                  active: np.ndarray) -> dict[str, np.ndarray]:
    """Tokens, credits, ledger, capacity-constrained service, COGS and margin from customer
    paths (any leading shape; EUR, tokens, customers per month).

    Customers want to use the credits the ledger schedules for the month
    (``tokens_demanded``); the fleet serves ``min(demanded, servable at the instance cap)`` per
    model (:func:`served_tokens_by_model`). Served tokens earn their model's price; credits the
    fleet could not serve are refunded that month (``refunds_eur``: cash out, VAT credit note)
    and never earn revenue. Revenue = served + breakage; COGS = the rented fleet."""
    tokens = new * inp.tokens_per_conversion + (active - new) * (
        inp.tokens_per_returning_customer_month)
    price = inp.blended_sell_eur_per_1k
    topped_up = top_up_eur(inp)
    # Credits bought beyond the tokens wanted, only to reach the minimum top-up.
    unused = new * topped_up.unused_new
    credits = tokens / 1000.0 * price + unused
    ledger = credit_ledger(credits, consumption_months=inp.consumption_months,
                           expiry_months=inp.expiry_months, unused=unused)
    # Tokens follow the same ledger as the credits that bought them (it is linear), computed on
    # the tokens themselves so they do not carry the price's rounding (the demand, and the
    # fleet planned for it, are then exactly the same at any price: common random numbers).
    demanded = credit_ledger(tokens, consumption_months=inp.consumption_months,
                             expiry_months=inp.expiry_months).consumed
    res = fleet(inp, demanded)
    nd = demanded.ndim
    served_eur = (res.served * per_model([m.sell_eur_per_1k for m in inp.models], nd)).sum(
        axis=0) / 1000.0
    priced_cogs = (res.served * per_model([m.priced_cost_eur_per_1M for m in inp.models],
                                          nd)).sum(axis=0) / 1e6
    refunds = np.maximum(ledger.consumed - served_eur, 0.0)  # clip float noise only
    revenue = served_eur + ledger.expired
    cogs = res.gpu_cogs_eur + res.non_gpu_cogs_eur
    served = res.served.sum(axis=0)
    return {
        "budget_eur": np.broadcast_to(budget, new.shape).copy(),
        "new_customers": new, "active_customers": active, "tokens": tokens,
        "credits_sold_eur": credits, "consumed_eur": ledger.consumed,
        "expired_eur": ledger.expired, "revenue_eur": revenue, "deferred_eur": ledger.balance,
        "tokens_demanded": demanded, "tokens_served": served,
        "unserved_tokens": res.unserved.sum(axis=0), "served_eur": served_eur,
        "refunds_eur": refunds, "gpu_cogs_eur": res.gpu_cogs_eur,
        "non_gpu_cogs_eur": res.non_gpu_cogs_eur, "cogs_eur": cogs,
        "priced_cogs_eur": priced_cogs, "gross_margin_eur": revenue - cogs,
        "instances_total": res.instances.sum(axis=0).astype(float),
        "capacity_violations": res.violation.sum(axis=0).astype(float),
    }


@dataclass(frozen=True)
class TopUps:
    """EUR ex VAT a new and a returning customer pay in a month, and the part of a new
    customer's first top-up bought only to reach ``min_topup_eur`` (never used; it expires)."""

    new: float
    returning: float
    unused_new: float


def top_up_eur(inp: DemandInputs) -> TopUps:
    """A new customer's first top-up is ``max(tokens_per_conversion / 1000 × sell EUR/1k,
    min_topup_eur)``; returning customers buy what they use (their balance carries a minimum
    top-up over to the next months, so on average they pay for their usage)."""
    price = inp.blended_sell_eur_per_1k
    wanted_new = inp.tokens_per_conversion / 1000.0 * price
    new = max(wanted_new, inp.min_topup_eur) if wanted_new > 0 else 0.0
    return TopUps(new, inp.tokens_per_returning_customer_month / 1000.0 * price,
                  new - wanted_new)


def credits_per_customer_eur(inp: DemandInputs) -> tuple[float, float]:
    """Credits (EUR ex VAT) a new and a returning customer buy in a month (:func:`top_up_eur`)
    — the inflow a ``pct_of_inflow`` budget is a share of."""
    topped_up = top_up_eur(inp)
    return topped_up.new, topped_up.returning


def customer_paths(inp: DemandInputs, simulations: int, **draws
                   ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Budget, new and active customers ``(simulations, months)``
    (:func:`d3.services.acquisition.customer_paths`, sales = credits bought)."""
    return acquisition_paths(inp, simulations, lambda: credits_per_customer_eur(inp), **draws)


def expected_demand(inp: DemandInputs) -> dict[str, np.ndarray]:
    """The noise-free path, shape ``(1, months)``."""
    return demand_series(inp, *customer_paths(inp, 1))


def simulated_customers(inp: DemandInputs, *, seed: int, grid_index: int, replicate_index: int,
                        simulations: int, noise: bool = True
                        ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """The random part of a block: budget, new and active customers, ``(simulations, months)``
    each."""
    if not noise:
        return customer_paths(inp, simulations)

    def gen(name: str) -> np.random.Generator:
        return sim_stream(seed, "public_tap", STREAMS[name], grid_index, replicate_index)

    cac_factor = lognormal_mean_one(gen("cac"), inp.cac_noise_sd_frac, (simulations, inp.months))
    return customer_paths(inp, simulations, cac_factor=cac_factor, new_gen=gen("new"),
                          churn_gen=gen("churn"))
