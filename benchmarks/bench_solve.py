"""Benchmark the ``solve`` stage's work (your plan, screening, confirmation, polish,
attribution, re-check) on the shipped inputs and ``solve`` settings, in process.

Usage: python -m benchmarks.bench_solve [--repeats 1]

The first run is cold (imports, numba JIT of the autoscaler kernel, scipy); it is what a
``dvc repro`` pays. Prints the evaluations per phase and the samples of one evaluation.
"""

from __future__ import annotations

import argparse
import os
import statistics
import time
from pathlib import Path

from d3.model import model_inputs
from d3.solve.solver import solve

ROOT = Path(__file__).resolve().parents[1]


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--repeats", type=int, default=1)
    args = parser.parse_args()
    times, best = [], None
    for _ in range(args.repeats):
        start = time.perf_counter()
        inputs = model_inputs(ROOT / "inputs", ROOT / "params.yaml")
        best = solve(inputs).best
        times.append(time.perf_counter() - start)
    n = best["evaluations"]
    print(f"machine: {os.cpu_count()} cores; {len(inputs.plan.solve.decisions)} decisions; "
          f"evaluations: {n['current']} of your plan × {n['full_samples_per_evaluation']} "
          f"samples, {n['screen']} screening ({n['trials']} trials) × "
          f"{n['screen_samples_per_evaluation']} samples, {n['confirm']} confirmation + "
          f"{n['polish']} polish + {n['attribution']} attribution + {n['recheck']} re-check "
          f"at the full count; {n['total']} in all")
    print(f"status {best['status']}; {best['command']}")
    print(f"solve: min {min(times):.2f} s, median {statistics.median(times):.2f} s, "
          f"max {max(times):.2f} s over {len(times)} runs")


if __name__ == "__main__":
    main()
