"""The report a founder and a lender read (issue 15), on a real run: the shipped inputs with a
small plan (50 Monte Carlo paths per replicate). The executive summary states the verdict, the
failing criteria in words, the funding need and the margins with the numbers of
``acceptance.json`` / ``consolidated_kpis.csv``; the statements equal the CSVs they name.

Numbers are formatted here independently of d3/report/formatting.py: half away from zero on the
CSV's decimal, thousands separators, 1 decimal for %, 2 for ×."""

from __future__ import annotations

import csv
import json
import re
import shutil
from decimal import ROUND_HALF_UP, Decimal
from pathlib import Path

import pytest

from tests.helpers import ROOT, edit_yaml, invoke

CODE_NAMES = ("public_customers_non_decreasing", "private_clients_non_decreasing",
              "private_margin_per_class", "public_realised_margin", "no_capacity_violation",
              "autoscaler_p95_util_within_tolerance", "autoscaler_no_sla_violations",
              "min_dscr", "min_cash")


def money(cell: str) -> str:
    q = Decimal(cell).quantize(Decimal(1), rounding=ROUND_HALF_UP)
    return f"{abs(q) if q == 0 else q:,}"


def pct(cell) -> str:
    return f"{Decimal(str(cell)).quantize(Decimal('0.1'), rounding=ROUND_HALF_UP)} %"


def prob(p: float) -> str:
    return pct(Decimal(repr(p)) * 100)


def ratio(cell: str) -> str:
    if cell == "" or Decimal(cell) < 0:
        return "n/m"
    return f"{Decimal(cell).quantize(Decimal('0.01'), rounding=ROUND_HALF_UP)}×"


def rows_of(path: Path) -> list[dict[str, str]]:
    with path.open(encoding="utf-8") as fh:
        return list(csv.DictReader(fh))


@pytest.fixture(scope="module")
def run(tmp_path_factory) -> Path:
    root = tmp_path_factory.mktemp("shipped")
    shutil.copytree(ROOT / "inputs", root / "inputs")
    shutil.copy(ROOT / "params.yaml", root / "params.yaml")
    edit_yaml(root / "params.yaml", lambda p: (
        p["stochastic"].update(simulations_per_run=50),
        p["solve"].update(trials=3, confirm=1)))  # the solver's section, on a small budget
    out = root / "out"
    result = invoke("run", "--inputs", str(root / "inputs"), "--out", str(out))
    assert result.exit_code == 0, result.stderr
    return out


@pytest.fixture(scope="module")
def facts(run):
    acc = json.loads((run / "acceptance.json").read_text())
    kpis = {(r["grid_index"], r["metric"]): r for r in rows_of(run / "consolidated_kpis.csv")}
    labels = {r["grid_index"]: r["grid_label"] for r in rows_of(run / "consolidated_kpis.csv")}
    report = (run / "financial_plan_v3.md").read_text()
    return acc, kpis, labels, report


def closest_to_fundable(acc, kpis) -> str:
    # The documented rule (docs/DECISIONS.md): accepted first, then the fewest failing
    # criteria, then the smallest p90 funding need over the term, then the lowest index.
    def rank(g):
        info = acc["grid"][g]
        return (not info["accepted"], sum(not c["ok"] for c in info["criteria"]),
                float(kpis[(g, "funding_need_term_eur")]["p90"]), int(g))
    return min(acc["grid"], key=rank)


