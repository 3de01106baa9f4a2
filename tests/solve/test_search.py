"""The core of the search on hand-known feasibility grids, with a fake evaluator in place of the
model: how candidates rank, what an evaluation's outcome is, the bisection, the polish (to a
fixed point), the Optuna constraint, a failed evaluation, the re-check seed and the progress
budget. The model is never run here."""

from __future__ import annotations

import hashlib
from dataclasses import replace
from types import SimpleNamespace

import numpy as np
import optuna
import pytest

from d3.acceptance import Criterion
from d3.model import model_inputs
from d3.models.plan import Solve
from d3.solve.coverage import every_combination_evaluated
from d3.solve.decisions import Decision
from d3.solve.outcome import (
    INVALID_SHORTFALL,
    Failure,
    Judged,
    Outcome,
    criterion_shortfall,
    outcome_of,
    rank_key,
)
from d3.solve.search import (
    ATTRIBUTION,
    CONFIRM,
    CURRENT,
    POLISH,
    RECHECK,
    SCREEN,
    SEED_KEY,
    SHORTFALL,
    Candidate,
    _bisected,
    _Evaluator,
    _FullCount,
    _polished,
    recheck_seed,
    search,
)
from d3.solve.solver import evaluation_budget
from tests.helpers import MINIMAL

X, Y = "inputs/operator/general.yaml:x", "inputs/operator/general.yaml:y"
STEPS = tuple(range(11))  # each decision's values 0, 1, …, 10: the value is its index


def _outcome(feasible: bool, shortfall: float = 0.0, income: float = 0.0) -> Outcome:
    return Outcome(feasible, shortfall, float("nan"), (), income, 0.0)


def _decisions(x_current: int = 2, y_current: int = 3, y_weight: float = 2.0):
    """x and y, each 0..10 step 1 (span 10); a change of y weighs twice one of x."""
    return (Decision(X, STEPS, x_current, 1.0, 10.0), Decision(Y, STEPS, y_current, y_weight, 10.0))


class FakeModel:
    """A measure on a feasibility grid over (x, y): every call recorded (the overrides the
    command applies: absent = the current value), the outcome from ``feasible``; the
    shortfall of an infeasible point is 1, income 100·x + y."""

    def __init__(self, feasible, decisions):
        self.feasible, self.calls = feasible, []
        self.current = {d.key: d.values[d.current] for d in decisions}

    def point(self, overrides) -> tuple[int, int]:
        return (overrides.get(X, self.current[X]), overrides.get(Y, self.current[Y]))

    def __call__(self, inputs, overrides, keep) -> Outcome:
        self.calls.append((inputs, dict(overrides)))
        x, y = self.point(overrides)
        ok = self.feasible(x, y)
        return _outcome(ok, 0.0 if ok else 1.0, 100.0 * x + y)


# --- ranking and outcomes -------------------------------------------------------------------


def test_feasible_candidates_rank_by_distance_before_income_then_infeasible_by_shortfall():
    near_poor = rank_key(0.2, _outcome(True, income=100.0), trial=5)
    far_rich = rank_key(0.3, _outcome(True, income=900.0), trial=1)
    near_rich = rank_key(0.2, _outcome(True, income=500.0), trial=9)
    close_miss = rank_key(0.0, _outcome(False, shortfall=0.05), trial=0)
    far_miss = rank_key(0.1, _outcome(False, shortfall=0.5), trial=2)
    invalid = rank_key(0.0, Outcome(False, INVALID_SHORTFALL, float("nan"), (), float("nan"),
                                    float("nan"), invalid="bad"), trial=3)
    ranked = sorted([invalid, far_miss, far_rich, close_miss, near_poor, near_rich])
    # Feasible first: nearest (0.2) before 0.3 whatever the income; at equal distance the
    # higher income (500 before 100). Then infeasible by shortfall (0.05, 0.5), invalid last.
    assert ranked == [near_rich, near_poor, far_rich, close_miss, far_miss, invalid]
    assert near_rich == (0, 0.2, -500.0, 9)


def _grid(criteria, min_cash, need, income, replicates=2):
    kpis = {"min_free_cash_eur": ("EUR", np.array(min_cash)),
            "funding_need_eur": ("EUR", np.array(need)),
            "net_income_eur": ("EUR", np.array(income))}
    return SimpleNamespace(criteria=criteria, kpis=kpis,
                           replicate_index=np.zeros(replicates, dtype=int))


