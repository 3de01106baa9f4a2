"""The ``solve`` stage's work in one call: resolve the decisions, search, and build the
candidates table and the best-candidate document (no file I/O)."""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

from d3.core.errors import Issue, ValidationError, errors_of
from d3.model import ModelInputs
from d3.models.plan import Solve
from d3.solve.decisions import Decision, resolved_decisions
from d3.solve.outputs import (
    best_document,
    candidate_header,
    candidate_rows,
    no_decisions_document,
)
from d3.solve.search import CURRENT_TRIAL, Candidate, search


@dataclass(frozen=True)
class Solution:
    """What the stage writes: ``solve_candidates.csv`` (header, text rows) and
    ``solve_best.json``; and the WARNINGs about the decisions (values a variable cannot take,
    left out), which the stage reports but does not count: the validator found them first,
    and the run summary counts them from ``validation_report.json``."""

    header: tuple[str, ...]
    rows: list[list[str]]
    best: dict[str, Any]
    warnings: list[Issue] = field(default_factory=list)


def evaluation_budget(solve: Solve, decisions: Sequence[Decision]) -> int:
    """How many evaluations a search is expected to take, for the progress bar: the founder's
    plan, ``solve.trials`` screened, ``solve.confirm`` confirmed, one polish pass (per
    decision one undo plus a bisection over its values, ⌈log2 n⌉), one attribution per
    decision and the re-check. The polish may take more (another pass) or fewer."""
    polish = sum(1 + math.ceil(math.log2(max(2, len(d.values)))) for d in decisions)
    return 1 + solve.trials + solve.confirm + polish + len(decisions) + 1


def solve(inputs: ModelInputs, *, max_concurrency: int = 1,
          emit: Callable[..., None] | None = None,
          progress: Callable[[int, int], None] | None = None) -> Solution:
    """The plan's ``solve`` section searched (:func:`d3.solve.search.search`): a
    ``solve_warning`` event per WARNING about the decisions, then one JSONL
    ``solve_evaluation`` event per evaluation through ``emit`` and ``progress(done, total)``
    (total: :func:`evaluation_budget`, raised when the search takes more). A plan without
    decisions evaluates nothing. Raises :class:`ValidationError` when a decision does not
    fit the inputs (errors only: a WARNING is returned in :attr:`Solution.warnings`)."""
    s = inputs.plan.solve
    decisions, issues = resolved_decisions(
        s, params=inputs.plan.model_dump(mode="json"), operators=inputs.operators,
        variables=inputs.variables)
    if errors_of(issues):
        raise ValidationError(errors_of(issues))
    warnings = [i for i in issues if i.severity != "error"]
    for issue in warnings if emit is not None else ():
        emit("solve_warning", level="warning", **issue.as_dict())
    if not decisions:
        return Solution(candidate_header(()), [], no_decisions_document(inputs), warnings)
    total = evaluation_budget(s, decisions)
    done = 0

    def reported(c: Candidate) -> None:
        nonlocal done, total
        done += 1
        total = max(total, done)
        o = c.outcome
        if emit is not None:
            emit("solve_evaluation", evaluation=done, phase=c.phase,
                 trial=None if c.trial == CURRENT_TRIAL else c.trial,
                 distance=round(c.distance, 6), feasible=o.feasible,
                 shortfall=round(o.shortfall, 6),
                 failed=[f.text(o.grid_labels) for f in o.failures],
                 **({"error": o.error} if o.error else {}))
        if progress is not None:
            progress(done, total)

    result = search(inputs, decisions, max_concurrency=max_concurrency, on_evaluation=reported)
    if progress is not None:
        progress(done, done)
    return Solution(candidate_header(decisions), candidate_rows(result),
                    best_document(inputs, result), warnings)