def test_the_executive_summary_states_verdict_why_funding_and_margins(facts):
    acc, kpis, labels, report = facts
    summary = report.split("## 2.")[0]
    # The shipped plan is not fundable (every grid point fails the DSCR covenant).
    assert not acc["accepted"] and not any(i["accepted"] for i in acc["grid"].values())
    assert f"**Verdict: not accepted.** None of the {len(acc['grid'])} grid points meets " \
           "every acceptance criterion." in summary
    g = closest_to_fundable(acc, kpis)
    assert f"**Why** ({labels[g]}, the grid point closest to fundable):" in summary
    # Why: the failing criteria in words with their probabilities — the DSCR and the cash
    # covenants first; never a code name anywhere in the summary.
    failing = {c["name"]: c for c in acc["grid"][g]["criteria"] if not c["ok"]}
    assert {"min_dscr", "min_cash"} <= set(failing)
    bullets = [x for x in summary.splitlines() if x.startswith("- **")]
    assert bullets[0].startswith(
        "- **Debt service:** the trailing-12-month DSCR stays at or above the covenant 1.20× "
        f"from month 12 to month 60 in only {prob(failing['min_dscr']['probability'])} of "
        "futures; the lender asks for 90 %.")
    assert bullets[1].startswith(
        "- **Cash:** free cash (cash − overdraft − VAT and tax owed) stays at or above EUR "
        "5,000 (minimum cash EUR 0 + cash buffer EUR 5,000) in every month of the 60-month "
        f"term in only {prob(failing['min_cash']['probability'])} of futures")
    for name in CODE_NAMES:
        assert name not in summary, name
    # The funding need at 90 % confidence (p90) and the median, horizon and term.
    need, term = kpis[(g, "funding_need_eur")], kpis[(g, "funding_need_term_eur")]
    assert (f"**Funding need:** EUR {money(need['p90'])} of extra equity at 90 % confidence "
            f"(p90 over futures; EUR {money(need['p50'])} at the median) keeps free cash at or "
            "above the cash buffer of EUR 5,000 for the first 24 months; EUR "
            f"{money(term['p90'])} at 90 % confidence keeps it there for the whole 60-month "
            "loan term.") in summary
    # Priced against realised margin (medians, realised p10 and p90).
    priced, real = kpis[(g, "public_priced_margin_pct")], kpis[(g, "public_realised_margin_pct")]
    assert (f"The price list promises a public gross margin of {pct(priced['p50'])} on the "
            "tokens served; on the GPU fleet actually rented the Public Tap realises "
            f"{pct(real['p50'])} (median over futures, first 24 months; p10 {pct(real['p10'])}, "
            f"p90 {pct(real['p90'])}).") in summary
    # One row per grid point, named by its knob values, with its funding needs.
    for h in acc["grid"]:
        name = f"**{labels[h]}** (§5)" if h == g else labels[h]
        assert re.search(
            rf"^\| {re.escape(name)} \| not accepted \| "
            rf"{sum(not c['ok'] for c in acc['grid'][h]['criteria'])} \| .* \| "
            rf"{money(kpis[(h, 'funding_need_eur')]['p90'])} \| "
            rf"{money(kpis[(h, 'funding_need_term_eur')]['p90'])} \| ", summary, re.M), h
    assert "pub_target_margin=45%" in summary and "grid point 0" not in summary


def test_the_summary_fits_the_first_screen(facts):
    # Verdict, why, funding, margins, levers and the grid table in ≤ 40 lines of Markdown.
    # From "## 1. Executive summary" to the next h2 ("What it takes" comes before it).
    summary = next(s for s in facts[3].split("\n## ") if s.startswith("1. Executive summary"))
    assert len(summary.splitlines()) <= 40


def statement(report: str, heading: str) -> dict[str, list[str]]:
    """A statement table below ``heading``: line label → its cells."""
    part = report.split(heading, 1)[1].split("\n### ", 1)[0].split("\n## ", 1)[0]
    rows = [x for x in part.splitlines() if x.startswith("| ")]
    return {cells[0]: cells[1:] for cells in
            ([c.strip() for c in x.strip("|").split(" | ")] for x in rows[1:])}


def test_annual_pnl_equals_the_reference_column_of_pnl_by_year(facts, run):
    acc, kpis, labels, report = facts
    g = closest_to_fundable(acc, kpis)
    table = statement(report, f"### Profit and loss, annual (EUR, {labels[g]}, reference path)")
    years = {(r["year"], r["metric"]): r["reference"] for r in rows_of(run / "pnl_by_year.csv")
             if r["grid_index"] == g}
    order = ["1", "2", "3", "4", "5", "total"]
    assert table["**Revenue**"] == [money(years[(y, "revenue_eur")]) for y in order]
    assert table["**EBITDA**"] == [money(years[(y, "ebitda_eur")]) for y in order]
    assert table["**Net income**"] == [money(years[(y, "net_income_eur")]) for y in order]
    # Gross margin % = gross margin ÷ revenue, 1 decimal.
    assert table["Gross margin (%)"][0] == pct(
        Decimal(years[("1", "gross_margin_eur")]) / Decimal(years[("1", "revenue_eur")]) * 100)


