"""Public Tap demand and credits per sample and month (SPEC §5.3).

One ``(grid_index, replicate_index)`` block is simulated at a time: the expected path
(``new = λ``, active by the churn recursion) and ``simulations`` Monte Carlo paths with
``new ~ Poisson(λ)``, ``churned ~ Binomial(active_{m−1}, churn)`` and optional mean-1 lognormal
CAC noise, each drawn from its own keyed ``sim`` stream. Every series is EUR, tokens or
customers per month, shaped ``(simulations, months)``.
"""

from __future__ import annotations

from dataclasses import dataclass, replace

import numpy as np

from d3.core.rng import sim_stream
from d3.pipelines.public.credits import credit_ledger
from d3.services.acquisition import (
    budget_path,
    expected_active,
    lognormal_mean_one,
    mc_active,
    mc_new,
)

SERIES = (
    "budget_eur", "new_customers", "active_customers", "tokens", "credits_sold_eur",
    "consumed_eur", "expired_eur", "revenue_eur", "deferred_eur", "tokens_served", "cogs_eur",
    "gross_margin_eur",
)
STREAMS = {"new": "public.new_customers", "churn": "public.churn", "cac": "public.cac_noise"}


@dataclass(frozen=True)
class DemandInputs:
    """Everything one block needs (scalars; units in the names)."""

    months: int
    budget_month0_eur: float
    budget_growth_pct_mom: float
    customers_per_eur: float  # new customers per EUR of budget (1 / CAC)
    churn_frac: float
    tokens_per_conversion: float
    tokens_per_returning_customer_month: float
    blended_sell_eur_per_1k: float
    blended_cost_eur_per_1M: float  # serving cost at priced throughput
    consumption_months: int
    expiry_months: int
    cac_noise_sd_frac: float = 0.0

    def scenario(self, *, budget: float = 1.0, cac: float = 1.0, churn: float = 1.0,
                 tokens: float = 1.0) -> DemandInputs:
        """These inputs with worst/base/best multipliers applied."""
        return replace(
            self,
            budget_month0_eur=self.budget_month0_eur * budget,
            customers_per_eur=self.customers_per_eur / cac,
            churn_frac=min(self.churn_frac * churn, 1.0),
            tokens_per_conversion=self.tokens_per_conversion * tokens,
            tokens_per_returning_customer_month=self.tokens_per_returning_customer_month * tokens,
        )


def demand_series(inp: DemandInputs, budget: np.ndarray, new: np.ndarray,
                  active: np.ndarray) -> dict[str, np.ndarray]:
    """Tokens, credits, ledger, COGS and margin from customer paths (any leading shape)."""
    tokens = new * inp.tokens_per_conversion + (active - new) * (
        inp.tokens_per_returning_customer_month)
    credits = tokens / 1000.0 * inp.blended_sell_eur_per_1k
    ledger = credit_ledger(credits, consumption_months=inp.consumption_months,
                           expiry_months=inp.expiry_months)
    price = inp.blended_sell_eur_per_1k
    served = ledger.consumed / price * 1000.0 if price > 0 else np.zeros_like(credits)
    cogs = served * inp.blended_cost_eur_per_1M / 1e6
    revenue = ledger.revenue
    return {
        "budget_eur": np.broadcast_to(budget, new.shape).copy(),
        "new_customers": new, "active_customers": active, "tokens": tokens,
        "credits_sold_eur": credits, "consumed_eur": ledger.consumed,
        "expired_eur": ledger.expired, "revenue_eur": revenue, "deferred_eur": ledger.balance,
        "tokens_served": served, "cogs_eur": cogs, "gross_margin_eur": revenue - cogs,
    }


def expected_demand(inp: DemandInputs) -> dict[str, np.ndarray]:
    """The noise-free path, shape ``(1, months)``."""
    budget = budget_path(inp.budget_month0_eur, inp.budget_growth_pct_mom, inp.months)
    new = (budget * inp.customers_per_eur)[None, :]
    return demand_series(inp, budget, new, expected_active(new, inp.churn_frac))


def simulated_customers(inp: DemandInputs, *, seed: int, grid_index: int, replicate_index: int,
                        simulations: int, noise: bool = True) -> tuple[np.ndarray, np.ndarray]:
    """The random part of a block: new and active customers, ``(simulations, months)`` each."""
    budget = budget_path(inp.budget_month0_eur, inp.budget_growth_pct_mom, inp.months)
    if not noise:
        new = np.repeat((budget * inp.customers_per_eur)[None, :], simulations, axis=0)
        return new, expected_active(new, inp.churn_frac)
    shape = (simulations, inp.months)

    def gen(name: str) -> np.random.Generator:
        return sim_stream(seed, "public_tap", STREAMS[name], grid_index, replicate_index)

    cac_factor = lognormal_mean_one(gen("cac"), inp.cac_noise_sd_frac, shape)
    lam = budget[None, :] * inp.customers_per_eur / cac_factor
    new = mc_new(gen("new"), lam)
    return new, mc_active(gen("churn"), new, inp.churn_frac)


def simulated_demand(inp: DemandInputs, *, seed: int, grid_index: int, replicate_index: int,
                     simulations: int, noise: bool = True) -> dict[str, np.ndarray]:
    """``simulations`` Monte Carlo paths of one block, shape ``(simulations, months)``."""
    new, active = simulated_customers(inp, seed=seed, grid_index=grid_index,
                                      replicate_index=replicate_index, simulations=simulations,
                                      noise=noise)
    budget = budget_path(inp.budget_month0_eur, inp.budget_growth_pct_mom, inp.months)
    return demand_series(inp, budget, new, active)
