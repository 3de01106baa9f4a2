"""Stage ``consolidate``: P&L, cashflow, loan, VAT, KPIs with percentiles, covenants."""

from __future__ import annotations

import json

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq

from d3.consolidate import (
    allocation_driver,
    consolidated,
    expected_finance,
    general_schedules,
    max_loan_for_dscr,
    overhead_allocation,
    private_line,
    public_line,
)
from d3.core.runner import StageIO, selected_pipelines
from d3.core.variables import overrides_of, reference_values, with_overrides
from d3.finance.kpis import covenant_probabilities, percentile_se, percentiles, sample_kpis
from d3.finance.loan import loan_schedule
from d3.finance.tables import (
    BREAK_EVEN_COLUMNS,
    CASH_PERCENTILES,
    CASH_SERIES,
    LOAN_COLUMNS,
    PNL_PERCENTILES,
    PNL_SERIES,
    VAT_SERIES,
    break_even_rows,
    cell,
    kpi_columns,
    monthly_columns,
    monthly_rows,
)
from d3.io.normalised import read_variables
from d3.io.parquet_stream import read_series
from d3.io.writers import fmt_float, write_csv, write_json, write_parquet, write_text_atomic
from d3.models.operator import GeneralOperator
from d3.report.consolidated_summary import summary_document, summary_markdown

# Only the per-sample series the finance needs are read (memory scales with their number).
PUBLIC_SERIES = ("revenue_eur", "budget_eur", "credits_sold_eur", "deferred_eur",
                 "tokens_served", "active_customers")
PRIVATE_SERIES = ("revenue_eur", "cogs_eur", "budget_eur", "hours", "block_purchases_eur",
                  "deferred_eur", "invoiced_eur")
