"""Stage ``consolidate``: P&L, cashflow, loan, VAT, KPIs with percentiles, covenants."""

from __future__ import annotations

import csv
import json
from decimal import Decimal

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq

from d3.consolidate import (
    GeneralConfigs,
    autoscaler_kpis,
    grid_kpis,
    max_loan_for_dscr,
    optional_lines,
    private_line,
    public_kpis,
    public_line,
    reference_finance,
    rows_of,
    samples_finance,
)
from d3.core.percentiles import monthly_percentiles, percentiles
from d3.core.runner import StageIO, selected_pipelines
from d3.core.variables import reference_values
from d3.finance.kpis import (
    covenant_probabilities,
    distribution_kpis,
    sample_kpis,
)
from d3.finance.loan import loan_schedule
from d3.finance.mc_error import between_replicate_se, median
from d3.finance.tables import (
    BALANCE_SHEET_PERCENTILES,
    BALANCE_SHEET_SERIES,
    BREAK_EVEN_COLUMNS,
    LOAN_COLUMNS,
    VAT_SERIES,
    YEAR_COLUMNS,
    autoscaler_table_rows,
    balance_sheet_difference_eur,
    break_even_rows,
    cell,
    kpi_columns,
    kpi_table_rows,
    monthly_columns,
    monthly_rows,
    year_rows,
)
from d3.io.normalised import read_variables
from d3.io.parquet_stream import read_series
from d3.io.writers import (
    fmt_float,
    json_numbers,
    write_csv,
    write_json,
    write_parquet,
    write_text_atomic,
)
from d3.models.operator import GeneralOperator
from d3.report.consolidated_summary import summary_document, summary_markdown

# Only the per-sample series the finance needs are read (memory scales with their number).
PUBLIC_SERIES = ("revenue_eur", "budget_eur", "credits_sold_eur", "refunds_eur", "deferred_eur",
                 "cogs_eur", "tokens_served", "tokens_demanded", "unserved_tokens",
                 "served_eur", "priced_cogs_eur", "active_customers", "instances_total",
                 "capacity_violations")
PRIVATE_SERIES = ("revenue_eur", "cogs_eur", "budget_eur", "hours", "active_clients",
                  "block_purchases_eur", "deferred_eur", "invoiced_eur")
# DVC metrics: (name, KPI, percentile), rounded like consolidated_kpis.csv so the two agree.
METRIC_PERCENTILES = (
    ("revenue_total_eur_p50", "revenue_total_eur", 50), ("ebitda_eur_p50", "ebitda_eur", 50),
    ("min_cash_eur_p10", "min_cash_eur", 10), ("min_free_cash_eur_p10", "min_free_cash_eur", 10),
    ("funding_need_eur_p50", "funding_need_eur", 50),
    ("funding_need_eur_p90", "funding_need_eur", 90),
    ("min_dscr_t12_p10", "min_dscr_t12", 10),
)

