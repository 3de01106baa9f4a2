"""Where fanned-out work runs: this machine's process pool (``local``, the default) or a Dask
cluster (``dask``, issue 18).

Everything that fans out — the sample blocks of every stage, and through
:func:`d3.model.evaluate` the tornado, Sobol and solver evaluations — goes through
:func:`d3.core.chunks.map_ranges` / :func:`~d3.core.chunks.iter_ranges`. Those ask
:func:`active_client` whether a Dask session is open: with one, each chunk is a Dask task;
without, the local pool (``--max-concurrency``) runs it. The work function (a pure callable
carrying the validated inputs) is scattered to the cluster once per fan-out and every task
refers to it, so the inputs travel once, not per task. Results come back in chunk order,
whatever worker ran what or when it finished: the bytes never depend on the executor.

A worker lost mid-run is Dask's to handle: the scheduler reruns its tasks elsewhere (its
``distributed.scheduler.allowed-failures``, 3 by default), and since tasks are pure the result
is the same. DVC stays the owner of caching: the executor is a runtime option (flags or
environment variables), not a param, so switching it reruns nothing.
"""

from __future__ import annotations

import logging
import os
from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import dataclass
from typing import Any

from d3.core.errors import Issue, ValidationError

EXECUTORS = ("local", "dask")
ENV_EXECUTOR = "D3_EXECUTOR"
ENV_SCHEDULER = "D3_DASK_SCHEDULER"
CONNECT_TIMEOUT_S = 10
WORKERS_TIMEOUT_S = 120  # a cluster that starts its workers on demand (Kubernetes, HPC)

_CLIENT: ContextVar[Any] = ContextVar("d3_dask_client", default=None)


class ExecutorUnavailable(RuntimeError):
    """The Dask scheduler cannot be reached (an internal failure: exit 3, nothing written)."""


@dataclass(frozen=True)
class ExecutorChoice:
    """``kind``: ``local`` or ``dask``; ``scheduler``: a Dask scheduler address
    (``tcp://host:8786``), or ``None`` for a ``LocalCluster`` of ``workers`` single-threaded
    worker processes (``None``: one per core)."""

    kind: str = "local"
    scheduler: str | None = None
    workers: int | None = None

    @classmethod
    def of(cls, kind: str | None, scheduler: str | None,
           environ: dict[str, str] | None = None) -> ExecutorChoice:
        """The choice from flags, else the environment (``D3_EXECUTOR``,
        ``D3_DASK_SCHEDULER``), else local. A scheduler address alone means ``dask``. Raises
        ValueError for an unknown kind."""
        env = os.environ if environ is None else environ
        # An explicit --scheduler means dask, whatever the environment says.
        kind = kind or ("dask" if scheduler else None)
        scheduler = scheduler or env.get(ENV_SCHEDULER) or None
        kind = (kind or env.get(ENV_EXECUTOR) or ("dask" if scheduler else "local")).lower()
        if kind not in EXECUTORS:
            raise ValueError(f"unknown executor {kind!r}: use one of {', '.join(EXECUTORS)}")
        return cls(kind, scheduler if kind == "dask" else None)


def active_client() -> Any:
    """The Dask client of the open :func:`executor_session`, or ``None`` (run locally)."""
    return _CLIENT.get()


@contextmanager
def executor_session(choice: ExecutorChoice) -> Iterator[Any]:
    """Open the chosen executor for the block: nothing for ``local``; for ``dask`` a client of
    ``choice.scheduler``, or of a ``LocalCluster`` of single-threaded worker processes when no
    address is given. Raises :class:`ExecutorUnavailable` when the scheduler cannot be reached
    within ``CONNECT_TIMEOUT_S``, has no worker within ``WORKERS_TIMEOUT_S`` or its workers run
    other D3 code (:func:`code_fingerprint`); :class:`~d3.core.errors.ValidationError` for an
    address that is not one."""
    if choice.kind == "local":
        yield None
        return
    from distributed import Client, LocalCluster  # imported only when asked for

    cluster = client = None
    try:
        if choice.scheduler:
            client = Client(choice.scheduler, timeout=f"{CONNECT_TIMEOUT_S}s",
                            set_as_default=False)
        else:
            cluster = local_cluster(LocalCluster, choice.workers or os.cpu_count() or 1)
            client = Client(cluster, set_as_default=False)
        _same_code_everywhere(client, cluster)
    except ValueError as exc:  # distributed's parse of a malformed address
        _closed(client, cluster)
        raise ValidationError([Issue("--scheduler", "value", f"{choice.scheduler!r} is not a "
                                     f"Dask scheduler address: {exc}",
                                     "write it as tcp://HOST:PORT")]) from exc
    except (OSError, TimeoutError) as exc:
        _closed(client, cluster)
        where = (f"the Dask scheduler at {choice.scheduler}" if choice.scheduler
                 else "a local Dask cluster")
        raise ExecutorUnavailable(
            f"cannot reach {where}: {exc} — start one (`dask scheduler`, then `dask worker "
            f"ADDRESS`) or run with --executor local") from exc
    except BaseException:
        _closed(client, cluster)
        raise
    token = _CLIENT.set(client)
    try:
        yield client
    finally:
        _CLIENT.reset(token)
        _closed(client, cluster)


