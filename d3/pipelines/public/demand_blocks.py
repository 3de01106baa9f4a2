"""Runs the Public Tap demand over all ``(grid_index, replicate_index)`` blocks.

Each block gets its own operator configuration (the variables' values of that block), its own
price card and its own keyed random streams, so the result of a block does not depend on which
chunk or process computes it.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from functools import partial
from typing import Any

import numpy as np

from d3.core.sample_run import ChunkResult
from d3.core.sample_run import chunk_result as stacked
from d3.core.variables import Variable, overrides_of
from d3.pipelines.common.reference import configured
from d3.pipelines.public.capacity import (
    capacity_policy,
    model_capacities,
    planned_utilisation_frac,
)
from d3.pipelines.public.demand import (
    DemandInputs,
    demand_series,
    expected_demand,
    fleet,
    simulated_customers,
)
from d3.pipelines.public.gpu_costs import CostRow
from d3.pipelines.public.pricing import PriceCard, non_gpu_costs, price_card
from d3.services.acquisition import customers_per_eur


@dataclass(frozen=True)
class DemandContext:
    variables: tuple[Variable, ...]
    block_values: tuple[Mapping[str, Any], ...]  # per block number
    replicates: int
    operator_dump: Mapping[str, Any]
    best: Mapping[str, CostRow]
    channels: Mapping[str, Mapping[str, Any]]
    eur_usd_fx_rate: float
    months: int
    seed: int
    simulations: int
    hours_in_month: int
    horizon_months: int
    noise: bool = True


def demand_inputs(public, card: PriceCard, best: Mapping[str, CostRow], channels, *,
                  eur_usd_fx_rate: float, months: int, hours_in_month: int) -> DemandInputs:
    """A block's demand inputs: acquisition, credits terms, the price card and its fleet."""
    acq = public.acquisition
    credits = public.prepaid_policy.credits
    ng = non_gpu_costs(public)
    return DemandInputs(
        months=months,
        budget_month0_eur=acq.budget_month0_eur,
        budget_growth_pct_mom=acq.budget_growth_pct_mom,
        customers_per_eur=customers_per_eur(acq.channel_allocation, channels,
                                            cac_base_eur=acq.cac_base_eur,
                                            eur_usd_fx_rate=eur_usd_fx_rate),
        churn_frac=acq.churn_pct_mom / 100.0,
        tokens_per_conversion=acq.tokens_per_conversion,
        tokens_per_returning_customer_month=acq.tokens_per_returning_customer_month,
        blended_sell_eur_per_1k=card.blended_sell_eur_per_1k,
        consumption_months=credits.credit_consumption_months,
        expiry_months=credits.expiry_months,
        models=tuple(model_capacities(best, card.mix, card)),
        capacity_policy=capacity_policy(public, hours_in_month),
        infra_overhead_pct_of_gpu=ng.infra_overhead_pct_of_gpu,
        base_eur_per_1M=ng.base_eur_per_1M,
        cac_noise_sd_frac=acq.cac_noise_sd_frac,
        budget_policy=acq.budget_policy,
        budget_monthly_eur=acq.budget_monthly_eur,
        budget_pct_of_inflow=acq.budget_pct_of_inflow,
        budget_cap_monthly_eur=acq.budget_cap_monthly_eur or 0.0,
        min_topup_eur=credits.min_topup_eur,
    )


def priced_card(public, best: Mapping[str, CostRow], channels, *, eur_usd_fx_rate: float,
                months: int, hours_in_month: int, horizon_months: int) -> PriceCard:
    """The price card under the operator's ``cost_basis``. ``planned_utilisation``: the fleet
    the planner rents for this configuration's reference token path over the first
    ``horizon_months`` (tokens do not depend on the price, except through a ``pct_of_inflow``
    budget, whose feedback the one pass ignores) sets each model's utilisation, and
    the GPU cost per 1M is divided by it. The public model set and mix are those of the
    full-throughput card (one pass, docs/DECISIONS.md)."""
    card = price_card(best, public)
    if public.pricing_policy.public_tap.cost_basis == "full_throughput":
        return card
    inp = demand_inputs(public, card, best, channels, eur_usd_fx_rate=eur_usd_fx_rate,
                        months=months, hours_in_month=hours_in_month)
    demanded = expected_demand(inp)["tokens_demanded"][0, :horizon_months]
    util = planned_utilisation_frac(fleet(inp, demanded), inp.models, hours_in_month)
    return price_card(best, public, utilisation_frac=util)


def block_inputs(ctx: DemandContext, values: Mapping[str, Any]) -> tuple[DemandInputs, PriceCard]:
    public = configured("public_tap", ctx.operator_dump,
                        overrides_of(ctx.variables, values, "public_tap"))
    card = priced_card(public, ctx.best, ctx.channels, eur_usd_fx_rate=ctx.eur_usd_fx_rate,
                       months=ctx.months, hours_in_month=ctx.hours_in_month,
                       horizon_months=ctx.horizon_months)
    return demand_inputs(public, card, ctx.best, ctx.channels,
                         eur_usd_fx_rate=ctx.eur_usd_fx_rate, months=ctx.months,
                         hours_in_month=ctx.hours_in_month), card


@dataclass(frozen=True)
class ChunkCustomers:
    """What a worker sends back: only the random series (the rest is derived from them)."""

    start: int
    inputs: tuple[DemandInputs, ...]  # per block
    blended_sell_eur_per_1k: np.ndarray  # per block
    budget: np.ndarray  # (samples, months), blocks stacked in order
    new: np.ndarray
    active: np.ndarray


def simulate_range(ctx: DemandContext, start: int, stop: int) -> ChunkCustomers:
    """Random customer paths of blocks ``start..stop-1`` (pure; runs in a worker process)."""
    inputs, prices, budgets, news, actives = [], [], [], [], []
    for block in range(start, stop):
        g, r = divmod(block, ctx.replicates)
        inp, card = block_inputs(ctx, ctx.block_values[block])
        budget, new, active = simulated_customers(inp, seed=ctx.seed, grid_index=g,
                                                  replicate_index=r,
                                                  simulations=ctx.simulations, noise=ctx.noise)
        inputs.append(inp)
        prices.append(card.blended_sell_eur_per_1k)
        budgets.append(budget)
        news.append(new)
        actives.append(active)
    return ChunkCustomers(start, tuple(inputs), np.array(prices), np.concatenate(budgets),
                          np.concatenate(news), np.concatenate(actives))


def chunk_result(ctx: DemandContext, chunk: ChunkCustomers) -> ChunkResult:
    """Every demand series of a chunk, derived from its random customer paths."""
    s = ctx.simulations
    parts = []
    for i, inp in enumerate(chunk.inputs):
        rows = slice(i * s, (i + 1) * s)
        parts.append(demand_series(inp, chunk.budget[rows], chunk.new[rows],
                                   chunk.active[rows]))
    return stacked(chunk.start, len(chunk.inputs), ctx.replicates, s, parts,
                   chunk.blended_sell_eur_per_1k)


def simulate_fn(ctx: DemandContext):
    return partial(simulate_range, ctx)

