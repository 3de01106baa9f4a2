"""The one JSONL progress emitter: one object per line with ``ts``, ``level``, ``event``.

Progress goes to stdout (machine-readable); a human progress bar goes to stderr only when
stderr is a terminal. Nothing here ends up in an output file, so timestamps are allowed.
"""

from __future__ import annotations

import json
import sys
import time
from typing import Any, TextIO

LEVELS = {"debug": 10, "info": 20, "warning": 30, "error": 40}


class Emitter:
    def __init__(self, stream: TextIO | None = None, *, level: str = "info",
                 bar_stream: TextIO | None = None, clock=time.time):
        self.stream = stream if stream is not None else sys.stdout
        self.level = LEVELS[level]
        self.bar = bar_stream if bar_stream is not None else sys.stderr
        self.clock = clock

    def emit(self, event: str, level: str = "info", **fields: Any) -> None:
        if LEVELS[level] < self.level and level != "error":
            return
        ts = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(self.clock()))
        record = {"ts": ts, "level": level, "event": event, **fields}
        self.stream.write(json.dumps(record, ensure_ascii=False, default=str) + "\n")
        self.stream.flush()

    def progress(self, done: int, total: int, label: str) -> None:
        """Redraw a one-line bar on stderr when it is a terminal (never in files or pipes)."""
        if not getattr(self.bar, "isatty", lambda: False)() or total <= 0:
            return
        width = 30
        filled = int(width * done / total)
        self.bar.write(f"\r{label} [{'#' * filled}{'.' * (width - filled)}] {done}/{total}")
        if done >= total:
            self.bar.write("\n")
        self.bar.flush()


class NullEmitter(Emitter):
    """Swallows everything (library calls and tests that do not care about progress)."""

    def __init__(self):
        super().__init__(stream=None)

    def emit(self, event: str, level: str = "info", **fields: Any) -> None:
        return None

    def progress(self, done: int, total: int, label: str) -> None:
        return None