def test_an_outcome_sums_the_shortfall_over_grid_points_and_takes_the_cash_measures_over_them():
    # Threshold 0.9. Grid 0: min_cash at 0.75, (0.9 − 0.75) / 0.9 = 1/6 of the required
    # probability short; DSCR at 0.95 (holds). Grid 1: the autoscaler's pass/fail criterion
    # fails (counts 1, as a probability criterion at 0 would). Shortfall 1/6 + 1 = 7/6.
    # Binding: the lowest probability decided over samples, min_cash at grid 0, 0.75 → 75 %,
    # with its standard error.
    g0 = _grid([Criterion("min_cash", False, 0.75, "", probability_se=0.05),
                Criterion("min_dscr", True, 0.95, "")],
               min_cash=[-100.0, 300.0], need=[0.0, 50.0], income=[10.0, 30.0])
    g1 = _grid([Criterion("autoscaler_no_sla_violations", False, None, "")],
               min_cash=[200.0, 400.0], need=[20.0, 40.0], income=[-20.0, 0.0])
    ev = SimpleNamespace(grid={0: g0, 1: g1}, accepted=False,
                         grid_labels={0: "pub_margin=40%", 1: "pub_margin=50%"})
    o = outcome_of(ev, 0.9)
    assert (o.feasible, o.shortfall, o.binding_probability_pct) == (
        False, pytest.approx(0.15 / 0.9 + 1), 75.0)
    assert o.failures == (Failure(0, "min_cash", 0.75),
                          Failure(1, "autoscaler_no_sla_violations", None))
    assert o.binding == Judged(0, "min_cash", False, 0.75, 0.05)
    assert o.grid_labels == ("pub_margin=40%", "pub_margin=50%")
    # Linear-interpolation percentiles of two samples: p50 income 20 (grid 0) and -10
    # (grid 1) → the lowest -10, at grid 1; p90 need 45 and 38 → the highest 45, at grid 0;
    # p10 of the lowest free cash -100 + 0.1 × 400 = -60 and 200 + 0.1 × 200 = 220 → the
    # lowest -60, at grid 0.
    assert (o.net_income_p50_eur, o.funding_need_p90_eur, o.lowest_free_cash_p10_eur) == (
        pytest.approx(-10.0), pytest.approx(45.0), pytest.approx(-60.0))
    assert dict(o.worst_grid) == {"net_income_p50_eur": 1, "funding_need_p90_eur": 0,
                                  "lowest_free_cash_p10_eur": 0}
    assert o.samples == 4 and o.evaluated and o.evaluation is None


def test_trading_one_failure_for_another_is_not_closer():
    # The current plan fails the autoscaler's utilisation band and service level (pass/fail:
    # 1 each, shortfall 2) and meets the fleet cap in every future. A candidate passes the
    # band, keeps failing the service level and breaks the fleet cap (0 % of futures). The
    # fleet cap at 0 % used to cost 0.9 (threshold − p), less than the band's 1, so the
    # candidate (1.9) ranked closer than the plan (2.0). Both kinds now cost 1 when they hold
    # nowhere: 1 + 1 = 2, a tie, and the smaller distance (the current plan's 0) ranks first.
    def ev(criteria):
        return SimpleNamespace(grid={0: _grid(criteria, [0.0, 1.0], [0.0, 1.0], [0.0, 1.0])},
                               accepted=False, grid_labels={0: "base"})

    util, sla = "autoscaler_p95_util_within_tolerance", "autoscaler_no_sla_violations"
    current = outcome_of(ev([Criterion("no_capacity_violation", True, 1.0, ""),
                             Criterion(util, False, None, ""),
                             Criterion(sla, False, None, "")]), 0.9)
    swapped = outcome_of(ev([Criterion("no_capacity_violation", False, 0.0, ""),
                             Criterion(util, True, None, ""),
                             Criterion(sla, False, None, "")]), 0.9)
    assert (current.shortfall, swapped.shortfall) == (2.0, 2.0)
    assert sorted([rank_key(0.4, swapped, 3), rank_key(0.0, current, -1)]) == [
        rank_key(0.0, current, -1), rank_key(0.4, swapped, 3)]
    # Halfway there (0.45 of the required 0.9) costs half: (0.9 − 0.45) / 0.9 = 0.5.
    assert criterion_shortfall(False, 0.45, 0.9) == pytest.approx(0.5)
    assert (criterion_shortfall(True, 0.95, 0.9), criterion_shortfall(False, None, 0.9)) == (
        0.0, 1.0)


