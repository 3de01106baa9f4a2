"""The one warning count (issue 15): validate's log, validation_report.json, run_summary.json,
run_summary.md and the report's sentence state the same number, computed by one function."""

from __future__ import annotations

import json
import re

import pytest

from d3.core.warning_count import WarningCount, run_warnings, warning_count
from tests.helpers import ROOT, copy_minimal, edit_csv, invoke, read_csv


def _issue(severity: str, code: str) -> dict[str, str]:
    return {"severity": severity, "code": code, "file": "f", "location": "l", "message": "m",
            "hint": "", "line": "f:l: m"}


def test_warnings_are_counted_per_code_and_notes_apart():
    issues = [_issue("warning", "tps_heuristic"), _issue("info", "infeasible_pair"),
              _issue("warning", "tps_heuristic"), _issue("warning", "cap_below_target"),
              _issue("error", "invalid")]
    count = warning_count(issues)
    # 3 warnings (2 + 1), 1 note; the error is not a warning.
    assert count == WarningCount(3, {"cap_below_target": 1, "tps_heuristic": 2}, 1)
    assert count.text() == "3 warnings (1 cap_below_target, 2 tps_heuristic) and 1 note"
    assert WarningCount.of(count.as_dict()) == count
    assert warning_count([]).sentence() == "No warnings"
    assert warning_count([_issue("warning", "x")]).text() == "1 warning (1 x)"


def test_run_warnings_add_the_pricing_stage_to_validation():
    report = {"issues": [_issue("warning", "tps_heuristic"), _issue("info", "infeasible_pair")]}
    card = {"warnings": [_issue("warning", "cap_below_target")]}
    assert [i["code"] for i in run_warnings(report, card)] == [
        "tps_heuristic", "infeasible_pair", "cap_below_target"]
    assert run_warnings(report, None) == report["issues"]  # the Public Tap did not run


def _events(stdout: str) -> dict[str, dict]:
    return {e["event"]: e for e in map(json.loads, stdout.splitlines())}


@pytest.fixture(scope="module")
def shipped(tmp_path_factory):
    out = tmp_path_factory.mktemp("shipped") / "out"
    result = invoke("run", "--inputs", str(ROOT / "inputs"), "--params",
                    str(ROOT / "params.yaml"), "--out", str(out))
    assert result.exit_code == 0, result.stderr
    return out, _events(result.stdout)


def test_the_shipped_run_states_one_warning_count_everywhere(shipped):
    out, events = shipped
    # Independent source: every feasible (model, GPU) pair priced from a throughput heuristic
    # (no measured row) is one tps_heuristic warning; the shipped inputs have no other kind.
    _, costs = read_csv(out / "public_tap_gpu_costs.csv")
    heuristic = sum(r["tps_source"].startswith("heuristic") for r in costs)
    assert heuristic == 37
    expected = {"warnings": heuristic, "by_code": {"tps_heuristic": heuristic}, "notes": 8}
    validation = json.loads((out / "validated/validation_report.json").read_text())
    summary = json.loads((out / "run_summary.json").read_text())
    assert validation["warning_count"] == summary["warning_count"] == expected
    assert len(summary["warnings"]) == heuristic
    # 8 notes: the (model, GPU) pairs no curated offer can host (feasible = false).
    assert sum(r["feasible"] == "false" for r in costs) == 8
    assert [n["code"] for n in summary["notes"]] == ["infeasible_pair"] * 8
    md = (out / "run_summary.md").read_text()
    assert "## Warnings (37)\n\n37 warnings (37 tps_heuristic) and 8 notes.\n" in md
    plan = (out / "financial_plan_v3.md").read_text()
    assert "37 warnings (37 tps_heuristic) and 8 notes: listed in `run_summary.md`." in plan
    assert re.findall(r"(\d+) warnings", plan) == ["37"]  # no other warning count in the report
    for event in ("validate_done", "summary_written"):
        assert {k: events[event][k] for k in expected} == expected
    assert events["run_done"]["warnings"] == expected


def test_failed_criteria_are_the_verdict_not_warnings(shipped):
    out, _ = shipped
    summary = json.loads((out / "run_summary.json").read_text())
    acceptance = json.loads((out / "acceptance.json").read_text())
    failed = {g: [c["name"] for c in v["criteria"] if not c["ok"]]
              for g, v in acceptance["grid"].items()}
    assert {g: v["failed"] for g, v in summary["acceptance"]["grid"].items()} == failed
    assert "acceptance_failed" not in {w["code"] for w in summary["warnings"]}


def test_a_pricing_warning_counts_in_the_summary_and_the_report(tmp_path):
    """The minimal fixture caps Mistral's price below its target margin: one cap_below_target
    from the pricing stage on top of validation's one tps_heuristic."""
    root = copy_minimal(tmp_path / "tree")
    out = tmp_path / "out"
    result = invoke("run", "--inputs", str(root / "inputs"), "--out", str(out))
    assert result.exit_code == 0, result.stderr
    validation = json.loads((out / "validated/validation_report.json").read_text())
    summary = json.loads((out / "run_summary.json").read_text())
    assert validation["warning_count"]["by_code"] == {"tps_heuristic": 1}
    # 1 from validation + 1 from pricing = 2.
    assert summary["warning_count"]["warnings"] == 2
    assert summary["warning_count"]["by_code"] == {"cap_below_target": 1, "tps_heuristic": 1}
    text = WarningCount.of(summary["warning_count"]).text()
    assert f"{text[0].upper()}{text[1:]}: listed in" in (out / "financial_plan_v3.md").read_text()


def test_a_variable_drawing_allocation_weights_is_warned_before_the_run(tmp_path):
    """search is drawn in 0.2..0.8 (step 0.2) while social stays 0.4 (minimal fixture): the
    weights sum to 0.6..1.2, not 1, so every sample's weights are renormalised; validate says so
    once."""
    root = copy_minimal(tmp_path / "tree")
    path = root / "inputs/variables/public_tap.csv"
    _, rows = read_csv(path)

    def add_row(header, rs):
        rs.append({**{c: "" for c in header}, "variable_id": "pub_search", "scope": "public_tap",
                   "path": "acquisition.channel_allocation.search", "type": "numeric",
                   "unit": "frac", "min": "0.2", "max": "0.8", "step": "0.2", "default": "0.6",
                   "treatment": "random"})
    edit_csv(path, add_row)
    result = invoke("validate", "--inputs", str(root / "inputs"))
    assert result.exit_code == 0, result.stderr
    row = len(rows) + 2  # the header is line 1; the new row follows the existing ones
    assert (f"warning: inputs/variables/public_tap.csv:row {row} (pub_search): its values make "
            "the weights of acquisition.channel_allocation sum to other than 1; each sample's "
            "weights are renormalised") in result.stderr
    done = _events(result.stdout)["validate_done"]
    assert done["by_code"] == {"allocation_renormalised": 1, "tps_heuristic": 1}
