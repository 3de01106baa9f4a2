"""Benchmark the Public Tap demand kernel: sample-months per second and peak memory.

Usage: python -m benchmarks.bench_public_demand [--samples 1000000] [--simulations 1000]
       [--workers 1 2]

Builds the real per-block context from the shipped inputs (validation, variables, price cards)
and runs every block through the same chunked executor the stage uses, discarding results
(compute only; the stage additionally writes Parquet).
"""

from __future__ import annotations

from functools import partial
from pathlib import Path

from benchmarks.common import sample_args, sweep
from d3.core.samples import SampleSpace, all_blocks_values, grid_size_of
from d3.core.validator import validated_inputs
from d3.io.loader import read_inputs_tree
from d3.pipelines.common.catalog import catalog_from_validated
from d3.pipelines.public.catalog import public_cost_rows
from d3.pipelines.public.demand_blocks import DemandContext, chunk_result, simulate_fn
from d3.pipelines.public.gpu_costs import best_rows

ROOT = Path(__file__).resolve().parents[1]


def context(samples: int, simulations: int) -> DemandContext:
    v = validated_inputs(read_inputs_tree(ROOT / "inputs", ROOT / "params.yaml"))
    grid = grid_size_of(v.variables)
    replicates = max(1, round(samples / simulations / grid))
    space = SampleSpace(grid, replicates, simulations)
    values = all_blocks_values(v.variables, v.seeds, space, chunk_blocks=256, max_concurrency=1)
    fx = v.market.finance.eur_usd_fx_rate.value
    best = best_rows(public_cost_rows(catalog_from_validated(v), v.public, eur_usd_fx_rate=fx))
    return DemandContext(
        variables=v.variables, block_values=tuple(values), replicates=replicates,
        operator_dump=v.public.model_dump(mode="python"), best=best,
        channels={c.channel_id: c.model_dump() for c in v.channels}, eur_usd_fx_rate=fx,
        months=max(v.plan.targets.horizon_months, v.general.loan.term_months),
        seed=v.seeds["public_tap"], simulations=simulations,
        hours_in_month=int(v.general.calendar.hours_in_month),
        horizon_months=v.plan.targets.horizon_months)


def main() -> None:
    args = sample_args()
    ctx = context(args.samples, args.simulations)
    sweep(simulate=simulate_fn(ctx), finish=partial(chunk_result, ctx),
          blocks=len(ctx.block_values), simulations=ctx.simulations, months=ctx.months,
          chunk_blocks=args.chunk_blocks, workers=args.workers)


if __name__ == "__main__":
    main()
