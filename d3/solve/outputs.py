"""The ``solve`` stage's outputs: ``solve_candidates.csv`` (every evaluated candidate) and
``solve_best.json`` (current → proposed per decision, what each change buys, the KPIs and
acceptance of the proposal, and the ``dvc exp run`` command that applies it)."""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Any

from d3.core.variables import grid_label
from d3.io.writers import fmt_float
from d3.model import ModelInputs
from d3.solve.decisions import Decision, command_text, hydra_text, overrides_of
from d3.solve.outcome import Outcome, kpi_rows
from d3.solve.search import (
    ATTRIBUTION,
    CONFIRM,
    POLISH,
    Candidate,
    Search,
    arguments_of,
)

CANDIDATE_COLUMNS = ("phase", "trial", "distance", "feasible", "shortfall",
                     "binding_probability_pct", "failed_criteria", "net_income_p50_eur",
                     "funding_need_p90_eur", "invalid")
ALREADY, FUNDABLE, NOT_FOUND, NO_DECISIONS = ("already_fundable", "fundable", "not_found",
                                              "no_decisions")


def _num(x: float, decimals: int) -> str:
    return fmt_float(x, decimals) if math.isfinite(x) else ""


def _json_num(x: float, decimals: int) -> float | None:
    return round(x, decimals) if math.isfinite(x) else None


def candidate_header(decisions: Sequence[Decision]) -> tuple[str, ...]:
    """``phase, trial``, one column per decision (its key), then the outcome columns."""
    return (*CANDIDATE_COLUMNS[:2], *(d.key for d in decisions), *CANDIDATE_COLUMNS[2:])


def candidate_row(decisions: Sequence[Decision], c: Candidate) -> list[str]:
    """One candidate as text: each decision's value as the command writes it, the distance
    (6 decimals), the shortfall (6), the binding probability in % (4), the failed criteria
    (``name@grid_index=probability``, ``;``-separated) and EUR to the cent."""
    o = c.outcome
    return [c.phase, str(c.trial),
            *(hydra_text(d.values[k]) for d, k in zip(decisions, c.choice, strict=True)),
            _num(c.distance, 6), "true" if o.feasible else "false", _num(o.shortfall, 6),
            _num(o.binding_probability_pct, 4), ";".join(f.text() for f in o.failures),
            _num(o.net_income_p50_eur, 2), _num(o.funding_need_p90_eur, 2), o.invalid]


def candidate_rows(result: Search) -> list[list[str]]:
    """Every evaluated candidate: screening (in trial order), then those at the full sample
    count (confirmation, polish, attribution) in evaluation order."""
    return [candidate_row(result.decisions, c) for c in result.candidates]


def grid_labels_of(inputs: ModelInputs, decisions: Sequence[Decision],
                   c: Candidate) -> dict[str, str]:
    """Each grid point of candidate ``c``'s evaluation (``"0"``, ``"1"``, …) named by its knob
    values (:func:`d3.core.variables.grid_label`) under the candidate's own overrides: a
    decision that pins a grid axis takes it out of the grid, so the candidate's grid point 0
    need not be the run's. Empty when ``c`` was not evaluated (invalid values)."""
    ev = c.outcome.evaluation
    if ev is None:
        return {}
    variables = inputs.with_overrides(overrides_of(arguments_of(decisions, c.choice))).variables
    return {str(g): grid_label(variables, g) for g in sorted(ev.grid)}


def outcome_document(o: Outcome, grid_labels: dict[str, str] | None = None) -> dict[str, Any]:
    """An outcome as ``solve_best.json`` writes it: the criteria failed (grid index and
    criterion), the KPIs over the grid points in EUR and ``grid_labels`` (grid index → knob
    values, :func:`grid_labels_of`)."""
    return {"feasible": o.feasible, "shortfall": _json_num(o.shortfall, 6),
            "binding_probability_pct": _json_num(o.binding_probability_pct, 4),
            "failed_criteria": [{"grid_index": f.grid_index, "name": f.name,
                                 "probability": f.probability} for f in o.failures],
            "net_income_p50_eur": _json_num(o.net_income_p50_eur, 2),
            "funding_need_p90_eur": _json_num(o.funding_need_p90_eur, 2),
            "lowest_free_cash_p10_eur": _json_num(o.lowest_free_cash_p10_eur, 2),
            "grid_labels": grid_labels or {},
            "invalid": o.invalid}


