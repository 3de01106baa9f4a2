"""The Public Tap's block context built from a stage's declared deps: ``public_demand`` draws
with it, ``consolidate`` draws the same blocks again with it (keyed streams: the same numbers)
to consolidate them where they are drawn."""

from __future__ import annotations

from d3.catalog import operator_dump
from d3.core.runner import StageIO
from d3.pipelines.public.demand_blocks import DemandContext
from d3.pipelines.public.gpu_costs import best_rows


def demand_context(io: StageIO) -> DemandContext:
    """The Public Tap's block context, read from the stage's deps."""
    p = io.params()
    report = io.load("variables_report")
    general = io.load("operator_general")
    market = io.load("market")
    horizon = p["targets.horizon_months"]
    return DemandContext(
        variables=io.load("variables"),
        block_values=tuple(io.load("blocks")),
        replicates=report.replicates,
        operator_dump=operator_dump(io.load("operator_public_tap")),
        best=best_rows(list(io.load("public_cost_rows").rows)),
        channels=market.channels,
        eur_usd_fx_rate=market.eur_usd_fx_rate,
        months=max(horizon, general.loan.term_months),
        seed=report.seeds["public_tap"],
        simulations=p["stochastic.simulations_per_run"],
        hours_in_month=int(general.calendar.hours_in_month),
        horizon_months=horizon,
        noise=p["stochastic.outcome_noise"],
    )
