"""The shared loop of the per-sample stages: run chunks of blocks (in parallel when asked),
stream every sample's series to Parquet, and keep per grid point the series whose monthly
percentiles the stage reports."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from contextlib import closing, nullcontext
from dataclasses import dataclass
from functools import partial
from pathlib import Path

import numpy as np

from d3.core.chunks import chunk_ranges, iter_ranges
from d3.core.progress import Emitter
from d3.io.parquet_stream import SampleWriter, sample_schema, sample_table


@dataclass(frozen=True)
class ChunkResult:
    grid_index: np.ndarray  # per sample
    replicate_index: np.ndarray
    mc_index: np.ndarray
    series: dict[str, np.ndarray]  # (samples, months)
    block_price: np.ndarray  # per block: the line's blended sell price


def chunk_result(start: int, n_blocks: int, replicates: int, simulations: int,
                 parts: Sequence[dict[str, np.ndarray]], block_price) -> ChunkResult:
    """Stack the per-block series of blocks ``start..start+n_blocks-1`` with their indices."""
    blocks = np.arange(start, start + n_blocks)
    return ChunkResult(
        grid_index=np.repeat(blocks // replicates, simulations),
        replicate_index=np.repeat(blocks % replicates, simulations),
        mc_index=np.tile(np.arange(simulations), n_blocks),
        series={k: np.concatenate([p[k] for p in parts]) for k in parts[0]},
        block_price=np.asarray(block_price, dtype=float),
    )


PROGRESS_STEPS = 20  # a stage's progress moves at least this often (when it has the blocks)


def progress_chunk_blocks(n_blocks: int, chunk_blocks: int) -> int:
    """Blocks per chunk: ``chunk_blocks``, but at most ⌈n_blocks / PROGRESS_STEPS⌉ (≥ 1).
    Results never depend on the chunking (the Parquet row groups do not follow it), so a
    small run may use smaller chunks: with 12 blocks and ``chunk_blocks`` 64 the stage was
    one chunk and its progress jumped from nothing to done."""
    return max(1, min(chunk_blocks, -(-n_blocks // PROGRESS_STEPS)))


def kept_per_block(percentile_samples: int | None, replicates: int,
                   simulations: int) -> int | None:
    """The Monte Carlo paths of each block kept for monthly statistics when about
    ``percentile_samples`` per grid point are asked for: ⌈percentile_samples / replicates⌉,
    ``None`` (every path) when that is all of them or nothing is asked."""
    if percentile_samples is None:
        return None
    k = -(-percentile_samples // replicates)
    return None if k >= simulations else k


@dataclass(frozen=True)
class ReducedChunk:
    """What a worker sends back for a chunk of a line's blocks: the kept samples' series and
    indices (every sample and series when the stage writes its audit Parquet), the per-block
    prices, and the last block's indices for the progress log."""
    result: ChunkResult
    last_grid_index: int
    last_replicate_index: int


def reduced_chunk(simulate: Callable, finish: Callable, keep: Sequence[str] | None,
                  kept_per_block: int | None, start: int, stop: int) -> ReducedChunk:
    """Blocks ``start..stop-1`` drawn, derived and reduced in the worker (pure, top level so
    it pickles): the series in ``keep`` of the first ``kept_per_block`` Monte Carlo samples of
    every block (``None``: every sample), or everything when ``keep`` is ``None`` (the audit
    Parquet needs every sample's every series). The raw random paths never leave the
    worker (issue 18: tasks return reduced per-block results)."""
    res = finish(simulate(start, stop))
    last = (int(res.grid_index[-1]), int(res.replicate_index[-1]))
    if keep is not None:
        rows = res.mc_index < kept_per_block if kept_per_block is not None else slice(None)
        res = ChunkResult(grid_index=res.grid_index[rows],
                          replicate_index=res.replicate_index[rows],
                          mc_index=res.mc_index[rows],
                          series={s: res.series[s][rows] for s in keep},
                          block_price=res.block_price)
    return ReducedChunk(res, *last)


def run_samples(*, simulate: Callable, finish: Callable, n_blocks: int, chunk_blocks: int,
                max_concurrency: int, series: Sequence[str], months: int, path: Path | None,
                keep: Sequence[str], emitter: Emitter, label: str, pipeline: str,
                kept_per_block: int | None = None,
                ) -> tuple[dict[int, dict[str, np.ndarray]], list[float]]:
    """Run every block; returns the kept series per grid point (with each kept sample's
    ``replicate_index``) and the per-block prices. Each worker draws, derives and keeps
    (:func:`reduced_chunk`). ``path``: also stream every sample's series to that Parquet file
    (an audit out; ``None``: nothing written, and workers send back only the kept series).
    ``kept_per_block``: keep only the first ``k`` Monte Carlo samples of every block (the
    plan's ``stochastic.percentile_samples`` subsample; ``None``: every sample). Chunks hold
    at most :func:`progress_chunk_blocks` blocks, so that progress (``job_done``, the bar)
    moves while the stage runs even when all blocks fit in one ``chunk_blocks``."""
    ranges = chunk_ranges(n_blocks, progress_chunk_blocks(n_blocks, chunk_blocks))
    schema = sample_schema(series, months)
    work = partial(reduced_chunk, simulate, finish, None if path is not None else tuple(keep),
                   kept_per_block)
    by_grid: dict[int, dict[str, list[np.ndarray]]] = {}
    prices: list[float] = []
    # closing(): a failure while a chunk is written stops the workers now, not at garbage
    # collection of the generator.
    with (SampleWriter(path, schema) if path is not None else nullcontext()) as writer, \
            closing(iter_ranges(work, ranges, max_concurrency=max_concurrency)) as results:
        for done, chunk in enumerate(results, start=1):
            res = chunk.result
            if writer is not None:
                writer.write(sample_table(schema, res.grid_index, res.replicate_index,
                                          res.mc_index, res.series))
            prices.extend(res.block_price.tolist())
            kept = res.mc_index < kept_per_block if kept_per_block is not None else True
            for g in np.unique(res.grid_index):
                rows = (res.grid_index == g) & kept
                acc = by_grid.setdefault(int(g), {s: [] for s in (*keep, "replicate_index")})
                acc["replicate_index"].append(res.replicate_index[rows])
                for s in keep:
                    acc[s].append(res.series[s][rows])
            emitter.emit("job_done", pipeline=pipeline, chunk=done, of=len(ranges),
                         grid_index=chunk.last_grid_index,
                         replicate_index=chunk.last_replicate_index)
            emitter.progress(done, len(ranges), label)
    return ({g: {s: np.concatenate(v) for s, v in acc.items()} for g, acc in by_grid.items()},
            prices)
