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

import os
from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import dataclass
from typing import Any

EXECUTORS = ("local", "dask")
ENV_EXECUTOR = "D3_EXECUTOR"
ENV_SCHEDULER = "D3_DASK_SCHEDULER"
CONNECT_TIMEOUT_S = 10

_CLIENT: ContextVar[Any] = ContextVar("d3_dask_client", default=None)


class ExecutorUnavailable(RuntimeError):
    """The Dask scheduler cannot be reached (an internal failure: exit 3, nothing written)."""


@dataclass(frozen=True)
class ExecutorChoice:
    """``kind``: ``local`` or ``dask``; ``scheduler``: a Dask scheduler address
    (``tcp://host:8786``), or ``None`` for a ``LocalCluster`` sized to this machine."""

    kind: str = "local"
    scheduler: str | None = None

    @classmethod
    def of(cls, kind: str | None, scheduler: str | None,
           environ: dict[str, str] | None = None) -> ExecutorChoice:
        """The choice from flags, else the environment (``D3_EXECUTOR``,
        ``D3_DASK_SCHEDULER``), else local. A scheduler address alone means ``dask``. Raises
        ValueError for an unknown kind."""
        env = os.environ if environ is None else environ
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
    ``choice.scheduler``, or of a ``LocalCluster`` with one single-threaded worker process per
    core when no address is given. Raises :class:`ExecutorUnavailable` when the scheduler
    cannot be reached within ``CONNECT_TIMEOUT_S``."""
    if choice.kind == "local":
        yield None
        return
    from distributed import Client, LocalCluster  # imported only when asked for

    cluster = None
    try:
        if choice.scheduler:
            client = Client(choice.scheduler, timeout=f"{CONNECT_TIMEOUT_S}s",
                            set_as_default=False)
        else:
            cluster = LocalCluster(n_workers=os.cpu_count() or 1, threads_per_worker=1,
                                   processes=True, dashboard_address=None)
            client = Client(cluster, set_as_default=False)
    except (OSError, TimeoutError) as exc:
        raise ExecutorUnavailable(
            f"cannot reach the Dask scheduler at {choice.scheduler}: {exc} — start one "
            f"(`dask scheduler`, then `dask worker ADDRESS`) or run with --executor local"
        ) from exc
    token = _CLIENT.set(client)
    try:
        yield client
    finally:
        _CLIENT.reset(token)
        client.close()
        if cluster is not None:
            cluster.close()


def call_range(fn: Any, start: int, stop: int) -> Any:
    """``fn(start, stop)``: the task each chunk runs on a Dask worker (top-level, so it pickles
    by reference; ``fn`` arrives as the scattered work function)."""
    return fn(start, stop)
