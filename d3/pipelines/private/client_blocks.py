"""The Private Tap's part of the block loop (d3/pipelines/common/blocks.py): a block's client
inputs, its random client paths, and the client series derived from them."""

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
from d3.pipelines.private.clients import (
    ClientInputs,
    client_inputs,
    client_series,
    simulated_paths,
)
from d3.pipelines.private.provider_costs import ProviderOffer


@dataclass(frozen=True, kw_only=True)
class ClientContext(BlockContext):
    scope: ClassVar[str] = "private_tap"
    offers: tuple[ProviderOffer, ...]


def block_client_inputs(ctx: ClientContext, values: Mapping[str, Any]) -> ClientInputs:
    return client_inputs(ctx.operator(values), ctx.offers, ctx.channels,
                         eur_usd_fx_rate=ctx.eur_usd_fx_rate, months=ctx.months)


def block_clients(ctx: ClientContext, values: Mapping[str, Any], grid_index: int,
                  replicate_index: int) -> BlockPaths:
    """A block's inputs, sell price and random client paths (budget, new, active, hours
    factor)."""
    inp = block_client_inputs(ctx, values)
    paths = simulated_paths(inp, seed=ctx.seed, grid_index=grid_index,
                            replicate_index=replicate_index, simulations=ctx.simulations,
                            noise=ctx.noise)
    return BlockPaths(inp, inp.sell_eur_hr, paths)


def simulate_range(ctx: ClientContext, start: int, stop: int) -> ChunkPaths:
    """Random client paths of blocks ``start..stop-1`` (pure; runs in a worker process)."""
    return simulated_chunk(ctx, start, stop, block_clients)


def block_result(ctx: ClientContext, block: int) -> tuple[float, dict[str, np.ndarray]]:
    """Block number ``block``'s blended sell price and every client series
    (:func:`d3.pipelines.common.blocks.block_series`)."""
    return block_series(ctx, block, block_clients, client_series)


def chunk_result(ctx: ClientContext, chunk: ChunkPaths) -> ChunkResult:
    """Every client series of a chunk, derived from its random paths."""
    return chunk_series(ctx, chunk, client_series)


def simulate_fn(ctx: ClientContext):
    return partial(simulate_range, ctx)