CAPACITY_SERIES = ("gpu_cogs_eur", "non_gpu_cogs_eur", "instances_total")


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
    cap = read_series(io.dep("capacity_samples"), CAPACITY_SERIES) if public_on else None
    clients = read_series(io.dep("private_samples"), PRIVATE_SERIES) if private_on else None
    ref = demand or clients
    grid_of, rep_of = ref["grid_index"], ref["replicate_index"]
    months = ref["budget_eur"].shape[1]
    hours = load("general")["calendar"]["hours_in_month"]

    block_ids = grid_of.astype(np.int64) * replicates + rep_of
    driver = p["consolidation.overhead_allocation_driver"]

    def sample_results(rows: np.ndarray) -> dict[str, np.ndarray]:
        """Finance of the samples ``rows`` (one general configuration per block, since
        general-scope variables may vary by block). Called per grid point to bound memory."""
        out: dict[str, np.ndarray] = {}
        for block in np.unique(block_ids[rows]):
            sub = rows[block_ids[rows] == block]
            at = np.searchsorted(rows, sub)
            overrides = overrides_of(variables, blocks[int(block)], "general")
            general = GeneralOperator.model_validate(with_overrides(general_dump, overrides))
            sched = general_schedules(general, premiums, months)
            pub = public_line(_rows_of(demand, sub), _rows_of(cap, sub)) if public_on else None
            pri = private_line(_rows_of(clients, sub)) if private_on else None
            for k, v in consolidated(pub, pri, sched, (len(sub), months)).items():
                out.setdefault(k, np.zeros((len(rows), months)))[at] = v
        out.update(overhead_allocation(
            out, driver=driver,
            public_driver=allocation_driver(driver, _rows_of(demand, rows),
                                            _rows_of(cap, rows), hours, "public"),
            private_driver=allocation_driver(driver, _rows_of(clients, rows), None, hours,
                                             "private")))
        return out

    calendar = (general_dump["calendar"]["start_year"], general_dump["calendar"]["start_month"])
    pnl_rows, cash_rows, vat_rows, kpi_rows, be_rows = [], [], [], [], []
    summary_grid, metrics, expected_doc = {}, {}, {}
    kpi_columns_by_name: dict[str, list[np.ndarray]] = {}
    demand_doc = load("public_summary") if public_on else None
    cap_doc = load("capacity_summary") if public_on else None
    private_doc = load("private_summary") if private_on else None
    for g in sorted(set(grid_of.tolist())):
        rows = np.flatnonzero(grid_of == g)
        results = sample_results(rows)
        if g == int(grid_of.min()):
            _write_plots(io, results, _rows_of(demand, rows), months)
        general = GeneralOperator.model_validate(with_overrides(
            general_dump, overrides_of(variables, reference_values(variables, g), "general")))
        expected = expected_finance(g, general, premiums, months, demand_doc, cap_doc, private_doc,
                             driver, hours)
        pct = {s: np.vstack([percentiles(results[s][:, m], qs) for m in range(months)]).T
               for s in (*PNL_PERCENTILES, *CASH_PERCENTILES)}
        pnl_rows += monthly_rows(g, expected, PNL_SERIES, pct, PNL_PERCENTILES, qs, calendar)
        cash_rows += monthly_rows(g, expected, CASH_SERIES, pct, CASH_PERCENTILES, qs, calendar)
        vat_rows += [row + [general.tax.vat_buffer_policy] for row in
                     monthly_rows(g, expected, VAT_SERIES, {}, (), qs, calendar)]
        be_rows += break_even_rows(g, expected, demand_doc, private_doc, months)
        kpis = sample_kpis(results, horizon, min_dscr=min_dscr)
        for metric, (_, values) in kpis.items():
            kpi_columns_by_name.setdefault(metric, []).append(values)
        expected_doc[str(g)] = {k: np.asarray(v).tolist() for k, v in expected.items()}
        for metric, (unit, values) in kpis.items():
            pv = percentiles(values, qs)
            finite = values[np.isfinite(values)]
            places = {"EUR": 2, "ratio": 4}.get(unit, 1)
            kpi_rows.append([str(g), metric, unit, *(cell(float(x), places) for x in pv),
                             cell(float(finite.mean()) if finite.size else float("nan"), places),
                             cell(percentile_se(values, 50), places)])
        covenants = covenant_probabilities(kpis, min_dscr=min_dscr)
        breach = kpis["first_breach_month"][1]
        breach = breach[breach > 0]
        sel = lambda d, key=str(g): (d or {}).get("grid", {}).get(key)  # noqa: E731
        loan_max, loan_tol = max_loan_for_dscr(
            public_line(_rows_of(demand, rows), _rows_of(cap, rows)) if public_on else None,
            private_line(_rows_of(clients, rows)) if private_on else None, general, premiums,
            months, min_dscr=min_dscr, shape=(len(rows), months))
        summary_grid[str(g)] = {
            "kpis": {m: {"unit": u, **{f"p{q}": _num(x) for q, x in zip(qs, percentiles(v, qs),
                                                                          strict=True)},
                         "mean": _num(float(np.nanmean(v)) if np.isfinite(v).any() else None)}
                     for m, (u, v) in kpis.items()},
            "covenants": {**covenants,
                          "first_breach_month_percentiles": {
                              f"p{q}": _num(x) for q, x in zip(
                                  qs, percentiles(breach.astype(float), qs), strict=True)},
                          "max_loan_eur_p10_dscr": loan_max,
                          "max_loan_tolerance_eur": loan_tol},
            "public": sel(demand_doc), "private": sel(private_doc),
        }
        metrics[f"grid_{g}"] = {
            "revenue_total_eur_p50": _num(percentiles(kpis["revenue_total_eur"][1], [50])[0]),
            "ebitda_eur_p50": _num(percentiles(kpis["ebitda_eur"][1], [50])[0]),
            "min_cash_eur_p10": _num(percentiles(kpis["min_cash_eur"][1], [10])[0]),
            "min_dscr_t12_p10": _num(percentiles(kpis["min_dscr_t12"][1], [10])[0]),
            "p_cash_negative_any_month": covenants["p_cash_negative_any_month"],
            "max_loan_eur_p10_dscr": loan_max,
        }
    general0 = GeneralOperator.model_validate(general_dump)
    loan = loan_schedule(amount_eur=general0.loan.amount_eur,
                         term_months=general0.loan.term_months,
                         interest_rate_pct_flat=general0.loan.interest_rate_pct_flat,
                         grace_period_months=general0.loan.grace_period_months,
                         repayment=general0.loan.repayment)
    write_csv(io.out("loan"), LOAN_COLUMNS, [
        [str(m + 1), *(fmt_float(float(getattr(loan, f)[m]), 2) for f in LOAN_COLUMNS[1:])]
        for m in range(len(loan.payment))])
    write_csv(io.out("pnl"), monthly_columns(PNL_SERIES, PNL_PERCENTILES, qs), pnl_rows)
    write_csv(io.out("cashflow"), monthly_columns(CASH_SERIES, CASH_PERCENTILES, qs), cash_rows)
    write_csv(io.out("vat"), (*monthly_columns(VAT_SERIES, (), qs), "policy"), vat_rows)
    write_csv(io.out("break_even"), BREAK_EVEN_COLUMNS, be_rows)
    write_csv(io.out("kpis"), kpi_columns(qs), kpi_rows)
    doc = summary_document(
        grid=summary_grid, lines=list(lines), horizon=horizon, months=months,
        validation=load("validation_report"), variables_report=load("variables_report"),
        public_prices=load("public_prices") if public_on else None,
        private_pricing=load("private_pricing") if private_on else None,
        driver=driver)
    write_json(io.out("summary_json"), doc)
    write_text_atomic(io.out("summary_md"), summary_markdown(doc))
    write_json(io.out("metrics"), metrics)
    write_json(io.out("expected"), {"horizon_months": horizon, "grid": expected_doc})
    order = np.argsort(grid_of, kind="stable")  # rows grouped by grid point, as computed
    table = pa.table({
        "grid_index": pa.array(grid_of[order], pa.int32()),
        "replicate_index": pa.array(rep_of[order], pa.int32()),
        **{m: pa.array(np.concatenate(v), pa.float64())
           for m, v in sorted(kpi_columns_by_name.items())}})
    write_parquet(io.out("sample_kpis"), table)
    io.emitter.emit("aggregate_done", grid_points=len(summary_grid), samples=len(grid_of))


def _num(x) -> float | None:
    return None if x is None or not np.isfinite(x) else float(x)


def _rows_of(series, rows):
    return None if series is None else {k: v[rows] for k, v in series.items()
                                        if k not in ("grid_index", "replicate_index", "mc_index")}


def _write_plots(io, results, demand, months):
    """Fan-chart data of the first grid point (``results``/``demand`` are its samples)."""
    sets = {"plot_revenue": results["revenue_eur"], "plot_cash": results["closing_cash_eur"],
            "plot_dscr": results["dscr_t12"]}
    if demand is not None:
        sets["plot_customers"] = demand["active_customers"]
    for name, v in sets.items():
        pcts = {q: percentiles_by_month(v, q) for q in (10, 50, 90)}
        write_csv(io.out(name), ("month", "p10", "p50", "p90"), [
            [str(m + 1), *(cell(float(pcts[q][m]), 4) for q in (10, 50, 90))]
            for m in range(months)])


def percentiles_by_month(v: np.ndarray, q: int) -> np.ndarray:
    return np.array([percentiles(v[:, m], [q])[0] for m in range(v.shape[1])])


def main() -> None:
    from d3.cli import stage_main

    stage_main("consolidate")


if __name__ == "__main__":
    main()
