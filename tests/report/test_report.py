"""The report: every SPEC §9 section with real numbers; prices match the CSV with their
derivation beside them; charts are real PNGs."""

from __future__ import annotations

import csv

import pytest

from tests.helpers import run_minimal

SECTIONS = ("## 1. Executive summary", "## 2. Inputs and catalogue",
            "## 3. Public Tap: per-model economics", "### How each price is derived",
            "### Credits terms", "## 4. Private Tap: economics and vendors",
            "## 5. Scenarios: monthly, yearly and full-term views", "## 6. Break-even",
            "## 7. Loan schedule", "## 8. VAT and compliance", "## 9. Safeguards",
            "## 10. Autoscaling", "## 11. Data-quality legend", "## 12. Charts")


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
    # The derivation chain of the golden arithmetic (tests/fixtures/minimal/README.md).
    # Prices at 10 significant digits: 0.42 / 6.48 = 0.06481481481 EUR per 1M; its cost
    # ÷ (1 − 50 %) / 1000 = 0.0001296296296 EUR per 1k, rounded up to 0.00013, floor 0.00015.
    for value in ("0.500000 USD", "0.420000", "1800.00", "6480000", "0.06481481481",
                  "0.0001296296296", "0.00013", "0.00015"):
        assert value in line
    assert f"**sell {llama['sell_eur_per_1k']} EUR per 1k tokens**" in line
    assert f"margin {llama['margin_pct']} %" in line
    table_row = next(x for x in report.splitlines() if x.startswith("| Llama 3.1 8B | 4090 |"))
    assert f"| {llama['sell_eur_per_1k']} |" in table_row


def test_loan_table_matches_the_csv(out):
    report = (out / "financial_plan_v3.md").read_text()
    with (out / "loan_schedule.csv").open() as fh:
        first = next(csv.DictReader(fh))
    assert (f"| 1 | {first['opening_principal']} | {first['interest']} | {first['principal']} "
            f"| {first['payment']} |") in report


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