# --- bisection and polish --------------------------------------------------------------------


def test_bisection_finds_the_smallest_index_that_holds_in_log2_steps():
    asked = []

    def holds(j):
        asked.append(j)
        return f"c{j}" if j >= 6 else None

    # [1, 10): mid 5 fails → [6, 10); mid 8 holds → [6, 8); mid 7 holds → [6, 7); mid 6 holds.
    assert _bisected(holds, 1, 10) == "c6"
    assert asked == [5, 8, 7, 6]
    assert _bisected(lambda j: None, 1, 10) is None  # only index 10 (the proposal) holds


def _full(decisions, model):
    log = []
    return _FullCount(_Evaluator(None, decisions, model, None, log), {}), log


def test_the_polish_takes_each_change_back_to_the_boundary_of_a_monotone_region():
    # Feasible iff x ≥ 6 and y ≥ 5; the founder's plan (2, 3). From (10, 9) the largest change
    # first — y: 2 × 6/10 = 1.2 against x: 8/10 = 0.8 — cannot be undone whole ((10, 3)
    # fails) and is bisected to y = 5; then x: (2, 5) fails, bisected to 6. The nearest
    # feasible point, (6, 5): distance 4/10 + 2 × 2/10 = 0.8.
    decisions = _decisions()
    model = FakeModel(lambda x, y: x >= 6 and y >= 5, decisions)
    full, log = _full(decisions, model)
    start = full(CONFIRM, 7, (10, 9))
    best = _polished(full, start)
    assert (best.choice, best.distance, best.trial) == ((6, 5), pytest.approx(0.8), 7)
    assert {c.phase for c in log[1:]} == {POLISH}
    # y: whole undo (10, 3), then bisection over y = 4..8 (path index 1..5): mid 3 → y 6
    # holds, mid 2 → y 5 holds, mid 1 → y 4 fails. x: whole undo (2, 5), then bisection over
    # x = 3..9: mid 4 → x 6 holds, mid 2 → x 4 fails, mid 3 → x 5 fails. A second pass (x
    # and y now weigh 0.4 each: x first) finds every x already evaluated and asks y = 3
    # (whole) and 4 (bisection): both fail, so (6, 5) is a fixed point.
    assert [c.choice for c in log] == [(10, 9), (10, 3), (10, 6), (10, 5), (10, 4),
                                       (2, 5), (6, 5), (4, 5), (5, 5), (6, 3), (6, 4)]


def test_the_polish_repeats_until_no_change_can_be_undone():
    # Not monotone: feasible iff x ≥ 7 and y ≥ 1, or x = 0 and y ∈ {1, 2}. Founder (0, 0),
    # both weights 1. From (10, 5): pass 1 pulls x to 7 (x first: 1.0 > 0.5), then y to 1
    # → (7, 1). Pass 2: undoing x whole, (0, 1), is now feasible. One pass would stop at
    # (7, 1), and "without x" would be fundable while x stayed in the proposal.
    decisions = _decisions(x_current=0, y_current=0, y_weight=1.0)
    model = FakeModel(lambda x, y: (x >= 7 and y >= 1) or (x == 0 and y in (1, 2)), decisions)
    full, _ = _full(decisions, model)
    best = _polished(full, full(CONFIRM, 3, (10, 5)))
    assert (best.choice, best.distance) == ((0, 1), pytest.approx(0.1))


def test_the_polish_keeps_an_infeasible_candidate_within_its_shortfall():
    # Nothing is feasible; shortfall 12 − x − y over 20 (smaller is closer). From (10, 9),
    # shortfall 0: every step back raises it, so nothing moves.
    decisions = _decisions()

    def measure(inputs, overrides, keep):
        x, y = overrides.get(X, 2), overrides.get(Y, 3)
        return _outcome(False, max(0.0, 19 - x - y) / 20)

    full, _ = _full(decisions, measure)
    assert _polished(full, full(CONFIRM, 1, (10, 9))).choice == (10, 9)


