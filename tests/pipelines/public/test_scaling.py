"""Demand traces for the autoscaler and the stage's autoscaling tables."""

from __future__ import annotations

import csv

import numpy as np
import pytest

from d3.core.rng import sim_stream
from d3.pipelines.public.capacity import hourly_weights
from d3.pipelines.public.scaling import noisy_trace, tick_trace
from tests.helpers import MINIMAL, invoke


def test_tick_trace_is_constant_within_the_hour_and_sums_to_the_month():
    shares = hourly_weights("diurnal", [1.0] * 12 + [3.0] * 12, 48)  # a 2-day "month"
    trace = tick_trace(np.array([4800.0, 9600.0]), shares, 900)  # 4 ticks per hour
    assert trace.shape == (2 * 48 * 4,)
    assert trace[:4].tolist() == [4800 / 96] * 4  # hour 0: weight 1 of 96 per 2 days
    # tokens per hour × 1/4 hour per tick, summed over a month's ticks = the month's tokens
    assert trace[: 48 * 4].sum() / 4 == pytest.approx(4800.0)
    assert trace[48 * 4:].sum() / 4 == pytest.approx(9600.0)
    with pytest.raises(ValueError):
        tick_trace(np.array([1.0]), shares, 7 * 60 + 1)


def test_poisson_tick_noise_is_seeded_and_unbiased():
    trace = np.full(20_000, 3600.0)  # 60 tokens per 60-s tick
    a = noisy_trace(trace, 60, sim_stream(1, "public_tap", "autoscaler.m.p50", 0, 0))
    b = noisy_trace(trace, 60, sim_stream(1, "public_tap", "autoscaler.m.p50", 0, 0))
    assert np.array_equal(a, b)
    assert a.mean() == pytest.approx(3600.0, rel=0.01)  # se ≈ √60/60/√20000 ≈ 0.1 %


def test_stage_writes_kpis_for_p50_and_p90_of_every_public_model(tmp_path):
    out = tmp_path / "out"
    assert invoke("run", "--inputs", str(MINIMAL / "inputs"), "--out", str(out)).exit_code == 0
    with (out / "public_tap_autoscaling_kpis.csv").open() as fh:
        rows = list(csv.DictReader(fh))
    keys = {(r["grid_index"], r["model"], r["trace"]) for r in rows}
    assert keys == {(str(g), m, t) for g in range(3) for m in ("Llama 3.1 8B",
                    "Mistral Small 24B") for t in ("p50", "p90")}
    with (out / "public_tap_scaling_events.csv").open() as fh:
        header = next(csv.reader(fh))
    assert header[:9] == ["timestamp", "model", "gpu", "demand_tokens_per_hour",
                          "effective_capacity", "replicas_prev", "replicas_new", "reason",
                          "util_pct"]


def test_cached_autoscaler_kpis_keep_no_events():
    import numpy as np

    from d3.pipelines.public.scaling import _trace_kpis, run_traces
    from d3.services.autoscaling import AutoscalingPolicy

    policy = AutoscalingPolicy(target_utilization_pct=70, min_instances_per_model=1,
                               max_instances_per_model=10, evaluation_interval_s=60,
                               scale_up_threshold_pct=80, scale_down_threshold_pct=30)
    kwargs = dict(model="m", gpu="g", tps=100.0, instance_eur_hr=1.0, shares=np.ones(24) / 24,
                  peak_share=0.1, hours_in_month=24, policy=policy, tick_noise="none",
                  grid_index=0)
    # A demand that swings every hour makes events; the cached KPI-only run keeps none.
    traces = {"p50": np.array([5e6, 1e7, 2e6])}
    full = run_traces(traces=traces, seed=1, **kwargs)[0]
    cached = run_traces(traces=traces, seed=1, keep_events=False, **kwargs)[0]
    assert len(full.events) > 0 and cached.events.empty and cached.kpis == full.kpis
    assert cached.events.memory_usage(deep=True).sum() < 1_000
    # Without tick noise the seed does not matter: a second seed is a cache hit.
    hits = _trace_kpis.cache_info().hits
    run_traces(traces=traces, seed=2, keep_events=False, **kwargs)
    assert _trace_kpis.cache_info().hits == hits + 1


def test_traces_on_threads_are_the_traces_one_after_another(monkeypatch):
    # The traces of a grid point run on one thread per core; results come back in call order
    # and equal a single-threaded run (events and KPIs), with tick noise on.
    import numpy as np

    import d3.pipelines.public.scaling as scaling
    from d3.services.autoscaling import AutoscalingPolicy

    policy = AutoscalingPolicy(target_utilization_pct=70, min_instances_per_model=1,
                               max_instances_per_model=10, evaluation_interval_s=60,
                               scale_up_threshold_pct=80, scale_down_threshold_pct=30)
    kwargs = dict(model="m", gpu="g", tps=100.0, instance_eur_hr=1.0, shares=np.ones(24) / 24,
                  peak_share=0.1, hours_in_month=24, policy=policy, tick_noise="poisson",
                  grid_index=0, seed=3)
    traces = {f"t{i}": np.array([5e6, 1e7 * (1 + i), 2e6]) for i in range(5)}
    threaded = scaling.run_traces(traces=traces, **kwargs)
    monkeypatch.setattr(scaling.os, "sched_getaffinity", lambda pid: {0})
    alone = scaling.run_traces(traces=traces, **kwargs)
    assert [r.trace for r in threaded] == [f"t{i}" for i in range(5)]
    assert [r.kpis for r in threaded] == [r.kpis for r in alone]
    assert all(a.events.equals(b.events) for a, b in zip(threaded, alone, strict=True))
    assert len({r.kpis.sla_violations for r in alone}) > 1  # the traces differ
