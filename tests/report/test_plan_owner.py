"""The report's newer model features: salary lines, the owner's distributions, the ads budget
policy in words. Tiny hand-made artefacts; the arithmetic is in the comments."""

from __future__ import annotations

import csv
from pathlib import Path

import pytest

from d3.report.plan import (
    ReportData,
    budget_lines,
    budget_policy_text,
    distribution_policy_text,
    distributions_lines,
    pnl_percentile_lines,
)
from tests.helpers import copy_minimal, edit_yaml, invoke, run_minimal

GENERAL = {"tax": {"dividend_withholding_pct": 15.0, "corporate_tax_payment_lag_months": 5,
                   "social_security_pct": 27.65},
           "reserves": {"founder_draw_policy": "none", "cash_buffer_eur": 5000.0,
                        "reserve_months_target": 3.0, "emergency_fund_eur": 10_000.0,
                        "distribution_policy": {"reinvest_pct": 70.0, "dividend_pct": 30.0}}}
# A grid variable on the dividend share: grid point 0 pays nothing, grid point 1 pays 30 %.
DIVIDEND_VARIABLE = {"variable_id": "gen_dividend", "scope": "general", "treatment": "grid",
                     "path": "reserves.distribution_policy.dividend_pct"}


def _kpi(g: str, metric: str, p50: str) -> dict[str, str]:
    return {"grid_index": g, "metric": metric, "unit": "EUR", "p10": p50, "p50": p50,
            "p90": p50}


def _data(**kw) -> ReportData:
    base = dict(horizon_months=12, term_months=60, percentiles=[10, 50, 90],
                acceptance={"grid": {"0": {}, "1": {}}},
                summary={"pipelines": ["public", "private"],
                         "reference_values": {"0": {"gen_dividend": "0"},
                                              "1": {"gen_dividend": "30"}}},
                kpis=[], plan={}, validation={})
    return ReportData(**{**base, **kw})


def test_growth_budget_in_words_with_its_value_at_the_horizon():
    # 1500 × 1.05^11 = 1500 × 1.710339 = 2565.51 → EUR 2,566 in month 12.
    text = budget_policy_text({"budget_month0_eur": 1500.0, "budget_growth_pct_mom": 5.0},
                              horizon_months=12)
    assert text.startswith("`growth`: EUR 1,500 in month 1, growing 5 % a month")
    assert text.endswith("EUR 2,566 in month 12")


def test_flat_budget_in_words():
    # budget_month0_eur is the schema's anchor and unused under flat.
    text = budget_policy_text({"budget_policy": "flat", "budget_month0_eur": 1500.0,
                               "budget_monthly_eur": 2000.0}, horizon_months=12)
    assert text == "`flat`: EUR 2,000 every month (`acquisition.budget_monthly_eur`)"


def test_pct_of_inflow_budget_in_words_with_and_without_a_cap():
    acq = {"budget_policy": "pct_of_inflow", "budget_pct_of_inflow": 10.0,
           "budget_month0_eur": 800.0}
    text = budget_policy_text(acq, horizon_months=12)
    assert text == ("`pct_of_inflow`: 10 % of the tap's previous month's sales ex VAT "
                    "(`acquisition.budget_pct_of_inflow`); month 1 spends EUR 800 "
                    "(`budget_month0_eur`)")
    capped = budget_policy_text({**acq, "budget_cap_monthly_eur": 5000.0}, horizon_months=12)
    assert capped.endswith("; month 1 spends EUR 800 (`budget_month0_eur`), at most EUR 5,000 "
                           "a month (`budget_cap_monthly_eur`)")


