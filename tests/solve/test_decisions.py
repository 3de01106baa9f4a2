"""Decisions: their values and distance, the ``dvc exp run -S`` argument of each (what DVC's
Hydra parser reads back), and every validation rule of ``solve`` and ``fixed_variables`` as
one exact ``FILE:LOCATION`` line with exit code 2."""

from __future__ import annotations

from pathlib import Path

import pytest

from d3.model import model_inputs
from d3.models.plan import Solve
from d3.solve.decisions import (
    Decision,
    command_text,
    hydra_text,
    overrides_of,
    parsed_argument,
    resolved_decisions,
)
from tests.helpers import MINIMAL, copy_minimal, edit_yaml, invoke

PUBLIC = "inputs/operator/public_tap.yaml"
PRIVATE = "inputs/operator/private_tap.yaml"
GENERAL = "inputs/operator/general.yaml"
LOAN = f"{GENERAL}:loan.amount_eur"


def test_distance_is_the_weighted_change_over_the_range():
    loan = Decision(LOAN, (0, 10000, 20000, 30000, 40000), current=3, weight=2.0, span=40000.0)
    assert loan.distance(3) == 0.0
    assert loan.distance(1) == pytest.approx(2.0 * (30000 - 10000) / 40000)  # 1.0
    basis = Decision(f"{PUBLIC}:pricing_policy.public_tap.cost_basis",
                     ("full_throughput", "planned_utilisation"), current=0, weight=0.5,
                     span=None)
    assert (basis.distance(0), basis.distance(1)) == (0.0, 0.5)  # a change of choice counts 1


def test_an_argument_is_written_only_when_the_command_must_set_the_key():
    loan = Decision(LOAN, (0, 30000), current=1, weight=1.0, span=30000.0)
    assert loan.argument(1) is None  # unchanged operator key: left as it is
    assert loan.argument(0) == f"{LOAN}=0"
    swept = Decision(f"{PUBLIC}:pricing_policy.public_tap.target_margin_pct", (40.0, 50.0),
                     current=1, weight=1.0, span=10.0, variable="pub_margin", varies=True)
    # A grid axis left as the inputs have it (None) is no argument; fixed at its default it
    # is one: that takes the axis out of the grid.
    assert swept.argument(None) is None
    assert swept.argument(1) == "params.yaml:++fixed_variables.pub_margin=50"
    fixed = Decision(f"{GENERAL}:finance.contingency_pct_of_costs", (4.0, 5.0), current=1,
                     weight=1.0, span=1.0, variable="gen_contingency", varies=False)
    assert fixed.argument(1) is None and \
        fixed.argument(0) == "params.yaml:++fixed_variables.gen_contingency=4"


@pytest.mark.parametrize(("value", "text"), [
    (30000.0, "30000"), (62.5, "62.5"), (65, "65"), (True, "true"), (0.1, "0.1"),
    ("planned_utilisation", "planned_utilisation"), ("null", "'null'"), ("1e3", "'1e3'"),
])
def test_a_value_is_written_so_that_hydra_reads_it_back(value, text):
    assert hydra_text(value) == text
    key, parsed = parsed_argument(f"{GENERAL}:tax.vat_buffer_policy={text}")
    assert key == f"{GENERAL}:tax.vat_buffer_policy"
    assert parsed == value and (type(parsed) is type(value) or value == int(parsed))


def test_the_overrides_are_those_the_command_applies():
    arguments = ["params.yaml:++fixed_variables.pub_margin=60", f"{LOAN}=0"]
    assert overrides_of(arguments) == {"params.yaml:fixed_variables.pub_margin": 60,
                                       LOAN: 0}
    assert command_text(arguments) == ("dvc exp run -S params.yaml:++fixed_variables."
                                       f"pub_margin=60 -S {LOAN}=0")


