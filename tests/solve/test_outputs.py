"""The solver's files: one ``solve_candidates.csv`` row (grid points named by their knob
values, the binding criterion, the three cash measures) and the evaluation counts of
``solve_best.json``, which must add up: evaluations = distinct candidates + the candidates
evaluated again."""

from __future__ import annotations

from types import SimpleNamespace

from d3.report.what_it_takes import evaluations_text
from d3.solve.decisions import Decision
from d3.solve.outcome import Failure, Judged, Outcome
from d3.solve.outputs import _counts, candidate_header, candidate_row
from d3.solve.search import CONFIRM, CURRENT, RECHECK, SCREEN, Candidate, Search

X = "inputs/operator/general.yaml:loan.amount_eur"
LOAN = Decision(X, (0, 10000, 20000), current=1, weight=1.0, span=20000.0)


def _outcome(samples: int = 8) -> Outcome:
    labels = ("pub_margin=40%", "pub_margin=50%")
    return Outcome(
        feasible=False, shortfall=7 / 6, binding_probability_pct=75.0,
        failures=(Failure(0, "min_cash", 0.75), Failure(1, "autoscaler_no_sla_violations",
                                                         None)),
        net_income_p50_eur=-10.0, funding_need_p90_eur=45.0, lowest_free_cash_p10_eur=-60.0,
        samples=samples,
        criteria=(Judged(0, "min_cash", False, 0.75, 0.05), Judged(0, "min_dscr", True, 0.95),
                  Judged(1, "autoscaler_no_sla_violations", False, None)),
        grid_labels=labels)


def test_a_candidate_row_names_grid_points_by_their_knob_values():
    header = candidate_header((LOAN,))
    row = dict(zip(header, candidate_row((LOAN,), Candidate(SCREEN, 4, (0,), 0.5,
                                                             _outcome())), strict=True))
    assert header[-7:] == ("binding_criterion", "failed_criteria", "net_income_p50_eur",
                           "funding_need_p90_eur", "lowest_free_cash_p10_eur", "invalid",
                           "error")
    # The grid point as the grid_label column of every other CSV writes it, not "@0".
    assert row["failed_criteria"] == ("min_cash[pub_margin=40%]=0.7500;"
                                      "autoscaler_no_sla_violations[pub_margin=50%]")
    assert row["binding_criterion"] == "min_cash[pub_margin=40%]"
    assert (row[X], row["trial"], row["shortfall"], row["binding_probability_pct"]) == (
        "0", "4", "1.166667", "75.0000")
    assert (row["net_income_p50_eur"], row["funding_need_p90_eur"],
            row["lowest_free_cash_p10_eur"]) == ("-10.00", "45.00", "-60.00")


def test_the_evaluation_counts_add_up():
    # The loan is an operator key no variable varies, so the founder's plan is the choice
    # (1,) — the same as screening's trial 0 (every decision at its current value). Order:
    # the founder's plan (1,) at the full count; screening (1,) again, (0,) and (2,); the
    # full count confirms (0,) and (2,) (screened: again) — a polish step back to (1,) would
    # reuse the founder's plan, which the full count already holds. The re-check evaluates
    # the proposal (0,) once more.
    # 7 evaluations of 3 distinct candidates: 4 again = 1 trial 0 + 2 confirmations + 1
    # re-check.
    o = _outcome()
    log = [Candidate(CURRENT, -1, (1,), 0.0, o), Candidate(SCREEN, 0, (1,), 0.0, o),
           Candidate(SCREEN, 1, (0,), 0.5, o), Candidate(SCREEN, 2, (2,), 0.5, o),
           Candidate(CONFIRM, 1, (0,), 0.5, o), Candidate(CONFIRM, 2, (2,), 0.5, o),
           Candidate(RECHECK, 1, (0,), 0.5, o)]
    result = Search((LOAN,), log=log, current=log[0], best=log[4])
    inputs = SimpleNamespace(plan=SimpleNamespace(solve=SimpleNamespace(trials=3)))
    counts = _counts(inputs, result)
    assert {k: counts[k] for k in ("current", "screen", "confirm", "polish", "recheck",
                                   "total", "candidates", "repeated", "screened_again",
                                   "current_screened")} == {
        "current": 1, "screen": 3, "confirm": 2, "polish": 0, "recheck": 1, "total": 7,
        "candidates": 3, "repeated": 4, "screened_again": 2, "current_screened": 1}
    assert counts["combinations"] == 3 and counts["screen_samples_per_evaluation"] == 8
    # The report says how they add up: 3 screened + 4 at the full count = 7; 7 − 4 = 3.
    assert evaluations_text(counts) == (
        "7 evaluations — 3 screened on a smaller sample, 4 at the full sample count; 4 of "
        "them evaluate a candidate again (2 screened candidates confirmed at the full count, "
        "your plan screened again as trial 0, 1 re-check on independent futures), so 3 "
        "distinct candidates")
