"""Shared pieces of the benchmark scripts: the command line and the timed sweep."""

from __future__ import annotations

import argparse
import os
import resource
import time
from collections.abc import Callable

from d3.core.chunks import chunk_ranges, iter_ranges


def sample_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser()
    parser.add_argument("--samples", type=int, default=1_000_000)
    parser.add_argument("--simulations", type=int, default=1000)
    parser.add_argument("--chunk-blocks", type=int, default=16)
    parser.add_argument("--workers", type=int, nargs="+", default=[1, 2])
    return parser.parse_args()


def sweep(*, simulate: Callable, finish: Callable, blocks: int, simulations: int, months: int,
          chunk_blocks: int, workers: list[int]) -> None:
    """Time every block through the stage's executor (workers draw, the parent derives) for
    each worker count; print sample-months per second and peak RSS."""
    sample_months = blocks * simulations * months
    print(f"machine: {os.cpu_count()} cores; {blocks} blocks × {simulations} simulations × "
          f"{months} months = {sample_months / 1e6:.1f} M sample-months")
    for n in workers:
        start = time.perf_counter()
        for chunk in iter_ranges(simulate, chunk_ranges(blocks, chunk_blocks), max_concurrency=n):
            finish(chunk)
        seconds = time.perf_counter() - start
        peak_mb = max(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss,
                      resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss) / 1024
        print(f"workers {n}: {seconds:.2f} s, {sample_months / seconds / 1e6:.2f} M "
              f"sample-months/s, peak RSS per process {peak_mb:.0f} MB")
