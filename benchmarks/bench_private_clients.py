"""Benchmark the Private Tap clients kernel: sample-months per second and peak memory.

Usage: python -m benchmarks.bench_private_clients [--samples 1000000] [--simulations 1000]
       [--workers 1 2]
"""

from __future__ import annotations

from functools import partial
from pathlib import Path

from benchmarks.common import sample_args, sweep
from d3.core.samples import SampleSpace, all_blocks_values, grid_size_of
from d3.core.validator import validated_inputs
from d3.io.loader import read_inputs_tree
from d3.pipelines.common.catalog import catalog_from_validated
from d3.pipelines.private.client_blocks import ClientContext, chunk_result, simulate_fn
from d3.pipelines.private.provider_costs import provider_offers

ROOT = Path(__file__).resolve().parents[1]


def main() -> None:
    args = sample_args()
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
    sweep(simulate=simulate_fn(ctx), finish=partial(chunk_result, ctx), blocks=len(values),
          simulations=ctx.simulations, months=ctx.months, chunk_blocks=args.chunk_blocks,
          workers=args.workers)


if __name__ == "__main__":
    main()