def test_decisions_resolve_against_the_inputs():
    inputs = model_inputs(MINIMAL / "inputs", MINIMAL / "params.yaml")
    solve = Solve.model_validate({"decisions": [
        {"key": f"{PUBLIC}:pricing_policy.public_tap.target_margin_pct", "low": 40,
         "high": 60, "step": 10},
        {"key": f"{PRIVATE}:pricing_policy.private_tap.markup_pct", "choices": [20, 30, 40],
         "weight": 2},
        {"key": LOAN, "low": 0, "high": 60000, "step": 15000}]})
    decisions, issues = resolved_decisions(
        solve, params=inputs.plan.model_dump(mode="json"), operators=inputs.operators,
        variables=inputs.variables)
    assert issues == []
    margin, markup, loan = decisions
    # pub_margin (low_to_high 40..60, default 50) and priv_markup (random, values
    # 20|30|40, default 30) set their keys: their defaults are the current values, and the
    # founder's plan leaves them swept and drawn (choice None, distance 0).
    assert (margin.values, margin.current, margin.variable, margin.varies) == (
        (40.0, 50.0, 60.0), 1, "pub_margin", True)
    assert (markup.values, markup.current, markup.span, markup.variable, markup.varies) == (
        (20, 30, 40), 1, 20.0, "priv_markup", True)
    assert (margin.baseline, margin.distance(None), markup.distance(None)) == (None, 0.0, 0.0)
    # Fixing them is a change even at the default: the expected |value − fixed| over the
    # variable's own values (each grid point, or each drawn value, with probability 1/3),
    # over the span 20. The margin at 50: (10 + 0 + 10) / 3 / 20 = 1/3; at 60:
    # (20 + 10 + 0) / 3 / 20 = 1/2. The markup (weight 2) at 30: 2 × 1/3; at 40: 2 × 1/2.
    assert margin.spread == ((40.0, 1 / 3), (50.0, 1 / 3), (60.0, 1 / 3))
    assert (margin.distance(1), margin.distance(2)) == (pytest.approx(1 / 3), pytest.approx(0.5))
    assert (markup.distance(1), markup.distance(2)) == (pytest.approx(2 / 3), pytest.approx(1.0))
    assert (loan.values, loan.current, loan.variable, loan.varies, loan.baseline) == (
        (0.0, 15000.0, 30000.0, 45000.0, 60000.0), 2, None, False, 2)
    assert (loan.distance(2), loan.distance(0)) == (0.0, pytest.approx(30000 / 60000))


def _validate(tmp_path: Path, **params) -> list[str]:
    d = copy_minimal(tmp_path / "m")
    edit_yaml(d / "params.yaml", lambda p: p.update(params))
    result = invoke("validate", "--inputs", str(d / "inputs"), "--params",
                    str(d / "params.yaml"))
    assert result.exit_code == 2
    return [line for line in result.stderr.splitlines() if not line.startswith("warning:")]


def test_fixed_variables_errors_name_the_key_with_did_you_mean_and_the_nearest_values(
        tmp_path):
    assert _validate(tmp_path, fixed_variables={"pub_margn": 50, "priv_markup": 25,
                                                "pub_margin": 55}) == [
        "params.yaml:fixed_variables.priv_markup: 25 is not a value of priv_markup (values "
        "20|30|40) — use the nearest value: 20 or 30",
        "params.yaml:fixed_variables.pub_margin: 55 is not a value of pub_margin (40 to 60 in "
        "steps of 10) — use the nearest value: 50 or 60",
        "params.yaml:fixed_variables.pub_margn: unknown variable_id 'pub_margn' — did you "
        "mean `pub_margin`?",
    ]