def run(io: StageIO) -> None:
    p = io.params()
    load = lambda name: json.loads(io.dep(name).read_text(encoding="utf-8"))  # noqa: E731
    lines = selected_pipelines(io.roots, io.options)
    variables = read_variables(io.dep("variables"))
    general_dump = load("general")
    market = load("market")
    premiums = {i["insurer_id"]: i["annual_premium_eur"] for i in market["insurances"]}
    horizon, qs = p["targets.horizon_months"], p["stochastic.percentiles"]
    min_dscr = p["targets.min_dscr"]
    blocks = pq.read_table(io.dep("blocks")).to_pylist()
    replicates = load("variables_report")["replicates"]
    public_on, private_on = "public" in lines, "private" in lines
    demand = read_series(io.dep("public_samples"), PUBLIC_SERIES) if public_on else None
    clients = read_series(io.dep("private_samples"), PRIVATE_SERIES) if private_on else None
    ref = demand or clients
    grid_of, rep_of = ref["grid_index"], ref["replicate_index"]
    months = ref["budget_eur"].shape[1]
    hours = general_dump["calendar"]["hours_in_month"]
    scaler_rows = _csv_rows(io.dep("autoscaling_kpis")) if public_on else []

    block_ids = grid_of.astype(np.int64) * replicates + rep_of
    driver = p["consolidation.overhead_allocation_driver"]
    grid_points = sorted(set(grid_of.tolist()))

    configs = GeneralConfigs(general_dump, variables)
    lines_on = optional_lines(configs, blocks, block_ids, grid_points)
    pnl_series, cash_series = lines_on.pnl_series(), lines_on.cash_series()

    calendar = (general_dump["calendar"]["start_year"], general_dump["calendar"]["start_month"])
    pnl_rows, cash_rows, vat_rows, kpi_rows, be_rows, year_out = [], [], [], [], [], []
    bs_rows: list[list[str]] = []
    summary_grid, metrics, reference_doc = {}, {}, {}
    kpi_columns_by_name: dict[str, list[np.ndarray]] = {}
    demand_doc = load("public_summary") if public_on else None
    private_doc = load("private_summary") if private_on else None
    for g in grid_points:
        rows = np.flatnonzero(grid_of == g)
        reps = rep_of[rows]
        results = samples_finance(rows, block_ids, blocks, configs, premiums, months, demand,
                                  clients, driver=driver, hours=hours)
        pub_rows, pri_rows = rows_of(demand, rows), rows_of(clients, rows)
        if g == int(grid_of.min()):
            _write_plots(io, results, pub_rows, months)
        general = configs.reference(g)
        reference = reference_finance(g, general, premiums, months, demand_doc, private_doc,
                                      driver, hours)
        pct = {s: monthly_percentiles(results[s], qs, finite_only=True)
               for s in sorted({*pnl_series, *cash_series, *BALANCE_SHEET_PERCENTILES})}
        pnl_rows += monthly_rows(g, reference, pnl_series, pct, pnl_series, qs, calendar)
        cash_rows += monthly_rows(g, reference, cash_series, pct, cash_series, qs, calendar)
        bs_rows += monthly_rows(g, reference, BALANCE_SHEET_SERIES, pct,
                                BALANCE_SHEET_PERCENTILES, qs, calendar)
        vat_rows += [row + [general.tax.vat_buffer_policy] for row in
                     monthly_rows(g, reference, VAT_SERIES, {}, (), qs, calendar)]
        be_rows += break_even_rows(g, results, reference,
                                   pub_rows["active_customers"] if pub_rows else None,
                                   pri_rows["active_clients"] if pri_rows else None)
        year_out += year_rows(g, results, reference, qs, lines_on.year_series())
        buffer = general.reserves.cash_buffer_eur
        kpis = grid_kpis(results, pub_rows, horizon, min_dscr=min_dscr, cash_buffer_eur=buffer,
                         distributions=lines_on.distributions)
        reference_2d = {k: np.asarray(v)[None, :] for k, v in reference.items()}
        reference_kpis = sample_kpis(reference_2d, horizon, min_dscr=min_dscr,
                                     cash_buffer_eur=buffer)
        if lines_on.distributions:
            reference_kpis.update(distribution_kpis(reference_2d, horizon))
        if demand_doc is not None:
            reference_kpis.update(public_kpis(
                {k: np.array(v)[None, :] for k, v in
                 demand_doc["grid"][str(g)]["expected"].items() if k in PUBLIC_SERIES},
                reference_2d, horizon))
        for metric, (_, values) in kpis.items():
            kpi_columns_by_name.setdefault(metric, []).append(values)
        reference_doc[str(g)] = {k: json_numbers(v) for k, v in reference.items()
                                 if k not in lines_on.hidden()}
        kpi_rows += kpi_table_rows(g, kpis, reference_kpis, reps, qs)
        autoscaler = autoscaler_kpis([r for r in scaler_rows if r["grid_index"] == str(g)])
        kpi_rows += autoscaler_table_rows(g, autoscaler, qs)
        covenants = covenant_probabilities(kpis, min_dscr=min_dscr)
        breach = kpis["first_breach_month"][1]
        breach = breach[breach > 0]
        sel = lambda d, key=str(g): (d or {}).get("grid", {}).get(key)  # noqa: E731
        loan_max, loan_tol = max_loan_for_dscr(
            public_line(pub_rows) if public_on else None,
            private_line(pri_rows) if private_on else None, general, premiums,
            months, min_dscr=min_dscr, shape=(len(rows), months))
        summary_grid[str(g)] = {
            "kpis": {m: {"unit": u, **{f"p{q}": _num(x) for q, x in zip(qs, percentiles(v, qs),
                                                                          strict=True)},
                         "mean": _num(float(np.nanmean(v)) if np.isfinite(v).any() else None),
                         "se_p50": _num(between_replicate_se(v, reps, median)),
                         "reference": _num(float(reference_kpis[m][1][0]))
                         if m in reference_kpis else None}
                     for m, (u, v) in kpis.items()},
            "independent_parameter_draws": int(len(np.unique(reps))),
            "balance_sheet_max_abs_difference_eur": balance_sheet_difference_eur(results),
            "cash_buffer_eur": buffer,
            "samples": int(len(rows)),
            "autoscaling": autoscaler,
            "covenants": {**covenants,
                          "first_breach_month_percentiles": {
                              f"p{q}": _num(x) for q, x in zip(
                                  qs, percentiles(breach.astype(float), qs), strict=True)},
                          "max_loan_eur_p10_dscr": loan_max,
                          "max_loan_tolerance_eur": loan_tol},
            "public": sel(demand_doc), "private": sel(private_doc),
        }
        metrics[f"grid_{g}"] = {
            name: _rounded(percentiles(kpis[metric][1], [q])[0],
                           4 if kpis[metric][0] == "ratio" else 2)
            for name, metric, q in METRIC_PERCENTILES}
        metrics[f"grid_{g}"].update(
            p_cash_negative_any_month=covenants["p_cash_negative_any_month"],
            max_loan_eur_p10_dscr=loan_max)
    general0 = GeneralOperator.model_validate(general_dump)
    loan = loan_schedule(amount_eur=general0.loan.amount_eur,
                         term_months=general0.loan.term_months,
                         interest_rate_pct_flat=general0.loan.interest_rate_pct_flat,
                         grace_period_months=general0.loan.grace_period_months,
                         repayment=general0.loan.repayment)
    write_csv(io.out("loan"), LOAN_COLUMNS, [
        [str(m + 1), *(fmt_float(float(getattr(loan, f)[m]), 2) for f in LOAN_COLUMNS[1:])]
        for m in range(len(loan.payment))])
    write_csv(io.out("pnl"), monthly_columns(pnl_series, pnl_series, qs), pnl_rows)
    write_csv(io.out("pnl_by_year"), YEAR_COLUMNS, year_out)
    write_csv(io.out("cashflow"), monthly_columns(cash_series, cash_series, qs), cash_rows)
    write_csv(io.out("vat"), (*monthly_columns(VAT_SERIES, (), qs), "policy"), vat_rows)
    write_csv(io.out("balance_sheet"),
              monthly_columns(BALANCE_SHEET_SERIES, BALANCE_SHEET_PERCENTILES, qs), bs_rows)
    write_csv(io.out("break_even"), BREAK_EVEN_COLUMNS, be_rows)
    write_csv(io.out("kpis"), kpi_columns(qs), kpi_rows)
    doc = summary_document(
        grid=summary_grid, lines=list(lines), horizon=horizon, months=months,
        variables_report=load("variables_report"),
        public_prices=load("public_prices") if public_on else None,
        private_pricing=load("private_pricing") if private_on else None,
        driver=driver)
    # The values the reference path used (random variables at their means), for the audit.
    doc["reference_values"] = {
        str(g): {k: format(x, "f") if isinstance(x, Decimal) else str(x)
                 for k, x in reference_values(variables, g).items()}
        for g in grid_points}
    write_json(io.out("summary_json"), doc)
    write_text_atomic(io.out("summary_md"), summary_markdown(doc))
    write_json(io.out("metrics"), metrics)
    write_json(io.out("expected"), {"horizon_months": horizon, "grid": reference_doc})
    order = np.argsort(grid_of, kind="stable")  # rows grouped by grid point, as computed
    table = pa.table({
        "grid_index": pa.array(grid_of[order], pa.int32()),
        "replicate_index": pa.array(rep_of[order], pa.int32()),
        **{m: pa.array(np.concatenate(v), pa.float64())
           for m, v in sorted(kpi_columns_by_name.items())}})
    write_parquet(io.out("sample_kpis"), table)
    io.emitter.emit("aggregate_done", grid_points=len(summary_grid), samples=len(grid_of))


def _csv_rows(path) -> list[dict[str, str]]:
    with path.open(encoding="utf-8", newline="") as fh:
        return list(csv.DictReader(fh))


def _rounded(x, decimals: int) -> float | None:
    return None if x is None or not np.isfinite(x) else round(float(x), decimals)


def _num(x) -> float | None:
    return None if x is None or not np.isfinite(x) else float(x)


def _write_plots(io, results, demand, months):
    """Fan-chart data of the first grid point (``results``/``demand`` are its samples)."""
    sets = {"plot_revenue": results["revenue_eur"], "plot_cash": results["free_cash_eur"],
            "plot_dscr": results["dscr_t12"]}
    if demand is not None:
        sets["plot_customers"] = demand["active_customers"]
    for name, v in sets.items():
        pcts = monthly_percentiles(v, (10, 50, 90), finite_only=True)
        write_csv(io.out(name), ("month", "p10", "p50", "p90"), [
            [str(m + 1), *(cell(float(x), 4) for x in pcts[:, m])] for m in range(months)])


def main() -> None:
    from d3.cli import stage_main

    stage_main("consolidate")


if __name__ == "__main__":
    main()
