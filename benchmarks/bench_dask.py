"""Benchmark the Dask executor (issue 18) against the local one on the same fan-out.

Usage: python -m benchmarks.bench_dask [--samples 1000000] [--simulations 1000]
       [--chunk-blocks 16] [--workers 2] [--percentile-samples N]

1. The Public Tap demand draws of ``--samples`` samples × 60 months (the sample-block fan-out
   of the ``public_demand`` stage, as benchmarks/bench_public_demand.py), exactly as the stage
   runs it (``d3.core.sample_run.chunk_work``): with ``--percentile-samples`` each task draws,
   derives and keeps in the worker and sends back the subsample's series; without, it sends
   the raw draws (the smaller message when every sample is kept) and the client derives.
   Once with the local executor (a process pool of ``--workers``) and once on a
   ``distributed.LocalCluster`` of ``--workers`` single-threaded worker processes.
2. The per-task overhead: 400 no-op chunks through the same Dask path (scatter once, submit,
   gather in order), and the bytes a chunk's result carries back to the client: the stage's
   task, the raw draws, every sample's kept series, and the engine's reduced outcome
   (``d3.streaming.chunk_outcome``: both lines drawn and consolidated in the worker;
   per-sample KPIs and criteria flags, as a sensitivity or solve evaluation fans out).
"""

from __future__ import annotations

import argparse
import os
import pickle
import time
from functools import partial
from pathlib import Path

from benchmarks.bench_public_demand import context
from d3.core.chunks import chunk_ranges, iter_ranges, map_ranges
from d3.core.executor import ExecutorChoice, executor_session
from d3.core.sample_run import chunk_work, kept_per_block, reduced_chunk
from d3.model import model_inputs
from d3.model.evaluate import engine_work
from d3.pipelines.public.demand_blocks import chunk_result, simulate_fn
from d3.pipelines.public.demand_tables import PERCENTILE_SERIES
from d3.streaming import chunk_outcome

ROOT = Path(__file__).resolve().parents[1]


def arguments() -> argparse.Namespace:
    parser = argparse.ArgumentParser()
    parser.add_argument("--samples", type=int, default=1_000_000)
    parser.add_argument("--simulations", type=int, default=1000)
    parser.add_argument("--chunk-blocks", type=int, default=16)
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--percentile-samples", type=int, default=None,
                        help="stochastic.percentile_samples (default: every sample)")
    return parser.parse_args()


def timed_fan_out(work, received, ranges, workers: int) -> float:
    start = time.perf_counter()
    for chunk in iter_ranges(work, ranges, max_concurrency=workers):
        received(chunk)
    return time.perf_counter() - start


def engine_chunk_text(args: argparse.Namespace) -> str:
    """The pickled size of one engine chunk's outcome (both lines, the shipped plan with
    ``--simulations`` paths per block, ``--chunk-blocks`` blocks): with the acceptance
    criteria (each sample's demanded tokens ride along for the autoscaler's p50/p90 traces)
    and without (per-sample KPIs only)."""
    inputs = model_inputs(ROOT / "inputs", ROOT / "params.yaml").with_overrides(
        {"params.yaml:stochastic.simulations_per_run": args.simulations})
    blocks = min(args.chunk_blocks, len(engine_work(inputs).blocks))
    samples = blocks * args.simulations
    sizes = {criteria: len(pickle.dumps(chunk_outcome(engine_work(inputs, criteria=criteria),
                                                      0, blocks), protocol=5))
             for criteria in (True, False)}
    return (f"one engine chunk's outcome (both lines drawn and consolidated, {samples} "
            f"samples): {sizes[True] / 1e3:.0f} KB pickled with the criteria "
            f"({sizes[True] / samples:.0f} bytes per sample), {sizes[False] / 1e3:.0f} KB "
            f"without ({sizes[False] / samples:.0f} bytes per sample)")


def no_op(start: int, stop: int) -> int:
    return stop - start


def main() -> None:
    args = arguments()
    ctx = context(args.samples, args.simulations)
    simulate, finish = simulate_fn(ctx), partial(chunk_result, ctx)
    blocks = len(ctx.block_values)
    ranges = chunk_ranges(blocks, args.chunk_blocks)
    sample_months = blocks * ctx.simulations * ctx.months
    print(f"machine: {os.cpu_count()} cores; {blocks} blocks × {ctx.simulations} simulations × "
          f"{ctx.months} months = {sample_months / 1e6:.1f} M sample-months, {len(ranges)} "
          f"chunks of {args.chunk_blocks} blocks")
    work, received = chunk_work(
        simulate, finish, PERCENTILE_SERIES,
        kept_per_block(args.percentile_samples, ctx.replicates, ctx.simulations), audit=False)
    raw_bytes = len(pickle.dumps(simulate(*ranges[0]), protocol=5))
    task_bytes = len(pickle.dumps(work(*ranges[0]), protocol=5))
    kept_bytes = len(pickle.dumps(partial(reduced_chunk, simulate, finish, PERCENTILE_SERIES,
                                          ctx.simulations)(*ranges[0]), protocol=5))
    print(f"one chunk's result: {task_bytes / 1e6:.2f} MB pickled (the stage's task, "
          f"percentile_samples {args.percentile_samples}); raw draws {raw_bytes / 1e6:.1f} MB; "
          f"every sample's kept series {kept_bytes / 1e6:.1f} MB")
    print(engine_chunk_text(args))
    local = timed_fan_out(work, received, ranges, args.workers)
    print(f"local executor, {args.workers} worker processes: {local:.2f} s "
          f"({sample_months / local / 1e6:.2f} M sample-months/s)")
    with executor_session(ExecutorChoice("dask", None, args.workers)) as client:
        client.wait_for_workers(1)
        workers = len(client.scheduler_info()["workers"])
        dask = timed_fan_out(work, received, ranges, args.workers)
        print(f"dask LocalCluster, {workers} workers: {dask:.2f} s "
              f"({sample_months / dask / 1e6:.2f} M sample-months/s); dask/local = "
              f"{dask / local:.2f}")
        no_ops = chunk_ranges(400, 1)
        map_ranges(no_op, no_ops[:20])  # warm the workers
        start = time.perf_counter()
        map_ranges(no_op, no_ops)
        per_task = (time.perf_counter() - start) / len(no_ops)
        print(f"per-task overhead (no-op chunk, scatter + submit + in-order gather): "
              f"{per_task * 1e3:.2f} ms")


if __name__ == "__main__":
    main()
