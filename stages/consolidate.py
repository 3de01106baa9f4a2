"""Stage ``consolidate``: P&L, cashflow, loan, VAT, KPIs with percentiles, covenants."""

from __future__ import annotations

from decimal import Decimal

import numpy as np
import pyarrow as pa

from d3.catalog import operator_dump
from d3.consolidate import GeneralConfigs, optional_lines
from d3.consolidation import (
    PRIVATE_SERIES,
    PUBLIC_SERIES,
    Consolidation,
    GridTables,
    grid_tables,
)
from d3.core.runner import StageIO
from d3.core.variables import grid_label, reference_values
from d3.finance.loan import loan_schedule
from d3.finance.tables import (
    BALANCE_SHEET_PERCENTILES,
    BALANCE_SHEET_SERIES,
    BREAK_EVEN_COLUMNS,
    LOAN_COLUMNS,
    VAT_SERIES,
    YEAR_COLUMNS,
    kpi_columns,
    monthly_columns,
)
from d3.io.writers import fmt_float, write_json, write_parquet, write_text_atomic
from d3.report.consolidated_summary import summary_document, summary_markdown

FAN_COLUMNS = ("month", "p10", "p50", "p90")


def consolidation_of(io: StageIO) -> Consolidation:
    """The stage's inputs, read from its deps."""
    p = io.params()
    lines = io.pipelines()
    general = io.load("operator_general")
    public_on, private_on = "public" in lines, "private" in lines
    return Consolidation(
        demand=io.load("public_demand_samples").series(PUBLIC_SERIES) if public_on else None,
        clients=io.load("private_clients_samples").series(PRIVATE_SERIES)
        if private_on else None,
        demand_doc=io.load("public_demand").doc if public_on else None,
        private_doc=io.load("private_clients").doc if private_on else None,
        scaler_rows=io.load("public_autoscaling_kpis") if public_on else [],
        configs=GeneralConfigs(operator_dump(general), io.load("variables")),
        blocks=io.load("blocks"),
        replicates=io.load("variables_report").replicates,
        premiums=io.load("market").premiums,
        qs=p["stochastic.percentiles"], horizon=p["targets.horizon_months"],
        min_dscr=p["targets.min_dscr"], driver=p["consolidation.overhead_allocation_driver"],
        hours=general.calendar.hours_in_month,
        calendar=(general.calendar.start_year, general.calendar.start_month))


def run(io: StageIO) -> None:
    c = consolidation_of(io)
    lines_on = optional_lines(c.configs, c.blocks, c.block_ids, c.grid_points)
    tables = {g: grid_tables(c, g, lines_on) for g in c.grid_points}
    pnl, cash = lines_on.pnl_series(), lines_on.cash_series()
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
    write_parquet(io.out("consolidated_sample_kpis"), _sample_kpis_table(c, tables))
    io.emitter.emit("aggregate_done", grid_points=len(tables),
                    samples=len(c.index["grid_index"]))


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


def _sample_kpis_table(c: Consolidation, tables: dict[int, GridTables]) -> pa.Table:
    """Per-sample KPIs, rows grouped by grid point as computed."""
    grid_of, rep_of = c.index["grid_index"], c.index["replicate_index"]
    order = np.argsort(grid_of, kind="stable")
    names = sorted({m for t in tables.values() for m in t.kpis})
    return pa.table({
        "grid_index": pa.array(grid_of[order], pa.int32()),
        "replicate_index": pa.array(rep_of[order], pa.int32()),
        **{m: pa.array(np.concatenate([t.kpis[m][1] for t in tables.values()]), pa.float64())
           for m in names}})


def main() -> None:
    from d3.cli import stage_main

    stage_main("consolidate")


if __name__ == "__main__":
    main()
