"""Chunked, optionally parallel execution whose results never depend on the chunking.

Work is split into contiguous ranges of whole ``(grid_index, replicate_index)`` blocks. Each
range is computed by a pure, top-level function (so it pickles into a worker process); results
come back in range order, whatever the worker count, so the assembled output is identical for
any ``chunk_size`` and ``max_concurrency``.

Workers leave nothing behind: they ignore Ctrl-C (the parent handles it and stops them), exit on
their own when the parent dies (SIGKILL), and are terminated, not waited for, when the parent
stops early (an error, Ctrl-C, SIGTERM).
"""

from __future__ import annotations

import os
import signal
import threading
import time
from collections.abc import Callable, Iterator, Sequence
from concurrent.futures import CancelledError, ProcessPoolExecutor
from contextlib import closing, contextmanager
from typing import Any, TypeVar

import numpy as np

from d3.core.executor import ExecutorUnavailable, active_client, call_range
from d3.core.interrupts import interrupts_held

T = TypeVar("T")
ORPHAN_POLL_S = 0.5
# Samples a chunk of small blocks is raised to (≈ 100 MB of a worker's monthly series at 60
# months; see evaluation_chunk_blocks).
MIN_CHUNK_SAMPLES = 2_000


def _exit_when_orphaned(parent_pid: int) -> None:
    """Poll until the worker's parent is gone, then exit: a pool worker otherwise waits forever
    for work from a parent that was killed (and keeps its pipes and memory)."""
    while os.getppid() == parent_pid:
        time.sleep(ORPHAN_POLL_S)
    os._exit(1)


def _worker_started() -> None:
    """Set-up of each worker process. It inherits the parent's handlers by fork: Ctrl-C is the
    parent's to handle (a worker interrupted while idle would print a traceback), and SIGTERM
    must simply end it (the parent's handler turns it into an interrupt)."""
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    signal.signal(signal.SIGTERM, signal.SIG_DFL)
    threading.Thread(target=_exit_when_orphaned, args=(os.getppid(),), daemon=True).start()


@contextmanager
def worker_pool(max_concurrency: int) -> Iterator[ProcessPoolExecutor]:
    """A process pool for the block. Leaving the block by an exception (an error, Ctrl-C,
    SIGTERM, a generator closed early) cancels the queued chunks and terminates the workers
    instead of waiting for them: their work is pure and its results are being discarded."""
    pool = ProcessPoolExecutor(max_workers=max_concurrency, initializer=_worker_started)
    try:
        yield pool
    except BaseException:
        # SIGKILL, not SIGTERM: a worker forked a moment ago may still run the parent's handlers.
        # (Python 3.14 has pool.kill_workers(); 3.11 keeps the workers in _processes.)
        for process in list((getattr(pool, "_processes", None) or {}).values()):
            process.kill()
        pool.shutdown(wait=True, cancel_futures=True)
        raise
    pool.shutdown(wait=True)


def chunk_ranges(n_items: int, chunk_size: int) -> list[tuple[int, int]]:
    """``[(0, c), (c, 2c), …]`` covering ``range(n_items)``."""
    if chunk_size < 1:
        raise ValueError(f"chunk_size must be ≥ 1, got {chunk_size}")
    return [(start, min(start + chunk_size, n_items)) for start in range(0, n_items, chunk_size)]


