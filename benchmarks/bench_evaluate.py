"""Benchmark the in-process model evaluation (``d3.model.evaluate``), warm, no file I/O.

Usage: python -m benchmarks.bench_evaluate [--simulations 167] [--repeats 5]

Shipped inputs (3 grid points × 4 replicates); ``--simulations`` per block sets the sample
count (167 → 2 004 samples). The first evaluation warms imports and caches; the next
``--repeats`` are timed (min / median / max), as a sensitivity or solver loop would call it.
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
    times = []
    for _ in range(args.repeats):
        start = time.perf_counter()
        evaluate(inputs)
        times.append(time.perf_counter() - start)
    print(f"machine: {os.cpu_count()} cores; {samples} samples, {len(first.grid)} grid points")
    print(f"evaluate (warm): min {min(times):.3f} s, median {statistics.median(times):.3f} s, "
          f"max {max(times):.3f} s over {args.repeats} runs")


if __name__ == "__main__":
    main()
