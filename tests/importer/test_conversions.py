"""The importer's conversions one by one, on tiny inputs, with the arithmetic written out."""

from __future__ import annotations

import shutil
from decimal import Decimal

import pytest

from d3.importer import draft_import
from d3.importer.convert import inflation_groups, slug, vat_policy
from d3.importer.emit import number_text, yaml_text
from d3.importer.facts import aligned_record, first_pattern, vram_upper_gb
from d3.importer.source import parse_table
from d3.importer.variables import beta_sd, decimal_gcd, fraction_evidence
from d3.io.yaml12 import parse_yaml_text
from tests.helpers import edit_yaml
from tests.importer.conftest import DRAFT_MINI


@pytest.mark.parametrize(("percent", "expected"), [
    (100, ("set_aside_collected", True)), (0, ("none", True)),
    (30, ("none", False)), (50, ("set_aside_collected", False)),
    (70, ("set_aside_collected", False)),
])
def test_vat_buffer_percent_to_enum(percent, expected):
    assert vat_policy(Decimal(percent)) == expected


@pytest.mark.parametrize(("cell", "gb"), [
    ("16", "16"), ("~4-6", "6"), ("~20-24", "24"), ("<6", "6"), ("~12–16", "16"),
    ("6.5 GB", "6.5"), ("see card", None), ("", None),
])
def test_vram_upper_end(cell, gb):
    value = vram_upper_gb(cell)
    assert (number_text(value) if value is not None else None) == gb


def test_beta_sd_is_the_draft_engines_concentration_50():
    # mean 3 on 0..100 → p = 0.03: 100 × √(0.03 × 0.97 / 51) = 100 × √0.000570588…
    # = 2.3886989 (written at 6 significant digits: 2.3887)
    assert round(beta_sd(Decimal(3), Decimal(50)), 6) == Decimal("2.388699")
    # a share 0.4 on 0..1: √(0.4 × 0.6 / 51) = 0.0685994…
    assert round(beta_sd(Decimal("0.4"), Decimal(1)), 6) == Decimal("0.068599")
    assert beta_sd(Decimal(0), Decimal(1)) is None  # p = 0: no beta


def test_decimal_gcd():
    assert decimal_gcd(Decimal(50), Decimal(199), Decimal(1000)) == 1
    assert decimal_gcd(Decimal("0.5"), Decimal("0.75"), Decimal(2)) == Decimal("0.25")


def test_fraction_evidence():
    row = {"unit": "percent", "notes": "", "default": "0.55"}
    assert fraction_evidence(row, 55.0).startswith("default 0.55 × 100 = 55")
    assert fraction_evidence(row, 50.0) is None
    assert fraction_evidence({**row, "unit": "fraction"}, None) == (
        "its unit column says fraction")
    assert fraction_evidence({**row, "notes": "share, as a fraction"}, None) == (
        "its notes say fraction")


def test_inflation_groups_and_slug():
    assert inflation_groups(["personal", "office", "Kantoor huur", "salary_dev", "misc"]) == {
        "rent": ["office", "Kantoor huur"], "salary": ["salary_dev"], "cpi": ["personal", "misc"]}
    assert slug("Laptop (dev) #2") == "laptop_dev_2"


def test_first_matching_baseline_pattern_is_the_drafts_rule():
    baselines = {"H100": 1, "A100": 2, "L40S": 3, "L4": 4, "A10": 5}
    assert first_pattern(baselines, "L40S") == "L40S"
    assert first_pattern(baselines, "L4") == "L4"
    assert first_pattern(baselines, "A10") == "A10"  # "A100" is not inside "A10"
    assert first_pattern(baselines, "RTX 4090") is None


def test_a_short_row_is_read_only_when_every_reading_agrees():
    header = ("a", "b", "c", "d")

    def valid(record):
        return "a" in record and record.get("d", "").isdigit()

    # The gap at b or at c gives the same record; at a or d the record is invalid.
    assert aligned_record(header, ("x", "", "7"), valid) == ({"a": "x", "d": "7"}, "b, c")
    # "x,y,7": y could be b or c → two different records → not read.
    assert aligned_record(header, ("x", "y", "7"), valid) is None


def test_comment_rows_and_blank_lines_are_not_data():
    table = parse_table("variables/x.csv", "# head comment\nid,v\n\n1,2\n# section\n,\n3,4\n")
    assert table.header == ("id", "v")
    assert table.rows == ((4, ("1", "2")), (7, ("3", "4")))
    assert table.comments == ((1, "# head comment"), (5, "# section"))
    assert table.blank_lines == 2


