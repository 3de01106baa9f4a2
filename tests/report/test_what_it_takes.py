"""The report's "What it takes" section from ``solve_best.json``: the table current →
proposed with what each change buys, the probability reached and the command — and where it
sits (right after the title, before §1)."""

from __future__ import annotations

import copy

from d3.report.data import ReportData
from d3.report.plan import SECTIONS
from d3.report.what_it_takes import what_it_takes_section

LOAN = "inputs/operator/general.yaml:loan.amount_eur"
MARGIN = "inputs/operator/public_tap.yaml:pricing_policy.public_tap.target_margin_pct"


def _outcome(feasible, failed=(), binding=95.25, income=12345.5, need=0.0):
    return {"feasible": feasible, "shortfall": 0.0 if feasible else 0.3,
            "binding_probability_pct": binding, "invalid": "",
            "failed_criteria": [{"grid_index": 0, "name": n, "probability": p}
                                for n, p in failed],
            "net_income_p50_eur": income, "funding_need_p90_eur": need}


COMMAND = ("dvc exp run -S params.yaml:++fixed_variables.pub_target_margin=65 "
           f"-S {LOAN}=0")
BEST = {
    "status": "fundable", "feasible": True, "min_acceptance_probability": 0.9,
    "evaluations": {"total": 71},
    "decisions": [
        {"key": MARGIN, "variable": "pub_target_margin", "current": 55.0, "proposed": 65.0,
         "changed": True, "argument": "params.yaml:++fixed_variables.pub_target_margin=65",
         "without_it": _outcome(False, [("min_cash", 0.62)], 62.0, -5000.0, 9000.0)},
        {"key": LOAN, "variable": None, "current": 30000.0, "proposed": 0.0, "changed": True,
         "argument": f"{LOAN}=0",
         "without_it": _outcome(True, income=11000.0)},
        {"key": "inputs/operator/general.yaml:finance.equity_injection_eur",
         "variable": None, "current": 20000.0, "proposed": 20000.0, "changed": False,
         "argument": None, "without_it": None},
    ],
    "current": _outcome(False, [("min_cash", 0.4), ("min_dscr", 0.0)], 0.0, -66553.3,
                        68248.86),
    "proposed": _outcome(True),
    "arguments": ["params.yaml:++fixed_variables.pub_target_margin=65", f"{LOAN}=0"],
    "command": COMMAND, "acceptance": {"grid": {}},
}


def _data(best) -> ReportData:
    return ReportData(horizon_months=24, term_months=60, percentiles=[10, 50, 90],
                      acceptance={}, summary={}, kpis=[], plan={}, validation={},
                      solve_best=best)


def test_a_fundable_proposal_shows_each_change_what_it_buys_and_the_command():
    lines = what_it_takes_section(_data(BEST))
    assert lines[0] == "## What it takes"
    table = [line for line in lines if line.startswith("| ")]
    assert table == [
        "| decision | current | proposed | what the change buys |",
        # Intraword underscores stay as they are (esc: CommonMark reads no emphasis there).
        "| public_tap: pricing_policy.public_tap.target_margin_pct (fixes pub_target_margin) "
        "| 55 % | 65 % | without it fails: the minimum free cash (62.0 % of futures) |",
        "| general: loan.amount_eur | EUR 30,000 | EUR 0 | not needed alone: without it still "
        "fundable (p50 net income EUR 11,000) |",
        "| general: finance.equity_injection_eur | EUR 20,000 | unchanged | — |",
    ]
    text = "\n".join(lines)
    # 95.25 % rounds half away from zero to 95.3 %; EUR -66,553.3 to -66,553.
    assert ("the binding criterion decided over the futures holds in 95.3 % of them "
            "(required 90 %); the lowest p50 net income over the horizon goes from "
            "EUR -66,553 to EUR 12,346") in text
    assert f"```bash\n{COMMAND}\n```" in text
    assert "71 evaluations" in text


def test_an_infeasible_search_names_the_closest_candidate_and_what_blocks_it():
    best = copy.deepcopy(BEST)
    best["status"], best["feasible"] = "not_found", False
    best["proposed"] = _outcome(False, [("autoscaler_no_sla_violations", None)], 93.3)
    best["acceptance"] = {"grid": {"0": {"criteria": [
        {"name": "autoscaler_no_sla_violations", "ok": False, "probability": None,
         "detail": "p50 trace: Qwen2.5 Coder 32B Instruct (1350 ticks)"},
        {"name": "min_cash", "ok": True, "probability": 0.95, "detail": "fine"}]}}}
    text = "\n".join(what_it_takes_section(_data(best)))
    assert "**No combination of the declared decisions, within their ranges" in text
    assert ("It still fails the autoscaler's service level:\n\n- the autoscaler's service "
            "level: p50 trace: Qwen2.5 Coder 32B Instruct (1350 ticks)") in text
    assert "Explore the closest candidate as an experiment" in text


def test_the_section_comes_first_and_says_when_there_is_nothing_to_solve():
    assert SECTIONS[0] is what_it_takes_section
    assert what_it_takes_section(_data({"status": "no_decisions"}))[2].startswith(
        "No decisions are declared for the solver")
