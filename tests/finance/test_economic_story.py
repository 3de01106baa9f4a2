"""Issue 11 on the minimal fixture: one story from price list to cash. Tables that show the
same quantity show the same number; revenue recomputes from tokens × price to the cent; the
balance sheet balances; the autoscaler's KPIs reach the consolidated KPIs."""

from __future__ import annotations

import csv
import json
from decimal import Decimal

import pytest

from tests.helpers import run_minimal


@pytest.fixture(scope="module")
def out(tmp_path_factory):
    return run_minimal(tmp_path_factory.mktemp("story"))


def _csv(path):
    with path.open() as fh:
        return list(csv.DictReader(fh))


def _d(text: str) -> Decimal:
    return Decimal(text or "0")


def test_base_scenario_is_the_pnl_public_lines_every_month_to_the_cent(out):
    customers = _csv(out / "public_tap_customers_by_month.csv")
    pnl = {(r["grid_index"], r["month"]): r for r in _csv(out / "pnl_by_month.csv")}
    assert customers
    for c in customers:
        p = pnl[(c["grid_index"], c["month"])]
        # The customers table's reference path is the base scenario's path: same revenue and
        # the same rented-capacity COGS as the P&L's reference public lines.
        assert c["revenue_eur"] == p["revenue_public_eur"], c["month"]
        assert c["cogs_eur"] == p["cogs_public_eur"], c["month"]
    for s in _csv(out / "public_tap_scenarios.csv"):
        if s["scenario"] != "base":
            continue
        months = [pnl[(s["grid_index"], str(m))] for m in range(1, int(s["months"]) + 1)]
        revenue = sum(_d(p["revenue_public_eur"]) for p in months)
        cogs = sum(_d(p["cogs_public_eur"]) for p in months)
        # Both book each month in cents, then sum: equal to the cent.
        assert _d(s["revenue_eur"]) == revenue, (s["grid_index"], s["period"])
        assert _d(s["cogs_eur"]) == cogs, (s["grid_index"], s["period"])


def test_credits_recompute_from_tokens_times_price_to_the_cent(out):
    for c in _csv(out / "public_tap_customers_by_month.csv"):
        # tokens / 1000 × blended EUR per 1k; tokens are written to the unit (≤ 0.5 token off).
        recomputed = _d(c["tokens"]) / 1000 * _d(c["blended_sell_eur_per_1k"])
        assert abs(recomputed - _d(c["credits_sold_eur"])) <= Decimal("0.005") + Decimal(
            "0.0005") * _d(c["blended_sell_eur_per_1k"]), c["month"]


def test_model_revenue_recomputes_from_served_tokens_times_price(out):
    rows = _csv(out / "public_tap_margin_by_model.csv")
    assert rows
    for r in rows:
        recomputed = _d(r["tokens_served"]) / 1000 * _d(r["sell_eur_per_1k"])
        assert abs(recomputed - _d(r["revenue_eur"])) <= Decimal("0.005") + Decimal(
            "0.0005") * _d(r["sell_eur_per_1k"]), r["model"]
        # Realised margin = (revenue − GPU − non-GPU) / revenue, from the same row.
        revenue = _d(r["revenue_eur"])
        if revenue > 0:
            realised = (revenue - _d(r["gpu_cogs_eur"]) - _d(r["non_gpu_cogs_eur"])) / revenue
            assert float(realised) * 100 == pytest.approx(float(r["realised_margin_pct"]),
                                                          abs=1e-3)


def test_balance_sheet_balances_in_every_month(out):
    rows = _csv(out / "balance_sheet_by_month.csv")
    assert rows
    for r in rows:
        for prefix in ("",):  # the reference path; the percentiles of lines do not add up
            a = _d(r[f"{prefix}bs_total_assets_eur"])
            le = _d(r[f"{prefix}bs_total_liabilities_eur"]) + _d(r[f"{prefix}bs_total_equity_eur"])
            assert a == le, r["month"]
    summary = json.loads((out / "consolidated_summary.json").read_text())
    for g in summary["grid"].values():
        assert round(g["balance_sheet_max_abs_difference_eur"], 2) == 0.0


def test_autoscaler_kpis_reach_the_consolidated_kpis(out):
    kpis = {(r["grid_index"], r["metric"]): r for r in _csv(out / "consolidated_kpis.csv")}
    scaler = _csv(out / "public_tap_autoscaling_kpis.csv")
    assert scaler
    for r in scaler:
        row = kpis[(r["grid_index"], f"autoscaler_sla_violations[{r['model']}]")]
        assert row[r["trace"]] == r["sla_violations"]
        row = kpis[(r["grid_index"], f"autoscaler_p95_util_pct[{r['model']}]")]
        assert row[r["trace"]] == r["p95_util_pct"]
    summary = json.loads((out / "consolidated_summary.json").read_text())
    assert "all models" in summary["grid"]["0"]["autoscaling"]


def test_acceptance_is_decided_by_probabilities(out):
    doc = json.loads((out / "acceptance.json").read_text())
    assert doc["min_acceptance_probability"] == 0.9
    for grid in doc["grid"].values():
        for c in grid["criteria"]:
            if c["probability"] is not None:
                assert c["ok"] == (c["probability"] >= 0.9), c["name"]
            assert "reference" in c


def test_report_states_the_story_in_words(out):
    report = (out / "financial_plan_v3.md").read_text()
    summary = report.split("## 2.")[0]
    for words in ("**Verdict:", "The price list promises a public gross margin of",
                  "the Public Tap realises", "unserved", "Funding need:",
                  "at 90 % confidence", "independent parameter draws"):
        assert words in summary, words
