"""Steps of capacity_autoscaler.feature: the planner and the autoscaler (AUTOSCALER.md) on tiny
hand-built inputs, judged by the real acceptance code (SPEC §8), and the tables that ``d3 run``
writes for the minimal fixture. The arithmetic behind every expected value is in the feature
file, above each scenario."""

from __future__ import annotations

import math
import re
from dataclasses import fields, replace
from pathlib import Path

import numpy as np
import pytest
from pytest_bdd import given, parsers, scenarios, then, when

from d3.acceptance import Criterion, GridEvidence, grid_criteria
from d3.core.errors import ValidationError
from d3.pipelines.public.capacity import (
    CapacityPolicy,
    CapacityResult,
    ModelCapacity,
    capacity,
    hourly_weights,
    peak_share,
)
from d3.pipelines.public.scaling import KPI_COLUMNS, TraceRun, kpi_rows
from d3.services.autoscaling import (
    AutoscalingPolicy,
    PlannerResult,
    SimulationResult,
    planner_instances_needed,
)
from d3.services.autoscaling import simulate_autoscaler as replay
from tests.helpers import read_csv, run_minimal

scenarios("capacity_autoscaler.feature")

GRID_POINTS, MODELS = 3, 2  # the minimal fixture: pub_margin 40/50/60 × 2 public models
MIN_INSTANCES, MAX_INSTANCES = 1, 4  # its autoscaling section


def numbers(text: str) -> list[float]:
    """``"420, 1380"`` → ``[420.0, 1380.0]``; ``"none"`` → ``[]``."""
    return [] if text.strip() == "none" else [float(x) for x in text.split(",")]


def flag(text: str) -> bool:
    return {"true": True, "false": False}[text]


def holds(verdict: str) -> bool:
    return {"holds": True, "fails": False}[verdict]


def judged(*, capacity_violations: np.ndarray | None = None,
           autoscaler_rows: list[dict] | None = None, target_util_pct: float = 70.0,
           tolerance_pct: float = 15.0) -> dict[str, Criterion]:
    """The acceptance criteria of one grid point whose only sample is the path given (the
    cash criterion, always present, is fed a neutral zero)."""
    targets = {"min_acceptance_probability": 0.9, "private_growth_required": False,
               "min_cash_eur": 0.0,
               "autoscaling_util_tolerance_pct": tolerance_pct}
    reference = {"closing_cash_eur": np.zeros(1)}
    if capacity_violations is not None:
        reference["expected_violations"] = capacity_violations[0]
    horizon = len(reference.get("expected_violations", [0]))
    kpis = {"min_cash_eur": np.zeros(1)}
    if capacity_violations is not None:  # the KPI: model-months over, per sample
        kpis["capacity_violation_model_months"] = capacity_violations[:, :horizon].sum(axis=1)
    evidence = GridEvidence(reference=reference, kpis=kpis, autoscaler_rows=autoscaler_rows)
    out = grid_criteria(evidence, targets=targets, target_util_pct=target_util_pct,
                        horizon=horizon)
    return {c.name: c for c in out}


# --- the tables d3 run writes -------------------------------------------------------------------


@pytest.fixture(scope="module")
def minimal_run(tmp_path_factory) -> Path:
    """One ``d3 run`` of the minimal fixture for the whole module (about 5 s)."""
    return run_minimal(tmp_path_factory.mktemp("bdd") / "out")


@given('the minimal fixture has been run with "d3 run"', target_fixture="out")
def _minimal_fixture_run(minimal_run):
    return minimal_run


@then(parsers.parse('"{file}" exists with the columns "{columns}"'))
def _csv_columns(out, file, columns):
    path = out / file
    assert path.is_file(), f"{file} was not written"
    header, _ = read_csv(path)
    assert header == columns.split(",")


@then('"public_tap_capacity_plan.csv" has one row per grid point and model (3 × 2)',
      target_fixture="plan_rows")
def _plan_rows(out):
    _, rows = read_csv(out / "public_tap_capacity_plan.csv")
    assert len(rows) == GRID_POINTS * MODELS
    assert {(r["grid_index"], r["model"]) for r in rows} == {
        (str(g), m) for g in range(GRID_POINTS) for m in {r["model"] for r in rows}}
    return rows


@then("every row has instances_needed = clamp(ceil(peak / cap), 1, 4) and the matching "
      "violation flag")
def _plan_formula(plan_rows):
    for r in plan_rows:
        unclamped = math.ceil(float(r["peak_tokens_per_hour"])
                              / float(r["cap_tokens_per_hour_per_instance"]) - 1e-9)
        assert int(r["instances_needed"]) == min(max(unclamped, MIN_INSTANCES), MAX_INSTANCES)
        assert r["capacity_violation"] == ("true" if unclamped > MAX_INSTANCES else "false")
        # cap = tps × 3600 × target / 100; the CSV rounds tps to 0.01 (933.33 for 933.333…),
        # so cap may differ by up to 0.005 × 3600 × target / 100 (12.6 tokens/h at 70 %).
        target = float(r["target_utilization_pct"])
        assert float(r["cap_tokens_per_hour_per_instance"]) == pytest.approx(
            float(r["tps"]) * 3600 * target / 100, abs=0.005 * 3600 * target / 100 + 0.005)


