"""The benchmark scripts still run (a script that no longer builds its context is a broken
measurement, found only when someone needs the figure): each on a tiny sample, one worker,
checking the figures it prints."""

from __future__ import annotations

import re
import subprocess
import sys

import pytest

from tests.helpers import ROOT


@pytest.mark.parametrize("script", ["bench_public_demand", "bench_private_clients"])
def test_the_kernel_benchmarks_run_and_print_their_rate(script):
    # 3 000 samples / 1 000 paths per block = 3 blocks of 1 000 paths × 60 months = 0.18 M.
    proc = subprocess.run([sys.executable, "-m", f"benchmarks.{script}", "--samples", "3000",
                           "--workers", "1"], cwd=ROOT, capture_output=True, text=True,
                          check=False)
    assert proc.returncode == 0, proc.stderr
    assert "3 blocks × 1000 simulations × 60 months = 0.2 M sample-months" in proc.stdout
    assert re.search(r"workers 1: [0-9.]+ s, [0-9.]+ M sample-months/s", proc.stdout)


def test_the_autoscaler_benchmark_runs_and_prints_its_rates():
    # 10 models × p50/p90 = 20 traces × 1 month × 720 hours × 60 ticks = 0.9 M ticks.
    proc = subprocess.run([sys.executable, "-m", "benchmarks.bench_autoscaler", "--months", "1"],
                          cwd=ROOT, capture_output=True, text=True, check=False)
    assert proc.returncode == 0, proc.stderr
    assert "20 traces (10 models × p50/p90), 0.9 M ticks" in proc.stdout
    for what in ("kernel only", r"simulate_autoscaler \(kernel \+ events \+ KPIs\)",
                 "simulate_autoscaler KPIs only, hourly trace"):
        assert re.search(what + r": [0-9.]+ s, [0-9.]+ M ticks/s", proc.stdout), what

