"""Benchmark the in-process model evaluation (``d3.model.evaluate``), warm, no file I/O.

Usage: python -m benchmarks.bench_evaluate [--simulations 167] [--repeats 5]

Shipped inputs (3 grid points × 4 replicates); ``--simulations`` per block sets the sample
count (167 → 2 004 samples). The first evaluation warms imports and the JIT; then three loops
are timed (min / median / max), as a sensitivity or solver loop would call it:
- ``same``: the same plan again (every autoscaler trace is a cache hit);
- ``margin``: the public target margin swept (a price knob: demand paths, hence autoscaler
  traces, unchanged — cache hits);
- ``churn``: the public churn swept (new demand paths: every autoscaler trace is simulated).
"""

from __future__ import annotations

import argparse
import os
import statistics
import time
from pathlib import Path

from d3.model import evaluate, model_inputs

ROOT = Path(__file__).resolve().parents[1]


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--simulations", type=int, default=167)
    parser.add_argument("--repeats", type=int, default=5)
    args = parser.parse_args()
    inputs = model_inputs(ROOT / "inputs", ROOT / "params.yaml").with_overrides(
        {"params.yaml:stochastic.simulations_per_run": args.simulations})
    first = evaluate(inputs)
    samples = sum(len(g.replicate_index) for g in first.grid.values())
    print(f"machine: {os.cpu_count()} cores; {samples} samples, {len(first.grid)} grid points")
    public = "inputs/operator/public_tap.yaml:"
    loops = {
        "same": [{}] * args.repeats,
        "margin": [{public + "pricing_policy.public_tap.target_margin_pct": 40 + 5 * k}
                   for k in range(args.repeats)],
        "churn": [{public + "acquisition.churn_pct_mom": 3.0 + 0.5 * k}
                  for k in range(args.repeats)],
    }
    for name, overrides in loops.items():
        times = []
        for override in overrides:
            start = time.perf_counter()
            evaluate(inputs, overrides=override)
            times.append(time.perf_counter() - start)
        print(f"evaluate, {name:6s}: min {min(times):.3f} s, median "
              f"{statistics.median(times):.3f} s, max {max(times):.3f} s over {len(times)} runs")

if __name__ == "__main__":
    main()
