"""The ``solve`` stage's outputs: ``solve_candidates.csv`` (every evaluated candidate) and
``solve_best.json`` (current → proposed per decision, what each change buys, the KPIs and
acceptance of the proposal, its re-check on independent futures, and the ``dvc exp run``
command that applies it)."""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Any

from d3.acceptance import close_call
from d3.core.fixed import domain_text
from d3.io.writers import fmt_float
from d3.model import ModelInputs
from d3.solve.decisions import (
    AS_INPUTS,
    PARAMS,
    Decision,
    command_text,
    hydra_text,
)
from d3.solve.outcome import Failure, Judged, Outcome, kpi_rows
from d3.solve.search import (
    ATTRIBUTION,
    CONFIRM,
    CURRENT,
    CURRENT_TRIAL,
    POLISH,
    RECHECK,
    SCREEN,
    Candidate,
    Choice,
    Search,
    arguments_of,
    sampler_seed,
)

CANDIDATE_COLUMNS = ("phase", "trial", "distance", "feasible", "shortfall",
                     "binding_probability_pct", "binding_criterion", "failed_criteria",
                     "net_income_p50_eur", "funding_need_p90_eur", "lowest_free_cash_p10_eur",
                     "invalid", "error")
ALREADY, FUNDABLE, NOT_FOUND, NO_DECISIONS = ("already_fundable", "fundable", "not_found",
                                              "no_decisions")


def _num(x: float, decimals: int) -> str:
    return fmt_float(x, decimals) if math.isfinite(x) else ""


def _json_num(x: float, decimals: int) -> float | None:
    return round(x, decimals) if math.isfinite(x) else None


def candidate_header(decisions: Sequence[Decision]) -> tuple[str, ...]:
    """``phase, trial``, one column per decision (its key), then the outcome columns."""
    return (*CANDIDATE_COLUMNS[:2], *(d.key for d in decisions), *CANDIDATE_COLUMNS[2:])


def _trial_text(trial: int) -> str:
    return "" if trial == CURRENT_TRIAL else str(trial)


def candidate_row(decisions: Sequence[Decision], c: Candidate) -> list[str]:
    """One candidate as text: its trial (empty for the founder's plan, which is not a
    screening trial), each decision's value as the command writes it (empty for a varying
    variable left as the inputs have it), the distance (6 decimals), the shortfall (6), the
    binding probability in % (4) and its criterion (``name[grid_label]``), the failed criteria
    (``name[grid_label]=probability``, ``;``-separated; a grid point named by its knob values
    as the ``grid_label`` column of the other CSVs names it), the lowest p50 net income, the
    highest p90 funding need and the lowest p10 of the lowest free cash over the grid points
    (EUR to the cent), and why it was not evaluated (``invalid``, ``error``)."""
    o = c.outcome
    binding = o.binding
    return [c.phase, _trial_text(c.trial),
            *("" if k is AS_INPUTS else hydra_text(d.values[k])
              for d, k in zip(decisions, c.choice, strict=True)),
            _num(c.distance, 6), "true" if o.feasible else "false", _num(o.shortfall, 6),
            _num(o.binding_probability_pct, 4),
            "" if binding is None else Failure(binding.grid_index, binding.name, None).text(
                o.grid_labels),
            ";".join(f.text(o.grid_labels) for f in o.failures),
            _num(o.net_income_p50_eur, 2), _num(o.funding_need_p90_eur, 2),
            _num(o.lowest_free_cash_p10_eur, 2), o.invalid, o.error]


def candidate_rows(result: Search) -> list[list[str]]:
    """Every evaluated candidate in evaluation order: the founder's plan, screening (in trial
    order), then those at the full sample count (confirmation, polish, attribution, and the
    re-check on independent futures)."""
    return [candidate_row(result.decisions, c) for c in result.candidates]


def _judged_document(c: Judged, min_probability: float) -> dict[str, Any]:
    return {"grid_index": c.grid_index, "name": c.name, "ok": c.ok,
            "probability": c.probability, "probability_se": c.probability_se,
            "close_call": c.probability is not None
            and close_call(c.probability, c.probability_se, min_probability)}