# Distributed's nanny starts workers with MALLOC_TRIM_THRESHOLD_=65536. Setting it switches
# off glibc's dynamic mmap threshold, so every large NumPy temporary of the engine's tasks is
# mapped and page-faulted afresh: 1.7× slower per chunk (0.53 s in process, 0.87–0.95 s on
# such a worker, docs/BENCHMARKS.md). None drops distributed's default (its documented way to
# unset it); a value set in the user's own environment is still inherited.
WORKER_ENVIRON = {"distributed.nanny.pre-spawn-environ.MALLOC_TRIM_THRESHOLD_": None}


def local_cluster(cluster_class: Any, workers: int) -> Any:
    """A ``LocalCluster`` of ``workers`` single-threaded worker processes, without the nanny's
    eager malloc trimming (:data:`WORKER_ENVIRON`)."""
    import dask.config

    with dask.config.set(WORKER_ENVIRON):
        return cluster_class(n_workers=workers, threads_per_worker=1, processes=True,
                             dashboard_address=None)


def _quiet_distributed_logs() -> None:
    logging.getLogger("distributed").setLevel(logging.CRITICAL)


def _closed(client: Any, cluster: Any) -> None:
    """Close the client, and the LocalCluster when the session started one. Its workers are
    quietened first: while the cluster shuts down after a successful run their heartbeat
    logs a "Stream is closed" ERROR traceback that read as a failure (during the run their
    warnings, e.g. memory, stay visible)."""
    logger = logging.getLogger("distributed")
    level = logger.level
    if cluster is not None and client is not None:
        try:
            client.run(_quiet_distributed_logs)
            _quiet_distributed_logs()  # this process's nannies and scheduler
        except Exception:  # noqa: BLE001 - a cluster already gone has nothing to log
            pass
    try:
        if client is not None:
            client.close()
        if cluster is not None:
            cluster.close()
    finally:
        logger.setLevel(level)


def code_fingerprint() -> str:
    """SHA-256 over the D3 package's Python sources (relative path and bytes, sorted): equal on
    the client and a worker exactly when they run the same engine code."""
    import hashlib
    from pathlib import Path

    import d3

    root = Path(d3.__file__).resolve().parent
    digest = hashlib.sha256()
    for path in sorted(root.rglob("*.py")):
        digest.update(path.relative_to(root).as_posix().encode() + b"\0" + path.read_bytes())
    return digest.hexdigest()


def _same_code_everywhere(client: Any, own_cluster: Any = None) -> None:
    """Refuse a cluster whose workers import other D3 code than this client (another commit,
    another checkout): their results would differ from a local run without a word. Checked
    once, on the workers present when the session opens (docs/DASK.md: workers that join
    later are not checked)."""
    try:
        client.wait_for_workers(1, timeout=WORKERS_TIMEOUT_S)
    except TimeoutError as exc:  # reached the scheduler, but it has nobody to run the chunks
        address = client.scheduler.address
        raise ExecutorUnavailable(
            f"the Dask scheduler at {address} has no worker after {WORKERS_TIMEOUT_S} s — "
            f"start one (`dask worker {address}`) or run with --executor local"
            if own_cluster is None else
            f"the local Dask cluster started no worker within {WORKERS_TIMEOUT_S} s — check "
            f"this machine's memory and processes, or run with --executor local") from exc
    mine = code_fingerprint()
    stale = sorted(worker for worker, theirs in client.run(code_fingerprint).items()
                   if theirs != mine)
    if stale:
        raise ExecutorUnavailable(
            f"the Dask workers {', '.join(stale)} run other D3 code than this client (sources "
            f"sha256 {mine[:12]}…) — install the same D3 version on every worker")


def call_range(fn: Any, start: int, stop: int) -> Any:
    """``fn(start, stop)``: the task each chunk runs on a Dask worker (top-level, so it pickles
    by reference; ``fn`` arrives as the scattered work function)."""
    return fn(start, stop)
