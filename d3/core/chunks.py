"""Chunked, optionally parallel execution whose results never depend on the chunking.

Work is split into contiguous ranges of whole ``(grid_index, replicate_index)`` blocks. Each
range is computed by a pure, top-level function (so it pickles into a worker process); results
come back in range order, whatever the worker count, so the assembled output is identical for
any ``chunk_size`` and ``max_concurrency``.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from concurrent.futures import ProcessPoolExecutor
from typing import TypeVar

T = TypeVar("T")


def chunk_ranges(n_items: int, chunk_size: int) -> list[tuple[int, int]]:
    """``[(0, c), (c, 2c), …]`` covering ``range(n_items)``."""
    if chunk_size < 1:
        raise ValueError(f"chunk_size must be ≥ 1, got {chunk_size}")
    return [(start, min(start + chunk_size, n_items)) for start in range(0, n_items, chunk_size)]


def map_ranges(
    fn: Callable[[int, int], T],
    ranges: Sequence[tuple[int, int]],
    *,
    max_concurrency: int = 1,
    on_done: Callable[[int], None] | None = None,
) -> list[T]:
    """``[fn(start, stop) for each range]`` in range order, in up to ``max_concurrency``
    worker processes."""
    if max_concurrency < 1:
        raise ValueError(f"max_concurrency must be ≥ 1, got {max_concurrency}")
    results: list[T] = []
    if max_concurrency == 1 or len(ranges) <= 1:
        for start, stop in ranges:
            results.append(fn(start, stop))
            if on_done:
                on_done(len(results))
        return results
    with ProcessPoolExecutor(max_workers=max_concurrency) as pool:
        futures = [pool.submit(fn, start, stop) for start, stop in ranges]
        for future in futures:
            results.append(future.result())
            if on_done:
                on_done(len(results))
    return results


def iter_ranges(
    fn: Callable[[int, int], T],
    ranges: Sequence[tuple[int, int]],
    *,
    max_concurrency: int = 1,
):
    """Yield ``fn(start, stop)`` for each range, in range order, keeping at most
    ``2 × max_concurrency`` chunks in flight (memory stays bounded for large runs)."""
    if max_concurrency < 1:
        raise ValueError(f"max_concurrency must be ≥ 1, got {max_concurrency}")
    if max_concurrency == 1 or len(ranges) <= 1:
        for start, stop in ranges:
            yield fn(start, stop)
        return
    window = 2 * max_concurrency
    with ProcessPoolExecutor(max_workers=max_concurrency) as pool:
        pending = [pool.submit(fn, *r) for r in ranges[:window]]
        submitted = len(pending)
        while pending:
            result = pending.pop(0).result()
            if submitted < len(ranges):
                pending.append(pool.submit(fn, *ranges[submitted]))
                submitted += 1
            yield result
