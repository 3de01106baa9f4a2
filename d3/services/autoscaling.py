"""Autoscaling: the planner (how many replicas the peak needs) — AUTOSCALER.md.

The simulator (threshold / proportional modes) builds on the same policy and lives here too.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
import pandas as pd

from d3.core.errors import Issue, ValidationError
from d3.core.percentiles import multiset_percentile
from d3.core.rounding import CEIL_TOLERANCE, robust_ceil
from d3.services.autoscaling_kernel import (
    oracle_replica_ticks,
    threshold_kernel,
    tick_accumulators,
)


@dataclass(frozen=True)
class PlannerResult:
    instances_needed: int  # clamped to [min, max]
    unclamped: int
    cap_tokens_per_hour_per_instance: float
    capacity_violation: bool  # unclamped > max


def _tps_error(tps: float) -> ValidationError:
    return ValidationError([Issue("autoscaling", "tps", f"throughput must be > 0, got {tps}",
                                  "measure the model or allow the throughput heuristic")])


def capacity_per_instance(tps: float, target_utilization_pct: float) -> float:
    """Tokens per hour one replica serves at the target utilisation."""
    if not tps > 0:
        raise _tps_error(tps)
    return tps * 3600.0 * target_utilization_pct / 100.0


def planner_instances_needed(peak_tokens_per_hour: float, tps: float,
                             target_utilization_pct: float, min_instances: int,
                             max_instances: int) -> PlannerResult:
    """Replicas for a peak: ``clamp(ceil(peak / (tps × 3600 × target/100)), min, max)``."""
    cap = capacity_per_instance(tps, target_utilization_pct)
    unclamped = int(robust_ceil(peak_tokens_per_hour / cap)) if peak_tokens_per_hour > 0 else 0
    return PlannerResult(min(max(unclamped, min_instances), max_instances), unclamped, cap,
                         unclamped > max_instances)


def instances_needed(peak_tokens_per_hour: np.ndarray, cap_per_instance: float,
                     min_instances: int, max_instances: int) -> tuple[np.ndarray, np.ndarray]:
    """Vectorised planner: (clamped instances, violation flags) for an array of peaks."""
    unclamped = robust_ceil(np.asarray(peak_tokens_per_hour) / cap_per_instance)
    return np.clip(unclamped, min_instances, max_instances), unclamped > max_instances


# --- policy -----------------------------------------------------------------------------------

UTIL_CAP = 10.0  # utilisation reported when demand arrives and no replica is ready
EVENT_COLUMNS = ("timestamp", "model", "gpu", "demand_tokens_per_hour", "effective_capacity",
                 "replicas_prev", "replicas_new", "reason", "util_pct")


@dataclass(frozen=True)
class RatePolicy:
    type: str  # "pods" | "percent"
    value: float
    period_s: float


@dataclass(frozen=True)
class AutoscalingPolicy:
    """``autoscaling.*`` of public_tap.yaml (units: percent, seconds, replicas)."""

    target_utilization_pct: float
    min_instances_per_model: int
    max_instances_per_model: int
    evaluation_interval_s: float
    scale_up_threshold_pct: float
    scale_down_threshold_pct: float
    scale_up_step_replicas: int = 1
    scale_down_step_replicas: int = 1
    stabilization_window_s: float = 0.0
    warmup_s: float = 0.0
    cooldown_s: float = 0.0
    mode: str = "threshold"
    count_pending: bool = False
    tolerance_frac: float = 0.1
    scale_up_window_s: float = 0.0
    scale_up_policies: tuple[RatePolicy, ...] = ()
    scale_down_policies: tuple[RatePolicy, ...] = ()
    scale_up_select: str = "max"
    scale_down_select: str = "max"

    def __post_init__(self) -> None:
        problems = []

        def bad(field: str, message: str, hint: str) -> None:
            problems.append(Issue("autoscaling", field, message, hint))

        if self.min_instances_per_model > self.max_instances_per_model:
            bad("min_instances_per_model", f"min {self.min_instances_per_model} > max "
                f"{self.max_instances_per_model}", "make min ≤ max")
        if self.min_instances_per_model < 0:
            bad("min_instances_per_model", "must be ≥ 0", "use 0 or more")
        if not 0 < self.scale_down_threshold_pct < self.scale_up_threshold_pct <= 100:
            bad("scale_down_threshold_pct", f"thresholds must satisfy 0 < down < up ≤ 100, got "
                f"{self.scale_down_threshold_pct:g} / {self.scale_up_threshold_pct:g}",
                "lower the scale-down threshold")
        if not 0 < self.target_utilization_pct <= 100:
            bad("target_utilization_pct", "must be in (0, 100]", "e.g. 70")
        for name in ("evaluation_interval_s",):
            if not getattr(self, name) > 0:
                bad(name, "must be > 0", "use a positive interval")
        for name in ("stabilization_window_s", "warmup_s", "cooldown_s", "scale_up_window_s"):
            if getattr(self, name) < 0:
                bad(name, "must be ≥ 0", "use 0 or more seconds")
        for name in ("scale_up_step_replicas", "scale_down_step_replicas"):
            if getattr(self, name) < 1:
                bad(name, "must be ≥ 1", "use a whole number of replicas ≥ 1")
        if self.mode not in ("threshold", "proportional"):
            bad("mode", f"unknown mode {self.mode!r}", "use threshold or proportional")
        if problems:
            raise ValidationError(problems)

    @classmethod
    def from_operator(cls, a) -> AutoscalingPolicy:
        """From the validated ``autoscaling`` section of public_tap.yaml."""
        def rates(items):
            return tuple(RatePolicy(p.type, p.value, p.period_s) for p in items)

        return cls(a.target_utilization_pct, a.min_instances_per_model,
                   a.max_instances_per_model, a.evaluation_interval_s, a.scale_up_threshold_pct,
                   a.scale_down_threshold_pct, a.scale_up_step_replicas,
                   a.scale_down_step_replicas, a.stabilization_window_s, a.warmup_s,
                   a.cooldown_s, a.mode, a.count_pending, a.tolerance_frac, a.scale_up_window_s,
                   rates(a.scale_up_policies), rates(a.scale_down_policies), a.scale_up_select,
                   a.scale_down_select)


# --- simulator --------------------------------------------------------------------------------


@dataclass(frozen=True)
class AutoscalerKpis:
    scale_events: int
    avg_util_pct: float  # 100 × Σ demand / Σ effective capacity over ticks with capacity
    p95_util_pct: float  # 95th percentile (linear) of util over ticks with ready replicas
    sla_violations: int  # ticks where demand > ready capacity
    violation_minutes: float
    instance_hours: float  # ready + warming replicas, billed
    gpu_cost_eur: float  # instance_hours × instance_eur_hr
    max_replicas: int
    oracle_instance_hours: float  # omniscient planner ordering one warm-up ahead


@dataclass(frozen=True)
class SimulationResult:
    events: pd.DataFrame | None  # None when not asked for (``with_events=False``)
    replicas_total: np.ndarray
    replicas_ready: np.ndarray
    util: np.ndarray
    kpis: AutoscalerKpis


def initial_replica_count(first_demand: float, capacity: float, policy: AutoscalingPolicy) -> int:
    """``clamp(ceil(d_0 / (C × target/100)), min, max)``."""
    need = int(robust_ceil(first_demand / (capacity * policy.target_utilization_pct / 100.0)))
    return min(max(need, policy.min_instances_per_model), policy.max_instances_per_model)


def _max_events(n: int, policy: AutoscalingPolicy) -> int:
    if policy.mode == "threshold" and policy.cooldown_s >= policy.evaluation_interval_s:
        return min(n, int(n * policy.evaluation_interval_s / policy.cooldown_s) + 2)
    return n


def p95_util_pct(run_values: np.ndarray, run_counts: np.ndarray) -> float:
    """The p95 utilisation (percent) of the ticks with a ready replica, from their runs of
    equal values (:func:`d3.services.autoscaling_kernel.count_tick`): numpy's linear
    percentile of that multiset (:func:`d3.core.percentiles.multiset_percentile`), 0 when no
    replica was ever ready."""
    if run_values.size == 0:
        return 0.0
    order = np.argsort(run_values)  # equal values may stay in separate runs: same multiset
    return float(multiset_percentile(run_values[order], run_counts[order], 95) * 100.0)


def autoscaler_kpis(demand: np.ndarray, repeat: int, capacity: float,
                    policy: AutoscalingPolicy, accumulators: tuple, events: int,
                    instance_eur_hr: float) -> AutoscalerKpis:
    """The KPIs of a run from its accumulators (``(acc, run_values, run_counts)`` of
    :func:`d3.services.autoscaling_kernel.count_tick` and ``add_run``) and the oracle planner
    over the same ticks (``demand`` values each held ``repeat`` ticks)."""
    dt = policy.evaluation_interval_s
    (served, cap_sum, violations, replica_ticks, most), values, counts = accumulators
    hours = replica_ticks * dt / 3600.0
    ahead = int(round(policy.warmup_s / dt))
    oracle = oracle_replica_ticks(demand, repeat,
                                  capacity * policy.target_utilization_pct / 100.0, ahead,
                                  policy.min_instances_per_model,
                                  policy.max_instances_per_model, CEIL_TOLERANCE)
    return AutoscalerKpis(int(events), float(100.0 * served / cap_sum) if cap_sum > 0 else 0.0,
                          p95_util_pct(values, counts), int(violations),
                          float(violations * dt / 60.0), float(hours),
                          float(hours * instance_eur_hr), int(most), float(oracle * dt / 3600.0))


def simulate_autoscaler(demand_tokens_per_hour, capacity_tokens_per_hour: float,
                        policy: AutoscalingPolicy, *, initial_replicas: int | None = None,
                        model: str = "", gpu: str = "",
                        instance_eur_hr: float = 0.0, with_events: bool = True,
                        ticks_per_value: int = 1) -> SimulationResult:
    """Replay a demand trace (tokens/hour; each value holds for ``ticks_per_value`` ticks,
    e.g. an hourly trace and the ticks of an hour) through the autoscaler. ``with_events``
    False: no events table and no per-tick series (``events`` is None, the series empty; the
    KPIs count the events all the same) — a KPI-only run of the threshold mode touches no
    per-tick array (docs/BENCHMARKS.md)."""
    demand = np.ascontiguousarray(demand_tokens_per_hour, dtype=np.float64)
    if not capacity_tokens_per_hour > 0:
        raise _tps_error(capacity_tokens_per_hour)
    if demand.ndim != 1 or len(demand) == 0:
        raise ValueError("demand_tokens_per_hour must be a non-empty 1-D array")
    if ticks_per_value < 1:
        raise ValueError(f"ticks_per_value must be ≥ 1, got {ticks_per_value}")
    c = float(capacity_tokens_per_hour)
    start = initial_replicas if initial_replicas is not None else initial_replica_count(
        demand[0], c, policy)
    if policy.mode == "threshold":
        out = threshold_kernel(
            demand, int(ticks_per_value), c, float(policy.evaluation_interval_s),
            float(policy.target_utilization_pct),
            policy.min_instances_per_model, policy.max_instances_per_model,
            float(policy.scale_up_threshold_pct), float(policy.scale_down_threshold_pct),
            policy.scale_up_step_replicas, policy.scale_down_step_replicas,
            float(policy.stabilization_window_s), float(policy.warmup_s),
            float(policy.cooldown_s), bool(policy.count_pending), UTIL_CAP, int(start),
            _max_events(len(demand) * ticks_per_value, policy), bool(with_events))
        total, ready, util, ev_tick, ev_prev, ev_new, ev_up, ev_cap, ev_util = out[:9]
        n_events, accumulators = int(out[9]), out[10:]
    else:
        ticks = np.repeat(demand, ticks_per_value) if ticks_per_value > 1 else demand
        total, ready, util, ev_tick, ev_prev, ev_new, ev_up, ev_cap, ev_util = \
            proportional_loop(ticks, c, policy, int(start))
        n_events, accumulators = len(ev_tick), tick_accumulators(ticks, ready, total, util, c)
    kpis = autoscaler_kpis(demand, int(ticks_per_value), c, policy, accumulators, n_events,
                           instance_eur_hr)
    if not with_events:
        return SimulationResult(None, total[:0], ready[:0], util[:0], kpis)
    dt = policy.evaluation_interval_s
    events = pd.DataFrame({
        "timestamp": ev_tick * dt,
        "model": model, "gpu": gpu,
        "demand_tokens_per_hour": demand[ev_tick // ticks_per_value],
        "effective_capacity": ev_cap,
        "replicas_prev": ev_prev, "replicas_new": ev_new,
        "reason": np.where(ev_up, "scale_up", "scale_down"),
        "util_pct": ev_util * 100.0,
    }, columns=list(EVENT_COLUMNS))
    return SimulationResult(events, total, ready, util, kpis)


# --- proportional mode (extension, off by default) ----------------------------------------------


def _rate_bound(policies, select: str, history, t: float, current: int, up: bool) -> int | None:
    """Most replicas (up) or fewest (down) the rate policies allow now; None = no limit."""
    if select == "disabled":
        return current
    if not policies:
        return None
    bounds = []
    for p in policies:
        changed = sum(delta for when, delta in history if t - p.period_s < when <= t)
        start = current - changed  # replicas at the start of the period
        if up:
            limit = start + p.value if p.type == "pods" else math.ceil(start * (1 + p.value / 100))
        else:
            limit = start - p.value if p.type == "pods" else math.ceil(start * (1 - p.value / 100))
        bounds.append(int(limit))
    if up:
        return max(bounds) if select == "max" else min(bounds)
    return min(bounds) if select == "max" else max(bounds)


def proportional_loop(demand: np.ndarray, c: float, policy: AutoscalingPolicy, start: int):
    """Kubernetes-HPA-like scaling: ``desired = ceil(basis × util / target)`` outside the
    tolerance band; scale-down takes the highest recommendation in (t − window, t], scale-up the
    lowest in (t − scale_up_window, t]; rate policies limit each step; clamp last."""
    n, dt = len(demand), policy.evaluation_interval_s
    target = policy.target_utilization_pct / 100.0
    ready_at: list[float] = [0.0] * start
    recs: list[tuple[float, int]] = []
    history: list[tuple[float, int]] = []  # (time, signed change)
    total_out, ready_out = np.empty(n, np.int64), np.empty(n, np.int64)
    util_out = np.empty(n)
    ev: list[tuple] = []
    for i in range(n):
        t = i * dt
        total = len(ready_at)
        ready = sum(1 for r in ready_at if r <= t)
        d = demand[i]
        e = ready * c
        u = min(d / e, UTIL_CAP) if ready > 0 else (UTIL_CAP if d > 0 else 0.0)
        total_out[i], ready_out[i], util_out[i] = total, ready, u
        basis = total if policy.count_pending else ready
        ratio = (min(d / (basis * c), UTIL_CAP) if basis > 0 else 0.0) / target
        if basis == 0:
            desired = int(robust_ceil(d / (c * target)))
        elif abs(ratio - 1.0) <= policy.tolerance_frac + 1e-9:
            desired = total
        else:
            desired = int(robust_ceil(basis * ratio))
        recs.append((t, desired))
        down_window = [r for when, r in recs if t - policy.stabilization_window_s < when <= t]
        up_window = [r for when, r in recs if t - policy.scale_up_window_s < when <= t] or [desired]
        recs = [(when, r) for when, r in recs
                if t - max(policy.stabilization_window_s, policy.scale_up_window_s) < when]
        if desired > total:
            wanted = min(up_window)
            bound = _rate_bound(policy.scale_up_policies, policy.scale_up_select, history, t,
                                total, up=True)
            wanted = wanted if bound is None else min(wanted, bound)
        elif desired < total:
            wanted = max(down_window)
            bound = _rate_bound(policy.scale_down_policies, policy.scale_down_select, history,
                                t, total, up=False)
            wanted = wanted if bound is None else max(wanted, bound)
        else:
            wanted = total
        wanted = min(max(wanted, policy.min_instances_per_model), policy.max_instances_per_model)
        if wanted > total:
            ready_at += [t + policy.warmup_s] * (wanted - total)
        elif wanted < total:
            del ready_at[wanted:]  # newest (warming) replicas go first
        if wanted != total:
            ev.append((i, total, wanted, wanted > total, e, u))
            history.append((t, wanted - total))
    cols = list(zip(*ev, strict=True)) if ev else [[], [], [], [], [], []]
    return (total_out, ready_out, util_out, np.array(cols[0], np.int64),
            np.array(cols[1], np.int64), np.array(cols[2], np.int64), np.array(cols[3], bool),
            np.array(cols[4], float), np.array(cols[5], float))
