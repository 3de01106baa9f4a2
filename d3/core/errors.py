"""Validation issues and the one error type that carries them.

Every problem with the inputs is an :class:`Issue` rendered as one line
``FILE:LOCATION: what is wrong — how to fix it``. Issues are collected, never raised one by one,
so the user sees all of them at once.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from typing import Literal

Severity = Literal["error", "warning", "info"]


@dataclass(frozen=True, order=True)
class Issue:
    """One problem found in the inputs (or a note about them)."""

    file: str
    location: str
    message: str
    hint: str
    severity: Severity = "error"
    code: str = "invalid"

    def line(self) -> str:
        """The one-line human form: ``FILE:LOCATION: message — hint``."""
        text = f"{self.file}:{self.location}: {self.message}"
        return f"{text} — {self.hint}" if self.hint else text

    def as_dict(self) -> dict[str, str]:
        return {
            "severity": self.severity,
            "code": self.code,
            "file": self.file,
            "location": self.location,
            "message": self.message,
            "hint": self.hint,
            "line": self.line(),
        }


class ValidationError(Exception):
    """Raised when the inputs cannot be used; carries every issue found."""

    def __init__(self, issues: Iterable[Issue]):
        self.issues = list(issues)
        super().__init__("\n".join(i.line() for i in self.issues))

    def __reduce__(self):
        # Rebuilt from its issues when it crosses a process (a pool or Dask worker raised it),
        # so it stays a ValidationError (exit 2) whatever the executor.
        return (type(self), (self.issues,))


def errors_of(issues: Iterable[Issue]) -> list[Issue]:
    return [i for i in issues if i.severity == "error"]


def promoted(issues: Iterable[Issue], *, fail_on_warning: bool) -> list[Issue]:
    """Issues with WARNINGs turned into errors when ``fail_on_warning`` is set."""
    if not fail_on_warning:
        return list(issues)
    return [
        Issue(i.file, i.location, i.message, i.hint, "error", i.code)
        if i.severity == "warning"
        else i
        for i in issues
    ]