def test_yaml_text_round_trips_and_is_sorted():
    doc = {"b": {"w": 1e-05, "x": "annuity"}, "a": [10, 50], "c": "2024-12-31", "d": None,
           "e": [{"k": True, "j": "Laptop (dev)"}], "f": {}, "g": "yes", "h": 3.0, "y": 1}
    text = yaml_text(doc, "header")
    assert text.startswith("# header\na: [10, 50]\nb:\n  w: 0.00001\n  x: annuity\n")
    assert '\ng: "yes"\nh: 3.0\n"y": 1\n' in text  # YAML 1.1 booleans are quoted
    assert parse_yaml_text(text) == doc


def _variant(tmp_path, change):
    src = shutil.copytree(DRAFT_MINI, tmp_path / "inputs")
    change(src)
    return draft_import(src)


def test_values_d3_cannot_honour_are_dropped_with_a_reason(tmp_path):
    def change(src):
        def plan(doc):
            doc["consolidation"].update(include_loan_in_cashflow=False,
                                        report_percentiles=[5, 50, 95])
            doc["logging"]["level"] = "ERROR"
        edit_yaml(src / "simulation.yaml", plan)
        edit_yaml(src / "operator/general.yaml",
                  lambda d: d["tax"].update(vat_buffer_policy=30.0))
        (src / "variables/general.csv").write_text(
            (src / "variables/general.csv").read_text().replace(",10,100,fixed,\"Percent",
                                                                 ",10,30,fixed,\"Percent"))
    result = _variant(tmp_path, change)
    lines = [w.line() for w in result.warnings]
    assert ("inputs/simulation.yaml:consolidation.include_loan_in_cashflow: dropped — false "
            "cannot be honoured: D3 always includes the loan in the cashflow") in lines
    assert ("inputs/simulation.yaml:consolidation.report_percentiles: dropped — [5, 50, 95] "
            "differs from stochastic.percentiles [10, 50, 90], which D3 uses for every table; "
            "set stochastic.percentiles to the cuts you want reported") in lines
    assert ("inputs/simulation.yaml:logging.level: level ERROR taken as warning — D3's levels "
            "are debug, info and warning") in lines
    # 30 % of VAT parked aside (the variable's default): nearer 0 than 100 → none.
    assert any(w.startswith("inputs/operator/general.yaml:tax.vat_buffer_policy: 30 % of VAT "
                            "set aside taken as the nearest D3 policy none") for w in lines)
    general = parse_yaml_text(result.files["inputs/operator/general.yaml"])
    assert general["tax"]["vat_buffer_policy"] == "none"
    assert parse_yaml_text(result.files["params.yaml"])["logging"]["level"] == "warning"


def test_an_offer_without_a_known_bandwidth_gets_no_gpu_specs_row(tmp_path):
    def change(src):
        path = src / "operator/curated_gpu.csv"
        path.write_text(path.read_text() + "x-h100,Lambda,H100,1,80,Hopper,,,,2.49,2.49,"
                        "on-demand,Lambda,no,1,form factor not given\n")
    result = _variant(tmp_path, change)
    assert "H100" not in result.files["inputs/facts/gpu_specs.csv"]
    assert ("inputs/operator/curated_gpu.csv:row 6 (H100): no facts/gpu_specs.csv row for GPU "
            "class H100: the import cannot tell which of H100 SXM (3350) or H100 PCIe (2000) is "
            "meant — add the row (vram_gb, mem_bandwidth_gb_s, source) by hand"
            ) in [w.line() for w in result.warnings]


def test_an_unknown_measurement_type_is_dropped_naming_the_known_ones(tmp_path):
    def change(src):
        path = src / "facts/tps_model_gpu.csv"
        path.write_text(path.read_text() + "google/gemma-3-1b-it,Gemma 3 1B,vLLM,BF16,L4,1,8,"
                        "512,512,900,offline_batch,notes,S1\n")
    result = _variant(tmp_path, change)
    assert ("inputs/facts/tps_model_gpu.csv:row 9 (Gemma 3 1B/L4): dropped — measurement_type "
            "'offline_batch' is none of aggregate, batched_online, single_stream, "
            "per_user_stream") in [w.line() for w in result.warnings]
    assert "offline_batch" not in result.files["inputs/facts/tps_model_gpu.csv"]