def test_the_cash_flow_statement_sums_the_monthly_csv_rows_and_adds_up(facts, run):
    acc, kpis, labels, report = facts
    g = closest_to_fundable(acc, kpis)
    cash = [r for r in rows_of(run / "cashflow_by_month.csv") if r["grid_index"] == g]
    year1 = statement(report, f"### Cash-flow statement, annual (EUR, {labels[g]}, reference "
                              "path)")

    def year_sum(column, y=1):
        return sum(Decimal(r[column]) for r in cash if (int(r["month"]) - 1) // 12 + 1 == y)
    assert year1["**Operating cash flow**"][0] == money(year_sum("operating_cash_eur"))
    assert year1["Capital expenditure"][0] == money(-year_sum("capex_eur"))
    assert year1["Loan principal repaid"][1] == money(-year_sum("principal_eur", 2))
    assert year1["**Closing cash**"][:2] == [money(cash[11]["closing_cash_eur"]),
                                             money(cash[23]["closing_cash_eur"])]
    # Opening + operating − capex − principal + overdraft and gap drawn = closing, per month.
    for r in cash:
        flow = (Decimal(r["opening_cash_eur"]) + Decimal(r["operating_cash_eur"])
                - Decimal(r["capex_eur"]) - Decimal(r["principal_eur"])
                + Decimal(r["overdraft_drawn_eur"]) + Decimal(r["funding_gap_drawn_eur"]))
        assert abs(flow - Decimal(r["closing_cash_eur"])) <= Decimal("0.02"), r["month"]
    monthly = statement(report, f"### Cash-flow statement, monthly, year 1 (EUR, {labels[g]}")
    assert monthly["Opening cash"][0] == money(cash[0]["opening_cash_eur"]) == "50,000"
    assert len(monthly["**Closing cash**"]) == 13  # 12 months + the year


def test_dscr_by_year_shows_the_csv_ratios_and_the_covenant_headroom(facts, run):
    acc, kpis, labels, report = facts
    g = closest_to_fundable(acc, kpis)
    cash = {int(r["month"]): r for r in rows_of(run / "cashflow_by_month.csv")
            if r["grid_index"] == g}
    table = statement(report, f"### Debt service coverage by year ({labels[g]})")
    loan = rows_of(run / "loan_schedule.csv")
    service_y2 = sum(Decimal(r["payment"]) for r in loan if 13 <= int(r["month"]) <= 24)
    row = table["2"]
    assert row[0] == money(service_y2)  # 12 × 636.67 = 7,640.04 → 7,640
    assert row[2] == ratio(cash[24]["dscr_t12"])
    assert row[3:6] == [ratio(cash[24][f"p{q}_dscr_t12"]) for q in (10, 50, 90)]
    # Headroom in × = DSCR − 1.20, signed.
    dscr = Decimal(cash[24]["dscr_t12"])
    if dscr >= 0:
        assert row[6] == ("+" if dscr >= Decimal("1.2") else "-") + ratio(
            str(abs(dscr - Decimal("1.2"))))
    assert table["1"][2] == ratio(cash[12]["dscr_t12"])


def test_the_loan_schedule_is_annual_and_sums_the_monthly_rows(facts, run):
    report = facts[3]
    loan = rows_of(run / "loan_schedule.csv")
    table = statement(report, "### Loan schedule by year (EUR)")
    assert list(table) == ["1", "2", "3", "4", "5"]
    # Year 1: opening 30,000; interest = the sum of months 1–12.
    interest = sum(Decimal(r["interest"]) for r in loan[:12])
    assert table["1"] == ["30,000", money(str(interest)),
                          money(str(sum(Decimal(r["principal"]) for r in loan[:12]))),
                          money(str(sum(Decimal(r["payment"]) for r in loan[:12]))),
                          money(loan[11]["closing_principal"])]
    assert "| 60 | " not in report.split("### Loan schedule by year")[1].split("\n## ")[0]


def test_every_per_grid_section_names_its_grid_point(facts):
    acc, kpis, labels, report = facts
    g = closest_to_fundable(acc, kpis)
    for heading in ("## 5. Financial statements", "### Demand the fleet cannot serve",
                    "### Scenarios (", "### P&L across futures", "## 7. Break-even",
                    "## 8. VAT and compliance", "## 10. Autoscaling"):
        part = report.split(heading, 1)[1].split("\n| ", 1)[0]
        assert labels[g] in part, heading
    ref = next(h for h, lab in labels.items() if lab == "pub_target_margin=55%")
    assert ("grid variables at their defaults = grid point "
            f"{labels[ref]}") in report.split("## 3.")[1]
