"""Every required behaviour of AUTOSCALER.md, plus a brute-force reference loop that must
agree with the compiled kernel event for event."""

from __future__ import annotations

import math
from dataclasses import replace

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from d3.core.errors import ValidationError
from d3.core.rounding import robust_ceil
from d3.services.autoscaling import AutoscalingPolicy, RatePolicy, simulate_autoscaler

STEP = AutoscalingPolicy(target_utilization_pct=70, min_instances_per_model=1,
                         max_instances_per_model=10, evaluation_interval_s=15,
                         scale_up_threshold_pct=80, scale_down_threshold_pct=30,
                         scale_up_step_replicas=1, scale_down_step_replicas=1,
                         stabilization_window_s=0, warmup_s=120, cooldown_s=60)
STEP_DEMAND = np.array([0.5] * 4 + [2.0] * 40)  # 50 % of one replica, then 200 % from t = 60


def test_step_scenario():
    r = simulate_autoscaler(STEP_DEMAND, 1.0, STEP)
    assert r.events["timestamp"].tolist() == [60, 120, 180]
    assert r.events["reason"].tolist() == ["scale_up"] * 3
    # Violation while ready capacity (1 replica) < demand 2: t = 60 … 165 (8 ticks); at t = 180
    # the first new replica is ready (60 + 120) and 2 replicas serve demand 2 exactly.
    assert r.kpis.sla_violations == 8
    violating = np.flatnonzero(r.replicas_ready * 1.0 < STEP_DEMAND) * 15
    assert violating.tolist() == list(range(60, 166, 15))
    assert r.replicas_total[-1] == 4


def test_without_the_events_table_the_kpis_are_the_same():
    # The solver's and sensitivity's evaluations ask for KPIs only: no events table is built,
    # and the KPIs (the event count included: 3 scale-ups, as above) are the same numbers.
    full = simulate_autoscaler(STEP_DEMAND, 1.0, STEP, instance_eur_hr=2.5)
    lean = simulate_autoscaler(STEP_DEMAND, 1.0, STEP, instance_eur_hr=2.5, with_events=False)
    assert lean.events is None
    assert lean.kpis == full.kpis
    assert lean.kpis.scale_events == 3
    assert lean.replicas_total.size == 0  # no per-tick series either: KPIs only
    # the proportional (HPA-like) mode too
    hpa = replace(STEP, mode="proportional")
    full = simulate_autoscaler(STEP_DEMAND, 1.0, hpa, instance_eur_hr=2.5)
    lean = simulate_autoscaler(STEP_DEMAND, 1.0, hpa, instance_eur_hr=2.5, with_events=False)
    assert lean.events is None and lean.kpis == full.kpis
    assert lean.kpis.scale_events == len(full.events) > 0


def test_step_scenario_counting_pending_replicas():
    r = simulate_autoscaler(STEP_DEMAND, 1.0, replace(STEP, count_pending=True))
    # At t = 120 the decision sees 2 replicas (1 warming) → util 100 % → one more; at t = 180
    # it sees 3 → 66.7 % → no action.
    assert r.events["timestamp"].tolist() == [60, 120]
    assert r.replicas_total[-1] == 3
    assert r.kpis.sla_violations == 8


def test_hysteresis_inside_the_band_causes_no_events():
    demand = np.tile([0.4, 0.75], 50)  # 40 % and 75 % of one replica: inside (30, 80)
    assert simulate_autoscaler(demand, 1.0, STEP, initial_replicas=1).events.empty


def test_at_max_with_demand_above_capacity():
    policy = replace(STEP, max_instances_per_model=3)
    r = simulate_autoscaler(np.full(20, 9.0), 1.0, policy, initial_replicas=3)
    assert r.events.empty
    assert r.kpis.sla_violations == 20
    assert r.kpis.violation_minutes == 20 * 15 / 60


def test_zero_demand_with_min_zero_scales_to_zero_and_stays():
    policy = replace(STEP, min_instances_per_model=0, scale_down_step_replicas=1)
    r = simulate_autoscaler(np.zeros(40), 1.0, policy, initial_replicas=3)
    # util 0 < 30 % → remove one replica per cooldown (60 s): t = 0, 60, 120.
    assert r.events["timestamp"].tolist() == [0, 60, 120]
    assert r.replicas_total[-1] == 0 and (r.replicas_total[12:] == 0).all()
    assert simulate_autoscaler(np.zeros(5), 1.0, policy).replicas_total.tolist() == [0] * 5


def test_utilisation_exactly_at_a_threshold_is_no_action():
    r = simulate_autoscaler(np.full(10, 0.8), 1.0, STEP, initial_replicas=1)  # exactly 80 %
    assert r.events.empty
    r = simulate_autoscaler(np.full(10, 0.3), 1.0, STEP, initial_replicas=1)  # exactly 30 %
    assert r.events.empty