def evaluation_chunk_blocks(chunk_blocks: int, samples_per_block: int, n_blocks: int,
                            max_concurrency: int) -> int:
    """Blocks per chunk of an evaluation or a sampling stage: ``run.chunk_blocks`` (or
    ``--chunk-blocks``), raised for small blocks until a chunk holds ``MIN_CHUNK_SAMPLES``
    samples, but never so far that fewer than two chunks per worker remain. A task costs
    ≈ 10 ms whatever its size (the work sent to the worker, its configurations rebuilt): the
    solver's 20-path blocks in chunks of 2 spent more on that than on their samples. So
    ``chunk_blocks`` is a lower bound for small blocks: a chunk holds at most
    ``max(chunk_blocks × samples_per_block, MIN_CHUNK_SAMPLES + samples_per_block)`` samples
    (a worker holds one block's monthly series at a time, and the chunk's KPIs and kept
    series), and chunking never changes a number."""
    wanted = -(-MIN_CHUNK_SAMPLES // max(1, samples_per_block))
    spread = max(1, -(-n_blocks // (2 * max(1, max_concurrency))))
    return max(chunk_blocks, min(wanted, spread))


def equal_runs(values: np.ndarray) -> list[tuple[int, slice]]:
    """The runs of equal values in ``values`` ``(n,)`` (integers), in order, each as (value,
    its positions as a slice). A chunk's samples come block by block and its blocks grid point
    by grid point, so a block's (or a grid point's) samples are one run, selected by a slice
    without a copy."""
    if values.size == 0:
        return []
    starts = np.flatnonzero(np.r_[True, values[1:] != values[:-1]])
    stops = np.r_[starts[1:], values.size]
    return [(int(values[a]), slice(int(a), int(b))) for a, b in zip(starts, stops, strict=True)]


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
    client = active_client()
    if client is not None and ranges:
        with closing(_dask_results(client, fn, ranges, window=len(ranges))) as done:
            for result in done:
                results.append(result)
                if on_done:
                    on_done(len(results))
        return results
    if max_concurrency == 1 or len(ranges) <= 1:
        for start, stop in ranges:
            results.append(fn(start, stop))
            if on_done:
                on_done(len(results))
        return results
    with worker_pool(max_concurrency) as pool:
        with interrupts_held():  # submit forks the workers
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
    client = active_client()
    if client is not None and ranges:
        threads = sum(client.nthreads().values()) or 1
        yield from _dask_results(client, fn, ranges, window=2 * threads)
        return
    if max_concurrency == 1 or len(ranges) <= 1:
        for start, stop in ranges:
            yield fn(start, stop)
        return
    window = 2 * max_concurrency
    with worker_pool(max_concurrency) as pool:
        with interrupts_held():  # the first submit forks every worker
            pending = [pool.submit(fn, *r) for r in ranges[:window]]
        submitted = len(pending)
        while pending:
            result = pending.pop(0).result()
            if submitted < len(ranges):
                pending.append(pool.submit(fn, *ranges[submitted]))
                submitted += 1
            yield result


def _dask_results(client, fn: Callable[[int, int], T], ranges: Sequence[tuple[int, int]], *,
                  window: int) -> Iterator[T]:
    """``fn(start, stop)`` of each range as Dask tasks, yielded in range order with at most
    ``window`` tasks in flight. ``fn`` (the work function with its validated inputs) is
    scattered to every worker once; each task carries only its range. Leaving early (an
    error, Ctrl-C, a generator closed) cancels what is still queued."""
    shipped = client.scatter(fn, broadcast=True, hash=False)
    pending = []
    try:
        for start, stop in ranges[:window]:
            pending.append(client.submit(call_range, shipped, start, stop, pure=False))
        submitted = len(pending)
        while pending:
            result = _dask_result(pending.pop(0))
            if submitted < len(ranges):
                start, stop = ranges[submitted]
                pending.append(client.submit(call_range, shipped, start, stop, pure=False))
                submitted += 1
            yield result
    finally:
        if pending:
            client.cancel(pending)
        client.cancel([shipped])


def _dask_result(future: Any) -> Any:
    """A Dask task's result. An error the task raised itself (the future's status "error")
    passes through as it is (a bug: exit 3 with its text). Otherwise a cancelled future or a
    broken connection means the cluster was lost mid-run: :class:`ExecutorUnavailable` with
    what to do."""
    try:
        return future.result()
    except Exception as exc:
        if getattr(future, "status", None) == "error" or not isinstance(
                exc, CancelledError | OSError):
            raise
        what = " ".join(f"{type(exc).__name__}: {exc}".split())  # distributed's text has newlines
        raise ExecutorUnavailable(f"lost the Dask cluster mid-run ({what}); nothing was written "
                                  f"— rerun, or run with --executor local") from exc
