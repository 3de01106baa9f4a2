"""Stage ``public_demand``: customers, tokens and credits per sample and month."""

from __future__ import annotations

from functools import partial

from d3.core.percentiles import monthly_percentiles
from d3.core.runner import StageIO
from d3.core.sample_run import kept_per_block, run_samples
from d3.core.variables import reference_values
from d3.io.writers import write_json
from d3.pipelines.public.capacity_tables import UNSERVED_COLUMNS, unserved_rows
from d3.pipelines.public.demand import SERIES, expected_demand
from d3.pipelines.public.demand_blocks import (
    block_inputs,
    chunk_result,
    simulate_fn,
    unserved_by_model,
)
from d3.pipelines.public.demand_tables import (
    PERCENTILE_SERIES,
    SCENARIO_COLUMNS,
    customers_columns,
    customers_rows,
    scenario_rows,
)
from d3.pipelines.public.stage_context import demand_context


def run(io: StageIO) -> None:
    p = io.params()
    ctx = demand_context(io)
    months, horizon = ctx.months, ctx.horizon_months
    general = io.load("operator_general")
    percentiles = p["stochastic.percentiles"]
    by_grid, block_prices = run_samples(
        simulate=simulate_fn(ctx), finish=partial(chunk_result, ctx),
        n_blocks=len(ctx.block_values),
        chunk_blocks=io.options.chunk_blocks or p["run.chunk_blocks"],
        samples_per_block=ctx.simulations, max_concurrency=io.options.max_concurrency,
        series=SERIES, months=months,
        path=io.audit_out("public_demand_samples"), keep=PERCENTILE_SERIES,
        emitter=io.emitter, label="public demand", pipeline="public",
        kept_per_block=kept_per_block(p["stochastic.percentile_samples"], ctx.replicates,
                                      ctx.simulations))
    calendar = (general.calendar.start_year, general.calendar.start_month)
    customer_rows, scenario_out, unserved_out, summary = [], [], [], {}
    periods = {"first_12_months": min(12, months), "horizon": horizon, "full_term": months}
    for g in sorted(by_grid):
        kept = by_grid[g]
        inp, card = block_inputs(ctx, reference_values(ctx.variables, g))
        expected = expected_demand(inp)
        pct = {s: monthly_percentiles(kept[s], percentiles, finite_only=False)
               for s in PERCENTILE_SERIES}
        customer_rows += customers_rows(g, expected, 1.0 / inp.customers_per_eur,
                                        card.blended_sell_eur_per_1k, pct, percentiles, calendar)
        scenario_out += [row for name, mult in p["scenarios"].items()
                         for row in scenario_rows(name, g, expected_demand(inp.scenario(
                             budget=mult["budget_multiplier"], cac=mult["cac_multiplier"],
                             churn=mult["churn_multiplier"], tokens=mult["tokens_multiplier"])),
                             periods)]
        unserved_out += unserved_rows(g, inp.models, *unserved_by_model(
            ctx, g, kept["replicate_index"], kept["tokens_demanded"]))
        summary[str(g)] = grid_summary(card, expected, pct["tokens_demanded"], percentiles)
    io.write_table("public_customers_by_month", customers_columns(percentiles), customer_rows)
    io.write_table("public_scenarios", SCENARIO_COLUMNS, scenario_out)
    io.write_table("public_unserved_by_month", UNSERVED_COLUMNS, unserved_out)
    write_json(io.out("public_demand"), {
        "months": months, "horizon_months": horizon, "percentiles": percentiles,
        "calendar": list(calendar), "grid": summary,
        "block_blended_sell_eur_per_1k": block_prices,
    })


def grid_summary(card, expected, tokens_demanded_pct, percentiles) -> dict:
    """A grid point's entry in ``public_demand.json``: its price card's blend, the expected
    path and the monthly percentiles of demanded tokens (the autoscaler's traces)."""
    return {
        "blended_sell_eur_per_1k": card.blended_sell_eur_per_1k,
        "blended_cost_eur_per_1M": card.blended_cost_eur_per_1M,
        "mix": card.mix,
        "expected": {k: v[0].tolist() for k, v in expected.items()},
        "percentile_tokens_demanded": {str(q): tokens_demanded_pct[i].tolist()
                                       for i, q in enumerate(percentiles)},
    }


def main() -> None:
    from d3.cli import stage_main

    stage_main("public_demand")


if __name__ == "__main__":
    main()