def test_budget_lines_name_each_tap_run_and_the_variables_on_its_budget():
    # Private: 500 × 1.02^11 = 500 × 1.243374 = 621.69 → EUR 622 in month 12.
    d = _data(public_op={"acquisition": {"budget_policy": "flat", "budget_monthly_eur": 900.0,
                                         "budget_month0_eur": 1.0}},
              private_op={"acquisition": {"budget_month0_eur": 500.0,
                                          "budget_growth_pct_mom": 2.0}},
              overrides=[{"variable_id": "priv_growth", "scope": "private_tap",
                          "path": "acquisition.budget_growth_pct_mom", "treatment": "random"},
                         {"variable_id": "pub_churn", "scope": "public_tap",
                          "path": "acquisition.churn_pct_mom", "treatment": "random"}])
    assert budget_lines(d) == [
        "- Ads budget, Public Tap: `flat`: EUR 900 every month "
        "(`acquisition.budget_monthly_eur`).",
        "- Ads budget, Private Tap: `growth`: EUR 500 in month 1, growing 2 % a month "
        "(budget_month0_eur × (1 + budget_growth_pct_mom/100)^(m−1)): EUR 622 in month 12; "
        "`acquisition.budget_growth_pct_mom` is variable `priv_growth` (random)."]
    only_public = _data(summary={"pipelines": ["public"]}, public_op=d.public_op,
                        private_op=d.private_op)
    assert [x[:25] for x in budget_lines(only_public)] == ["- Ads budget, Public Tap:"]


def test_no_policy_is_one_line():
    text = distribution_policy_text(
        founder_draw="none", draw_eur_per_month=0.0, draw_pct_of_profit=0.0, dividend_pct=0.0,
        withholding_pct=15.0, payment_lag_months=5, reserve_months=0.0, emergency_fund_eur=0.0,
        cash_buffer_eur=0.0)
    assert text == ("No distributions (`reserves.founder_draw_policy: none`, "
                    "`reserves.distribution_policy.dividend_pct` 0).")


def test_a_paying_policy_in_words():
    text = distribution_policy_text(
        founder_draw="flat", draw_eur_per_month=500.0, draw_pct_of_profit=0.0,
        dividend_pct=30.0, withholding_pct=15.0, payment_lag_months=5, reserve_months=3.0,
        emergency_fund_eur=10_000.0, cash_buffer_eur=5000.0)
    assert text.startswith("Founder draw: EUR 500 a month (`flat`). Dividend: 30 % of each "
                           "fiscal year's net income less the year's draws, paid 5 months after "
                           "the year ends, with its corporate tax. Dividend tax of 15 % is "
                           "withheld from every distribution, draws included")
    assert text.endswith("max(3 months × (fixed costs + salaries + social security), emergency "
                         "fund EUR 10,000) + cash buffer EUR 5,000, tested on free cash.")
    pct = distribution_policy_text(
        founder_draw="percent_of_profit", draw_eur_per_month=0.0, draw_pct_of_profit=40.0,
        dividend_pct=0.0, withholding_pct=0.0, payment_lag_months=5, reserve_months=0.0,
        emergency_fund_eur=0.0, cash_buffer_eur=0.0)
    assert pct.startswith("Founder draw: 40 % of each month's positive net income "
                          "(`percent_of_profit`). Dividend: none.")


