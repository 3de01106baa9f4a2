"""End-to-end ``d3 run --max-concurrency 2`` at a chosen sample count: wall time and peak
memory (largest resident set of the run and its workers).

Usage: python -m benchmarks.bench_end_to_end [--samples 100000] [--workers 2]

Copies the shipped inputs, sets replicates so grid × replicates × Monte Carlo ≈ --samples,
and runs the whole pipeline into a temporary directory.
"""

from __future__ import annotations

import argparse
import resource
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from ruamel.yaml import YAML

ROOT = Path(__file__).resolve().parents[1]


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--samples", type=int, default=100_000)
    parser.add_argument("--simulations", type=int, default=1000)
    parser.add_argument("--workers", type=int, default=2)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        tmp = Path(tmp)
        shutil.copytree(ROOT / "inputs", tmp / "inputs")
        yaml = YAML(typ="safe", pure=True)
        plan = yaml.load((ROOT / "params.yaml").read_text())
        grid = 3  # the shipped grid (pub_target_margin 45/55/65)
        plan["stochastic"]["simulations_per_run"] = args.simulations
        plan["run"]["random_runs_per_simulation"] = max(1, round(args.samples / grid /
                                                                 args.simulations))
        with (tmp / "params.yaml").open("w") as fh:
            yaml.dump(plan, fh)
        start = time.perf_counter()
        proc = subprocess.run([sys.executable, "-m", "d3", "run", "--inputs", str(tmp / "inputs"),
                               "--out", str(tmp / "out"), "--params", str(tmp / "params.yaml"),
                               "--max-concurrency", str(args.workers)],
                              stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True,
                              check=False)
        seconds = time.perf_counter() - start
        peak_mb = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024
        size = sum(p.stat().st_size for p in (tmp / "out").rglob("*") if p.is_file())
        samples = grid * plan["run"]["random_runs_per_simulation"] * args.simulations
        print(f"samples {samples} × 60 months, workers {args.workers}: exit {proc.returncode}, "
              f"{seconds:.1f} s, peak RSS {peak_mb:.0f} MB, outputs {size / 1e6:.0f} MB")
        if proc.returncode:
            print(proc.stderr[-2000:])


if __name__ == "__main__":
    main()
