"""The executor choice from flags and environment, the code fingerprint the Dask session
compares, and a ValidationError that survives a process boundary (issue 18)."""

from __future__ import annotations

import pickle
from concurrent.futures import CancelledError

import pytest

from d3.core.errors import Issue, ValidationError
from d3.core.executor import ExecutorChoice, code_fingerprint


@pytest.mark.parametrize(("kind", "scheduler", "env", "expected"), [
    (None, None, {}, ExecutorChoice("local", None)),
    ("dask", None, {}, ExecutorChoice("dask", None)),  # no address: a LocalCluster
    (None, "tcp://h:1", {}, ExecutorChoice("dask", "tcp://h:1")),  # an address means dask
    (None, None, {"D3_DASK_SCHEDULER": "tcp://e:2"}, ExecutorChoice("dask", "tcp://e:2")),
    (None, None, {"D3_EXECUTOR": "DASK"}, ExecutorChoice("dask", None)),
    # an explicit --scheduler wins over D3_EXECUTOR=local in the environment
    (None, "tcp://h:1", {"D3_EXECUTOR": "local"}, ExecutorChoice("dask", "tcp://h:1")),
    # an explicit --executor local wins over an address in the environment
    ("local", None, {"D3_DASK_SCHEDULER": "tcp://e:2"}, ExecutorChoice("local", None)),
])
def test_the_choice_from_flags_then_environment(kind, scheduler, env, expected):
    assert ExecutorChoice.of(kind, scheduler, env) == expected


def test_an_unknown_executor_is_refused():
    with pytest.raises(ValueError, match="unknown executor 'spark': use one of local, dask"):
        ExecutorChoice.of("spark", None, {})


def test_the_fingerprint_is_a_sha256_of_the_sources_and_stable():
    first = code_fingerprint()
    assert len(first) == 64 and int(first, 16) >= 0
    assert code_fingerprint() == first


def test_a_validation_error_crosses_a_process_boundary_intact():
    # A worker (pool or Dask) that raises it pickles it; it must come back as a
    # ValidationError (exit 2), not as a broken pool or an unpickling error (exit 3).
    error = ValidationError([Issue("f.yaml", "a.b", "bad", "fix it")])
    back = pickle.loads(pickle.dumps(error))
    assert type(back) is ValidationError
    assert [i.line() for i in back.issues] == ["f.yaml:a.b: bad — fix it"]


def _malloc_trim_threshold():
    import os

    return os.environ.get("MALLOC_TRIM_THRESHOLD_")


def test_the_local_cluster_workers_do_not_trim_malloc_eagerly(monkeypatch):
    # distributed's default would start them with MALLOC_TRIM_THRESHOLD_=65536 (1.7× slower
    # chunks, docs/BENCHMARKS.md); D3's LocalCluster removes it, and only for its workers.
    import dask.config
    import distributed  # noqa: F401  (loads distributed's configuration defaults)

    from d3.core.executor import ExecutorChoice, executor_session

    monkeypatch.delenv("MALLOC_TRIM_THRESHOLD_", raising=False)
    before = dask.config.get("distributed.nanny.pre-spawn-environ")
    with executor_session(ExecutorChoice("dask", None, 1)) as client:
        assert list(client.run(_malloc_trim_threshold).values()) == [None]
    # the process-wide configuration is left as it was
    assert dask.config.get("distributed.nanny.pre-spawn-environ") == before


class _Future:
    """distributed's future: ``status`` "error" when the task itself raised, "cancelled" when
    the scheduler dropped it."""

    def __init__(self, exc=None, value=None, status=None):
        self.exc, self.value = exc, value
        self.status = status or ("finished" if exc is None else "cancelled")

    def result(self):
        if self.exc is not None:
            raise self.exc
        return self.value


class _LostClient:
    """A client whose scheduler is gone after the first chunk: later futures are cancelled
    (what distributed does to them) or their connection closes."""

    def __init__(self, exc, status=None):
        self.exc, self.status, self.submitted, self.cancelled = exc, status, 0, []

    def scatter(self, fn, **kwargs):
        return fn

    def submit(self, call, fn, start, stop, pure):
        self.submitted += 1
        return (_Future(value=stop - start) if start == 0
                else _Future(exc=self.exc, status=self.status))

    def cancel(self, futures):
        self.cancelled.append(len(futures))


def _length(start, stop):
    return stop - start


@pytest.mark.parametrize("lost", ["cancelled", "closed"])
def test_a_cluster_lost_mid_run_says_so_and_what_to_do(lost):
    from distributed.client import FutureCancelledError
    from distributed.comm.core import CommClosedError

    from d3.core.chunks import _dask_results
    from d3.core.executor import ExecutorUnavailable

    exc = FutureCancelledError("k", "lost") if lost == "cancelled" else CommClosedError("gone")
    client = _LostClient(exc)
    results = _dask_results(client, _length, [(0, 2), (2, 4), (4, 6)], window=2)
    assert next(results) == 2  # the first chunk (blocks 0..1) came back
    with pytest.raises(ExecutorUnavailable) as caught:
        next(results)
    text = str(caught.value)
    assert text.startswith("lost the Dask cluster mid-run (")
    assert text.endswith("); nothing was written — rerun, or run with --executor local")
    assert "\n" not in text  # one line on stderr (distributed's own text has a newline)


@pytest.mark.parametrize("raised", [OSError("disk full in the task"),
                                    CancelledError("the task's own cancellation")])
def test_a_task_error_is_not_reported_as_a_lost_cluster(raised):
    # The task itself raised (status "error"): its exception passes through, whatever its type.
    from d3.core.chunks import _dask_results

    results = _dask_results(_LostClient(raised, status="error"), _length,
                            [(0, 1), (1, 2)], window=2)
    assert next(results) == 1
    with pytest.raises(type(raised), match=str(raised)):
        next(results)


class _NoWorkers:
    class scheduler:  # noqa: N801 - the attribute distributed's Client has
        address = "tcp://10.0.0.5:8786"

    def wait_for_workers(self, n, timeout):
        raise TimeoutError(f"only 0/{n} workers arrived after {timeout}")


def test_a_scheduler_without_workers_says_so():
    from d3.core.executor import ExecutorUnavailable, _same_code_everywhere

    with pytest.raises(ExecutorUnavailable) as caught:
        _same_code_everywhere(_NoWorkers())
    assert str(caught.value) == (
        "the Dask scheduler at tcp://10.0.0.5:8786 has no worker after 120 s — start one "
        "(`dask worker tcp://10.0.0.5:8786`) or run with --executor local")