def test_distributions_per_grid_point_policy_floor_and_p50_totals():
    # Reserve floor = max(3 × (fixed 2100 + salaries 2000 + social security 553), 10 000)
    # + buffer 5000 = max(13 959, 10 000) + 5000 = 18 959 (the consolidation's cells).
    cash = [{"grid_index": g, "month": str(m), "reserve_floor_eur": "18959.00"}
            for g in ("0", "1") for m in (1, 60)]
    # Grid point 1: year 1 net income 40 000, no draws → dividend 30 % × 40 000 = 12 000, paid
    # in month 12 + 5 = 17 (after the 12-month horizon, inside the term); withheld 15 % ×
    # 12 000 = 1800. Grid point 0 pays nothing (dividend share 0 there).
    kpis = [_kpi(g, m, "0.00") for g in ("0", "1") for m in (
        "founder_draw_eur", "dividends_gross_eur", "dividend_withholding_eur",
        "distributions_eur", "founder_draw_term_eur", "dividends_gross_term_eur",
        "dividend_withholding_term_eur", "distributions_term_eur")]
    kpis = [k if k["grid_index"] == "0" or not k["metric"].endswith("_term_eur") else
            _kpi("1", k["metric"], {"founder_draw_term_eur": "0.00",
                                    "dividends_gross_term_eur": "12000.00",
                                    "dividend_withholding_term_eur": "1800.00",
                                    "distributions_term_eur": "12000.00"}[k["metric"]])
            for k in kpis]
    labels = {"0": "gen_dividend=0%", "1": "gen_dividend=30%"}  # each grid point's name
    lines = distributions_lines(_data(general=GENERAL, overrides=[DIVIDEND_VARIABLE],
                                      kpis=kpis, cashflow=cash, grid_labels=labels))
    text = "\n".join(lines)
    assert lines[0] == "### Distributions to the owner"
    assert "- gen_dividend=0%: No distributions (`reserves.founder_draw_policy: none`" in text
    assert "- gen_dividend=30%: Founder draw: none. Dividend: 30 % of each fiscal year's" in text
    assert ("- gen_dividend=30%: reserve floor EUR 18,959 in month 1, EUR 18,959 in month 60 "
            "(`reserve_floor_eur`, reference path).") in lines
    # Whole euros: 12000.00 → 12,000; 1800.00 → 1,800; 0.00 → 0.
    assert "| gen_dividend=30% | first 12 months | 0 | 0 | 0 | 0 |" in lines
    assert "| gen_dividend=30% | 60-month term | 0 | 12,000 | 1,800 | 12,000 |" in lines
    assert "| gen_dividend=0% | 60-month term | 0 | 0 | 0 | 0 |" in lines
    # Without the run's variables a grid point is "grid point N".
    plain = distributions_lines(_data(general=GENERAL, overrides=[DIVIDEND_VARIABLE],
                                      kpis=kpis, cashflow=cash))
    assert "| grid point 1 | 60-month term | 0 | 12,000 | 1,800 | 12,000 |" in plain


def test_no_distribution_kpis_leave_the_policy_line_alone():
    none = {**GENERAL, "reserves": {**GENERAL["reserves"],
                                    "distribution_policy": {"dividend_pct": 0.0}}}
    lines = distributions_lines(_data(general=none))
    assert lines == ["### Distributions to the owner", "",
                     "No distributions (`reserves.founder_draw_policy: none`, "
                     "`reserves.distribution_policy.dividend_pct` 0).", ""]


def _pnl_row(month: int, **p50) -> dict[str, str]:
    row = {"grid_index": "0", "month": str(month), "calendar_month": f"2027-{month:02d}"}
    return {**row, **{f"p50_{k}": v for k, v in p50.items()}}


def test_salary_lines_stand_beside_opex_only_when_the_csvs_carry_them():
    # 2000 gross a month at 27.65 % social security = 553.00; opex 100 + 2000 + 553 = 2653.00.
    on = [_pnl_row(1, revenue_eur="0.00", gross_margin_eur="0.00", salaries_eur="2000.00",
                   social_security_eur="553.00", opex_eur="2653.00", ebitda_eur="-2653.00",
                   net_income_eur="-2653.00")]
    # A year: 12 × 2000 = 24 000.00 and 12 × 553 = 6636.00.
    years = [{"grid_index": "0", "year": "1", "months": "12", "metric": m, "p10": v, "p50": v,
              "p90": v, "reference": v}
             for m, v in (("acquisition_eur", "0.00"), ("salaries_eur", "24000.00"),
                          ("social_security_eur", "6636.00"), ("opex_eur", "31836.00"))]
    text = "\n".join(pnl_percentile_lines(_data(pnl=on, pnl_by_year=years, general=GENERAL),
                                          "0"))
    assert "`tax.social_security_pct` = 27.65 %" in text
    assert ("| month | calendar month | revenue p50 (EUR) | gross margin p50 (EUR) | "
            "salaries p50 (EUR) | social security p50 (EUR) | opex p50 (EUR) |") in text
    assert "| 1 | 2027-01 | 0 | 0 | 2,000 | 553 | 2,653 |" in text
    assert "| 1 | 12 | salaries (EUR) | 24,000 | 24,000 | 24,000 | 24,000 |" in text
    assert "| 1 | 12 | social security (EUR) | 6,636 |" in text
    assert "acquisition" not in text  # the yearly view lists what it listed before
    off = [{k: v for k, v in on[0].items() if "salaries" not in k and "social" not in k}]
    text = "\n".join(pnl_percentile_lines(_data(pnl=off, pnl_by_year=years[3:],
                                                general=GENERAL), "0"))
    assert "salaries" not in text and "social security" not in text