def test_a_varying_variable_is_first_left_as_the_inputs_have_it_then_pinned_nearer():
    # A markup drawn uniformly from 20|30|40 (default 30), span 20. Feasible iff it is pinned
    # at 30 or more: the polish tries the founder's plan (not pinned: None) first, then
    # bisects down from 40 to 30. Pinned at 30 the distance is (10 + 0 + 10) / 3 / 20 = 1/3.
    markup = Decision("inputs/operator/private_tap.yaml:m", (20, 30, 40), 1, 1.0, 20.0,
                      variable="m", varies=True,
                      spread=((20, 1 / 3), (30, 1 / 3), (40, 1 / 3)))
    pinned_key = "params.yaml:fixed_variables.m"

    def measure(inputs, overrides, keep):
        return _outcome(overrides.get(pinned_key, 0) >= 30, 0.0)

    log = []
    full = _FullCount(_Evaluator(None, (markup,), measure, None, log), {})
    best = _polished(full, full(CONFIRM, 2, (2,)))
    assert [c.choice for c in log] == [(2,), (None,), (1,)]
    assert (best.choice, best.distance) == ((1,), pytest.approx(1 / 3))


# --- the search with a fake model ------------------------------------------------------------


@pytest.fixture(scope="module")
def minimal_inputs():
    return model_inputs(MINIMAL / "inputs", MINIMAL / "params.yaml")


def _with_solve(inputs, **solve):
    return replace(inputs, plan=inputs.plan.model_copy(update={"solve": Solve(**solve)}))


def test_the_search_finds_the_nearest_point_of_a_monotone_region_and_tells_optuna_the_shortfall(
        minimal_inputs, monkeypatch):
    studies = []
    create = optuna.create_study

    def recorded(*args, **kwargs):
        studies.append(create(*args, **kwargs))
        return studies[-1]

    monkeypatch.setattr(optuna, "create_study", recorded)
    inputs = _with_solve(minimal_inputs, trials=20, startup_trials=5, confirm=2, seed=3)
    decisions = _decisions()
    model = FakeModel(lambda x, y: x >= 6 and y >= 5, decisions)
    result = search(inputs, decisions, measure=model)
    # The founder's plan (2, 3) fails; the nearest feasible point is (6, 5), distance 0.8.
    assert (result.current.phase, result.current.choice) == (CURRENT, (2, 3))
    assert not result.current.outcome.feasible
    assert (result.best.choice, result.best.distance) == ((6, 5), pytest.approx(0.8))
    # What each change buys: undone alone, x = 2 → (2, 5) and y = 3 → (6, 3) both fail.
    assert {i: (c.phase, c.choice, c.outcome.feasible)
            for i, c in result.attribution.items()} == {
        0: (POLISH, (2, 5), False), 1: (POLISH, (6, 3), False)}
    # Each screened trial told Optuna its shortfall as the constraint (feasible when ≤ 0).
    (study,) = studies
    screened = {c.choice: c for c in result.screened}
    assert len(study.trials) == 20
    for t in study.trials:
        c = screened[(t.params[X], t.params[Y])]
        assert t.constraints == {SHORTFALL: c.outcome.shortfall}
        assert t.value == c.distance
    # Screening ran on the smaller sample; trial 0 is every decision at its current value.
    assert result.screened[0].choice == (2, 3)
    assert model.calls[1][1]["params.yaml:stochastic.simulations_per_run"] == 100
    # The re-check: the best on another seed, with --seed out of the way.
    assert (result.recheck.phase, result.recheck.choice) == (RECHECK, (6, 5))
    inputs_seen, overrides = model.calls[-1]
    assert overrides == {X: 6, Y: 5, SEED_KEY: result.recheck_seed}
    assert inputs_seen.seed_override is None
    assert [c.phase for c in result.candidates][:2] == [CURRENT, SCREEN]
    assert {c.phase for c in result.candidates} <= {CURRENT, SCREEN, CONFIRM, POLISH,
                                                    ATTRIBUTION, RECHECK}


