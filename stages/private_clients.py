"""Stage ``private_clients``: clients, GPU-hours, revenue and COGS per sample and month."""

from __future__ import annotations

from functools import partial

from d3.core.percentiles import monthly_percentiles
from d3.core.runner import StageIO
from d3.core.sample_run import kept_per_block, run_samples
from d3.core.variables import reference_values
from d3.io.writers import write_json
from d3.pipelines.private.client_blocks import (
    block_client_inputs,
    chunk_result,
    simulate_fn,
)
from d3.pipelines.private.clients import SERIES, expected_clients
from d3.pipelines.private.stage_context import client_context
from d3.pipelines.private.tables import PERCENTILE_SERIES, customers_columns, customers_rows


def run(io: StageIO) -> None:
    p = io.params()
    ctx = client_context(io)
    variables, months, blocks = ctx.variables, ctx.months, ctx.block_values
    general = io.load("operator_general")
    horizon = p["targets.horizon_months"]
    percentiles = p["stochastic.percentiles"]
    by_grid, _ = run_samples(
        simulate=simulate_fn(ctx), finish=partial(chunk_result, ctx), n_blocks=len(blocks),
        chunk_blocks=io.options.chunk_blocks or p["run.chunk_blocks"],
        samples_per_block=ctx.simulations, max_concurrency=io.options.max_concurrency,
        series=SERIES, months=months,
        path=io.audit_out("private_clients_samples"), keep=PERCENTILE_SERIES,
        emitter=io.emitter, label="private clients", pipeline="private",
        kept_per_block=kept_per_block(p["stochastic.percentile_samples"], ctx.replicates,
                                      ctx.simulations))
    calendar = (general.calendar.start_year, general.calendar.start_month)
    rows, summary = [], {}
    for g in sorted(by_grid):
        inp = block_client_inputs(ctx, reference_values(variables, g))
        expected = expected_clients(inp)
        pct = {s: monthly_percentiles(by_grid[g][s], percentiles, finite_only=False)
               for s in PERCENTILE_SERIES}
        rows += customers_rows(g, expected, inp, pct, percentiles, calendar)
        summary[str(g)] = {"sell_eur_hr": inp.sell_eur_hr, "cost_eur_hr": inp.cost_eur_hr,
                           "fees_eur_per_client_month": inp.fees_eur_per_client_month,
                           "expected": {k: v[0].tolist() for k, v in expected.items()}}
    io.write_table("private_customers_by_month", customers_columns(percentiles), rows)
    write_json(io.out("private_clients"),
               {"months": months, "horizon_months": horizon, "grid": summary})


def main() -> None:
    from d3.cli import stage_main

    stage_main("private_clients")


if __name__ == "__main__":
    main()