@then('"public_tap_autoscaling_kpis.csv" has a p50 and a p90 row per grid point and model',
      target_fixture="kpi_table")
def _kpi_rows(out):
    _, rows = read_csv(out / "public_tap_autoscaling_kpis.csv")
    assert sorted(r["trace"] for r in rows) == ["p50"] * 6 + ["p90"] * 6
    assert len({(r["grid_index"], r["model"], r["trace"]) for r in rows}) == 12
    return rows


@then('"public_tap_scaling_events.csv" has as many rows as the KPI table\'s scale_events add up '
      "to")
def _events_match_kpis(out, kpi_table):
    _, events = read_csv(out / "public_tap_scaling_events.csv")
    assert len(events) == sum(int(r["scale_events"]) for r in kpi_table)


# --- planner ------------------------------------------------------------------------------------


@given(parsers.parse("a model serving {tps:g} tokens/s per instance at a target utilisation of "
                     "{target:g} %"), target_fixture="model")
def _model(tps, target):
    return {"tps": tps, "target": target}


@given(parsers.parse("between {low:d} and {high:d} instances per model"),
       target_fixture="limits")
def _limits(low, high):
    return low, high


@when(parsers.parse("the planner sizes a peak of {peak:g} tokens per hour"),
      target_fixture="planned")
def _plan_peak(model, limits, peak) -> PlannerResult | ValidationError:
    try:
        return planner_instances_needed(peak, model["tps"], model["target"], *limits)
    except ValidationError as err:
        return err


@then(parsers.parse("one instance carries {cap:g} tokens per hour"))
def _cap(planned, cap):
    assert planned.cap_tokens_per_hour_per_instance == pytest.approx(cap, rel=1e-12)


@then(parsers.parse("it needs {needed:d} instances, {unclamped:d} before the clamp"))
def _needed(planned, needed, unclamped):
    assert (planned.instances_needed, planned.unclamped) == (needed, unclamped)


@then(parsers.parse("the capacity violation flag is {violation}"))
def _violation(planned, violation):
    assert planned.capacity_violation is flag(violation)


@then(parsers.parse('the planner refuses it at "{where}"'))
def _refused(planned, where):
    assert isinstance(planned, ValidationError)
    assert [f"{i.file}:{i.location}" for i in planned.issues] == [where]


# --- baseline path ------------------------------------------------------------------------------


@given(parsers.parse('the model "{name}" on "{gpu}" serving {tps:g} tokens/s per instance at '
                     "{eur:g} EUR per hour"), target_fixture="models")
def _baseline_model(name, gpu, tps, eur):
    return [ModelCapacity(name, gpu, tps, eur, gpu_cost_eur_per_1M=0.0, mix_frac=1.0)]


@given(parsers.parse("a uniform {hours:d}-hour month, a peak factor of {factor:g}, a target of "
                     "{target:g} % and between {low:d} and {high:d} instances"),
       target_fixture="capacity_policy")
def _capacity_policy(hours, factor, target, low, high):
    share = peak_share(hourly_weights("uniform", None, hours), peak_factor=factor,
                       peak_percentile=None)
    return CapacityPolicy(hours, target, low, high, share)


@when(parsers.parse("the planner runs on the baseline path of {first:d} then {second:d} tokens "
                    "a month"), target_fixture="fleet")
def _baseline(models, capacity_policy, first, second) -> CapacityResult:
    tokens = np.array([[first, second]], dtype=float)  # (samples = 1, months = 2)
    return capacity(tokens, models, capacity_policy, infra_overhead_pct_of_gpu=0.0,
                    base_eur_per_1M=0.0)


@when("acceptance is judged on the baseline path", target_fixture="criteria")
def _judge_baseline(fleet):
    # model-months over the cap per sample and month, as the demand stage records them
    return judged(capacity_violations=fleet.violation.sum(axis=0).astype(float))


@then(parsers.parse("it rents {instances} instances in the two months"))
def _instances(fleet, instances):
    assert fleet.instances[0, 0].tolist() == numbers(instances)


@then(parsers.parse("the months over the instance cap are {months}"))
def _months_over(fleet, months):
    assert (np.flatnonzero(fleet.violation[0, 0]) + 1).tolist() == numbers(months)


@then(parsers.parse("{unserved:d} tokens go unserved"))
def _unserved(fleet, unserved):
    assert fleet.unserved.sum() == pytest.approx(unserved, abs=1e-3)


@then(parsers.parse("the GPU cost is {eur:g} EUR"))
def _gpu_cost(fleet, eur):
    assert fleet.gpu_cogs_eur.sum() == pytest.approx(eur, rel=1e-12)