def test_every_problem_of_the_solve_section_is_reported_at_once(tmp_path):
    # Before, the plan schema judged the shape (unknown file, low > high, choices: []) and a
    # single failure hid every key typo, integer-step and range problem of the other
    # decisions (and of the same one) until it was fixed. Now one run says all: the schema's
    # own errors (an unknown field of a decision, a typo in another section), then each
    # decision's problems in order. Nothing is written and the exit code is 2.
    d = copy_minimal(tmp_path / "m")
    edit_yaml(d / "params.yaml", lambda p: p.update(
        targets={**p["targets"], "min_dscrr": 1}, solve={"decisions": [
            {"key": LOAN, "low": 0, "high": 10, "step": 1, "choices": [1]},
            {"key": f"{GENERAL}:loan.term_months", "low": 12, "high": 60, "stepp": 12},
            {"key": f"{GENERAL}:calendar.start_month", "low": 3, "high": 1, "step": 1},
            {"key": "inputs/operator/other.yaml:x", "choices": [1]},
            {"key": f"{GENERAL}:loan.amount", "low": 5, "high": 5, "step": 1},
            {"key": f"{PUBLIC}:autoscaling.min_instances_per_model", "choices": []},
            {"key": f"{GENERAL}:loan.term_months", "low": 12, "high": 60.5, "step": 0.5,
             "weight": 0},
        ]}))
    result = invoke("solve", "--inputs", str(d / "inputs"), "--params", str(d / "params.yaml"),
                    "--out", str(tmp_path / "out"))
    assert result.exit_code == 2
    assert not (tmp_path / "out").exists()
    assert [line for line in result.stderr.splitlines()
            if not line.startswith("warning:")] == [
        "params.yaml:targets.min_dscrr: unknown key — did you mean `min_dscr`?",
        "params.yaml:solve.decisions[1].stepp: unknown key — did you mean `step`?",
        "params.yaml:solve.decisions[0]: a decision has low/high/step or choices, not both — "
        "keep one",
        "params.yaml:solve.decisions[2]: low 3 is above high 1 — swap them",
        "params.yaml:solve.decisions[3].key: 'inputs/operator/other.yaml:x' is not "
        "FILE:dotted.key — FILE is params.yaml or inputs/operator/<general|public_tap|"
        "private_tap>.yaml, as in dvc exp run -S (e.g. "
        "inputs/operator/general.yaml:loan.amount_eur)",
        # low == high is not a swap: one value.
        "params.yaml:solve.decisions[4]: low and high are both 5: the range holds one value "
        "— raise high above low, or write choices: [5] to try that one value",
        "params.yaml:solve.decisions[4].key: inputs/operator/general.yaml has no key "
        "loan.amount — did you mean `loan.amount_eur`?",
        "params.yaml:solve.decisions[5].choices: choices is empty — list the values the "
        "solver may choose (at least one), or give low, high and step",
        # Two problems of one decision, both said: (60.5 − 12) / 0.5 = 97 steps land on
        # high, but a whole-month key cannot take 12.5.
        "params.yaml:solve.decisions[6].weight: weight must be > 0, got 0 — use a positive "
        "weight (1: as much as any other decision)",
        "params.yaml:solve.decisions[6].step: loan.term_months holds whole numbers; low 12 "
        "and step 0.5 give fractions — use a whole low and step",
    ]


def test_a_value_the_key_cannot_take_is_an_error_and_a_range_without_the_plan_a_warning(
        tmp_path):
    # The rate is a percentage (0..100): -5 is refused by the key's schema, as the solver
    # would refuse every candidate with it (the first bad value of the decision: low). A
    # cost basis is one of two words: the second choice is not. The current equity 10,000
    # lies below 50,000..100,000: a WARNING, not an error (it is a candidate all the same).
    d = copy_minimal(tmp_path / "m")
    edit_yaml(d / "params.yaml", lambda p: p.update(solve={"decisions": [
        {"key": f"{GENERAL}:loan.interest_rate_pct_flat", "low": -5, "high": 200, "step": 5},
        {"key": f"{PUBLIC}:pricing_policy.public_tap.cost_basis",
         "choices": ["full_throughput", "bogus_basis"]},
        {"key": f"{GENERAL}:loan.term_months", "low": 0, "high": 48, "step": 12},
        {"key": f"{GENERAL}:finance.equity_injection_eur", "low": 50000, "high": 100000,
         "step": 10000},
    ]}))
    result = invoke("validate", "--inputs", str(d / "inputs"), "--params",
                    str(d / "params.yaml"))
    assert result.exit_code == 2
    assert result.stderr.splitlines() == [
        "params.yaml:solve.decisions[0].low: low -5 is not a value loan.interest_rate_pct_flat "
        "can take: must be ≥ 0, got -5 — use a value ≥ 0",
        "params.yaml:solve.decisions[1].choices[1]: choice bogus_basis is not a value "
        "pricing_policy.public_tap.cost_basis can take: must be one of 'full_throughput' or "
        "'planned_utilisation', got 'bogus_basis' — use one of 'full_throughput' or "
        "'planned_utilisation'",
        "params.yaml:solve.decisions[2].low: low 0 is not a value loan.term_months can take: "
        "must be ≥ 1, got 0 — use a value ≥ 1",
        "warning: params.yaml:solve.decisions[3]: the current value 10000 lies outside low "
        "50000 .. high 100000: the solver adds it as a candidate (no change always is) and "
        "measures distances over the range that reaches it — widen low/high to hold it, or "
        "check them for a typo",
    ]


