"""The Excel workbook (issue 15 items 4 and 8), read back with openpyxl."""

from __future__ import annotations

import csv
import io
import re
import zipfile
from pathlib import Path

import openpyxl
import pytest
from ruamel.yaml import YAML

from d3.catalog import path_template
from d3.registry import WORKBOOK_TABLES
from d3.report import workbook
from d3.report.workbook import (
    SheetTable,
    assumptions_table,
    cell_value,
    column_widths,
    operator_settings_table,
    sheet_names,
    sheet_table,
    workbook_bytes,
)
from tests.helpers import MINIMAL, invoke, run_minimal


def _read(data: bytes) -> openpyxl.Workbook:
    return openpyxl.load_workbook(io.BytesIO(data))


@pytest.mark.parametrize(("text", "value"), [
    ("12", 12), ("-3", -3), ("0", 0), ("1.5", 1.5), ("-0.25", -0.25), (".5", 0.5),
    ("1e3", 1000.0), ("452071.19", 452071.19), ("", None),
    ("007", "007"),  # a leading zero is an identifier, not a number
    ("123456789012345", 123456789012345),  # 15 digits: Excel keeps them all
    ("1234567890123456", "1234567890123456"),  # 16: Excel would round it, so text
    ("1e400", "1e400"), ("nan", "nan"), ("inf", "inf"), ("n/m", "n/m"), ("1,234", "1,234"),
    ("+5", "+5"), ("=1+1", "=1+1"), ("pub_target_margin=45%", "pub_target_margin=45%"),
])
def test_cell_value_parses_the_csv_text_exactly(text, value):
    got = cell_value(text)
    assert got == value and type(got) is type(value)


def test_sheet_table_keeps_the_header_and_types_the_cells():
    table = sheet_table("t", 'a,b,c\n1,x,\n"2,5",0.5,-1\n')
    assert table == SheetTable("t", ("a", "b", "c"), ((1, "x", None), ("2,5", 0.5, -1)))
    assert sheet_table("empty", "a,b\n").rows == ()
    with pytest.raises(ValueError, match="empty: the CSV is empty"):
        sheet_table("empty", "")


def test_sheet_names_are_short_valid_and_unique():
    long = "public_tap_customers_by_month_and_more"  # 38 characters
    names = sheet_names([long, long, "a/b:c", "Assumptions", "ASSUMPTIONS", ""])
    assert names == (
        long[:31],
        long[:29] + "~2",  # 29 + 2 = 31 characters
        "a_b_c",
        "Assumptions",
        "ASSUMPTIONS~2",  # Excel compares names without case
        "Sheet",
    )
    assert max(len(n) for n in names) == 31


def test_workbook_refuses_names_that_excel_would_reject():
    with pytest.raises(ValueError, match="invalid or repeated sheet names"):
        workbook_bytes([SheetTable("a", ("x",), ()), SheetTable("A", ("x",), ())])


FORMULAS = ("=1+1", '=HYPERLINK("http://evil.example","click")', "+41 22", "-x", "@SUM(A1:A2)")


def test_formula_like_text_stays_text():
    rows = "\n".join(f'"{f.replace(chr(34), chr(34) * 2)}",{i}' for i, f in enumerate(FORMULAS))
    data = workbook_bytes([sheet_table("names", f"model,n\n{rows}\n")])
    ws = _read(data)["names"]
    cells = [ws.cell(row=r, column=1) for r in range(2, 2 + len(FORMULAS))]
    assert [c.value for c in cells] == list(FORMULAS)
    assert [c.data_type for c in cells] == ["s"] * len(FORMULAS)
    assert [c.quotePrefix for c in cells] == [True] * len(FORMULAS)  # stays text when edited
    sheet_xml = zipfile.ZipFile(io.BytesIO(data)).read("xl/worksheets/sheet1.xml").decode()
    assert "<f>" not in sheet_xml and "<f " not in sheet_xml


