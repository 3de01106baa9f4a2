"""Benchmark the streaming evaluation (``d3.model.evaluate``, consolidation in the workers) at
large sample counts: wall time, CPU/wall and the peak memory of the whole process tree.

Usage: python -m benchmarks.bench_streaming [--samples 100000 300000 1000000]
       [--replicates 100] [--percentile-samples 20000] [--workers 2] [--chunk-blocks 2]

Shipped inputs, both lines, 60 months; 3 grid points × ``--replicates`` replicates ×
``samples / (3 × replicates)`` Monte Carlo paths. Each size runs in a fresh process (so the
memory figure is that run's alone) with the acceptance criteria (autoscaler included) and
the monthly percentile paths of every statement line, over a stratified subsample of
``--percentile-samples`` per grid point (``0``: every sample). Memory is the largest sum of
the resident set sizes of the process and its workers, sampled every 50 ms (psutil).
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import subprocess
import sys
import threading
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def _tree_rss_bytes(proc) -> int:
    import psutil

    total = 0
    for p in [proc, *proc.children(recursive=True)]:
        with contextlib.suppress(psutil.Error):  # a worker that just ended
            total += p.memory_info().rss
    return total


def one_run(samples: int, replicates: int, percentile_samples: int, workers: int,
            chunk_blocks: int) -> dict:
    """Evaluate once in this process; returns the figures as a dict."""
    import psutil

    from d3.model import evaluate, model_inputs

    sims = max(1, round(samples / (3 * replicates)))
    inputs = model_inputs(ROOT / "inputs", ROOT / "params.yaml").with_overrides({
        "params.yaml:stochastic.simulations_per_run": sims,
        "params.yaml:run.random_runs_per_simulation": replicates,
        "params.yaml:run.chunk_blocks": chunk_blocks,
        "params.yaml:stochastic.percentile_samples": percentile_samples or None})
    me = psutil.Process()
    peak = [0]
    stop = threading.Event()

    def sample() -> None:
        while not stop.is_set():
            peak[0] = max(peak[0], _tree_rss_bytes(me))
            time.sleep(0.05)

    watcher = threading.Thread(target=sample, daemon=True)
    watcher.start()
    cpu0 = me.cpu_times()
    start = time.perf_counter()
    result = evaluate(inputs, max_concurrency=workers, paths=True)
    wall = time.perf_counter() - start
    stop.set()
    watcher.join()
    cpu1 = me.cpu_times()
    cpu = (cpu1.user - cpu0.user + cpu1.system - cpu0.system
           + cpu1.children_user - cpu0.children_user
           + cpu1.children_system - cpu0.children_system)
    n = sum(len(g.replicate_index) for g in result.grid.values())
    return {"samples": n, "simulations_per_run": sims, "wall_s": round(wall, 2),
            "cpu_per_wall": round(cpu / wall, 2), "peak_tree_rss_mb": round(peak[0] / 2**20),
            "accepted": result.accepted}


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--samples", type=int, nargs="+", default=[100_000, 300_000, 1_000_000])
    parser.add_argument("--replicates", type=int, default=100)
    parser.add_argument("--percentile-samples", type=int, default=20_000)
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--chunk-blocks", type=int, default=2)
    parser.add_argument("--one", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.one:
        print(json.dumps(one_run(args.samples[0], args.replicates, args.percentile_samples,
                                 args.workers, args.chunk_blocks)))
        return
    print(f"machine: {os.cpu_count()} cores; workers {args.workers}, replicates "
          f"{args.replicates}, chunk_blocks {args.chunk_blocks}, percentile subsample "
          f"{args.percentile_samples or 'every sample'} per grid point")
    for samples in args.samples:
        proc = subprocess.run(
            [sys.executable, "-m", "benchmarks.bench_streaming", "--one", "--samples",
             str(samples), "--replicates", str(args.replicates), "--percentile-samples",
             str(args.percentile_samples), "--workers", str(args.workers), "--chunk-blocks",
             str(args.chunk_blocks)], cwd=ROOT, capture_output=True, text=True, check=False)
        if proc.returncode:
            print(f"{samples}: exit {proc.returncode}\n{proc.stderr[-2000:]}")
            continue
        r = json.loads(proc.stdout.strip().splitlines()[-1])
        print(f"{r['samples']:>9} samples ({r['simulations_per_run']} per block): "
              f"{r['wall_s']:.1f} s, CPU/wall {r['cpu_per_wall']:.2f}, peak RSS (tree) "
              f"{r['peak_tree_rss_mb']} MB, accepted {r['accepted']}")


if __name__ == "__main__":
    main()
