"""Benchmark the Private Tap clients kernel: sample-months per second and peak memory.

Usage: python benchmarks/bench_private_clients.py [--samples 1000000] [--simulations 1000]
       [--workers 1 2]
"""

from __future__ import annotations

import argparse
import os
import resource
import time
from pathlib import Path

from d3.core.chunks import chunk_ranges, iter_ranges
from d3.core.samples import SampleSpace, all_blocks_values, grid_size_of
from d3.core.validator import validated_inputs
from d3.io.loader import read_inputs_tree
from d3.pipelines.private.client_blocks import ClientContext, chunk_result, simulate_fn
from d3.pipelines.private.provider_costs import provider_offers
from d3.pipelines.public.catalog import catalog_from_validated

ROOT = Path(__file__).resolve().parents[1]


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--samples", type=int, default=1_000_000)
    parser.add_argument("--simulations", type=int, default=1000)
    parser.add_argument("--chunk-blocks", type=int, default=16)
    parser.add_argument("--workers", type=int, nargs="+", default=[1, 2])
    args = parser.parse_args()
    v = validated_inputs(read_inputs_tree(ROOT / "inputs", ROOT / "params.yaml"))
    grid = grid_size_of(v.variables)
    replicates = max(1, round(args.samples / args.simulations / grid))
    space = SampleSpace(grid, replicates, args.simulations)
    values = all_blocks_values(v.variables, v.seeds, space, chunk_blocks=256, max_concurrency=1)
    fx = v.market.finance.eur_usd_fx_rate.value
    offers = provider_offers(catalog_from_validated(v).offers,
                             fx_buffer_pct=v.private.meta.fx_buffer_pct, eur_usd_fx_rate=fx)
    ctx = ClientContext(
        variables=v.variables, block_values=tuple(values), replicates=replicates,
        operator_dump=v.private.model_dump(mode="python"), offers=tuple(offers),
        channels={c.channel_id: c.model_dump() for c in v.channels}, eur_usd_fx_rate=fx,
        months=max(v.plan.targets.horizon_months, v.general.loan.term_months),
        seed=v.seeds["private_tap"], simulations=args.simulations)
    blocks = len(values)
    sample_months = blocks * ctx.simulations * ctx.months
    print(f"machine: {os.cpu_count()} cores; {blocks} blocks × {ctx.simulations} × {ctx.months} "
          f"months = {sample_months / 1e6:.1f} M sample-months")
    for workers in args.workers:
        start = time.perf_counter()
        for chunk in iter_ranges(simulate_fn(ctx), chunk_ranges(blocks, args.chunk_blocks),
                                 max_concurrency=workers):
            chunk_result(ctx, chunk)  # the parent derives the other series, as the stage does
        seconds = time.perf_counter() - start
        peak = max(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss,
                   resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss) / 1024
        print(f"workers {workers}: {seconds:.2f} s, {sample_months / seconds / 1e6:.2f} M "
              f"sample-months/s, peak RSS per process {peak:.0f} MB")


if __name__ == "__main__":
    main()