def test_header_is_bold_and_frozen_and_columns_fit_their_text():
    table = SheetTable("t", ("month", "a_rather_long_column_name"),
                       ((1, "twenty characters!!!"), (12, None)))
    # widths: max(len) + 2 within 8..60 → month: max(5, 2) + 2 = 7 → 8; second: 25 + 2 = 27
    assert column_widths(table) == [8, 27]
    assert column_widths(SheetTable("t", ("x",), (("y" * 100,),))) == [60]
    ws = _read(workbook_bytes([table]))["t"]
    assert [c.font.b for c in ws[1]] == [True, True]
    assert [c.font.b for c in ws[2]] == [False, False]
    assert ws.freeze_panes == "A2"
    assert [ws.column_dimensions[c].width for c in "AB"] == [8, 27]
    assert [[c.value for c in row] for row in ws.iter_rows()] == [
        ["month", "a_rather_long_column_name"], [1, "twenty characters!!!"], [12, None]]


def test_control_characters_are_shown_as_replacement_characters():
    ws = _read(workbook_bytes([SheetTable("t", ("name",), (("a\x07b",),))]))["t"]
    assert ws["A2"].value == "a\ufffdb"


def test_a_table_longer_than_a_sheet_is_refused(monkeypatch):
    monkeypatch.setattr(workbook, "EXCEL_MAX_ROWS", 3)
    workbook_bytes([SheetTable("ok", ("x",), ((1,), (2,)))])  # header + 2 rows = 3
    with pytest.raises(ValueError, match="big: 3 rows do not fit in a sheet"):
        workbook_bytes([SheetTable("big", ("x",), ((1,), (2,), (3,)))])


def test_bytes_are_the_same_every_time_with_fixed_timestamps():
    tables = [SheetTable("t", ("a",), ((1,), ("x",)))]
    data = workbook_bytes(tables)
    assert workbook_bytes(tables) == data
    archive = zipfile.ZipFile(io.BytesIO(data))
    names = archive.namelist()
    assert names == sorted(names) and names[0] == "[Content_Types].xml"
    assert {i.date_time for i in archive.infolist()} == {(1980, 1, 1, 0, 0, 0)}
    core = archive.read("docProps/core.xml").decode()
    assert core.count("2000-01-01T00:00:00Z") == 2  # created and modified


MARKET = {
    "market_env": {"finance": {
        "eur_usd_fx_rate": {"value": 1.16, "unit": "USD per EUR", "source": "ECB",
                            "as_of": "2025-09"},
        "ecb_deposit_rate_pct": None}},
    "ads_channels": [{"channel_id": "g", "billing": "cpc", "currency": "USD",
                      "cost_per_click": 3.5, "cpm": None, "source": "WordStream"}],
    "agency_fees": [{"agency_id": "ppc", "fee_pct": 15.0, "fee_eur": None, "source": "typical"}],
    "insurances": [{"insurer_id": "pi", "annual_premium_eur": 540.0, "source": "Hiscox"}],
}
CATALOG = {
    "gpu_specs": [{"gpu": "L4", "vram_gb": 24.0, "source": "NVIDIA"}],
    "tps": [{"model": "Llama", "gpu": "L4", "gpu_count": 2, "throughput_tokens_per_s": 1500.0,
             "batch_slots": None, "source": "vLLM"}],
}


def test_assumptions_list_every_stated_fact_with_its_source():
    table = assumptions_table(MARKET, CATALOG)
    assert table.header == ("fact_file", "item", "field", "value", "unit", "source", "as_of")
    assert table.rows == (
        ("facts/market_env", "eur_usd_fx_rate", "value", 1.16, "USD per EUR", "ECB", "2025-09"),
        ("facts/ads_channels", "g", "billing", "cpc", None, "WordStream", None),
        ("facts/ads_channels", "g", "currency", "USD", None, "WordStream", None),
        ("facts/ads_channels", "g", "cost_per_click", 3.5, "USD", "WordStream", None),
        ("facts/agency_fees", "ppc", "fee_pct", 15.0, None, "typical", None),
        ("facts/insurances", "pi", "annual_premium_eur", 540.0, None, "Hiscox", None),
        ("facts/gpu_specs", "L4", "vram_gb", 24.0, None, "NVIDIA", None),
        ("facts/tps_model_gpu", "Llama / L4 / 2", "throughput_tokens_per_s", 1500.0, None,
         "vLLM", None),
    )