def test_invalid_policies_and_tps_zero():
    with pytest.raises(ValidationError):
        replace(STEP, min_instances_per_model=5, max_instances_per_model=2)
    with pytest.raises(ValidationError):
        replace(STEP, scale_down_threshold_pct=80)  # down ≥ up
    with pytest.raises(ValidationError):
        replace(STEP, evaluation_interval_s=0)
    with pytest.raises(ValidationError):
        replace(STEP, scale_up_step_replicas=0)
    with pytest.raises(ValidationError):
        simulate_autoscaler(np.ones(3), 0.0, STEP)


def test_deterministic():
    rng = np.random.default_rng(3)
    demand = rng.uniform(0, 5, 500)
    a, b = simulate_autoscaler(demand, 1.0, STEP), simulate_autoscaler(demand, 1.0, STEP)
    assert a.events.equals(b.events) and a.kpis == b.kpis
    assert np.array_equal(a.replicas_total, b.replicas_total)


def test_kpis_by_hand():
    # Constant demand 0.5 on 1 replica for 8 ticks of 15 s: util 50 %, no events.
    r = simulate_autoscaler(np.full(8, 0.5), 1.0, STEP, instance_eur_hr=2.0)
    k = r.kpis
    assert (k.scale_events, k.avg_util_pct, k.p95_util_pct, k.sla_violations) == (0, 50.0, 50.0, 0)
    assert k.instance_hours == pytest.approx(8 * 15 / 3600)
    assert k.gpu_cost_eur == pytest.approx(2.0 * 8 * 15 / 3600)
    # Oracle: ceil(0.5 / 0.7) = 1 replica per tick.
    assert k.oracle_instance_hours == pytest.approx(8 * 15 / 3600)


def test_warming_replicas_are_removed_first():
    policy = replace(STEP, cooldown_s=15, warmup_s=600)
    demand = np.array([0.5] * 2 + [5.0] * 2 + [0.0] * 3)
    r = simulate_autoscaler(demand, 1.0, policy, initial_replicas=1)
    # up at t=30, 45 (warming until 630, 645), then down at 60, 75: the warming ones go, so the
    # one ready replica keeps serving (ready stays 1).
    assert r.events["reason"].tolist() == ["scale_up", "scale_up", "scale_down", "scale_down"]
    assert r.replicas_ready.tolist() == [1] * 7


# --- proportional mode ------------------------------------------------------------------------

PROP = AutoscalingPolicy(target_utilization_pct=50, min_instances_per_model=1,
                         max_instances_per_model=30, evaluation_interval_s=15,
                         scale_up_threshold_pct=80, scale_down_threshold_pct=30,
                         mode="proportional", tolerance_frac=0.1)


def test_proportional_tolerance_edge_is_inclusive():
    # basis 10, demand 5.5 → util 0.55 → ratio 1.1 = 1 + tolerance → no action.
    assert simulate_autoscaler(np.full(10, 5.5), 1.0, PROP, initial_replicas=10).events.empty


def test_proportional_just_above_tolerance_jumps_once():
    r = simulate_autoscaler(np.full(10, 5.6), 1.0, PROP, initial_replicas=10)
    # ratio 1.12 → ceil(10 × 1.12) = 12 in one jump; later ticks want 12 too → no more events.
    assert r.events[["timestamp", "replicas_prev", "replicas_new"]].values.tolist() == [[0, 10, 12]]


def test_proportional_scale_down_waits_for_the_window():
    policy = replace(PROP, target_utilization_pct=70, max_instances_per_model=20,
                     stabilization_window_s=300)
    demand = np.array([7.0] * 20 + [1.4] * 30)  # t < 300: 70 % on 10 replicas; then 1.4
    r = simulate_autoscaler(demand, 1.0, policy, initial_replicas=10)
    # From t = 300 the recommendation is ceil(10 × 0.14/0.7) = 2, but (t − 300, t] holds the
    # recommendation 10 of t = 285 until t = 585.
    assert r.events[["timestamp", "replicas_prev", "replicas_new"]].values.tolist() == [
        [585, 10, 2]]


def test_pods_per_period_policy_limits_each_step():
    policy = replace(PROP, scale_up_policies=(RatePolicy("pods", 1, 60),))
    r = simulate_autoscaler(np.full(30, 10.0), 1.0, policy, initial_replicas=10)
    # wants 20; one pod per 60 s: +1 at t = 0, 60, 120, …
    assert r.events["timestamp"].tolist()[:4] == [0, 60, 120, 180]
    assert (r.events["replicas_new"] - r.events["replicas_prev"]).eq(1).all()


