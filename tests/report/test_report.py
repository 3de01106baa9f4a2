"""The report: every SPEC §9 section with real numbers; prices match the CSV with their
derivation beside them, per 1M tokens; charts are real PNGs."""

from __future__ import annotations

import csv
from decimal import ROUND_HALF_UP, Decimal

import pytest

from tests.helpers import run_minimal

SECTIONS = ("## 1. Executive summary", "## 2. Inputs, catalogue and grid points",
            "## 3. Public Tap: per-model economics", "### How each price is derived",
            "### Credits terms", "## 4. Private Tap: economics and vendors",
            "## 5. Financial statements", "### Use of proceeds",
            "### Cash-flow statement, monthly, year 1", "### Profit and loss, annual",
            "### Cash-flow statement, annual", "### Balance sheet at each year end",
            "### Debt service coverage by year", "### Loan schedule by year",
            "### Distributions to the owner",
            "## 6. Scenarios: outcomes across futures (month, year, full term)",
            "## 7. Break-even", "## 8. VAT and compliance",
            "## 9. Safeguards and acceptance criteria", "## 10. Autoscaling",
            "## 11. Data-quality legend", "## 12. Charts")


@pytest.fixture(scope="module")
def out(tmp_path_factory):
    return run_minimal(tmp_path_factory.mktemp("report"))


def test_every_section_is_there(out):
    report = (out / "financial_plan_v3.md").read_text()
    positions = [report.index(s) for s in SECTIONS]
    assert positions == sorted(positions)
    assert "non-refundable" in report and "valid 12 months" in report
    assert "service stops when the balance reaches zero" in report


def test_a_price_in_the_report_equals_the_csv_and_its_derivation(out):
    with (out / "public_tap_prices_per_model.csv").open() as fh:
        llama = next(r for r in csv.DictReader(fh) if r["model"] == "Llama 3.1 8B")
    report = (out / "financial_plan_v3.md").read_text()
    line = next(x for x in report.splitlines() if x.startswith("- **Llama 3.1 8B**"))
    # The derivation chain of the golden arithmetic (tests/fixtures/minimal/README.md), per 1M
    # tokens: 0.42 / 6.48 = 0.06481481481 EUR per 1M; ÷ (1 − 50 %) = 0.1296296296 EUR per 1M
    # (the CSV's 0.0001296296296 per 1k × 1000), rounded up to 0.01 (0.00001 per 1k × 1000):
    # 0.13, floor 0.15 (0.00015 × 1000), cap 0.50 (0.0005 × 1000).
    for value in ("0.500000 USD", "0.420000", "1800.00", "6480000", "0.06481481481",
                  "= 0.1296296296 EUR per 1M", "rounded up to 0.01: 0.13", "floor 0.15",
                  "cap 0.50"):
        assert value in line, value
    # sell 0.00015 EUR per 1k × 1000 = 0.15 EUR per 1M; margin 56.7901 → 56.8 %.
    sell_1m = Decimal(llama["sell_eur_per_1k"]) * 1000
    assert sell_1m == Decimal("0.15")
    margin = Decimal(llama["margin_pct"]).quantize(Decimal("0.1"), ROUND_HALF_UP)
    assert f"**sell {sell_1m:.2f} EUR per 1M tokens**, margin {margin} %" in line
    assert "per 1k" not in line
    # The price list: cost 0.06481481481 → 0.0648 (4 decimals), sell 0.15 (both per 1M).
    table_row = next(x for x in report.splitlines() if x.startswith("| Llama 3.1 8B | 4090 |"))
    assert table_row.startswith(f"| Llama 3.1 8B | 4090 | 0.0648 | {sell_1m:.2f} | {margin} % |")


def test_loan_table_is_annual_and_matches_the_csv(out):
    report = (out / "financial_plan_v3.md").read_text()
    with (out / "loan_schedule.csv").open() as fh:
        rows = list(csv.DictReader(fh))

    def whole(x: Decimal) -> str:
        return f"{x.quantize(Decimal(1), ROUND_HALF_UP):,}"
    year1 = rows[:12]
    interest = sum(Decimal(r["interest"]) for r in year1)
    principal = sum(Decimal(r["principal"]) for r in year1)
    payment = sum(Decimal(r["payment"]) for r in year1)
    assert interest + principal == payment  # to the cent, as the CSV promises
    assert (f"| 1 | {whole(Decimal(year1[0]['opening_principal']))} | {whole(interest)} | "
            f"{whole(principal)} | {whole(payment)} | "
            f"{whole(Decimal(year1[-1]['closing_principal']))} |") in report
    loan = report.split("### Loan schedule by year")[1].split("\n#")[0]
    assert len([x for x in loan.splitlines() if x.startswith("| ")]) == 1 + 5  # header + years


def test_charts_are_png_and_referenced(out):
    report = (out / "financial_plan_v3.md").read_text()
    for name in ("revenue_fan", "free_cash_fan", "dscr_t12_fan", "public_price_margin",
                 "private_margin", "replicas_vs_demand"):
        png = (out / "charts" / f"{name}.png").read_bytes()
        assert png[:8] == b"\x89PNG\r\n\x1a\n" and len(png) > 10_000
        assert f"(charts/{name}.png)" in report
        assert b"Software" not in png[:2000]  # no version metadata


def test_the_run_summary_names_a_distribution_and_its_sd():
    from d3.report.run_summary import _distribution_note

    assert _distribution_note({"distribution": "uniform"}) == ""
    assert _distribution_note({"distribution": "normal"}) == " (normal)"
    assert _distribution_note({"distribution": "lognormal", "sd": "5000"}) == \
        " (lognormal, sd 5000)"
