"""The Public Tap's part of the block loop (d3/pipelines/common/blocks.py): a block's demand
inputs and price card, its random customer paths, and the demand series derived from them."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from functools import partial
from typing import Any, ClassVar

import numpy as np

from d3.core.sample_run import ChunkResult
from d3.pipelines.common.blocks import (
    BlockContext,
    BlockPaths,
    ChunkPaths,
    block_series,
    chunk_series,
    simulated_chunk,
)
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


@dataclass(frozen=True, kw_only=True)
class DemandContext(BlockContext):
    scope: ClassVar[str] = "public_tap"
    best: Mapping[str, CostRow]
    hours_in_month: int
    horizon_months: int


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
    public = ctx.operator(values)
    card = priced_card(public, ctx.best, ctx.channels, eur_usd_fx_rate=ctx.eur_usd_fx_rate,
                       months=ctx.months, hours_in_month=ctx.hours_in_month,
                       horizon_months=ctx.horizon_months)
    return demand_inputs(public, card, ctx.best, ctx.channels,
                         eur_usd_fx_rate=ctx.eur_usd_fx_rate, months=ctx.months,
                         hours_in_month=ctx.hours_in_month), card


def block_customers(ctx: DemandContext, values: Mapping[str, Any], grid_index: int,
                    replicate_index: int) -> BlockPaths:
    """A block's inputs, blended price and random customer paths (budget, new, active)."""
    inp, card = block_inputs(ctx, values)
    paths = simulated_customers(inp, seed=ctx.seed, grid_index=grid_index,
                                replicate_index=replicate_index, simulations=ctx.simulations,
                                noise=ctx.noise)
    return BlockPaths(inp, card.blended_sell_eur_per_1k, paths)


def simulate_range(ctx: DemandContext, start: int, stop: int) -> ChunkPaths:
    """Random customer paths of blocks ``start..stop-1`` (pure; runs in a worker process)."""
    return simulated_chunk(ctx, start, stop, block_customers)


def block_result(ctx: DemandContext, block: int) -> tuple[float, dict[str, np.ndarray]]:
    """Block number ``block``'s blended sell price and every demand series
    (:func:`d3.pipelines.common.blocks.block_series`)."""
    return block_series(ctx, block, block_customers, demand_series)


def chunk_result(ctx: DemandContext, chunk: ChunkPaths) -> ChunkResult:
    """Every demand series of a chunk, derived from its random customer paths."""
    return chunk_series(ctx, chunk, demand_series)


def unserved_by_model(ctx: DemandContext, grid_index: int, replicate_index: np.ndarray,
                      tokens_demanded: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Unserved and demanded tokens per model, ``(models, samples, months)`` each, of grid
    point ``grid_index``'s samples (in block order; ``replicate_index`` and
    ``tokens_demanded`` ``(samples, months)`` per sample), each served by the fleet its own
    block was priced and capped with."""
    unserved, demanded = [], []
    for r in dict.fromkeys(replicate_index.tolist()):  # block order
        rows = replicate_index == r
        inp, _ = block_inputs(ctx, ctx.block_values[grid_index * ctx.replicates + r])
        res = fleet(inp, tokens_demanded[rows])
        unserved.append(res.unserved)
        demanded.append(res.demanded)
    return np.concatenate(unserved, axis=1), np.concatenate(demanded, axis=1)


def simulate_fn(ctx: DemandContext):
    return partial(simulate_range, ctx)
