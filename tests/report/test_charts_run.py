"""The report's charts on a run of the shipped inputs with a small plan: which charts and
captions it gets, the S-curves are the per-sample KPI table, the marked percentiles are the
KPI CSV's, and the written PNGs are the bytes the pure chart set gives for the run's files."""

from __future__ import annotations

import csv
import shutil
from pathlib import Path

import numpy as np
import pytest

from d3.catalog import path_template, read
from d3.core.variables import grid_label
from d3.report.chart_set import ChartInputs, outcome_distributions, report_charts
from d3.report.charts import ecdf
from tests.helpers import ROOT, edit_yaml, invoke

FILES = ["free_cash_fan.png", "lowest_free_cash_distribution.png", "dscr_t12_fan.png",
         "net_income_distribution.png", "revenue_fan.png", "public_price_margin.png",
         "replicas_vs_demand.png", "private_margin.png"]
GRID = {0: "pub_target_margin=45%", 1: "pub_target_margin=55%", 2: "pub_target_margin=65%"}


@pytest.fixture(scope="module")
def out(tmp_path_factory) -> Path:
    root = tmp_path_factory.mktemp("charts")
    shutil.copytree(ROOT / "inputs", root / "inputs")
    shutil.copy(ROOT / "params.yaml", root / "params.yaml")

    def small(plan):
        plan["stochastic"]["simulations_per_run"] = 40
        plan["run"]["random_runs_per_simulation"] = 1
        plan["solve"]["decisions"] = []  # charts only: no solver

    edit_yaml(root / "params.yaml", small)
    result = invoke("run", "--inputs", str(root / "inputs"), "--params",
                    str(root / "params.yaml"), "--out", str(root / "out"))
    assert result.exit_code == 0, result.stderr
    return root / "out"


def load(out: Path, name: str):
    return read(name, Path(path_template(name).replace("{out}", str(out))))


def chart_inputs(out: Path) -> ChartInputs:
    """What the report stage hands the chart set, read back from the run's files."""
    plan, summary = load(out, "plan"), load(out, "consolidated_summary")
    variables = load(out, "variables")
    targets = plan.targets
    return ChartInputs(
        pnl=load(out, "pnl_by_month"), cashflow=load(out, "cashflow_by_month"),
        sample_kpis=load(out, "consolidated_sample_kpis"),
        grid_labels={g: grid_label(variables, g) for g in range(3)},
        percentiles=plan.percentiles, horizon_months=summary.horizon_months,
        min_dscr=targets["min_dscr"], min_cash_eur=targets["min_cash_eur"],
        cash_buffer_eur=summary.cash_buffer_eur,
        private_margin_threshold_pct=targets["private_margin_threshold_pct"],
        prices=load(out, "public_prices"), capacity_plan=load(out, "public_capacity_plan"),
        capacity_by_month=load(out, "public_capacity_by_month"),
        economics=load(out, "private_economics"))


def test_the_run_gets_these_charts_in_this_order_with_their_captions(out):
    report = (out / "financial_plan_v3.md").read_text()
    # The report's own charts (the sensitivity stage's are under sensitivity_charts/).
    listed = [line for line in report.splitlines() if line.startswith("![")
              and "](charts/" in line]
    files = [line.rsplit("](charts/", 1)[1].rstrip(")") for line in listed]
    assert files == FILES
    assert sorted(p.name for p in (out / "charts").iterdir()) == sorted(FILES)
    with (out / "private_tap_economics.csv").open() as fh:
        margins = {row["margin_pct"] for row in csv.DictReader(fh)}
    assert margins == {"24.5283"}  # one markup over the median on every class: a constant
    assert ("![Private Tap margin per GPU class vs recommended vendor; vs median provider "
            "24.53 % on every class](charts/private_margin.png)") in report
    assert ("![Free cash per grid point: p10–p90 band, p50 line, lowest points and the "
            "minimum cash + buffer; the y-axis shows the whole downside and the band up to "
            "the acceptance horizon (month 24)](charts/free_cash_fan.png)") in report
    assert ("![Replicas vs peak demand, busiest model (Llama 3.1 8B Instruct, "
            "pub_target_margin=45%)](charts/replicas_vs_demand.png)") in report


def test_the_written_pngs_are_the_chart_sets_bytes(out):
    charts = report_charts(chart_inputs(out))
    assert [f for f, _ in charts.captions] == FILES
    for name, png in charts.pngs.items():
        assert (out / "charts" / name).read_bytes() == png, name


def test_the_s_curves_are_the_sample_kpis_and_their_marks_the_kpi_csv(out):
    c = chart_inputs(out)
    kpis = c.sample_kpis
    with (out / "consolidated_kpis.csv").open() as fh:
        rows = list(csv.DictReader(fh))
    for metric in ("min_free_cash_eur", "net_income_eur"):
        dists = outcome_distributions(c, metric)
        assert [d.label for d in dists] == list(GRID.values())
        for g, d in enumerate(dists):
            column = kpis[metric][kpis["grid_index"] == g]
            assert column.size == 40  # 40 simulations × 1 replicate
            x, frac = ecdf(d.values)
            assert np.array_equal(x, np.sort(column))
            assert frac[-1] == 1.0 and frac[0] == 1 / 40
            row = next(r for r in rows if r["grid_index"] == str(g) and r["metric"] == metric)
            for q in (10, 50, 90):  # the CSV rounds to the cent
                assert round(d.marks[q], 2) == pytest.approx(float(row[f"p{q}"]), abs=0.006)