def test_a_decision_is_checked_against_the_inputs(tmp_path):
    lines = _validate(tmp_path, solve={"decisions": [
        {"key": f"{GENERAL}:loan.amount", "low": 0, "high": 10, "step": 1},
        {"key": f"{GENERAL}:finance.equity_injection_eur", "low": 0, "high": 25000,
         "step": 10000},
        {"key": LOAN, "low": 0, "high": 20000, "step": 10000},
        {"key": "params.yaml:targets.min_dscr", "low": 1, "high": 2, "step": 0.5},
        {"key": LOAN, "choices": [0, 30000]},
        {"key": f"{GENERAL}:loan", "choices": [0]},
        {"key": f"{GENERAL}:loan.term_months", "low": 12, "high": 60, "step": 1.5},
        {"key": f"{GENERAL}:loan.repayment", "low": 1, "high": 2, "step": 1},
    ]})
    assert lines == [
        "params.yaml:solve.decisions[0].key: inputs/operator/general.yaml has no key "
        "loan.amount — did you mean `loan.amount_eur`?",
        "params.yaml:solve.decisions[1].high: high 25000 is not low + k·step (0 + k × 10000) "
        "— use high 20000 or 30000",
        "params.yaml:solve.decisions[3].key: targets.min_dscr is not a decision: the targets "
        "are the lender's constraints, not the founder's plan — declare a key of the plan you "
        "decide (prices, autoscaling, budgets, the loan, equity; a key a variable sets is "
        "pinned through fixed_variables by the solver itself)",
        "params.yaml:solve.decisions[4].key: inputs/operator/general.yaml:loan.amount_eur is "
        "already decision 2 — keep one decision per key",
        "params.yaml:solve.decisions[5].key: loan is a section of "
        "inputs/operator/general.yaml, not a value — the keys of loan: `loan.amount_eur`, "
        "`loan.term_months`, `loan.interest_rate_pct_flat`, `loan.grace_period_months`, "
        "`loan.repayment` (docs/INPUTS.md)",
        "params.yaml:solve.decisions[6].step: loan.term_months holds whole numbers; low 12 "
        "and step 1.5 give fractions — use a whole low and step",
        "params.yaml:solve.decisions[7]: loan.repayment holds 'annuity', not a number — use "
        "choices: [...] for this key",
    ]


