"""Runs the Private Tap clients over all ``(grid_index, replicate_index)`` blocks, each with
its own operator configuration and keyed streams (chunking-invariant)."""

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
from d3.pipelines.private.clients import (
    ClientInputs,
    client_inputs,
    client_series,
    simulated_paths,
)
from d3.pipelines.private.provider_costs import ProviderOffer


@dataclass(frozen=True)
class ClientContext:
    variables: tuple[Variable, ...]
    block_values: tuple[Mapping[str, Any], ...]
    replicates: int
    operator_dump: Mapping[str, Any]
    offers: tuple[ProviderOffer, ...]
    channels: Mapping[str, Mapping[str, Any]]
    eur_usd_fx_rate: float
    months: int
    seed: int
    simulations: int
    noise: bool = True


def block_client_inputs(ctx: ClientContext, values: Mapping[str, Any]) -> ClientInputs:
    private = configured("private_tap", ctx.operator_dump,
                         overrides_of(ctx.variables, values, "private_tap"))
    return client_inputs(private, ctx.offers, ctx.channels, eur_usd_fx_rate=ctx.eur_usd_fx_rate,
                         months=ctx.months)


@dataclass(frozen=True)
class ChunkPaths:
    """What a worker sends back: only the random paths of its blocks."""

    start: int
    inputs: tuple[ClientInputs, ...]
    budget: np.ndarray
    new: np.ndarray
    active: np.ndarray
    hours_factor: np.ndarray


def simulate_range(ctx: ClientContext, start: int, stop: int) -> ChunkPaths:
    """Random client paths of blocks ``start..stop-1`` (pure; runs in a worker process)."""
    inputs, budgets, news, actives, factors = [], [], [], [], []
    for block in range(start, stop):
        g, r = divmod(block, ctx.replicates)
        inp = block_client_inputs(ctx, ctx.block_values[block])
        budget, new, active, factor = simulated_paths(
            inp, seed=ctx.seed, grid_index=g, replicate_index=r, simulations=ctx.simulations,
            noise=ctx.noise)
        inputs.append(inp)
        budgets.append(budget)
        news.append(new)
        actives.append(active)
        factors.append(factor)
    return ChunkPaths(start, tuple(inputs), np.concatenate(budgets), np.concatenate(news),
                      np.concatenate(actives), np.concatenate(factors))


def chunk_result(ctx: ClientContext, chunk: ChunkPaths) -> ChunkResult:
    """Every client series of a chunk, derived from its random paths."""
    s = ctx.simulations
    parts = []
    for i, inp in enumerate(chunk.inputs):
        rows = slice(i * s, (i + 1) * s)
        parts.append(client_series(inp, chunk.budget[rows], chunk.new[rows], chunk.active[rows],
                                   chunk.hours_factor[rows]))
    return stacked(chunk.start, len(chunk.inputs), ctx.replicates, s, parts,
                   [inp.sell_eur_hr for inp in chunk.inputs])


def simulate_fn(ctx: ClientContext):
    return partial(simulate_range, ctx)