def test_operator_settings_are_flattened_to_dotted_paths():
    table = operator_settings_table({"operator/general": {
        "loan": {"principal_eur": 50000.0, "grace": False},
        "assets": [{"id": "ws", "cost_eur": 3200.0}]}})
    assert table.rows == (
        ("operator/general", "loan.principal_eur", 50000.0),
        ("operator/general", "loan.grace", "false"),
        ("operator/general", "assets[0].id", "ws"),
        ("operator/general", "assets[0].cost_eur", 3200.0),
    )


# --- the pipeline's own workbook ----------------------------------------------------------------


@pytest.fixture(scope="module")
def out(tmp_path_factory) -> Path:
    return run_minimal(tmp_path_factory.mktemp("workbook") / "out")


def _expected(text: str):
    """What the sheet must hold for a CSV cell, decided here independently of cell_value: the
    writers print integers plainly and floats as digits with a point."""
    if text == "":
        return None
    if re.fullmatch(r"-?[1-9]\d{0,14}|0", text):
        return int(text)
    if re.fullmatch(r"-?\d+\.\d+(e-?\d+)?", text):
        return float(text)
    return text


def test_every_sheet_equals_its_csv_cell_by_cell(out):
    wb = openpyxl.load_workbook(out / "financial_plan_v3.xlsx")
    csvs = [Path(path_template(n).format(out=out)) for n in WORKBOOK_TABLES]
    assert all(p.exists() for p in csvs)  # both lines ran: every table is there
    assert wb.sheetnames == [p.stem for p in csvs] + ["Assumptions", "Operator settings"]
    for path in csvs:
        with path.open(encoding="utf-8", newline="") as fh:
            expected = [[_expected(c) for c in row] for row in csv.reader(fh)]
        ws = wb[path.stem]
        got = [list(row) for row in ws.iter_rows(values_only=True)]
        width = len(expected[0])
        assert got == [row + [None] * (width - len(row)) for row in expected], path.name
        assert ws.freeze_panes == "A2" and all(c.font.b for c in ws[1])


def test_the_assumptions_sheet_holds_every_fact_of_the_inputs(out):
    ws = openpyxl.load_workbook(out / "financial_plan_v3.xlsx")["Assumptions"]
    rows = list(ws.iter_rows(min_row=2, values_only=True))
    ids = {"ads_channels": 1, "agency_fees": 1, "insurances": 1, "gpu_specs": 1,
           "tps_model_gpu": 3}  # columns naming a record (model, gpu, gpu_count)
    for stem, id_columns in ids.items():
        with (MINIMAL / f"inputs/facts/{stem}.csv").open(encoding="utf-8") as fh:
            records = list(csv.DictReader(fh))
        stated = sum(1 for r in records for k, v in r.items() if v != "" and k != "source")
        facts = [r for r in rows if r[0] == f"facts/{stem}"]
        assert len(facts) == stated - id_columns * len(records), stem
        assert {r[5] for r in facts} == {r["source"] for r in records}, stem
    env = YAML(typ="safe", pure=True).load(
        (MINIMAL / "inputs/facts/market_env.yaml").read_text(encoding="utf-8"))["finance"]
    fx = env["eur_usd_fx_rate"]
    assert [r for r in rows if r[0] == "facts/market_env"] == [
        ("facts/market_env", "eur_usd_fx_rate", "value", fx["value"], fx["unit"], fx["source"],
         None)]


def test_a_line_left_out_has_no_sheets(tmp_path):
    out = tmp_path / "out"
    result = invoke("run", "--inputs", str(MINIMAL / "inputs"), "--out", str(out),
                    "--pipelines", "public")
    assert result.exit_code == 0, result.stderr
    names = openpyxl.load_workbook(out / "financial_plan_v3.xlsx").sheetnames
    private = ["private_tap_economics", "private_vendor_recommendation",
               "private_tap_customers_by_month"]
    assert [n for n in names if n.startswith("private")] == []
    assert len(names) == len(WORKBOOK_TABLES) - len(private) + 2  # Assumptions, Operator settings
