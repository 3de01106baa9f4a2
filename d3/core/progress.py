"""Progress of a run: JSONL events for machines, a live bar for people.

Every event goes through one :class:`Emitter`. JSONL (one object per line with ``ts``,
``level``, ``event``) goes to stdout when the log format is ``json``, or ``auto`` and stdout is
not a terminal (a pipe, a file, CI): :func:`writes_jsonl`. A live progress bar (rich) goes to
stderr when it is a terminal and the run is not quiet (:func:`shows_bar`); the same events
drive it, and rich redraws it from its own thread, so it moves (spinner, elapsed time) while a
stage computes, not only when the stage ends. Nothing here ends up in an output file, so
timestamps are allowed.
"""

from __future__ import annotations

import json
import sys
import time
from collections.abc import Mapping
from typing import Any, TextIO

LEVELS = {"debug": 10, "info": 20, "warning": 30, "error": 40}
LOG_FORMATS = ("auto", "json", "text")


def is_terminal(stream: TextIO | None) -> bool:
    """True when ``stream`` is an interactive terminal (never for a file, pipe or capture)."""
    return bool(getattr(stream, "isatty", lambda: False)())


def writes_jsonl(log_format: str, *, stdout_is_terminal: bool) -> bool:
    """Whether events go to stdout as JSONL: always for ``json``, never for ``text``, and for
    ``auto`` only when stdout is not a terminal (a person reads a terminal, a tool the rest)."""
    if log_format not in LOG_FORMATS:
        raise ValueError(f"log format must be one of {', '.join(LOG_FORMATS)}, got {log_format!r}")
    return log_format == "json" or (log_format == "auto" and not stdout_is_terminal)


def shows_bar(*, quiet: bool, jsonl: bool, stdout_is_terminal: bool,
              stderr_is_terminal: bool) -> bool:
    """Whether to draw the live bar on stderr: only on a terminal, never when quiet, and not
    when JSONL goes to that same terminal (the two would overwrite each other)."""
    return stderr_is_terminal and not quiet and not (jsonl and stdout_is_terminal)


class LiveBar:
    """Two lines on stderr, redrawn 8 times a second: the stages (``stage 5/13 public_demand``,
    elapsed time) and the current stage's work (blocks of samples, autoscaler runs)."""

    def __init__(self, stream: TextIO, *, force_terminal: bool | None = None):
        from rich.console import Console
        from rich.progress import (
            BarColumn,
            MofNCompleteColumn,
            Progress,
            SpinnerColumn,
            TextColumn,
            TimeElapsedColumn,
        )

        console = Console(file=stream, force_terminal=force_terminal)
        self.display = Progress(SpinnerColumn(), TextColumn("{task.description:<32}"),
                                BarColumn(), MofNCompleteColumn(), TimeElapsedColumn(),
                                console=console, transient=True, refresh_per_second=8)
        self.stages = self.display.add_task("starting", total=None)
        self.work = self.display.add_task("", total=None, visible=False)

    def start(self) -> None:
        self.display.start()

    def stop(self) -> None:
        self.display.stop()

    def event(self, event: str, fields: Mapping[str, Any]) -> None:
        """Follow the run's events: a stage starts or ends, an autoscaler run ends."""
        if event == "stage_start":
            self.display.update(self.stages, description=f"stage {fields['stage']}",
                                total=fields["of"], completed=fields["index"] - 1)
            # A new work line: the last stage's total must not carry over (rich's reset keeps
            # the total when given None).
            self.display.remove_task(self.work)
            self.work = self.display.add_task("", total=None, visible=False)
        elif event == "stage_done":
            self.display.update(self.stages, completed=fields["index"])
        elif event == "autoscaler_done":
            self.display.update(self.work, visible=True, advance=1,
                                description=f"autoscaler, grid point {fields['grid_index']}")

    def progress(self, done: int, total: int, label: str) -> None:
        """``done`` of ``total`` units of the current stage's work (e.g. blocks of samples)."""
        self.display.update(self.work, visible=True, description=label, total=total,
                            completed=done)

    def task(self, name: str) -> dict[str, Any]:
        """The state of the ``stages`` or ``work`` line (for tests)."""
        wanted = self.stages if name == "stages" else self.work
        t = next(t for t in self.display.tasks if t.id == wanted)
        return {"description": t.description, "completed": t.completed, "total": t.total,
                "visible": t.visible}


class Emitter:
    """The run's one event sink: JSONL on ``stream`` (when ``jsonl``) at or above ``level``,
    and every event to the live ``bar`` (when there is one). Use it as a context manager so the
    bar is drawn while the block runs and erased after."""

    def __init__(self, stream: TextIO | None = None, *, level: str = "info", jsonl: bool = True,
                 bar: LiveBar | None = None, clock=time.time):
        self.stream = stream if stream is not None else sys.stdout
        self.level = LEVELS[level]
        self.jsonl = jsonl
        self.bar = bar
        self.clock = clock

    def __enter__(self) -> Emitter:
        if self.bar is not None:
            self.bar.start()
        return self

    def __exit__(self, *exc: object) -> None:
        if self.bar is not None:
            self.bar.stop()

    def emit(self, event: str, level: str = "info", **fields: Any) -> None:
        if self.bar is not None:
            self.bar.event(event, fields)
        if not self.jsonl or (LEVELS[level] < self.level and level != "error"):
            return
        ts = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(self.clock()))
        record = {"ts": ts, "level": level, "event": event, **fields}
        self.stream.write(json.dumps(record, ensure_ascii=False, default=str) + "\n")
        self.stream.flush()

    def progress(self, done: int, total: int, label: str) -> None:
        """``done`` of ``total`` units of work of the current stage, for the bar only."""
        if self.bar is not None and total > 0:
            self.bar.progress(done, total, label)


class NullEmitter(Emitter):
    """Swallows everything (library calls and tests that do not care about progress)."""

    def __init__(self):
        super().__init__(stream=None, jsonl=False)

    def emit(self, event: str, level: str = "info", **fields: Any) -> None:
        return None

    def progress(self, done: int, total: int, label: str) -> None:
        return None