def _csv(path: Path) -> list[dict[str, str]]:
    with path.open(encoding="utf-8") as fh:
        return list(csv.DictReader(fh))


def test_the_minimal_report_states_budgets_and_no_distributions(tmp_path):
    report = (run_minimal(tmp_path / "out") / "financial_plan_v3.md").read_text()
    # Public 1000 × 1.05^11 = 1710.34 → EUR 1,710; private 500 × 1.02^11 = 621.69 → EUR 622.
    assert "- Ads budget, Public Tap: `growth`: EUR 1,000 in month 1, growing 5 % a month" in \
        report and "EUR 1,710 in month 12." in report
    assert "- Ads budget, Private Tap: `growth`: EUR 500 in month 1, growing 2 % a month" in \
        report and "EUR 622 in month 12." in report
    assert "### Distributions to the owner\n\nNo distributions (" in report
    assert "salaries_eur" not in report  # the minimal plan has no salary key


@pytest.fixture(scope="module")
def paying(tmp_path_factory):
    """The minimal tree with its salary moved to the salary key (27.65 % social security), a
    flat draw of 500 and a 30 % dividend policy, a 3-month reserve and a 10 000 fund."""
    root = copy_minimal(tmp_path_factory.mktemp("paying") / "tree")

    def change(d):
        d["finance"]["salaries_monthly_eur"] = {
            "founder": d["finance"]["fixed_costs_monthly_eur"].pop("salary")}
        d["tax"].update(social_security_pct=27.65, dividend_withholding_pct=15)
        d["reserves"] = {"founder_draw_policy": "flat", "founder_draw_eur_per_month": 500,
                         "reserve_months_target": 3, "emergency_fund_eur": 10_000,
                         "distribution_policy": {"reinvest_pct": 70, "dividend_pct": 30}}
    edit_yaml(root / "inputs/operator/general.yaml", change)
    out = root.parent / "out"
    result = invoke("run", "--inputs", str(root / "inputs"), "--out", str(out))
    assert result.exit_code == 0, result.stderr
    return out


def test_a_paying_run_shows_salaries_policy_floor_and_the_kpi_cells(paying):
    report = (paying / "financial_plan_v3.md").read_text()
    years = {(r["grid_index"], r["year"], r["metric"]): r
             for r in _csv(paying / "pnl_by_year.csv")}
    # 12 × 2000 = 24 000 and 12 × 553 = 6636 (2000 × 27.65 %), the same in every sample.
    assert years[("0", "1", "salaries_eur")]["p50"] == "24000.00"
    assert "| 1 | 12 | salaries (EUR) | 24,000 | 24,000 | 24,000 | 24,000 |" in report
    assert "| 1 | 12 | social security (EUR) | 6,636 | 6,636 | 6,636 | 6,636 |" in report
    assert ("Founder draw: EUR 500 a month (`flat`). Dividend: 30 % of each fiscal year's net "
            "income") in report
    kpi_rows = _csv(paying / "consolidated_kpis.csv")
    labels = {r["grid_index"]: r["grid_label"] for r in kpi_rows}
    assert labels["0"] == "pub_margin=40%"
    # Floor = max(3 × (accounting 100 + salary 2000 + social security 553), 10 000) + buffer 0
    # = max(7959, 10 000) = 10 000.
    assert ("- pub_margin=40%: reserve floor EUR 10,000 in month 1, EUR 10,000 in month 60"
            in report)
    kpis = {(r["grid_index"], r["metric"]): r["p50"] for r in kpi_rows}
    for g in ("0", "1", "2"):
        # The fixture never earns a profit: nothing is distributable, every total is 0.
        assert kpis[(g, "distributions_term_eur")] == "0.00"
        assert (f"| {labels[g]} | 60-month term | 0 | 0 | 0 | 0 |") in report
