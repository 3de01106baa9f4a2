"""The one warning count of a run (issue 15).

``d3 validate``'s log, ``validated/validation_report.json``, ``run_summary.{json,md}`` and the
report's data-quality sentence all count with :func:`warning_count` over the same list,
:func:`run_warnings`, and print it with :meth:`WarningCount.text`.

What counts: every issue of severity ``warning`` about the inputs or the plan, found by
validation (``validation_report.json``: e.g. a throughput heuristic, a fraction written for a
percent, an allocation whose weights are renormalised) or by the Public Tap pricing stage (the
price card's ``warnings``: a price cap below the target margin, a negative stress margin). Notes
(severity ``info``, e.g. a (model, GPU) pair that no offer can host) are counted apart, and
failed acceptance criteria are the verdict (``acceptance.json``), not warnings.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any


@dataclass(frozen=True)
class WarningCount:
    """How many warnings and notes, with the warnings per issue ``code`` (codes sorted)."""

    warnings: int
    by_code: dict[str, int]
    notes: int

    @classmethod
    def of(cls, doc: Mapping[str, Any]) -> WarningCount:
        """Back from :meth:`as_dict` (as stored in ``run_summary.json``)."""
        return cls(doc["warnings"], dict(doc["by_code"]), doc["notes"])

    def as_dict(self) -> dict[str, Any]:
        return {"warnings": self.warnings, "by_code": dict(self.by_code), "notes": self.notes}

    def text(self) -> str:
        """``37 warnings (37 tps_heuristic) and 8 notes``; ``no warnings`` when there are none.
        The same words in the CLI, the run summary and the report."""
        if self.warnings:
            kinds = ", ".join(f"{n} {code}" for code, n in self.by_code.items())
            head = f"{_plural(self.warnings, 'warning')} ({kinds})"
        else:
            head = "no warnings"
        return f"{head} and {_plural(self.notes, 'note')}" if self.notes else head


    def sentence(self) -> str:
        """:meth:`text` starting with a capital (``No warnings``)."""
        text = self.text()
        return text[:1].upper() + text[1:]


def _plural(n: int, word: str) -> str:
    return f"{n} {word}" if n == 1 else f"{n} {word}s"


def warning_count(issues: Iterable[Mapping[str, Any]]) -> WarningCount:
    """Count issue dicts (``severity``, ``code``, …, as :meth:`d3.core.errors.Issue.as_dict`
    writes them): ``warning`` ones per code, ``info`` ones as notes; errors are not counted
    (a run with errors stops at validation)."""
    issues = list(issues)
    by_code = Counter(i["code"] for i in issues if i["severity"] == "warning")
    return WarningCount(warnings=sum(by_code.values()), by_code=dict(sorted(by_code.items())),
                        notes=sum(1 for i in issues if i["severity"] == "info"))


def run_warnings(validation_report: Mapping[str, Any],
                 price_card: Mapping[str, Any] | None = None) -> list[dict[str, Any]]:
    """The run's warnings and notes, in the order found: validation's issues (warnings before
    notes), then the pricing stage's warnings (none when the Public Tap did not run)."""
    return [*validation_report["issues"], *(price_card or {}).get("warnings", [])]