def _decision_document(d: Decision, k: int, undone: dict[str, Any] | None) -> dict[str, Any]:
    return {"key": d.key, "variable": d.variable, "weight": d.weight,
            "current": d.values[d.current], "proposed": d.values[k], "changed": k != d.current,
            "argument": d.argument(k), "distance": _json_num(d.distance(k), 6),
            "without_it": undone}


def status_of(result: Search) -> str:
    if result.current.outcome.feasible:
        return ALREADY
    return FUNDABLE if result.best.outcome.feasible else NOT_FOUND


def best_document(inputs: ModelInputs, result: Search) -> dict[str, Any]:
    """``solve_best.json``: the status (``already_fundable``, ``fundable``, ``not_found``),
    each decision current → proposed with what undoing its change gives (``without_it``),
    the current plan's and the proposal's outcomes at the full sample count, the proposal's
    KPI rows (as ``consolidated_kpis.csv``) and acceptance document (as ``acceptance.json``),
    the command and the evaluation counts."""
    best, plan = result.best, inputs.plan
    arguments = arguments_of(result.decisions, best.choice)
    ev = best.outcome.evaluation

    def document(c: Candidate | None) -> dict[str, Any] | None:
        return None if c is None else \
            outcome_document(c.outcome, grid_labels_of(inputs, result.decisions, c))

    return {
        "status": status_of(result), "feasible": best.outcome.feasible,
        "trial": best.trial, "distance": _json_num(best.distance, 6),
        "min_acceptance_probability": plan.targets.min_acceptance_probability,
        "decisions": [_decision_document(d, k, document(result.attribution.get(i)))
                      for i, (d, k) in enumerate(zip(result.decisions, best.choice,
                                                     strict=True))],
        "current": document(result.current),
        "proposed": document(best),
        "arguments": arguments, "command": command_text(arguments) if arguments else "",
        "kpis": kpi_rows(ev, plan.stochastic.percentiles) if ev else [],
        "acceptance": ev.acceptance if ev else {},
        "evaluations": _counts(inputs, result),
        "settings": {**plan.solve.model_dump(mode="json", exclude={"decisions"}),
                     "seed": _seed(inputs)},
    }


def _seed(inputs: ModelInputs) -> int:
    s = inputs.plan.solve
    return s.seed if s.seed is not None else int(inputs.seeds["general"])


def _counts(inputs: ModelInputs, result: Search) -> dict[str, int]:
    """Evaluations per phase, the distinct candidates among them, the combinations the
    decisions allow (the product of their value counts: how much of the space the budget
    saw) and the samples of one evaluation in each (grid points of the current plan ×
    replicates × Monte Carlo paths)."""
    plan, s = inputs.plan, inputs.plan.solve
    ev = result.current.outcome.evaluation
    grid_points = len(ev.grid) if ev else 0
    replicates = s.screen_replicates or plan.run.random_runs_per_simulation
    phases = [c.phase for c in result.full]
    return {"trials": s.trials, "screen": len(result.screened),
            **{p: phases.count(p) for p in (CONFIRM, POLISH, ATTRIBUTION)},
            "total": len(result.candidates),
            "candidates": len({c.choice for c in result.candidates}),
            "combinations": math.prod(len(d.values) for d in result.decisions),
            "screen_samples_per_evaluation":
                grid_points * replicates * s.screen_simulations_per_run,
            "full_samples_per_evaluation":
                sum(len(g.replicate_index) for g in ev.grid.values()) if ev else 0}


def no_decisions_document(inputs: ModelInputs) -> dict[str, Any]:
    """``solve_best.json`` of a plan that declares no decisions: nothing evaluated."""
    return {"status": NO_DECISIONS, "feasible": None, "decisions": [], "arguments": [],
            "command": "", "kpis": [], "acceptance": {},
            "min_acceptance_probability": inputs.plan.targets.min_acceptance_probability,
            "evaluations": {"total": 0},
            "settings": {**inputs.plan.solve.model_dump(mode="json", exclude={"decisions"}),
                         "seed": _seed(inputs)}}