def test_an_unknown_key_gets_a_suggestion_from_its_own_namespace(tmp_path):
    # difflib ratio of the typo to the right key: 2 × 42 / (42 + 43) = 0.988 ≥ 0.8. On
    # private_tap.yaml the same typo used to get `pricing_policy.private_tap.markup_pct`
    # (ratio 0.73: the shared `pricing_policy.p…tap.` prefix alone): now below the 0.8 cutoff,
    # so the keys of the deepest section that exists (`pricing_policy`) are listed instead.
    typo = "pricing_policy.public_tap.target_margn_pct"
    assert _validate(tmp_path, solve={"decisions": [
        {"key": f"{PUBLIC}:{typo}", "low": 40, "high": 60, "step": 10},
        {"key": f"{PRIVATE}:{typo}", "low": 40, "high": 60, "step": 10},
        {"key": f"{GENERAL}:pricing_policy.private_tap.markup_pct", "choices": [20]},
        {"key": f"{PUBLIC}:target_margin_pct", "choices": [40]},
        {"key": "params.yaml:stres.x", "choices": [0]},
    ]}) == [
        f"params.yaml:solve.decisions[0].key: {PUBLIC} has no key {typo} — did you mean "
        "`pricing_policy.public_tap.target_margin_pct`?",
        f"params.yaml:solve.decisions[1].key: {PRIVATE} has no key {typo} — the keys of "
        "pricing_policy: `pricing_policy.private_tap.markup_pct`, "
        "`pricing_policy.private_tap.management_fee_eur_per_month`, "
        "`pricing_policy.private_tap.base_fee_eur_per_month`, "
        "`pricing_policy.private_tap.vendor_weights.cost`, "
        "`pricing_policy.private_tap.vendor_weights.availability`, "
        "`pricing_policy.private_tap.vendor_weights.reputation`, "
        "`pricing_policy.private_tap.billing_unit_minutes` (docs/INPUTS.md)",
        # A key of another file, verbatim: that file.
        f"params.yaml:solve.decisions[2].key: {GENERAL} has no key "
        f"pricing_policy.private_tap.markup_pct — it is a key of {PRIVATE}: write "
        f"`{PRIVATE}:pricing_policy.private_tap.markup_pct`",
        # The right name without its section: the key with that last name.
        f"params.yaml:solve.decisions[3].key: {PUBLIC} has no key target_margin_pct — did you "
        "mean `pricing_policy.public_tap.target_margin_pct`?",
        # No section of the key exists: the file's sections that hold decisions (run,
        # stochastic, stress, targets, scenarios, logging, sensitivity, solve and
        # fixed_variables are not decisions).
        "params.yaml:solve.decisions[4].key: params.yaml has no key stres.x — the sections "
        "of params.yaml: consolidation (docs/INPUTS.md)",
    ]


def test_a_fixed_variable_leaves_the_grid_and_stops_being_drawn(tmp_path):
    d = copy_minimal(tmp_path / "m")
    edit_yaml(d / "params.yaml", lambda p: p.update(
        fixed_variables={"pub_margin": 60, "priv_markup": 40.0}))
    inputs = model_inputs(d / "inputs", d / "params.yaml")
    by_id = {v.variable_id: v for v in inputs.variables}
    assert (by_id["pub_margin"].treatment, str(by_id["pub_margin"].default)) == ("fixed", "60")
    assert (by_id["priv_markup"].treatment, by_id["priv_markup"].default) == ("fixed", 40)
    assert by_id["pub_churn"].treatment == "random"  # the others are untouched


def test_values_a_variable_cannot_take_are_left_out_with_a_warning_and_the_current_value_added(
        tmp_path):
    # An edit of the variables file or of an operator value must not stop the pipeline: the
    # margin decision 40..60 step 5 keeps pub_margin's own 40, 50, 60; the loan decision
    # 0..20000 gets the current 30000 added at the end, and the range that normalises the
    # distance reaches it (0..30000), so no change weighs more than the weight.
    d = copy_minimal(tmp_path / "m")
    edit_yaml(d / "params.yaml", lambda p: p.update(solve={"decisions": [
        {"key": f"{PUBLIC}:pricing_policy.public_tap.target_margin_pct", "low": 40,
         "high": 60, "step": 5},
        {"key": LOAN, "low": 0, "high": 20000, "step": 10000}]}))
    result = invoke("validate", "--inputs", str(d / "inputs"), "--params",
                    str(d / "params.yaml"))
    assert result.exit_code == 0
    # The loan's current 30,000 lies above 0..20,000: said, not refused.
    assert ("warning: params.yaml:solve.decisions[1]: the current value 30000 lies outside "
            "low 0 .. high 20000: the solver adds it as a candidate (no change always is) and "
            "measures distances over the range that reaches it — widen low/high to hold it, "
            "or check them for a typo") in result.stderr.splitlines()
    assert ("warning: params.yaml:solve.decisions[0]: pub_margin "
            "(inputs/variables/public_tap.csv row 2 (pub_margin)) sets this key and can only be "
            "fixed at its own values (40 to 60 in steps of 10): the solver leaves out 45, 55 — "
            "choose low/high/step (or choices) among the variable's values, or widen the "
            "variable's range") in result.stderr.splitlines()
    inputs = model_inputs(d / "inputs", d / "params.yaml")
    (margin, loan), issues = resolved_decisions(
        inputs.plan.solve, params=inputs.plan.model_dump(mode="json"),
        operators=inputs.operators, variables=inputs.variables)
    assert [i.severity for i in issues] == ["warning", "warning"]
    assert (margin.values, margin.current) == ((40.0, 50.0, 60.0), 1)
    assert (loan.values, loan.current) == ((0.0, 10000.0, 20000.0, 30000.0), 3)
    assert loan.span == 30000.0
    assert loan.distance(0) == pytest.approx(30000 / 30000)
    assert loan.distance(2) == pytest.approx((30000 - 20000) / 30000)


