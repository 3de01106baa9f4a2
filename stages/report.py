"""Stage ``report``: financial_plan_v3.md and charts/*.png from the pipeline's outputs."""

from __future__ import annotations

import csv
import json

import numpy as np

from d3.core.runner import StageIO
from d3.io.writers import write_bytes_atomic, write_text_atomic
from d3.report.charts import fan_chart, price_margin_chart, private_margin_chart, replicas_chart
from d3.report.plan import ReportData, financial_plan_markdown


def _rows(path):
    if not path.exists():
        return None
    with path.open(encoding="utf-8") as fh:
        return list(csv.DictReader(fh))


def _json(path):
    return json.loads(path.read_text(encoding="utf-8")) if path.exists() else None


def _col(rows, name):
    return np.array([float(r[name]) if r[name] != "" else np.nan for r in rows])


def write_charts(io: StageIO, data: ReportData, targets, summary) -> None:
    """The report's PNG charts, each listed in ``data.charts`` with its caption."""
    charts, dep = io.out("charts"), io.dep
    for name, title, ylabel, covenant in (
        ("revenue", "Monthly revenue (grid point 0)", "EUR per month", None),
        ("free_cash", "Free cash: cash − overdraft − VAT and tax owed (grid point 0)", "EUR",
         targets["min_cash_eur"] + summary["grid"]["0"]["cash_buffer_eur"]),
        ("dscr_t12", "Trailing-12-month DSCR (grid point 0)", "DSCR (×)", targets["min_dscr"]),
    ):
        rows = _rows(dep(f"plot_{name}"))
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
        plan_rows = _rows(dep("capacity_plan"))
        month_rows = [r for r in _rows(dep("capacity_by_month")) if r["grid_index"] == "0"]
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
    dep = io.dep
    plan = _json(dep("plan"))
    targets = plan["plan"]["targets"]
    summary = _json(dep("summary"))
    data = ReportData(
        horizon_months=summary["horizon_months"], term_months=summary["term_months"],
        percentiles=plan["plan"]["stochastic"]["percentiles"],
        acceptance=_json(dep("acceptance")), summary=summary, kpis=_rows(dep("kpis")),
        plan=plan, validation=_json(dep("validation")), vendor_choice=_rows(dep("vendor_choice")),
        prices=_rows(dep("prices")), price_card=_json(dep("price_card")),
        public_op=_json(dep("public_tap")), scenarios=_rows(dep("scenarios")),
        autoscaling=_rows(dep("autoscaling")),
        # One row per event in public_tap_scaling_events.csv (which can be millions of rows).
        scaling_events=sum(int(r["scale_events"]) for r in _rows(dep("autoscaling")) or []),
        economics=_rows(dep("economics")), vendors=_rows(dep("vendors")),
        pnl=_rows(dep("pnl")), cashflow=_rows(dep("cashflow")), vat=_rows(dep("vat")),
        loan=_rows(dep("loan")), break_even=_rows(dep("break_even")), market=_json(dep("market")),
        catalog=_json(dep("catalog")), public_customers=_rows(dep("public_customers")),
        pnl_by_year=_rows(dep("pnl_by_year")) or [],
        balance_sheet=_rows(dep("balance_sheet")) or [], unserved=_rows(dep("unserved")),
        margin_by_model=_rows(dep("margin_by_model")), general=_json(dep("general")),
        private_op=_json(dep("private_tap")),
        overrides=(_json(dep("variables_report")) or {}).get("overrides", []))
    write_charts(io, data, targets, summary)
    write_text_atomic(io.out("report"), financial_plan_markdown(data))


def main() -> None:
    from d3.cli import stage_main

    stage_main("report")


if __name__ == "__main__":
    main()
