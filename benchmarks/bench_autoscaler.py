"""Benchmark the threshold autoscaler: ticks per second on one core.

Usage: python -m benchmarks.bench_autoscaler [--months 60] [--interval 60]

Every public model of the shipped inputs × the p50 and p90 traces × ``--months`` months at
``--interval`` seconds per tick (60 months at 60 s ≈ 2.6 M ticks per trace), diurnal profile,
run three ways: the compiled kernel alone on the per-tick trace; ``simulate_autoscaler`` with
its events table and per-tick series (the ``public_capacity`` stage's run); and the KPI-only
run the model's evaluations make (solver, sensitivity): the hourly trace held for its ticks,
no per-tick array. The first call compiles (numba cache) and is excluded. One core.
"""

from __future__ import annotations

import argparse
import time
from pathlib import Path

import numpy as np

from d3.core.validator import validated_inputs
from d3.io.loader import read_inputs_tree
from d3.pipelines.common.catalog import catalog_from_validated
from d3.pipelines.public.capacity import hourly_weights
from d3.pipelines.public.catalog import public_cost_rows
from d3.pipelines.public.gpu_costs import best_rows
from d3.pipelines.public.pricing import price_card
from d3.pipelines.public.scaling import hourly_trace, tick_trace, ticks_per_hour
from d3.services.autoscaling import AutoscalingPolicy, simulate_autoscaler
from d3.services.autoscaling_kernel import threshold_kernel

ROOT = Path(__file__).resolve().parents[1]


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--months", type=int, default=60)
    parser.add_argument("--interval", type=float, default=60.0)
    args = parser.parse_args()
    v = validated_inputs(read_inputs_tree(ROOT / "inputs", ROOT / "params.yaml"))
    fx = v.market.finance.eur_usd_fx_rate.value
    best = best_rows(public_cost_rows(catalog_from_validated(v), v.public, eur_usd_fx_rate=fx))
    card = price_card(best, v.public)
    policy = AutoscalingPolicy.from_operator(v.public.autoscaling)
    from dataclasses import replace
    policy = replace(policy, evaluation_interval_s=args.interval)
    shares = hourly_weights(v.public.demand_profile.type, v.public.demand_profile.hourly_weights,
                            int(v.general.calendar.hours_in_month))
    # p50/p90-like monthly token paths: 2 % and 4 % monthly growth from 2 B tokens/month.
    months = np.arange(args.months)
    paths = {"p50": 2e9 * 1.02 ** months, "p90": 2e9 * 1.04 ** months}
    traces = [(m, name, tick_trace(path * card.mix[m], shares, args.interval))
              for m in sorted(card.mix) for name, path in paths.items()]
    hourly = [(m, hourly_trace(path * card.mix[m], shares))
              for m in sorted(card.mix) for path in paths.values()]
    simulate_autoscaler(traces[0][2][:1000], best[traces[0][0]].tps * 3600, policy)  # compile
    ticks = sum(len(t) for _, _, t in traces)
    start = time.perf_counter()
    for m, _, trace in traces:
        c = best[m].tps * 3600
        threshold_kernel(trace, 1, c, policy.evaluation_interval_s,
                         policy.target_utilization_pct, policy.min_instances_per_model,
                         policy.max_instances_per_model, policy.scale_up_threshold_pct,
                         policy.scale_down_threshold_pct, policy.scale_up_step_replicas,
                         policy.scale_down_step_replicas, policy.stabilization_window_s,
                         policy.warmup_s, policy.cooldown_s, policy.count_pending, 10.0, 1,
                         len(trace), False)
    kernel = time.perf_counter() - start
    start = time.perf_counter()
    for m, _, trace in traces:
        simulate_autoscaler(trace, best[m].tps * 3600, policy, model=m)
    full = time.perf_counter() - start
    per_hour = ticks_per_hour(args.interval)
    start = time.perf_counter()
    for m, trace in hourly:
        simulate_autoscaler(trace, best[m].tps * 3600, policy, model=m, with_events=False,
                            ticks_per_value=per_hour)
    lean = time.perf_counter() - start
    print(f"{len(traces)} traces ({len(card.mix)} models × p50/p90), {ticks / 1e6:.1f} M ticks")
    print(f"kernel only: {kernel:.2f} s, {ticks / kernel / 1e6:.1f} M ticks/s (one core)")
    print(f"simulate_autoscaler (kernel + events + KPIs): {full:.2f} s, "
          f"{ticks / full / 1e6:.1f} M ticks/s")
    print(f"simulate_autoscaler KPIs only, hourly trace: {lean:.2f} s, "
          f"{ticks / lean / 1e6:.1f} M ticks/s")


if __name__ == "__main__":
    main()