# --- autoscaler ---------------------------------------------------------------------------------


def policy_value(name: str, text: str):
    kind = {f.name: f.type for f in fields(AutoscalingPolicy)}[name]
    if kind == "bool":
        return flag(text)
    return int(text) if kind == "int" else float(text)


@given(parsers.parse("one replica serves {tokens:g} tokens per hour at full load"),
       target_fixture="replica_capacity")
def _replica_capacity(tokens):
    return tokens


@given("the autoscaling policy", target_fixture="policy")
def _policy(datatable):
    return AutoscalingPolicy(**{name: policy_value(name, value) for name, value in datatable})


@given(parsers.parse("the autoscaling policy allows at most {high:d} instances per model"),
       target_fixture="policy")
def _policy_max(policy, high):
    return replace(policy, max_instances_per_model=high)


@given(parsers.parse("a p50 demand trace of {trace} tokens per hour"), target_fixture="demand")
def _trace(trace):
    """``"1400 × 19, 1500 × 1"``: 19 ticks at 1400 tokens/h, then one at 1500."""
    parts = [re.fullmatch(r"\s*([\d.]+)\s*×\s*(\d+)\s*", p) for p in trace.split(",")]
    return np.concatenate([np.full(int(m[2]), float(m[1])) for m in parts])


@given(parsers.parse("a p50 demand ramp from {low:d} to {high:d} tokens per hour, {step:d} more "
                     "every tick"), target_fixture="demand")
def _ramp(low, high, step):
    return np.arange(low, high + step, step, dtype=float)


@when("the autoscaler replays it", target_fixture="simulation")
def _replay(demand, replica_capacity, policy) -> SimulationResult:
    return replay(demand, replica_capacity, policy, model="m", gpu="g")


@when(parsers.parse("acceptance is judged on the p50 trace with a tolerance of {tolerance:g} %"),
      target_fixture="criteria")
def _judge_trace(simulation, demand, replica_capacity, policy, tolerance):
    planned = planner_instances_needed(
        demand.max(), replica_capacity / 3600, policy.target_utilization_pct,
        policy.min_instances_per_model, policy.max_instances_per_model)
    run = TraceRun("m", "g", "p50", simulation.kpis, simulation.events, 0.0,
                   not planned.capacity_violation)
    rows = [dict(zip(KPI_COLUMNS, row, strict=True)) for row in kpi_rows(
        0, [run], policy.target_utilization_pct, tolerance)]
    return judged(autoscaler_rows=rows, target_util_pct=policy.target_utilization_pct,
                  tolerance_pct=tolerance)


@then(parsers.parse("it starts with {replicas:d} replicas and makes no scaling event"))
def _steady(simulation, replicas):
    assert simulation.replicas_total.tolist() == [replicas] * len(simulation.replicas_total)
    assert simulation.events.empty and simulation.kpis.scale_events == 0


@then(parsers.parse("p95 utilisation is {p95:g} %"))
def _p95(simulation, p95):
    assert simulation.kpis.p95_util_pct == pytest.approx(p95, abs=0.005)


@then(parsers.parse("it scales up at {times} s"))
def _scale_ups(simulation, times):
    events = simulation.events
    assert events["timestamp"].tolist() == numbers(times)
    assert events["reason"].tolist() == ["scale_up"] * len(events)
    # one replica per event: 1 → 2, 2 → 3, …
    assert (events["replicas_new"] - events["replicas_prev"]).tolist() == [1] * len(events)


@then(parsers.parse("demand exceeds ready capacity on {ticks:d} ticks"))
def _violations(simulation, demand, replica_capacity, policy, ticks):
    assert simulation.kpis.sla_violations == ticks
    assert int(np.sum(demand > simulation.replicas_ready * replica_capacity)) == ticks
    assert simulation.kpis.violation_minutes == ticks * policy.evaluation_interval_s / 60


@then(parsers.parse("the fleet is billed {hours:g} instance-hours"))
def _billed(simulation, hours):
    assert simulation.kpis.instance_hours == pytest.approx(hours, abs=5e-5)


@then(parsers.parse("it ends with {replicas:d} replicas"))
def _final(simulation, replicas):
    assert simulation.replicas_total[-1] == replicas


@then(parsers.parse("the planner sizes the {peak:g} tokens per hour peak at {planned:d} "
                    "instances, sufficient: {sufficient}"))
def _planner_on_trace(demand, replica_capacity, policy, peak, planned, sufficient):
    assert demand.max() == peak
    p = planner_instances_needed(peak, replica_capacity / 3600, policy.target_utilization_pct,
                                 policy.min_instances_per_model, policy.max_instances_per_model)
    assert p.instances_needed == planned
    assert (not p.capacity_violation) is flag(sufficient)


# --- verdicts -----------------------------------------------------------------------------------


@then(parsers.parse('the acceptance criterion "{name}" {verdict}'))
def _criterion(criteria, name, verdict):
    assert criteria[name].ok is holds(verdict), criteria[name].detail