def test_percent_policy_and_select_min():
    policy = replace(PROP, scale_up_policies=(RatePolicy("percent", 50, 60),
                                              RatePolicy("pods", 2, 60)), scale_up_select="min")
    r = simulate_autoscaler(np.full(5, 10.0), 1.0, policy, initial_replicas=10)
    # percent allows ceil(10 × 1.5) = 15, pods 10 + 2 = 12; select min → 12.
    assert r.events[["replicas_prev", "replicas_new"]].values.tolist()[0] == [10, 12]
    disabled = replace(policy, scale_up_select="disabled")
    assert simulate_autoscaler(np.full(5, 10.0), 1.0, disabled, initial_replicas=10).events.empty


# --- reference loop ---------------------------------------------------------------------------


def reference_threshold(demand, c, p: AutoscalingPolicy, initial):
    """AUTOSCALER.md's threshold mode, written as plainly as possible."""
    dt = p.evaluation_interval_s
    replicas = [0.0] * initial  # ready_at times, in the order added
    events, ema, last = [], None, None
    totals = []
    for i, d in enumerate(demand):
        t = i * dt
        ready = sum(1 for r in replicas if r <= t)
        total = len(replicas)
        totals.append(total)
        cap = ready * c
        util = d / cap if ready > 0 else (10.0 if d > 0 else 0.0)
        util = min(util, 10.0)
        if p.count_pending:
            decide = d / (total * c) if total > 0 else (10.0 if d > 0 else 0.0)
            decide = min(decide, 10.0)
        else:
            decide = util
        if p.stabilization_window_s == 0 or ema is None:
            ema = decide
        else:
            ema = ema + min(1.0, dt / p.stabilization_window_s) * (decide - ema)
        allowed = last is None or t - last >= p.cooldown_s
        if allowed and 100 * ema > p.scale_up_threshold_pct and total < p.max_instances_per_model:
            add = min(p.scale_up_step_replicas, p.max_instances_per_model - total)
            replicas += [t + p.warmup_s] * add
            events.append((t, total, total + add, "scale_up"))
            last = t
        elif allowed and 100 * ema < p.scale_down_threshold_pct and \
                total > p.min_instances_per_model:
            remove = min(p.scale_down_step_replicas, total - p.min_instances_per_model)
            warming = sorted([r for r in replicas if r > t], reverse=True)
            keep = sorted(replicas)
            for _ in range(remove):
                victim = warming.pop(0) if warming else max(r for r in keep if r <= t)
                keep.remove(victim)
            replicas = keep
            events.append((t, total, total - remove, "scale_down"))
            last = t
    return events, totals


@settings(max_examples=120, deadline=None)
@given(seed=st.integers(0, 10_000), up=st.integers(51, 100), down=st.integers(1, 50),
       minr=st.integers(0, 3), extra=st.integers(0, 6), step_up=st.integers(1, 3),
       step_down=st.integers(1, 3), window=st.sampled_from([0, 30, 120, 600]),
       warm=st.sampled_from([0, 15, 60, 300]), cool=st.sampled_from([0, 15, 45, 300]),
       pending=st.booleans())
def test_kernel_agrees_with_the_reference_loop(seed, up, down, minr, extra, step_up, step_down,
                                               window, warm, cool, pending):
    policy = AutoscalingPolicy(70, minr, minr + extra + 1, 15, up, down, step_up, step_down,
                               window, warm, cool, count_pending=pending)
    rng = np.random.default_rng(seed)
    demand = np.repeat(rng.uniform(0, 6, 40), rng.integers(1, 8)) * rng.integers(0, 2, 1)[0] \
        + rng.uniform(0, 3) * (rng.uniform(size=1)[0] > 0.2)
    initial = int(rng.integers(0, minr + extra + 2))
    r = simulate_autoscaler(demand, 1.0, policy, initial_replicas=initial)
    events, totals = reference_threshold(demand, 1.0, policy, initial)
    got = [(float(a), int(b), int(c), d) for a, b, c, d in r.events[
        ["timestamp", "replicas_prev", "replicas_new", "reason"]].itertuples(index=False)]
    assert got == [(float(a), b, c, d) for a, b, c, d in events]
    assert r.replicas_total.tolist() == totals
    assert math.isfinite(r.kpis.avg_util_pct)


def oracle_replicas(demand: np.ndarray, capacity: float, policy: AutoscalingPolicy) -> np.ndarray:
    """Replicas an omniscient planner would have at each tick: enough for the demand one
    warm-up ahead, ``ceil(d(t + warmup) / (C × target))``, clamped to [min, max] (the plain
    reference of the compiled ``oracle_replica_ticks``)."""
    ahead = int(round(policy.warmup_s / policy.evaluation_interval_s))
    future = np.concatenate([demand[ahead:], np.repeat(demand[-1:], min(ahead, len(demand)))])
    need = robust_ceil(future / (capacity * policy.target_utilization_pct / 100.0))
    return np.clip(need, policy.min_instances_per_model, policy.max_instances_per_model)


