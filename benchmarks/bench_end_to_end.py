"""End-to-end ``d3 run --max-concurrency 2`` at a chosen sample count: wall time, CPU/wall,
the peak memory of the whole process tree, the outputs on disk and each stage's wall time.

Usage: python -m benchmarks.bench_end_to_end [--samples 100000] [--simulations 1000]
       [--workers 2] [--percentile-samples N] [--chunk-blocks 2]
       [--solve-confirm-simulations N] [--solve-screen-replicates N]

Copies the shipped inputs, sets replicates so grid × replicates × Monte Carlo ≈ --samples,
and runs the whole pipeline (every stage of ``dvc repro``, the sensitivity and solve stages
included) into a temporary directory. ``--percentile-samples`` sets the plan's
``stochastic.percentile_samples`` (monthly statistics over a stratified subsample; every KPI
and probability still over every sample); ``--solve-confirm-simulations`` and
``--solve-screen-replicates`` set the solver's ``solve.confirm_simulations_per_run`` and
``solve.screen_replicates`` (its full-count evaluations otherwise scale with the plan).
Memory is the largest sum of the resident set sizes of the run and its workers, sampled every
50 ms (psutil); ``max single`` is the largest one process (``getrusage``), the figure earlier
rows of docs/BENCHMARKS.md report.
"""

from __future__ import annotations

import argparse
import json
import resource
import shutil
import subprocess
import sys
import tempfile
import time
from datetime import datetime
from pathlib import Path

import psutil
from ruamel.yaml import YAML

ROOT = Path(__file__).resolve().parents[1]


def _plan(tmp: Path, args) -> int:
    """Write the benchmark's plan into ``tmp``; returns its sample count."""
    yaml = YAML(typ="safe", pure=True)
    plan = yaml.load((ROOT / "params.yaml").read_text())
    grid = 3  # the shipped grid (pub_target_margin 45/55/65)
    replicates = max(1, round(args.samples / grid / args.simulations))
    plan["stochastic"]["simulations_per_run"] = args.simulations
    plan["stochastic"]["percentile_samples"] = args.percentile_samples
    plan["run"]["random_runs_per_simulation"] = replicates
    plan["run"]["chunk_blocks"] = args.chunk_blocks
    plan["solve"]["confirm_simulations_per_run"] = args.solve_confirm_simulations
    plan["solve"]["screen_replicates"] = args.solve_screen_replicates
    with (tmp / "params.yaml").open("w") as fh:
        yaml.dump(plan, fh)
    return grid * replicates * args.simulations


def _tree_rss(proc: psutil.Process) -> int:
    total = 0
    for p in [proc, *proc.children(recursive=True)]:
        try:
            total += p.memory_info().rss
        except psutil.Error:  # a worker that just ended
            continue
    return total


def _stage_seconds(log: str) -> dict[str, float]:
    """Each stage's wall time from the JSONL ``stage_start``/``stage_done`` events (1 s
    resolution)."""
    start, out = {}, {}
    for line in log.splitlines():
        if not line.startswith("{"):
            continue
        event = json.loads(line)
        if event.get("event") in ("stage_start", "stage_done"):
            t = datetime.fromisoformat(event["ts"].replace("Z", "+00:00")).timestamp()
            if event["event"] == "stage_start":
                start[event["stage"]] = t
            else:
                out[event["stage"]] = t - start[event["stage"]]
    return out


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--samples", type=int, default=100_000)
    parser.add_argument("--simulations", type=int, default=1000)
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--percentile-samples", type=int, default=None)
    parser.add_argument("--chunk-blocks", type=int, default=2)
    parser.add_argument("--solve-confirm-simulations", type=int, default=None)
    parser.add_argument("--solve-screen-replicates", type=int, default=None)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        tmp = Path(tmp)
        shutil.copytree(ROOT / "inputs", tmp / "inputs")
        samples = _plan(tmp, args)
        start = time.perf_counter()
        log = tmp / "run.log"
        with log.open("w") as sink:  # a file, not a pipe: a full pipe would stall the run
            proc = psutil.Popen([sys.executable, "-m", "d3", "run", "--inputs",
                                 str(tmp / "inputs"), "--out", str(tmp / "out"), "--params",
                                 str(tmp / "params.yaml"), "--max-concurrency",
                                 str(args.workers), "--log-format", "json"],
                                stdout=sink, stderr=subprocess.STDOUT)
            peak = 0
            while proc.poll() is None:
                peak = max(peak, _tree_rss(proc))
                time.sleep(0.05)
        output = log.read_text()
        seconds = time.perf_counter() - start
        # Every waited-for descendant (the run and its workers): CPU seconds and the largest
        # single resident set.
        usage = resource.getrusage(resource.RUSAGE_CHILDREN)
        cpu, single_mb = usage.ru_utime + usage.ru_stime, usage.ru_maxrss / 1024
        size = sum(p.stat().st_size for p in (tmp / "out").rglob("*") if p.is_file())
        print(f"samples {samples} × 60 months, workers {args.workers}, percentile subsample "
              f"{args.percentile_samples or 'every sample'}, solve confirm simulations "
              f"{args.solve_confirm_simulations or 'the plan'}: exit {proc.returncode}, "
              f"{seconds:.1f} s, CPU/wall {cpu / seconds:.2f}, peak RSS "
              f"(tree) {peak / 2**20:.0f} MB (max single {single_mb:.0f} MB), outputs "
              f"{size / 1e6:.0f} MB")
        stages = _stage_seconds(output)
        print("stages (s): " + ", ".join(f"{k} {v:.0f}" for k, v in stages.items()))
        if proc.returncode:
            print(output[-2000:])


if __name__ == "__main__":
    main()
