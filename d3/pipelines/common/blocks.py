"""The block loop both lines run over all ``(grid_index, replicate_index)`` blocks.

Each block gets its own operator configuration (the variables' values of that block), its own
inputs and its own keyed random streams, so the result of a block does not depend on which
chunk or process computes it. A line supplies two functions: the random paths of one block,
and the series derived from a block's paths. The line stages draw a chunk's blocks in a worker
and derive the series in the parent (``simulated_chunk``, ``chunk_series``); an evaluation
does both in the worker, one block at a time (``block_series``).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any, ClassVar

import numpy as np

from d3.core.sample_run import ChunkResult
from d3.core.sample_run import chunk_result as stacked
from d3.core.variables import Variable, overrides_of
from d3.pipelines.common.reference import configured


@dataclass(frozen=True, kw_only=True)
class BlockContext:
    """What every block of a line needs; a line's context adds its own inputs."""

    scope: ClassVar[str]  # the operator file of the line: "public_tap" | "private_tap"
    variables: tuple[Variable, ...]
    block_values: tuple[Mapping[str, Any], ...]  # per block number
    replicates: int
    operator_dump: Mapping[str, Any]
    channels: Mapping[str, Mapping[str, Any]]
    eur_usd_fx_rate: float
    months: int
    seed: int
    simulations: int
    noise: bool = True
    # Set: every block draws its outcome noise (``sim`` streams) as this replicate of grid
    # point 0, i.e. all blocks share the same noise paths (common random numbers across the
    # rows of a sampling design). None: each block its own streams (the ordinary run).
    noise_replicate: int | None = None

    def operator(self, values: Mapping[str, Any]):
        """The line's typed operator with a block's variable ``values`` applied."""
        return configured(self.scope, self.operator_dump,
                          overrides_of(self.variables, values, self.scope))


@dataclass(frozen=True)
class BlockPaths:
    """One block: its inputs, its blended sell price and its random paths
    (``(simulations, months)`` each, in the order the line's series function takes them)."""

    inputs: Any
    price: float
    paths: tuple[np.ndarray, ...]


@dataclass(frozen=True)
class ChunkPaths:
    """What a worker sends back: per block its inputs and price, and the random paths of its
    blocks stacked in block order (only the random part; the rest is derived from it)."""

    start: int
    inputs: tuple[Any, ...]  # per block
    block_price: np.ndarray  # per block
    paths: tuple[np.ndarray, ...]  # (blocks × simulations, months) each


def noise_block(ctx: BlockContext, block: int) -> tuple[int, int]:
    """The ``(grid_index, replicate_index)`` whose outcome-noise streams block number
    ``block`` draws: its own, or ``(0, ctx.noise_replicate)`` when that is set."""
    if ctx.noise_replicate is not None:
        return 0, ctx.noise_replicate
    g, r = divmod(block, ctx.replicates)
    return g, r


BlockSimulator = Callable[[Any, Mapping[str, Any], int, int], BlockPaths]


def simulated_chunk(ctx: BlockContext, start: int, stop: int,
                    simulate_block: BlockSimulator) -> ChunkPaths:
    """Random paths of blocks ``start..stop-1``: ``simulate_block(ctx, values, grid_index,
    replicate_index)`` per block (the indices of its noise streams, :func:`noise_block`), in
    block order (pure; runs in a worker process)."""
    blocks = []
    for block in range(start, stop):
        g, r = noise_block(ctx, block)
        blocks.append(simulate_block(ctx, ctx.block_values[block], g, r))
    return ChunkPaths(start, tuple(b.inputs for b in blocks),
                      np.asarray([b.price for b in blocks], dtype=float),
                      tuple(np.concatenate(p) for p in zip(*(b.paths for b in blocks),
                                                           strict=True)))


def block_series(ctx: BlockContext, block: int, simulate_block: BlockSimulator,
                 series: Callable[..., dict[str, np.ndarray]]
                 ) -> tuple[float, dict[str, np.ndarray]]:
    """Block number ``block`` drawn and derived: its blended sell price and every series,
    ``(simulations, months)`` each — the block's rows of :func:`simulated_chunk` then
    :func:`chunk_series`, without stacking a chunk (pure; runs in a worker process)."""
    g, r = noise_block(ctx, block)
    b = simulate_block(ctx, ctx.block_values[block], g, r)
    return b.price, series(b.inputs, *b.paths)


def chunk_series(ctx: BlockContext, chunk: ChunkPaths,
                 series: Callable[..., dict[str, np.ndarray]]) -> ChunkResult:
    """Every series of a chunk: ``series(inputs, *paths)`` per block, stacked with the
    blocks' indices."""
    s = ctx.simulations
    parts = []
    for i, inp in enumerate(chunk.inputs):
        rows = slice(i * s, (i + 1) * s)
        parts.append(series(inp, *(p[rows] for p in chunk.paths)))
    return stacked(chunk.start, len(chunk.inputs), ctx.replicates, s, parts, chunk.block_price)
