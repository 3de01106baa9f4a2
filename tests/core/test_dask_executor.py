"""The Dask executor (issue 18): a real ``dask scheduler`` and ``dask worker`` processes on
127.0.0.1 (the CLI entry points of the ``distributed`` package) run the shipped plan, and the
output tree equals a local run's byte for byte — also when a worker is killed mid-run — and an
unreachable scheduler is exit 3 with nothing written.

The plan is the shipped one (inputs/, params.yaml: 3 grid points × 4 replicates × 500 paths)
with the tornado, Sobol and solver budgets shrunk as in tests/dvc (they re-evaluate the model
and fan out the same way, through the same chunks), and one block per chunk, so each fan-out is
12 Dask tasks.
"""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
from pathlib import Path

import pytest
from ruamel.yaml import YAML

from tests.helpers import ROOT

BIN = Path(sys.executable).parent


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def small_plan(tmp_path: Path) -> Path:
    yaml = YAML(typ="safe", pure=True)
    plan = yaml.load((ROOT / "params.yaml").read_text(encoding="utf-8"))
    plan["solve"].update(trials=4, startup_trials=2, confirm=1, screen_simulations_per_run=40)
    plan["sensitivity"].update(replicates=1, simulations_per_evaluation=40,
                               sobol_base_samples=8, sobol_simulations=4)
    path = tmp_path / "params.yaml"
    with path.open("w", encoding="utf-8") as fh:
        yaml.dump(plan, fh)
    return path


def d3_run(params: Path, out: Path, *extra: str) -> subprocess.Popen:
    return subprocess.Popen(
        [sys.executable, "-m", "d3", "run", "--inputs", str(ROOT / "inputs"), "--params",
         str(params), "--out", str(out), "--chunk-blocks", "1", "--quiet", *extra],
        cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)


def finished(proc: subprocess.Popen) -> tuple[int, str]:
    _, err = proc.communicate(timeout=900)
    return proc.returncode, err


def tree(root: Path) -> dict[str, bytes]:
    return {p.relative_to(root).as_posix(): p.read_bytes() for p in sorted(root.rglob("*"))
            if p.is_file()}


def start_worker(address: str, name: str, log: Path) -> subprocess.Popen:
    # --no-nanny: the worker is this process, so killing it loses the worker (a nanny would
    # restart it). PYTHONPATH: the workers import this checkout's d3, as the client does (the
    # session refuses workers with other code).
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    return subprocess.Popen([str(BIN / "dask"), "worker", address, "--nthreads", "1",
                             "--no-nanny", "--no-dashboard", "--name", name],
                            stdout=log.open("w"), stderr=subprocess.STDOUT, cwd=ROOT, env=env)


def address_of(client, name: str) -> str:
    return next(a for a, w in client.scheduler_info()["workers"].items() if w["name"] == name)


def call_range_counts(client) -> dict[str, int]:
    """How many chunk tasks the scheduler has seen reach each state."""
    def counts(dask_scheduler):
        prefix = dask_scheduler.task_prefixes.get("call_range")
        return dict(prefix.state_counts) if prefix is not None else {}
    return client.run_on_scheduler(counts)


@pytest.fixture(scope="module")
def cluster(tmp_path_factory):
    """A scheduler and two single-threaded workers on 127.0.0.1; yields (address, client)."""
    from distributed import Client

    logs = tmp_path_factory.mktemp("dask")
    port = free_port()
    address = f"tcp://127.0.0.1:{port}"
    procs = [subprocess.Popen([str(BIN / "dask"), "scheduler", "--host", "127.0.0.1", "--port",
                               str(port), "--no-dashboard"],
                              stdout=(logs / "scheduler.log").open("w"),
                              stderr=subprocess.STDOUT, cwd=ROOT)]
    client = None
    try:
        procs += [start_worker(address, f"w{i}", logs / f"w{i}.log") for i in (1, 2)]
        client = Client(address, timeout="30s", set_as_default=False)
        client.wait_for_workers(2, timeout=60)
        yield address, client
    finally:
        if client is not None:
            client.close()
        for proc in reversed(procs):
            proc.kill()
            proc.wait()


@pytest.fixture(scope="module")
def local_run(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("local")
    params = small_plan(tmp)
    code, err = finished(d3_run(params, tmp / "out"))
    assert code == 0, err
    return params, tree(tmp / "out")


def test_two_dask_workers_give_the_local_runs_bytes(cluster, local_run, tmp_path):
    address, client = cluster
    params, local = local_run
    before = call_range_counts(client).get("memory", 0)
    code, err = finished(d3_run(params, tmp_path / "out", "--executor", "dask", "--scheduler",
                                address))
    assert code == 0, err
    assert tree(tmp_path / "out") == local
    # The chunks did run on the cluster: at least the 12 blocks of each of the variables,
    # public demand and private clients fan-outs (plus the analyses' evaluations).
    assert call_range_counts(client).get("memory", 0) - before >= 3 * 12


def test_a_worker_killed_mid_run_changes_nothing(cluster, local_run, tmp_path):
    address, client = cluster
    params, local = local_run
    doomed = start_worker(address, "doomed", tmp_path / "doomed.log")
    try:
        client.wait_for_workers(3, timeout=60)
        where = address_of(client, "doomed")
        run = d3_run(params, tmp_path / "out", "--scheduler", address)
        # Kill it while it holds a chunk: its task must be rerun elsewhere.
        while not client.processing(workers=[where]).get(where):
            assert run.poll() is None, "the run ended before the worker held a chunk"
            time.sleep(0.02)
        doomed.kill()
        doomed.wait()
        code, err = finished(run)
    finally:
        doomed.kill()
    assert code == 0, err
    assert tree(tmp_path / "out") == local
    assert where not in client.scheduler_info()["workers"]  # it was lost, not idle


def test_an_unreachable_scheduler_is_exit_3_and_nothing_is_written(local_run, tmp_path):
    params, _ = local_run
    closed = f"tcp://127.0.0.1:{free_port()}"  # bound and released: nothing listens there
    code, err = finished(d3_run(params, tmp_path / "out", "--scheduler", closed))
    assert code == 3
    assert f"cannot reach the Dask scheduler at {closed}" in err
    assert "--executor local" in err
    # the cluster's fault, said as such: no "internal error: ExecutorUnavailable" class name
    assert f"error: cannot reach the Dask scheduler at {closed}" in err
    assert "internal error" not in err and "ExecutorUnavailable" not in err
    assert not (tmp_path / "out").exists()