def outcome_document(o: Outcome, min_probability: float) -> dict[str, Any]:
    """An outcome as ``solve_best.json`` writes it: the criteria failed (grid index and
    criterion), every criterion decided (``criteria``: holds, probability and its
    between-replicate standard error, ``close_call`` when within two of them of
    ``min_probability``), the binding criterion (the lowest probability), the KPIs over the
    grid points in EUR with the grid point each comes from (``worst_grid``) and
    ``grid_labels`` (grid index → knob values, of the candidate's own grid: a decision that
    pins a grid axis takes it out of the grid, so the candidate's grid point 0 need not be
    the run's)."""
    binding = o.binding
    return {"feasible": o.feasible, "shortfall": _json_num(o.shortfall, 6),
            "binding_probability_pct": _json_num(o.binding_probability_pct, 4),
            "binding_criterion": None if binding is None
            else _judged_document(binding, min_probability),
            "failed_criteria": [{"grid_index": f.grid_index, "name": f.name,
                                 "probability": f.probability} for f in o.failures],
            "criteria": [_judged_document(c, min_probability) for c in o.criteria],
            "net_income_p50_eur": _json_num(o.net_income_p50_eur, 2),
            "funding_need_p90_eur": _json_num(o.funding_need_p90_eur, 2),
            "lowest_free_cash_p10_eur": _json_num(o.lowest_free_cash_p10_eur, 2),
            "worst_grid": dict(o.worst_grid),
            "grid_labels": {str(g): label for g, label in enumerate(o.grid_labels)},
            "invalid": o.invalid, "error": o.error}


def _decision_document(d: Decision, inputs: ModelInputs, k: int | None,
                       undone: dict[str, Any] | None) -> dict[str, Any]:
    """One decision current → proposed: ``current`` the founder's value (a varying variable's
    default), ``varies`` with the variable's ``treatment`` (``random``, ``low_to_high``) and
    ``current_domain`` (its values, e.g. ``values 20|30|40``) when a variable draws or sweeps
    the key, ``proposed`` None when left as the
    inputs have it, ``changed`` when the proposal differs from the founder's plan."""
    var = next((v for v in inputs.variables if v.variable_id == d.variable), None)
    varies = d.varies and var is not None
    return {"key": d.key, "variable": d.variable, "weight": d.weight,
            "varies": d.varies, "treatment": var.treatment if varies else None,
            "current_domain": domain_text(var) if varies else None,
            "current": d.values[d.current],
            "proposed": None if k is AS_INPUTS else d.values[k], "changed": k != d.baseline,
            "argument": d.argument(k), "distance": _json_num(d.distance(k), 6),
            "without_it": undone}


def status_of(result: Search) -> str:
    """``already_fundable`` when the founder's plan as the inputs have it is fundable,
    ``fundable`` when the best candidate is, else ``not_found`` (nothing fundable among the
    candidates evaluated)."""
    if result.current.outcome.feasible:
        return ALREADY
    return FUNDABLE if result.best.outcome.feasible else NOT_FOUND


def seed_arguments(inputs: ModelInputs) -> list[str]:
    """The ``-S`` argument that puts a ``--seed`` override into the experiment: every scope's
    seed resolves from ``--seed`` first and ``stochastic.random_seed`` second
    (:func:`d3.core.validator.resolved_seeds`), so setting the latter to the same number
    gives the same seeds; none without an override."""
    if inputs.seed_override is None:
        return []
    return [f"{PARAMS}:++stochastic.random_seed={int(inputs.seed_override)}"]


