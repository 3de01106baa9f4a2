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

from d3.core.chunks import chunk_ranges, evaluation_chunk_blocks, iter_ranges
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
    """A chunk of a line's blocks as the stage loop consumes it: its series and indices (only
    the kept samples' kept series when the worker reduced it), the per-block prices, and the
    last block's indices for the progress log."""
    result: ChunkResult
    last_grid_index: int
    last_replicate_index: int


def _indexed(res: ChunkResult) -> ReducedChunk:
    return ReducedChunk(res, int(res.grid_index[-1]), int(res.replicate_index[-1]))


def reduced_chunk(simulate: Callable, finish: Callable, keep: Sequence[str],
                  kept_per_block: int, start: int, stop: int) -> ReducedChunk:
    """Blocks ``start..stop-1`` drawn, derived and reduced in the worker (pure, top level so
    it pickles): the series in ``keep`` of the first ``kept_per_block`` Monte Carlo samples of
    every block. The raw random paths never leave the worker."""
    res = finish(simulate(start, stop))
    rows = res.mc_index < kept_per_block
    return ReducedChunk(
        ChunkResult(grid_index=res.grid_index[rows], replicate_index=res.replicate_index[rows],
                    mc_index=res.mc_index[rows], series={s: res.series[s][rows] for s in keep},
                    block_price=res.block_price),
        int(res.grid_index[-1]), int(res.replicate_index[-1]))


def chunk_work(simulate: Callable, finish: Callable, keep: Sequence[str],
               kept_per_block: int | None, audit: bool) -> tuple[Callable, Callable]:
    """The task each worker runs on a block range, and what the parent does with its result
    (→ :class:`ReducedChunk`). With a percentile subsample and no audit Parquet the worker
    derives and reduces (:func:`reduced_chunk`: kilobytes per block). Otherwise the parent
    needs every sample, and the worker sends the raw random paths, which the parent derives:
    they are 3.3× smaller than the derived series the stage keeps (1.45 against 4.8 KB per
    sample for the Public Tap, docs/BENCHMARKS.md), and deriving costs the same wherever it
    runs (300 k samples: 4.9–5.8 s either way)."""
    if kept_per_block is not None and not audit:
        return partial(reduced_chunk, simulate, finish, tuple(keep), kept_per_block), \
            (lambda chunk: chunk)
    return simulate, (lambda chunk: _indexed(finish(chunk)))


def run_samples(*, simulate: Callable, finish: Callable, n_blocks: int, chunk_blocks: int,
                samples_per_block: int,
                max_concurrency: int, series: Sequence[str], months: int, path: Path | None,
                keep: Sequence[str], emitter: Emitter, label: str, pipeline: str,
                kept_per_block: int | None = None,
                ) -> tuple[dict[int, dict[str, np.ndarray]], list[float]]:
    """Run every block; returns the kept series per grid point (with each kept sample's
    ``replicate_index``) and the per-block prices. What a worker sends back:
    :func:`chunk_work`. ``path``: also stream every sample's series to that Parquet file
    (an audit out; ``None``: nothing written).
    ``kept_per_block``: keep only the first ``k`` Monte Carlo samples of every block (the
    plan's ``stochastic.percentile_samples`` subsample; ``None``: every sample). Small
    blocks (``samples_per_block`` Monte Carlo paths) are grouped as an evaluation groups them
    (:func:`d3.core.chunks.evaluation_chunk_blocks`), and chunks hold at most
    :func:`progress_chunk_blocks` blocks, so that progress (``job_done``, the bar) moves while
    the stage runs even when all blocks fit in one ``chunk_blocks``."""
    ranges = chunk_ranges(n_blocks, progress_chunk_blocks(n_blocks, evaluation_chunk_blocks(
        chunk_blocks, samples_per_block, n_blocks, max_concurrency)))
    schema = sample_schema(series, months)
    work, received = chunk_work(simulate, finish, keep, kept_per_block, path is not None)
    by_grid: dict[int, dict[str, list[np.ndarray]]] = {}
    prices: list[float] = []
    # closing(): a failure while a chunk is written stops the workers now, not at garbage
    # collection of the generator.
    with (SampleWriter(path, schema) if path is not None else nullcontext()) as writer, \
            closing(iter_ranges(work, ranges, max_concurrency=max_concurrency)) as results:
        for done, raw in enumerate(results, start=1):
            chunk = received(raw)
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