def _resolved(*decisions):
    inputs = model_inputs(MINIMAL / "inputs", MINIMAL / "params.yaml")
    return resolved_decisions(
        Solve.model_validate({"decisions": list(decisions)}),
        params=inputs.plan.model_dump(mode="json"), operators=inputs.operators,
        variables=inputs.variables)


def test_numeric_choices_are_put_in_order_with_the_current_index_on_the_current_value():
    # The loan is 30000 in the fixture: written 60000, 0, 30000, it is index 1 of the sorted
    # 0, 30000, 60000 — what the ordered search and the polish's bisection need.
    (loan,), issues = _resolved({"key": LOAN, "choices": [60000, 0, 30000]})
    assert issues == []
    assert (loan.values, loan.current, loan.span, loan.numeric) == (
        (0, 30000, 60000), 1, 60000.0, True)
    assert loan.toward(0) == [1] and loan.toward(2) == [1]


def test_a_float_choice_written_as_an_integer_is_accepted_by_value():
    # hydra_text(12.0) is "12", which Hydra reads as the int 12: the same number, accepted.
    (rate,), issues = _resolved({"key": f"{GENERAL}:loan.interest_rate_pct_flat",
                                 "choices": [7.5, 9.95, 12.0]})
    assert issues == []
    assert rate.values[-1] == 12.0
    assert rate.argument(len(rate.values) - 1) == f"{GENERAL}:loan.interest_rate_pct_flat=12"


def test_seeds_stress_scenarios_and_logging_are_not_decisions(tmp_path):
    hint = ("declare a key of the plan you decide (prices, autoscaling, budgets, the loan, "
            "equity; a key a variable sets is pinned through fixed_variables by the solver "
            "itself)")
    assert _validate(tmp_path, solve={"decisions": [
        {"key": f"{GENERAL}:meta.seed", "low": 1, "high": 9, "step": 1},
        {"key": "params.yaml:stress.tps_downshift_pct", "low": 0, "high": 10, "step": 5},
        {"key": "params.yaml:scenarios.worst.cac_multiplier", "low": 1, "high": 2,
         "step": 0.5},
        {"key": "params.yaml:logging.level", "choices": ["info", "debug"]},
    ]}) == [
        "params.yaml:solve.decisions[0].key: meta.seed is not a decision: the file's metadata "
        "and seed: searching seeds would buy fundability by luck (other random futures, not "
        f"another plan) — {hint}",
        "params.yaml:solve.decisions[1].key: stress.tps_downshift_pct is not a decision: the "
        f"stress tests are the lender's, not the founder's plan — {hint}",
        "params.yaml:solve.decisions[2].key: scenarios.worst.cac_multiplier is not a "
        f"decision: the scenarios are the lender's, not the founder's plan — {hint}",
        "params.yaml:solve.decisions[3].key: logging.level is not a decision: it sets what "
        f"is logged, not the plan — {hint}",
    ]
