"""Autoscaler runs of the Public Tap: one demand trace per model and trace (p50, p90) over the
full term, replayed through :func:`d3.services.autoscaling.simulate_autoscaler`.

Trace: monthly tokens of the model → hourly by the demand profile → one value per evaluation
tick, constant within the hour (tokens per hour). Optional ``tick_noise: poisson`` replaces each
tick's demand by ``Poisson(tokens in the tick)`` converted back to tokens per hour, drawn from
the ``sim`` stream ``autoscaler.<model>.<trace>``.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Iterator, Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from functools import lru_cache, partial
from typing import TypeVar

import numpy as np
import pandas as pd

from d3.core.rng import sim_stream
from d3.services.autoscaling import (
    EVENT_COLUMNS,
    AutoscalerKpis,
    AutoscalingPolicy,
    planner_instances_needed,
    simulate_autoscaler,
)

T = TypeVar("T")


def hourly_trace(monthly_tokens: np.ndarray, shares: np.ndarray) -> np.ndarray:
    """Tokens per hour of every hour of every month, ``(months × hours,)`` (the hours of a
    month sum to its tokens: the last hour takes the remainder)."""
    hourly = np.outer(monthly_tokens, shares)  # (months, hours)
    hourly[:, -1] = monthly_tokens - hourly[:, :-1].sum(axis=1)
    return hourly.ravel()


def ticks_per_hour(interval_s: float) -> int:
    """Evaluation ticks in an hour. Raises ValueError unless the interval divides an hour."""
    per_hour = 3600.0 / interval_s
    if abs(per_hour - round(per_hour)) > 1e-9:
        raise ValueError(f"evaluation_interval_s {interval_s} must divide an hour")
    return int(round(per_hour))


def tick_trace(monthly_tokens: np.ndarray, shares: np.ndarray, interval_s: float) -> np.ndarray:
    """Tokens per hour at every tick of every month, constant within the hour."""
    return np.repeat(hourly_trace(monthly_tokens, shares), ticks_per_hour(interval_s))


def noisy_trace(trace: np.ndarray, interval_s: float, gen: np.random.Generator) -> np.ndarray:
    """Poisson tick noise: tokens in a tick ~ Poisson(expected tokens in the tick)."""
    per_tick = trace * interval_s / 3600.0
    return gen.poisson(per_tick).astype(np.float64) * 3600.0 / interval_s


@dataclass(frozen=True)
class TraceRun:
    model: str
    gpu: str
    trace: str
    kpis: AutoscalerKpis
    events: pd.DataFrame  # read-only: KPI-only runs share one empty table (_no_events)
    planner_instance_hours: float
    planner_max_sufficient: bool  # the planner never needed more than max_instances


def run_traces(*, model: str, gpu: str, tps: float, instance_eur_hr: float,
               traces: dict[str, np.ndarray], shares: np.ndarray, peak_share: float,
               hours_in_month: int, policy: AutoscalingPolicy, tick_noise: str, seed: int,
               grid_index: int, keep_events: bool = True) -> list[TraceRun]:
    """Simulate every trace of one model; monthly tokens in, KPIs (and, with
    ``keep_events``, the scaling events) out. Without events the runs are cached on their
    exact inputs (the trace as bytes): an evaluation whose knob leaves the demand paths
    unchanged (a price, the loan) replays nothing; events are never cached (they can be
    millions of rows)."""
    return list(in_threads(trace_calls(
        model=model, gpu=gpu, tps=tps, instance_eur_hr=instance_eur_hr, traces=traces,
        shares=shares, peak_share=peak_share, hours_in_month=hours_in_month, policy=policy,
        tick_noise=tick_noise, seed=seed, grid_index=grid_index, keep_events=keep_events)))


def trace_calls(*, model: str, gpu: str, tps: float, instance_eur_hr: float,
                traces: dict[str, np.ndarray], shares: np.ndarray, peak_share: float,
                hours_in_month: int, policy: AutoscalingPolicy, tick_noise: str, seed: int,
                grid_index: int, keep_events: bool = True) -> list[Callable[[], TraceRun]]:
    """One call per trace of :func:`run_traces`, not yet run (pure: any order, any thread)."""
    if tick_noise != "poisson":  # the stream key matters only with tick noise: share the cache
        seed, grid_index = 0, 0
    run = _trace_run if keep_events else _trace_kpis
    return [partial(run, model, gpu, float(tps), float(instance_eur_hr), name,
                    np.asarray(monthly, dtype=np.float64).tobytes(),
                    np.asarray(shares, dtype=np.float64).tobytes(), float(peak_share),
                    int(hours_in_month), policy, tick_noise, int(seed), int(grid_index))
            for name, monthly in traces.items()]


def in_threads(calls: Sequence[Callable[[], T]]) -> Iterator[T]:
    """``call()`` for each call, yielded in order, run on up to one thread per core: the
    autoscaler's compiled loop releases the GIL (``nogil``), so the traces of a grid point
    run side by side; every call is pure, so the results do not depend on the threads."""
    workers = min(len(calls), len(os.sched_getaffinity(0)))
    if workers <= 1:
        yield from (call() for call in calls)
        return
    with ThreadPoolExecutor(max_workers=workers) as pool:
        yield from pool.map(lambda call: call(), calls)


def _trace_run(model: str, gpu: str, tps: float, instance_eur_hr: float, name: str,
               monthly_bytes: bytes, shares_bytes: bytes, peak_share: float,
               hours_in_month: int, policy: AutoscalingPolicy, tick_noise: str, seed: int,
               grid_index: int, with_events: bool = True) -> TraceRun:
    """One trace through the autoscaler, with its events (without: an empty events table)."""
    monthly = np.frombuffer(monthly_bytes, dtype=np.float64)
    shares = np.frombuffer(shares_bytes, dtype=np.float64)
    # Without tick noise the simulator reads the hourly trace, each hour held for its ticks.
    trace, repeat = hourly_trace(monthly, shares), ticks_per_hour(policy.evaluation_interval_s)
    if tick_noise == "poisson":
        gen = sim_stream(seed, "public_tap", f"autoscaler.{model}.{name}", grid_index, 0)
        trace = noisy_trace(np.repeat(trace, repeat), policy.evaluation_interval_s, gen)
        repeat = 1
    result = simulate_autoscaler(trace, tps * 3600.0, policy, model=model, gpu=gpu,
                                 instance_eur_hr=instance_eur_hr, with_events=with_events,
                                 ticks_per_value=repeat)
    planned = [planner_instances_needed(tokens * peak_share, tps, policy.target_utilization_pct,
                                        policy.min_instances_per_model,
                                        policy.max_instances_per_model)
               for tokens in monthly]
    events = result.events.assign(trace=name) if with_events else _no_events()
    return TraceRun(model, gpu, name, result.kpis, events,
                    float(sum(p.instances_needed for p in planned) * hours_in_month),
                    not any(p.capacity_violation for p in planned))


@lru_cache(maxsize=1)
def _no_events() -> pd.DataFrame:
    """The empty events table of a run without events (shared: read, never modified)."""
    return pd.DataFrame(columns=[*EVENT_COLUMNS, "trace"])


@lru_cache(maxsize=512)
def _trace_kpis(*key) -> TraceRun:
    """:func:`_trace_run` without its events (never built), cached (a few hundred bytes per
    entry)."""
    return _trace_run(*key, with_events=False)


def trace_keys(available) -> dict[str, str]:
    """The p50 and p90 traces among the plan's percentiles (the nearest ones when those are not
    in the plan), as percentile keys (``"50"``)."""
    qs = sorted(int(q) for q in available)
    return {"p50": str(min(qs, key=lambda q: (abs(q - 50), q))),
            "p90": str(min(qs, key=lambda q: (abs(q - 90), -q)))}


def grid_autoscaler_runs(public, inp, percentile_tokens: Mapping[str, Sequence[float]], *,
                         horizon: int, hours_in_month: int, seed: int, grid_index: int,
                         on_model: Callable[[str], None] | None = None,
                         keep_events: bool = True,
                         ) -> tuple[AutoscalingPolicy, list[TraceRun]]:
    """The autoscaler of one grid point: every public model on its share (``mix_frac``) of the
    p50 and p90 demanded-token paths (``percentile_tokens``: percentile key → monthly tokens).
    The simulator replays the acceptance horizon (SPEC §5.4), not the loan term, on the tokens
    customers ask for, so SLA violations count unserved demand."""
    from d3.pipelines.public.capacity import hourly_weights

    keys = trace_keys(percentile_tokens)
    scaler = AutoscalingPolicy.from_operator(public.autoscaling)
    shares = hourly_weights(public.demand_profile.type, public.demand_profile.hourly_weights,
                            hours_in_month)
    calls: list[list[Callable[[], TraceRun]]] = [
        trace_calls(model=m.model, gpu=m.gpu, tps=m.tps, instance_eur_hr=m.instance_eur_hr,
                    traces={name: np.array(percentile_tokens[key][:horizon]) * m.mix_frac
                            for name, key in keys.items()},
                    shares=shares, peak_share=inp.capacity_policy.peak_share,
                    hours_in_month=hours_in_month, policy=scaler,
                    tick_noise=public.autoscaling.tick_noise, seed=seed,
                    grid_index=grid_index, keep_events=keep_events)
        for m in inp.models]
    done = in_threads([call for model_calls in calls for call in model_calls])
    runs: list[TraceRun] = []
    for m, model_calls in zip(inp.models, calls, strict=True):
        runs += [next(done) for _ in model_calls]
        if on_model is not None:
            on_model(m.model)
    return scaler, runs


KPI_COLUMNS = (
    "grid_index", "model", "gpu", "trace", "scale_events", "avg_util_pct", "p95_util_pct",
    "sla_violations", "violation_minutes", "instance_hours", "gpu_cost_eur", "max_replicas",
    "planner_instance_hours", "oracle_instance_hours", "planner_max_sufficient",
    "p95_within_tolerance",
)


def kpi_rows(grid_index: int, runs: Sequence[TraceRun], target_pct: float,
             tolerance_pct: float) -> list[list[str]]:
    from d3.io.writers import fmt_float

    rows = []
    for r in runs:
        k = r.kpis
        within = abs(k.p95_util_pct - target_pct) <= tolerance_pct
        rows.append([str(grid_index), r.model, r.gpu, r.trace, str(k.scale_events),
                     fmt_float(k.avg_util_pct, 4), fmt_float(k.p95_util_pct, 4),
                     str(k.sla_violations), fmt_float(k.violation_minutes, 2),
                     fmt_float(k.instance_hours, 4), fmt_float(k.gpu_cost_eur, 2),
                     str(k.max_replicas), fmt_float(r.planner_instance_hours, 2),
                     fmt_float(k.oracle_instance_hours, 4),
                     "true" if r.planner_max_sufficient else "false",
                     "true" if within else "false"])
    return rows


EVENT_CSV_COLUMNS = ("timestamp", "model", "gpu", "demand_tokens_per_hour",
                     "effective_capacity", "replicas_prev", "replicas_new", "reason", "util_pct",
                     "trace", "grid_index")


def event_rows(grid_index: int, runs: Sequence[TraceRun]) -> Iterator[list[str]]:
    """``public_tap_scaling_events.csv`` rows of one grid point, ordered by model, GPU,
    timestamp and trace; produced model by model, so memory holds one model's events."""
    for key in sorted({(r.model, r.gpu) for r in runs}):
        frames = [r.events for r in runs if (r.model, r.gpu) == key and not r.events.empty]
        if frames:
            yield from _formatted_events(grid_index, pd.concat(frames))


def _formatted_events(grid_index: int, frame: pd.DataFrame) -> Iterator[list[str]]:
    from d3.io.writers import fmt_float

    e = frame.sort_values(["model", "gpu", "timestamp", "trace"], kind="stable")
    columns = [
        [fmt_float(x, 0) for x in e["timestamp"]], e["model"].tolist(), e["gpu"].tolist(),
        [f"{x:.2f}" for x in e["demand_tokens_per_hour"]],
        [f"{x:.2f}" for x in e["effective_capacity"]],
        e["replicas_prev"].astype(str).tolist(), e["replicas_new"].astype(str).tolist(),
        e["reason"].tolist(), [f"{x:.4f}" for x in e["util_pct"]], e["trace"].tolist(),
        [str(grid_index)] * len(e),
    ]
    for row in zip(*columns, strict=True):
        yield list(row)