def best_document(inputs: ModelInputs, result: Search) -> dict[str, Any]:
    """``solve_best.json``: the status (``already_fundable``, ``fundable``, ``not_found``),
    each decision current → proposed with what undoing its change gives (``without_it``),
    the founder's plan's and the proposal's outcomes at the full sample count, the proposal's
    KPI rows (as ``consolidated_kpis.csv``) and acceptance document (as ``acceptance.json``),
    its re-check on independent futures (``recheck``: the seed and the outcome; the status is
    decided on the plan's own futures, which the command reproduces), the command and the
    evaluation counts."""
    best, plan = result.best, inputs.plan
    arguments = arguments_of(result.decisions, best.choice)
    arguments += seed_arguments(inputs) if arguments else []
    ev = best.outcome.evaluation

    def document(c: Candidate | None) -> dict[str, Any] | None:
        return None if c is None else \
            outcome_document(c.outcome, plan.targets.min_acceptance_probability)

    return {
        "status": status_of(result), "feasible": best.outcome.feasible,
        "trial": None if best.trial == CURRENT_TRIAL else best.trial,
        "distance": _json_num(best.distance, 6),
        "min_acceptance_probability": plan.targets.min_acceptance_probability,
        "decisions": [_decision_document(d, inputs, k, document(result.attribution.get(i)))
                      for i, (d, k) in enumerate(zip(result.decisions, best.choice,
                                                     strict=True))],
        "current": document(result.current),
        "proposed": document(best),
        "recheck": {"seed": result.recheck_seed, "decides_status": False,
                    **(document(result.recheck) or {})},
        "arguments": arguments, "command": command_text(arguments) if arguments else "",
        "kpis": kpi_rows(ev, plan.stochastic.percentiles) if ev else [],
        "acceptance": ev.acceptance if ev else {},
        "evaluations": _counts(inputs, result),
        "settings": {**plan.solve.model_dump(mode="json", exclude={"decisions"}),
                     "seed": sampler_seed(inputs)},
    }


def _counts(inputs: ModelInputs, result: Search) -> dict[str, int]:
    """Evaluations per phase and in all (``total``); the distinct candidates among them
    (``candidates``) and why the two differ (``repeated`` = ``total`` − ``candidates``, each
    evaluation of a candidate evaluated before): the full-count evaluations of a candidate
    already screened on the smaller sample (``screened_again``: the confirmation, or a polish
    step that lands on one), the screening of the founder's plan (``current_screened``:
    trial 0 sets every decision at its current value, which is the founder's plan when no
    decision is on a swept or drawn variable) and the re-check, which evaluates the proposal
    again on other futures; the combinations the decisions allow (the product of their value
    counts, a varying variable's "as the inputs have it" counted among them: how much of the
    space the budget saw) and the samples of one evaluation in each pass: screening trial 0
    and the founder's plan at the full count."""
    phases = [c.phase for c in result.candidates]
    screened = result.screened
    seen: dict[Choice, str] = {}
    again = current_screened = 0
    for c in result.candidates:
        before = seen.setdefault(c.choice, c.phase)
        if c.phase == RECHECK or c is result.current:
            continue
        if c.phase == SCREEN and before == CURRENT:
            current_screened += 1
        elif c.phase != SCREEN and c.choice in {s.choice for s in screened}:
            again += 1
    distinct = len(seen)
    return {"trials": inputs.plan.solve.trials,
            **{p: phases.count(p) for p in (CURRENT, SCREEN, CONFIRM, POLISH, ATTRIBUTION,
                                            RECHECK)},
            "total": len(phases), "candidates": distinct,
            "repeated": len(phases) - distinct, "screened_again": again,
            "current_screened": current_screened,
            "combinations": math.prod(len(d.values) + d.varies for d in result.decisions),
            "screen_samples_per_evaluation": screened[0].outcome.samples if screened else 0,
            "full_samples_per_evaluation": result.current.outcome.samples}


def no_decisions_document(inputs: ModelInputs) -> dict[str, Any]:
    """``solve_best.json`` of a plan that declares no decisions: nothing evaluated."""
    return {"status": NO_DECISIONS, "feasible": None, "decisions": [], "arguments": [],
            "command": "", "kpis": [], "acceptance": {},
            "min_acceptance_probability": inputs.plan.targets.min_acceptance_probability,
            "evaluations": {"total": 0},
            "settings": {**inputs.plan.solve.model_dump(mode="json", exclude={"decisions"}),
                         "seed": sampler_seed(inputs)}}

