"""Stage ``report``: financial_plan_v3.md and charts/*.png from the pipeline's outputs."""

from __future__ import annotations

from functools import partial

import numpy as np

from d3.catalog import canonical, operator_dump
from d3.core.runner import StageIO
from d3.io.writers import write_bytes_atomic, write_text_atomic
from d3.pipelines.common.catalog import catalog_document
from d3.report.charts import fan_chart, price_margin_chart, private_margin_chart, replicas_chart
from d3.report.plan import ReportData, financial_plan_markdown, grid_points_of


def _col(rows, name):
    return np.array([float(r[name]) if r[name] != "" else np.nan for r in rows])


def write_charts(io: StageIO, data: ReportData, targets, summary) -> None:
    """The report's PNG charts, each listed in ``data.charts`` with its caption."""
    charts = io.out("charts")
    for name, rows, title, ylabel, covenant in (
        ("revenue", io.load("plot_revenue"), "Monthly revenue (grid point 0)", "EUR per month",
         None),
        ("free_cash", io.load("plot_cash"),
         "Free cash: cash − overdraft − VAT and tax owed (grid point 0)", "EUR",
         targets["min_cash_eur"] + summary.cash_buffer_eur[0]),
        ("dscr_t12", io.load("plot_dscr"), "Trailing-12-month DSCR (grid point 0)", "DSCR (×)",
         targets["min_dscr"]),
    ):
        png = fan_chart(_col(rows, "month"), _col(rows, "p10"), _col(rows, "p50"),
                        _col(rows, "p90"), title=title, ylabel=ylabel, covenant=covenant,
                        covenant_label="covenant" if name == "dscr_t12"
                        else "minimum cash + buffer")
        write_bytes_atomic(charts / f"{name}_fan.png", png)
        data.charts.append((f"charts/{name}_fan.png", f"{title}: p10–p90 band and p50"))
    if data.prices:
        write_bytes_atomic(charts / "public_price_margin.png", price_margin_chart(
            [r["model"] for r in data.prices], _col(data.prices, "sell_eur_per_1k") * 1000,
            _col(data.prices, "cost_eur_per_1M"), _col(data.prices, "margin_pct")))
        data.charts.append(("charts/public_price_margin.png",
                            "Public Tap sell price, cost (EUR per 1M tokens) and margin"))
        plan_rows = io.load("public_capacity_plan")
        month_rows = [r for r in io.load("public_capacity_by_month") if r["grid_index"] == "0"]
        busiest = max((r for r in plan_rows if r["grid_index"] == "0"),
                      key=lambda r: float(r["peak_tokens_per_hour"]))
        rows = [r for r in month_rows if r["model"] == busiest["model"]]
        write_bytes_atomic(charts / "replicas_vs_demand.png", replicas_chart(
            _col(rows, "month"), _col(rows, "peak_tokens_per_hour"),
            float(busiest["cap_tokens_per_hour_per_instance"]), _col(rows, "instances_needed"),
            model=busiest["model"]))
        data.charts.append(("charts/replicas_vs_demand.png",
                            f"Replicas vs peak demand, busiest model ({busiest['model']})"))
    if data.economics:
        write_bytes_atomic(charts / "private_margin.png", private_margin_chart(
            [r["gpu"] for r in data.economics], _col(data.economics, "margin_pct"),
            _col(data.economics, "margin_vendor_pct"),
            targets["private_margin_threshold_pct"]))
        data.charts.append(("charts/private_margin.png", "Private Tap margin per GPU class"))


def run(io: StageIO) -> None:
    load = partial(io.load, optional=True)  # a line left out leaves its outputs absent
    plan = io.load("plan")
    summary = io.load("consolidated_summary")
    grid = grid_points_of(io.load("variables"))
    data = ReportData(
        horizon_months=summary.horizon_months, term_months=summary.term_months,
        percentiles=plan.percentiles, acceptance=load("acceptance"), summary=summary.doc,
        kpis=load("consolidated_kpis"), plan=plan.doc, validation=load("validation_report"),
        vendor_choice=load("public_vendor_choice"), prices=load("public_prices"),
        price_card=_doc(load("public_price_card")),
        public_op=operator_dump(io.load("operator_public_tap")),
        scenarios=load("public_scenarios"), autoscaling=load("public_autoscaling_kpis"),
        # One row per event in public_tap_scaling_events.csv (which can be millions of rows).
        scaling_events=sum(int(r["scale_events"]) for r in load("public_autoscaling_kpis") or []),
        economics=load("private_economics"), vendors=load("private_vendor_recommendation"),
        pnl=load("pnl_by_month"), cashflow=load("cashflow_by_month"),
        vat=load("vat_set_aside"), loan=load("loan_schedule"),
        break_even=load("break_even_targets"), market=io.load("market").doc,
        catalog=canonical(catalog_document(io.load("gpu_catalog"))),
        public_customers=load("public_customers_by_month"),
        pnl_by_year=load("pnl_by_year") or [], balance_sheet=load("balance_sheet_by_month") or [],
        unserved=load("public_unserved_by_month"), margin_by_model=load("public_margin_by_model"),
        general=operator_dump(io.load("operator_general")),
        private_op=operator_dump(io.load("operator_private_tap")),
        overrides=list(io.load("variables_report").overrides),
        grid_labels=grid.labels, reference_grid=grid.reference)
    write_charts(io, data, plan.targets, summary)
    write_text_atomic(io.out("financial_plan"), financial_plan_markdown(data))


def _doc(artefact):
    return None if artefact is None else artefact.doc


def main() -> None:
    from d3.cli import stage_main

    stage_main("report")


if __name__ == "__main__":
    main()
