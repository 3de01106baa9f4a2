"""Stage ``report``: financial_plan_v3.md and charts/*.png from the pipeline's outputs."""

from __future__ import annotations

from functools import partial

from d3.catalog import canonical, operator_dump
from d3.core.runner import StageIO
from d3.core.variables import grid_label
from d3.io.writers import write_bytes_atomic, write_text_atomic
from d3.pipelines.common.catalog import catalog_document
from d3.report.chart_set import ChartInputs, report_charts
from d3.report.plan import ReportData, financial_plan_markdown, grid_points_of


def write_charts(io: StageIO, data: ReportData, targets, summary) -> None:
    """The report's PNG charts (``d3.report.chart_set``) into ``charts/``, each appended to
    ``data.charts`` as ``(f"charts/{name}", caption)`` in report order."""
    variables = io.load("variables")
    grids = sorted({int(r["grid_index"]) for r in data.cashflow})
    public = data.prices is not None
    charts = report_charts(ChartInputs(
        pnl=data.pnl, cashflow=data.cashflow,
        sample_kpis=io.load("consolidated_sample_kpis"),
        grid_labels={g: grid_label(variables, g) for g in grids},
        percentiles=data.percentiles, horizon_months=summary.horizon_months,
        min_dscr=targets["min_dscr"], min_cash_eur=targets["min_cash_eur"],
        cash_buffer_eur=summary.cash_buffer_eur,
        private_margin_threshold_pct=targets["private_margin_threshold_pct"],
        prices=data.prices,
        capacity_plan=io.load("public_capacity_plan") if public else None,
        capacity_by_month=io.load("public_capacity_by_month") if public else None,
        economics=data.economics))
    for name, png in charts.pngs.items():
        write_bytes_atomic(io.out("charts") / name, png)
    data.charts.extend((f"charts/{name}", caption) for name, caption in charts.captions)


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
        grid_labels=grid.labels, reference_grid=grid.reference,
        sensitivity_tornado=load("sensitivity_tornado"),
        sensitivity_sobol=load("sensitivity_sobol"), sensitivity_ranks=load("sensitivity_ranks"),
        sensitivity_summary=load("sensitivity_summary"), solve_best=load("solve_best"))
    write_charts(io, data, plan.targets, summary)
    write_text_atomic(io.out("financial_plan"), financial_plan_markdown(data))


def _doc(artefact):
    return None if artefact is None else artefact.doc


def main() -> None:
    from d3.cli import stage_main

    stage_main("report")


if __name__ == "__main__":
    main()
