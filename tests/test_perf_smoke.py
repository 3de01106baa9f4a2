"""Performance smoke test (issue 14): twice the samples must cost less than 2.5× the time and
1.5× the peak memory of the smaller run — a ratio, never a wall-clock time.

Two ``d3 run`` subprocesses on the shipped inputs, both lines, 60 months: 3 grid points × 4
replicates × 250 Monte Carlo paths (3 000 samples) against × 500 (6 000 samples, the shipped
plan's size), with the tornado, Sobol and solver switched off (they do not scale with the
plan's samples). Each run is wrapped in its own Python process that reports the peak RSS of
its child (``RUSAGE_CHILDREN``), so the measurement is the run's alone.

What it catches: work or memory that grows faster than the samples (a quadratic step, a copy
per sample). What it cannot show: the memory bound at a million samples, where the per-sample
series dominate — that is ``benchmarks/bench_end_to_end.py`` (docs/BENCHMARKS.md).
"""

from __future__ import annotations

import subprocess
import sys
import time
from pathlib import Path

from ruamel.yaml import YAML

from tests.helpers import ROOT

PEAK_RSS_OF_CHILD = (
    "import resource, subprocess, sys\n"
    "subprocess.run(sys.argv[1:], check=True, stdout=subprocess.DEVNULL)\n"
    "print(resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss)\n"
)


def plan_with(tmp_path: Path, simulations: int) -> Path:
    yaml = YAML(typ="safe", pure=True)
    plan = yaml.load((ROOT / "params.yaml").read_text(encoding="utf-8"))
    plan["stochastic"]["simulations_per_run"] = simulations
    plan["sensitivity"].update(tornado=False, sobol=False)
    plan["solve"]["decisions"] = []
    path = tmp_path / f"params_{simulations}.yaml"
    with path.open("w", encoding="utf-8") as fh:
        yaml.dump(plan, fh)
    return path


def time_and_peak_rss(tmp_path: Path, simulations: int) -> tuple[float, int]:
    """Wall seconds and peak RSS (KiB) of one ``d3 run``."""
    command = [sys.executable, "-c", PEAK_RSS_OF_CHILD, sys.executable, "-m", "d3", "run",
               "--inputs", str(ROOT / "inputs"), "--params", str(plan_with(tmp_path, simulations)),
               "--out", str(tmp_path / f"out_{simulations}"), "--quiet"]
    start = time.perf_counter()
    proc = subprocess.run(command, capture_output=True, text=True, check=True, cwd=ROOT)
    return time.perf_counter() - start, int(proc.stdout.split()[-1])


def test_twice_the_samples_costs_less_than_twice_and_a_half_the_time_and_half_again_the_memory(
        tmp_path):
    time_1x, rss_1x = time_and_peak_rss(tmp_path, 250)
    time_2x, rss_2x = time_and_peak_rss(tmp_path, 500)
    assert time_2x < 2.5 * time_1x, (time_1x, time_2x)
    assert rss_2x < 1.5 * rss_1x, (rss_1x, rss_2x)
