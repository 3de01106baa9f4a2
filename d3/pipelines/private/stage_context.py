"""The Private Tap's block context built from a stage's declared deps: ``private_clients``
draws with it, ``consolidate`` draws the same blocks again with it (keyed streams: the same
numbers) to consolidate them where they are drawn."""

from __future__ import annotations

from d3.catalog import operator_dump
from d3.core.runner import StageIO
from d3.pipelines.private.client_blocks import ClientContext


def client_context(io: StageIO) -> ClientContext:
    """The Private Tap's block context, read from the stage's deps."""
    p = io.params()
    report = io.load("variables_report")
    general = io.load("operator_general")
    market = io.load("market")
    return ClientContext(
        variables=io.load("variables"), block_values=tuple(io.load("blocks")),
        replicates=report.replicates,
        operator_dump=operator_dump(io.load("operator_private_tap")),
        offers=io.load("private_offers").offers,
        channels=market.channels, eur_usd_fx_rate=market.eur_usd_fx_rate,
        months=max(p["targets.horizon_months"], general.loan.term_months),
        seed=report.seeds["private_tap"],
        simulations=p["stochastic.simulations_per_run"], noise=p["stochastic.outcome_noise"])