def test_compiled_oracle_equals_the_plain_oracle_series():
    rng = np.random.default_rng(11)
    demand = rng.uniform(0, 8, 300)
    policy = replace(STEP, warmup_s=45)
    r = simulate_autoscaler(demand, 1.0, policy)
    plain = oracle_replicas(demand, 1.0, policy)
    # one warm-up (3 ticks) ahead; the last ticks reuse the final demand
    assert plain[0] == min(max(math.ceil(demand[3] / 0.7), 1), 10)
    assert r.kpis.oracle_instance_hours == pytest.approx(plain.sum() * 15 / 3600)


def plain_kpis(demand: np.ndarray, r, capacity: float, policy: AutoscalingPolicy) -> dict:
    """The KPIs from a run's per-tick series by plain numpy (the definitions of AUTOSCALER.md):
    utilisation Σ demand / Σ ready capacity over ticks with a ready replica, numpy's p95 of
    those ticks' utilisation, violation ticks (demand > ready capacity), instance-hours."""
    ready_cap = r.replicas_ready * capacity
    has = r.replicas_ready > 0
    dt = policy.evaluation_interval_s
    return {"avg_util_pct": 100.0 * demand[has].sum() / ready_cap[has].sum(),
            "p95_util_pct": float(np.percentile(r.util[has], 95, method="linear") * 100.0),
            "sla_violations": int((demand > ready_cap).sum()),
            "instance_hours": r.replicas_total.sum() * dt / 3600.0,
            "max_replicas": int(r.replicas_total.max())}


@pytest.mark.parametrize("mode", ["threshold", "proportional"])
def test_an_hourly_trace_held_for_its_ticks_is_the_per_tick_trace(mode):
    # The pipeline hands the simulator the hourly values and the ticks of an hour instead of
    # the million-tick trace: events, series and KPIs are the same numbers, with or without
    # the per-tick series, and the KPIs equal their plain definitions.
    rng = np.random.default_rng(5)
    hourly = np.concatenate([rng.uniform(0, 6, 30), np.zeros(3), rng.uniform(0, 9, 15)])
    policy = replace(STEP, mode=mode, stabilization_window_s=30)
    per_tick = simulate_autoscaler(np.repeat(hourly, 4), 1.0, policy, instance_eur_hr=2.0)
    held = simulate_autoscaler(hourly, 1.0, policy, instance_eur_hr=2.0, ticks_per_value=4)
    lean = simulate_autoscaler(hourly, 1.0, policy, instance_eur_hr=2.0, ticks_per_value=4,
                               with_events=False)
    assert held.events.equals(per_tick.events) and len(held.events) > 3
    assert held.replicas_total.tolist() == per_tick.replicas_total.tolist()
    assert held.kpis == per_tick.kpis == lean.kpis
    plain = plain_kpis(np.repeat(hourly, 4), per_tick, 1.0, policy)
    k = per_tick.kpis
    assert k.avg_util_pct == pytest.approx(plain["avg_util_pct"], rel=1e-12)
    assert k.p95_util_pct == plain["p95_util_pct"]  # the same multiset: bit for bit
    assert (k.sla_violations, k.instance_hours, k.max_replicas) == (
        plain["sla_violations"], plain["instance_hours"], plain["max_replicas"])
    # a warm-up longer than the trace: every tick looks at the final demand (the oracle)
    slow = replace(policy, warmup_s=10_000)  # 667 ticks ahead > 192 ticks
    held = simulate_autoscaler(hourly, 1.0, slow, ticks_per_value=4, with_events=False)
    assert held.kpis == simulate_autoscaler(np.repeat(hourly, 4), 1.0, slow).kpis
    assert held.kpis.oracle_instance_hours == pytest.approx(
        oracle_replicas(np.repeat(hourly, 4), 1.0, slow).sum() * 15 / 3600)


def test_p95_from_runs_of_equal_utilisation():
    # Ready ticks' utilisation 0.5, 0.5, 0.5, 2.0 (runs (0.5, 3), (2.0, 1)) and a tick without
    # a ready replica (not counted): numpy's linear p95 of [0.5, 0.5, 0.5, 2.0] has virtual
    # index 3 × 0.95 = 2.85 → 0.5 + (2.0 − 0.5) × 0.85 = 1.775, i.e. 177.5 %.
    from d3.services.autoscaling import p95_util_pct

    assert p95_util_pct(np.array([0.5, 2.0]), np.array([3, 1])) == pytest.approx(177.5)
    assert p95_util_pct(np.array([2.0, 0.5, 2.0]), np.array([1, 3, 0])) == pytest.approx(177.5)
    assert p95_util_pct(np.array([]), np.array([], np.int64)) == 0.0