def test_a_fundable_founders_plan_is_not_searched(minimal_inputs):
    decisions = _decisions()
    model = FakeModel(lambda x, y: x + y >= 5, decisions)
    result = search(_with_solve(minimal_inputs, trials=20), decisions, measure=model)
    assert [c.phase for c in result.candidates] == [CURRENT, RECHECK]
    assert result.best is result.current and result.attribution == {}


def test_a_failed_evaluation_is_recorded_and_the_search_goes_on(minimal_inputs):
    decisions = _decisions()
    model = FakeModel(lambda x, y: x >= 6 and y >= 5, decisions)

    def measure(inputs, overrides, keep):
        if model.point(overrides) == (2, 3) and SEED_KEY not in overrides:
            raise ZeroDivisionError("division by zero")
        return model(inputs, overrides, keep)

    result = search(_with_solve(minimal_inputs, trials=20, startup_trials=5, seed=3),
                    decisions, measure=measure)
    assert result.current.outcome.error == "ZeroDivisionError: division by zero"
    assert result.current.outcome.shortfall == INVALID_SHORTFALL
    assert result.best.choice == (6, 5)

    def broken(inputs, overrides, keep):
        raise ZeroDivisionError("division by zero")

    with pytest.raises(RuntimeError, match="no candidate could be evaluated; the first "
                                           "failure: ZeroDivisionError: division by zero"):
        search(_with_solve(minimal_inputs, trials=3, startup_trials=2), decisions,
               measure=broken)


def test_the_recheck_seed_is_derived_from_the_general_seed_and_differs_from_every_scope():
    # blake2b("d3-solve-recheck|7|0"), 4 bytes, little-endian.
    digest = hashlib.blake2b(b"d3-solve-recheck|7|0", digest_size=4).digest()
    first = int.from_bytes(digest, "little")
    inputs = SimpleNamespace(seeds={"general": 7, "public_tap": 7, "private_tap": 8})
    assert recheck_seed(inputs) == first
    # When a scope already uses that number, the next n.
    taken = SimpleNamespace(seeds={"general": 7, "public_tap": first, "private_tap": 8})
    second = hashlib.blake2b(b"d3-solve-recheck|7|1", digest_size=4).digest()
    assert recheck_seed(taken) == int.from_bytes(second, "little")


def test_the_progress_budget_counts_the_polish():
    # 1 (founder) + 20 trials + 3 confirmed + polish (x: 1 + ⌈log2 11⌉ = 5, y: 5) + 2
    # attributions + 1 re-check = 37.
    assert evaluation_budget(Solve(trials=20, confirm=3), _decisions()) == 1 + 20 + 3 + 10 + 2 + 1


def test_every_combination_evaluated_compares_the_distinct_candidates_with_the_space():
    assert every_combination_evaluated({"total": 9, "candidates": 6, "combinations": 6})
    assert not every_combination_evaluated({"total": 9, "candidates": 5, "combinations": 6})
    assert not every_combination_evaluated({"total": 9})


def test_a_candidate_ranks_by_its_outcome_and_distance():
    c = Candidate(CONFIRM, 4, (1, 2), 0.25, _outcome(True, income=10.0))
    assert c.rank == (0, 0.25, -10.0, 4)


def test_a_confirm_count_bounds_every_full_count_evaluation(minimal_inputs):
    """solve.confirm_simulations_per_run = 7: the founder's plan, the confirmations, the polish,
    the attribution and the re-check all run 7 paths per replicate; screening keeps its 100."""
    decisions = _decisions()
    model = FakeModel(lambda x, y: x >= 6 and y >= 5, decisions)
    inputs = _with_solve(minimal_inputs, trials=20, startup_trials=5, confirm=2, seed=3,
                         confirm_simulations_per_run=7)
    result = search(inputs, decisions, measure=model)
    counts = [o.get("params.yaml:stochastic.simulations_per_run") for _, o in model.calls]
    phases = [c.phase for c in result.candidates]
    assert len(counts) == len(phases)
    assert {n for n, p in zip(counts, phases, strict=True) if p == SCREEN} == {100}
    assert {n for n, p in zip(counts, phases, strict=True) if p != SCREEN} == {7}
    assert {CURRENT, CONFIRM, POLISH, RECHECK} <= set(phases)
