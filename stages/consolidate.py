"""Stage ``consolidate``: P&L, cashflow, loan, VAT, KPIs with percentiles, covenants."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import replace
from decimal import Decimal

import numpy as np
import pyarrow as pa

from d3.acceptance import PATH_EVIDENCE
from d3.catalog import operator_dump
from d3.consolidation import (
    PRIVATE_SERIES,
    PUBLIC_SERIES,
    Consolidation,
    GridTables,
    grid_tables,
)
from d3.core.chunks import evaluation_chunk_blocks
from d3.core.runner import StageIO
from d3.core.sample_run import kept_per_block, progress_chunk_blocks
from d3.core.variables import grid_label, reference_values
from d3.finance.loan import loan_schedule
from d3.finance.tables import (
    BALANCE_SHEET_PERCENTILES,
    BALANCE_SHEET_SERIES,
    BREAK_EVEN_COLUMNS,
    LOAN_COLUMNS,
    VAT_SERIES,
    YEAR_COLUMNS,
    OptionalLines,
    kpi_columns,
    monthly_columns,
)
from d3.io.writers import fmt_float, write_json, write_parquet, write_text_atomic
from d3.pipelines.private.stage_context import client_context
from d3.pipelines.public.stage_context import demand_context
from d3.report.consolidated_summary import summary_document, summary_markdown
from d3.streaming import GridPart, SampleWork, grid_parts, sample_work

FAN_COLUMNS = ("month", "p10", "p50", "p90")


def sample_work_of(io: StageIO) -> tuple[SampleWork, OptionalLines]:
    """What every worker needs to draw, derive and consolidate any range of blocks; it keeps
    every finance series and the lines' series the tables read, for every sample or the
    plan's stratified subsample (``stochastic.percentile_samples``); and the optional P&L
    lines the run shows."""
    p = io.params()
    lines = io.pipelines()
    general = io.load("operator_general")
    replicates = io.load("variables_report").replicates
    return sample_work(
        demand=demand_context(io) if "public" in lines else None,
        clients=client_context(io) if "private" in lines else None,
        general_dump=operator_dump(general), variables=io.load("variables"),
        blocks=tuple(io.load("blocks")), replicates=replicates,
        premiums=io.load("market").premiums,
        months=max(p["targets.horizon_months"], general.loan.term_months),
        hours_in_month=general.calendar.hours_in_month,
        overhead_allocation_driver=p["consolidation.overhead_allocation_driver"],
        horizon_months=p["targets.horizon_months"], min_dscr=p["targets.min_dscr"],
        public_growth_min_mom_pct=p["targets.public_growth_min_mom_pct"],
        finance_kept="all", demand_kept=PUBLIC_SERIES, clients_kept=PRIVATE_SERIES,
        kept_per_block=kept_per_block(p["stochastic.percentile_samples"], replicates,
                                      p["stochastic.simulations_per_run"]))


def consolidation_of(io: StageIO) -> tuple[Consolidation, Iterator[GridPart]]:
    """The stage's settings, and each grid point's samples as the workers draw and
    consolidate them (yielded grid point by grid point)."""
    p = io.params()
    lines = io.pipelines()
    general = io.load("operator_general")
    work, lines_on = sample_work_of(io)
    c = Consolidation(
        grid_points=tuple(sorted(work.cash_buffer_eur)),
        demand_doc=io.load("public_demand").doc if "public" in lines else None,
        private_doc=io.load("private_clients").doc if "private" in lines else None,
        scaler_rows=io.load("public_autoscaling_kpis") if "public" in lines else [],
        configs=work.configs, premiums=work.premiums,
        qs=p["stochastic.percentiles"], horizon=work.horizon_months, min_dscr=work.min_dscr,
        driver=work.overhead_allocation_driver, hours=work.hours_in_month,
        calendar=(general.calendar.start_year, general.calendar.start_month),
        months=work.months, lines_on=lines_on)
    # Small blocks grouped (a task's fixed cost), then progress-sized chunks: both workers
    # busy even when every block fits in one chunk (chunking never changes a number).
    chunk_blocks = progress_chunk_blocks(len(work.blocks), evaluation_chunk_blocks(
        io.options.chunk_blocks or p["run.chunk_blocks"], p["stochastic.simulations_per_run"],
        len(work.blocks), io.options.max_concurrency))
    return c, grid_parts(
        work, len(work.blocks), chunk_blocks,
        max_concurrency=io.options.max_concurrency,
        on_chunk=lambda done, total: io.emitter.progress(done, total, "consolidate"))


def run(io: StageIO) -> None:
    c, parts = consolidation_of(io)
    tables, samples = {}, {}
    for part in parts:  # one grid point's kept monthly series in memory at a time
        tables[part.grid_index] = grid_tables(c, part)
        samples[part.grid_index] = replace(part, kept={})
    pnl, cash = c.lines_on.pnl_series(), c.lines_on.cash_series()
    qs = c.qs

    def joined(name: str) -> list:
        return [row for t in tables.values() for row in getattr(t, name)]

    _write_loan(io)
    io.write_table("pnl_by_month", monthly_columns(pnl, pnl, qs), joined("pnl"))
    io.write_table("pnl_by_year", YEAR_COLUMNS, joined("years"))
    io.write_table("cashflow_by_month", monthly_columns(cash, cash, qs), joined("cash"))
    io.write_table("vat_set_aside", (*monthly_columns(VAT_SERIES, (), qs), "policy"),
                   joined("vat"))
    io.write_table("balance_sheet_by_month",
                   monthly_columns(BALANCE_SHEET_SERIES, BALANCE_SHEET_PERCENTILES, qs),
                   joined("balance_sheet"))
    io.write_table("break_even_targets", BREAK_EVEN_COLUMNS, joined("break_even"))
    io.write_table("consolidated_kpis", kpi_columns(qs), joined("kpi_rows"))
    for t in tables.values():
        for name, rows in t.fans.items():
            io.write_table(name, FAN_COLUMNS, rows)
    _write_summary(io, c, tables)
    write_json(io.out("metrics"), {f"grid_{g}": t.metrics for g, t in tables.items()})
    write_json(io.out("consolidated_expected"), {"horizon_months": c.horizon,
                                    "grid": {str(g): t.reference for g, t in tables.items()}})
    write_parquet(io.out("consolidated_sample_kpis"), _sample_kpis_table(samples, tables))
    io.emitter.emit("aggregate_done", grid_points=len(tables),
                    samples=sum(len(part.replicate_index) for part in samples.values()))


def _write_loan(io: StageIO) -> None:
    general = io.load("operator_general")
    loan = loan_schedule(amount_eur=general.loan.amount_eur,
                         term_months=general.loan.term_months,
                         interest_rate_pct_flat=general.loan.interest_rate_pct_flat,
                         grace_period_months=general.loan.grace_period_months,
                         repayment=general.loan.repayment)
    io.write_table("loan_schedule", LOAN_COLUMNS, [
        [str(m + 1), *(fmt_float(float(getattr(loan, f)[m]), 2) for f in LOAN_COLUMNS[1:])]
        for m in range(len(loan.payment))])


def _write_summary(io: StageIO, c: Consolidation, tables: dict[int, GridTables]) -> None:
    lines = io.pipelines()
    doc = summary_document(
        grid={str(g): {**t.summary, "grid_label": grid_label(c.configs.variables, g)}
              for g, t in tables.items()}, lines=list(lines),
        horizon=c.horizon, months=c.months, variables_report=io.load("variables_report").doc,
        public_prices=io.load("public_price_card").doc if "public" in lines else None,
        private_pricing=io.load("private_pricing").doc if "private" in lines else None,
        driver=c.driver)
    # The values the reference path used (random variables at their means), for the audit.
    doc["reference_values"] = {
        str(g): {k: format(x, "f") if isinstance(x, Decimal) else str(x)
                 for k, x in reference_values(c.configs.variables, g).items()}
        for g in tables}
    write_json(io.out("consolidated_summary"), doc)
    write_text_atomic(io.out("consolidated_summary_md"), summary_markdown(doc))


def _sample_kpis_table(samples: dict[int, GridPart], tables: dict[int, GridTables]) -> pa.Table:
    """Per-sample KPIs and the growth criteria's per-sample flags (1.0 / 0.0; absent for a
    line not run), rows grouped by grid point as computed."""
    parts = [samples[g] for g in tables]
    names = sorted({m for t in tables.values() for m in t.kpis})
    flags = [k for k in PATH_EVIDENCE if parts[0].evidence.get(k) is not None]
    return pa.table({
        "grid_index": pa.array(np.concatenate([np.full(len(p.replicate_index), p.grid_index)
                                               for p in parts]), pa.int32()),
        "replicate_index": pa.array(np.concatenate([p.replicate_index for p in parts]),
                                    pa.int32()),
        **{m: pa.array(np.concatenate([t.kpis[m][1] for t in tables.values()]), pa.float64())
           for m in names},
        **{k: pa.array(np.concatenate([p.evidence[k] for p in parts]).astype(float),
                       pa.float64()) for k in flags}})


def main() -> None:
    from d3.cli import stage_main

    stage_main("consolidate")


if __name__ == "__main__":
    main()
