"""The ``solve`` stage's work in one call: resolve the decisions, search, and build the
candidates table and the best-candidate document (no file I/O)."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from d3.core.errors import ValidationError
from d3.model import ModelInputs
from d3.solve.decisions import resolved_decisions
from d3.solve.outputs import (
    best_document,
    candidate_header,
    candidate_rows,
    no_decisions_document,
)
from d3.solve.search import Candidate, search


@dataclass(frozen=True)
class Solution:
    """What the stage writes: ``solve_candidates.csv`` (header, text rows) and
    ``solve_best.json``."""

    header: tuple[str, ...]
    rows: list[list[str]]
    best: dict[str, Any]


def solve(inputs: ModelInputs, *, max_concurrency: int = 1,
          emit: Callable[..., None] | None = None,
          progress: Callable[[int, int], None] | None = None) -> Solution:
    """The plan's ``solve`` section searched (:func:`d3.solve.search.search`): one JSONL
    ``solve_evaluation`` event per evaluation through ``emit`` and ``progress(done, total)``
    (total: the most evaluations the budget allows). A plan without decisions evaluates
    nothing. Raises :class:`ValidationError` when a decision does not fit the inputs."""
    s = inputs.plan.solve
    decisions, issues = resolved_decisions(
        s, params=inputs.plan.model_dump(mode="json"), operators=inputs.operators,
        variables=inputs.variables)
    if issues:
        raise ValidationError(issues)
    if not decisions:
        return Solution(candidate_header(()), [], no_decisions_document(inputs))
    total = s.trials + s.confirm + 1 + len(decisions)
    done = 0

    def reported(c: Candidate) -> None:
        nonlocal done
        done += 1
        o = c.outcome
        if emit is not None:
            emit("solve_evaluation", evaluation=done, phase=c.phase, trial=c.trial,
                 distance=round(c.distance, 6), feasible=o.feasible,
                 shortfall=round(o.shortfall, 6), failed=[f.text() for f in o.failures])
        if progress is not None:
            progress(done, total)

    result = search(inputs, decisions, max_concurrency=max_concurrency, on_evaluation=reported)
    if progress is not None:
        progress(total, total)
    return Solution(candidate_header(decisions), candidate_rows(result),
                    best_document(inputs, result))
