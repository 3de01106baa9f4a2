"""How the report writes numbers and input text (d3/report/formatting.py). Hand-computed
values; the rounding rule is half away from zero on the decimal the CSV writes."""

from __future__ import annotations

import re

import pytest

from d3.report.formatting import (
    Md,
    esc,
    eur_text,
    frac_pct_text,
    margin_text,
    millions_text,
    money_text,
    pct_text,
    per_1m_text,
    ratio_text,
    share_text,
    table,
    unit_price_text,
)


@pytest.mark.parametrize(("cell", "text"), [
    ("452071.19", "452,071"),  # .19 < .5: down
    ("-60123.5", "-60,124"),  # half away from zero: -60123.5 → -60124 (banker's would give too)
    ("-60124.5", "-60,125"),  # ... and here banker's rounding would give -60,124
    ("2.5", "3"),  # half away from zero, not half to even (2)
    ("0.5", "1"),
    ("-0.4", "0"),  # a rounded zero is 0, never -0
    ("1234567.49", "1,234,567"),
    ("", "—"),  # an empty cell: no value
])
def test_money_is_whole_euros_with_thousands_separators(cell, text):
    assert money_text(cell) == text


def test_money_in_words_and_from_floats():
    assert eur_text("5000.00") == "EUR 5,000"
    # A float goes through its shortest repr: 0.5 is exactly one half → 1.
    assert money_text(0.5) == "1" and money_text(1e6) == "1,000,000"
    assert money_text(float("nan")) == "—"


@pytest.mark.parametrize(("cell", "text"), [
    ("56.2887", "56.3 %"),  # 56.2887 → 56.3 (0.0887 ≥ 0.05)
    ("46.05", "46.1 %"),  # half up on the decimal (the float 46.05 is 46.04999…)
    ("-119.1404", "-119.1 %"),
    ("0", "0.0 %"),
])
def test_percent_has_one_decimal(cell, text):
    assert pct_text(cell) == text


def test_a_probability_is_a_percentage_and_a_threshold_drops_trailing_zeros():
    # 0.0015 × 100 = 0.15 → 0.2 (half up); 0.9325 × 100 = 93.25 → 93.3.
    assert frac_pct_text(0.0015) == "0.2 %" and frac_pct_text(0.9325) == "93.3 %"
    assert share_text(0.9) == "90 %" and share_text(0.975) == "97.5 %"


@pytest.mark.parametrize(("cell", "text"), [
    ("1.2", "1.20×"),
    ("9.3449", "9.34×"),
    ("1.005", "1.01×"),  # half up: the float 1.005 is 1.00499…, the decimal is not
    ("-0.3", "n/m"),  # negative cash for debt service: not meaningful
    ("-13.3010", "n/m"),
    ("", "n/m"),  # undefined: no debt service
])
def test_ratio_has_two_decimals_and_n_m_when_meaningless(cell, text):
    assert ratio_text(cell) == text


def test_margin_on_zero_revenue_is_n_m():
    assert margin_text("") == "n/m" and margin_text("-34.5333") == "-34.5 %"


def test_prices_per_1m_tokens_are_the_per_1k_cells_times_1000_exactly():
    # 0.00013 × 1000 = 0.13; 0.0002 × 1000 = 0.2 → 0.20 (two decimals at least);
    # 0.0001296296296 × 1000 = 0.1296296296 (no rounding: the CSV's price reads back).
    assert per_1m_text("0.00013") == "0.13"
    assert per_1m_text("0.0002") == "0.20"
    assert per_1m_text("0.0001296296296") == "0.1296296296"
    assert per_1m_text("0.00105") == "1.05" and per_1m_text("0.0003845") == "0.3845"
    # A cost per 1M at 4 decimals: 0.05245361968 → 0.0525 (0.00004… rounds up at the 5th).
    assert unit_price_text("0.05245361968") == "0.0525"


def test_tokens_in_millions():
    # 48,440,342,394 tokens = 48,440.342394 million → 48,440.
    assert millions_text("48440342394") == "48,440"


def test_input_text_is_never_markup():
    name = "Llama <script>alert(1)</script> | x"
    assert esc(name) == "Llama &lt;script&gt;alert(1)&lt;/script&gt; \\| x"
    assert esc("a*b_ [c](d) `e` #f ~g~ $h$ & i\\j") == (
        "a\\*b\\_ \\[c\\](d) \\`e\\` \\#f \\~g\\~ \\$h\\$ &amp; i\\\\j")
    assert esc("two\nlines\ttab") == "two lines tab"  # a newline would end a table row
    # An underscore between letters or digits is never emphasis (CommonMark): kept readable.
    assert esc("pub_target_margin=45%") == "pub_target_margin=45%"
    assert esc("_lead and trail_") == "\\_lead and trail\\_"


def _cells(row: str) -> list[str]:
    return re.split(r"(?<!\\)\|", row.strip())[1:-1]


def test_a_table_escapes_every_cell_but_markdown_the_report_wrote():
    rows = [{"model": "A | B", "ok": Md("**no**"), "eur": "1,234"},
            {"model": "<b>C</b>", "ok": "yes", "eur": "-5"}]
    lines = table(rows, ["model", "ok", "eur"], ["model", "holds", "amount (EUR)"])
    assert lines == ["| model | holds | amount (EUR) |", "|---|---|---:|",
                     "| A \\| B | **no** | 1,234 |",
                     "| &lt;b&gt;C&lt;/b&gt; | yes | -5 |"]
    assert {len(_cells(x)) for x in lines} == {3}
