"""Benchmark the ``sensitivity`` stage's work (tornado + Sobol + rank correlations +
convergence) on the shipped inputs and settings, in process, warm (imports and JIT done).

Usage: python -m benchmarks.bench_sensitivity [--repeats 3]

Runs ``d3 run`` once into a temporary directory for the ordinary run's block and per-sample
KPI tables (what the stage reads), then times :func:`d3.sensitivity.analysis.sensitivity`.
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

from d3.catalog import path_template, read
from d3.model import model_inputs
from d3.sensitivity.analysis import sensitivity

ROOT = Path(__file__).resolve().parents[1]


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--repeats", type=int, default=3)
    args = parser.parse_args()
    inputs = model_inputs(ROOT / "inputs", ROOT / "params.yaml")
    with tempfile.TemporaryDirectory() as tmp:
        out = Path(tmp) / "out"
        subprocess.run([sys.executable, "-m", "d3", "run", "--inputs", str(ROOT / "inputs"),
                        "--out", str(out)], check=True, stdout=subprocess.DEVNULL)
        rows = read("blocks", out / path_template("blocks").removeprefix("{out}/"))
        samples = read("consolidated_sample_kpis",
                       out / path_template("consolidated_sample_kpis").removeprefix("{out}/"))
    blocks = {k: np.array([b[k] for b in rows]) for k in rows[0]}
    times, result = [], None
    for _ in range(args.repeats):
        start = time.perf_counter()
        result = sensitivity(inputs, blocks=blocks, samples=samples)
        times.append(time.perf_counter() - start)
    s, summary = inputs.plan.sensitivity, result.summary
    print(f"machine: {os.cpu_count()} cores; tornado {summary['tornado']['evaluations']} "
          f"evaluations × {s.replicates * s.simulations_per_evaluation} samples; Sobol "
          f"{summary['sobol']['parameter_sets']} parameter sets × {s.sobol_simulations} paths")
    print(f"sensitivity: min {min(times):.2f} s, median {statistics.median(times):.2f} s, "
          f"max {max(times):.2f} s over {len(times)} runs")


if __name__ == "__main__":
    main()
