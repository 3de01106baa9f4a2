"""Stage ``public_capacity``: replicas per model and month on the p50 demand path, the
autoscaler on the p50/p90 traces and priced vs realised margin per model on the reference
path (unserved tokens per model, percentiles over samples, come from ``public_demand``, which
has the samples)."""

from __future__ import annotations

import numpy as np

from d3.catalog import operator_dump
from d3.core.runner import StageIO
from d3.core.variables import overrides_of, reference_values
from d3.io.writers import write_json
from d3.pipelines.common.reference import configured
from d3.pipelines.public.capacity_tables import (
    BY_MONTH_COLUMNS,
    MARGIN_COLUMNS,
    PLAN_COLUMNS,
    fleet_month_rows,
    fleet_plan_rows,
    fleet_summary,
    margin_rows,
)
from d3.pipelines.public.demand import fleet
from d3.pipelines.public.demand_blocks import DemandContext, block_inputs
from d3.pipelines.public.gpu_costs import best_rows
from d3.pipelines.public.scaling import (
    EVENT_CSV_COLUMNS,
    KPI_COLUMNS,
    event_rows,
    grid_autoscaler_runs,
    kpi_rows,
    trace_keys,
)


def run(io: StageIO) -> None:
    p = io.params()
    variables = io.load("variables")
    general = io.load("operator_general")
    hours = int(general.calendar.hours_in_month)
    demand = io.load("public_demand")
    months, horizon = demand.months, demand.horizon_months
    report = io.load("variables_report")
    replicates = report.replicates
    market = io.load("market")
    ctx = DemandContext(
        variables=variables, block_values=tuple(io.load("blocks")), replicates=replicates,
        operator_dump=operator_dump(io.load("operator_public_tap")),
        best=best_rows(list(io.load("public_cost_rows").rows)),
        channels=market.channels, eur_usd_fx_rate=market.eur_usd_fx_rate,
        months=months, seed=report.seeds["public_tap"], simulations=1,
        hours_in_month=hours, horizon_months=horizon)

    plan_rows, month_rows, plan_summary, kpi_out, events_out = [], [], {}, [], []
    margin_out = []
    seed = report.seeds["public_tap"]
    for point in demand.grid:
        g, paths = point.key, point.percentile_tokens_demanded
        values = reference_values(variables, int(g))
        inp, _ = block_inputs(ctx, values)
        public = configured("public_tap", ctx.operator_dump,
                            overrides_of(variables, values, "public_tap"))
        path_key = trace_keys(paths)["p50"]
        tokens = np.array(paths[path_key])
        res = fleet(inp, tokens)
        peak_month = int(np.argmax(tokens))
        month_rows += fleet_month_rows(g, inp.models, res, months)
        plan_rows += fleet_plan_rows(g, inp, res, peak_month)
        scaler, runs = grid_autoscaler_runs(
            public, inp, paths, horizon=horizon,
            hours_in_month=hours, seed=seed, grid_index=int(g),
            on_model=lambda model, g=g: io.emitter.emit("autoscaler_done", grid_index=int(g),
                                                        model=model))
        kpi_out += kpi_rows(int(g), runs, scaler.target_utilization_pct,
                            p["targets.autoscaling_util_tolerance_pct"])
        events_out.append((int(g), runs))
        reference = fleet(inp, np.array(point.expected_tokens_demanded))
        margin_out += margin_rows(int(g), inp, reference, horizon, hours)
        plan_summary[g] = fleet_summary(res, f"p{path_key}", peak_month)
    io.write_table("public_capacity_plan", PLAN_COLUMNS, plan_rows)
    io.write_table("public_autoscaling_kpis", KPI_COLUMNS, kpi_out)
    io.write_table("public_scaling_events", EVENT_CSV_COLUMNS,
                   (row for g, runs in events_out for row in event_rows(g, runs)), stream=True)
    io.write_table("public_capacity_by_month", BY_MONTH_COLUMNS, month_rows)
    io.write_table("public_margin_by_model", MARGIN_COLUMNS, margin_out)
    write_json(io.out("public_capacity"), {"hours_in_month": hours, "grid": plan_summary})


def main() -> None:
    from d3.cli import stage_main

    stage_main("public_capacity")


if __name__ == "__main__":
    main()
