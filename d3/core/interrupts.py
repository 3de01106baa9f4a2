"""Ctrl-C and SIGTERM around the critical moments of a run.

Python raises KeyboardInterrupt wherever the main thread happens to be, and a few places swallow
it (at-fork hooks, ctypes callbacks, libraries that catch every exception on a lazy import).
These context managers make an interrupt either take the one clean path of ``d3 run``
(staging removed, ``interrupted``, exit 3) or, where that cannot be allowed (the swap of the
output directory), wait. Signal handlers can only be set in the main thread; elsewhere each of
them just runs its block.
"""

from __future__ import annotations

import signal
import sys
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any

INTERRUPTS = (signal.SIGINT, signal.SIGTERM)


@contextmanager
def _handlers(handler: Callable[[int, Any], Any] | int,
              signals: tuple[int, ...] = INTERRUPTS) -> Iterator[None]:
    """``handler`` for ``signals`` during the block, the previous handlers restored after."""
    previous = {}
    try:
        if threading.current_thread() is threading.main_thread():
            for sig in signals:
                previous[sig] = signal.signal(sig, handler)
        yield
    finally:
        for sig, old in previous.items():
            signal.signal(sig, old)


@contextmanager
def recorded_interrupts() -> Iterator[list[int]]:
    """For the block, Ctrl-C and SIGTERM raise KeyboardInterrupt and are recorded in the list
    yielded. SIGTERM thus takes the same clean path as Ctrl-C instead of killing the process
    mid-write; the record catches an interrupt that a library swallowed (pyarrow's lazy import
    of pandas does), so the caller can still refuse to commit. A KeyboardInterrupt where Python
    cannot raise it (a ctypes callback) is recorded, not printed as "Exception ignored". A signal
    the process was started ignoring (a background job's Ctrl-C) stays ignored."""
    seen: list[int] = []

    def interrupt(signum, frame):
        seen.append(signum)
        raise KeyboardInterrupt

    def unraisable(info):
        if not issubclass(info.exc_type, KeyboardInterrupt):
            hook(info)

    handled = tuple(s for s in INTERRUPTS if signal.getsignal(s) is not signal.SIG_IGN)
    hook, sys.unraisablehook = sys.unraisablehook, unraisable
    try:
        with _handlers(interrupt, handled):
            yield seen
    finally:
        sys.unraisablehook = hook


@contextmanager
def interrupts_held() -> Iterator[None]:
    """Ctrl-C and SIGTERM that arrive during the block are delivered when it ends. Forking
    workers runs Python at-fork hooks (logging's) in the parent, and an interrupt raised there
    is printed as "Exception ignored" and lost."""
    caught: list[int] = []
    try:
        with _handlers(lambda signum, frame: caught.append(signum)):
            yield
    finally:
        if caught:
            signal.raise_signal(caught[0])


@contextmanager
def interrupts_ignored() -> Iterator[None]:
    """Ctrl-C and SIGTERM are dropped during the block: for steps that must not be cut short
    and, once begun, are the end of the run (replacing the output directory)."""
    with _handlers(signal.SIG_IGN):
        yield


def forget_unhandled_interrupt() -> None:
    """Call after handling a KeyboardInterrupt. CPython marks one that passed through ``exec``
    of source text (dataclasses build their methods that way, so an import hit by Ctrl-C does
    it) as unhandled and, under ``python -m``, ends the process by SIGINT after a clean exit
    (bpo-1054041's exit-by-signal, run from ``Py_RunMain``). Executing source text again
    clears the mark."""
    exec("pass")
