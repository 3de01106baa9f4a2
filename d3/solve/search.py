"""The search for the fundable plan nearest to the founder's: a seeded Optuna TPE search over
the decisions' values on a cheap screening sample (the current plan first), confirmation of
the best candidates at the plan's full sample count, then what each change of the best one
buys (the best with that change undone).

Every evaluation applies exactly the overrides of the candidate's ``dvc exp run -S`` command
(:mod:`d3.solve.decisions`), on common random numbers: all candidates override the same
pinned variables, so their random streams are the same and a difference between two
candidates is the effect of their decisions alone. The sampler is seeded, sequential and
in-memory, so a seed and a budget give the same candidates, byte for byte.
"""

from __future__ import annotations

import math
import warnings
from collections.abc import Callable, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any

from d3.core.errors import ValidationError
from d3.model import ModelInputs, evaluate
from d3.solve.decisions import Decision, overrides_of
from d3.solve.outcome import Outcome, invalid_outcome, outcome_of, rank_key

SCREEN, CONFIRM, POLISH, ATTRIBUTION = "screen", "confirm", "polish", "attribution"
SHORTFALL = "shortfall"  # the sampler's constraint: feasible when ≤ 0


@dataclass(frozen=True)
class Candidate:
    """One evaluated candidate: the index of each decision's value (``choice``), the weighted
    normalised distance from the current plan, its outcome, and where it came from."""

    phase: str
    trial: int
    choice: tuple[int, ...]
    distance: float
    outcome: Outcome

    @property
    def rank(self) -> tuple:
        return rank_key(self.distance, self.outcome, self.trial)


@dataclass
class Search:
    """The search's result: every screened candidate and every candidate evaluated at the
    full sample count (confirmation, polish, attribution; in evaluation order), the current
    plan and the best candidate at the full count, and per changed decision (its index) the
    best candidate with that change undone."""

    decisions: tuple[Decision, ...]
    screened: list[Candidate] = field(default_factory=list)
    full: list[Candidate] = field(default_factory=list)
    attribution: dict[int, Candidate] = field(default_factory=dict)
    current: Candidate | None = None
    best: Candidate | None = None

    @property
    def candidates(self) -> list[Candidate]:
        return [*self.screened, *self.full]


def arguments_of(decisions: Sequence[Decision], choice: Sequence[int]) -> list[str]:
    """The ``dvc exp run -S`` arguments of a candidate, in decision order."""
    return [a for d, k in zip(decisions, choice, strict=True)
            if (a := d.argument(k)) is not None]


class _Evaluator:
    """Evaluates candidates with exactly their command's overrides (plus, when screening, the
    smaller sample) and reports each evaluation."""

    def __init__(self, inputs: ModelInputs, decisions: Sequence[Decision], *,
                 max_concurrency: int, on_evaluation: Callable[[Candidate], None] | None):
        self.inputs, self.decisions = inputs, tuple(decisions)
        self.max_concurrency, self.on_evaluation = max_concurrency, on_evaluation

    def distance(self, choice: Sequence[int]) -> float:
        return math.fsum(d.distance(k) for d, k in zip(self.decisions, choice, strict=True))

    def __call__(self, phase: str, trial: int, choice: tuple[int, ...],
                 sample: Mapping[str, Any]) -> Candidate:
        overrides = {**overrides_of(arguments_of(self.decisions, choice)), **sample}
        p_min = self.inputs.plan.targets.min_acceptance_probability
        try:
            ev = evaluate(self.inputs, overrides=overrides,
                          max_concurrency=self.max_concurrency)
            outcome = outcome_of(ev, p_min, keep=phase != SCREEN)
        except ValidationError as exc:
            outcome = invalid_outcome(exc.issues[0].line())
        candidate = Candidate(phase, trial, choice, self.distance(choice), outcome)
        if self.on_evaluation is not None:
            self.on_evaluation(candidate)
        return candidate


def screen_sample(inputs: ModelInputs) -> dict[str, Any]:
    """The plan overrides of a screening evaluation: ``solve.screen_simulations_per_run``
    paths per replicate and ``solve.screen_replicates`` replicates (when set)."""
    s = inputs.plan.solve
    out: dict[str, Any] = {"params.yaml:stochastic.simulations_per_run":
                           s.screen_simulations_per_run}
    if s.screen_replicates is not None:
        out["params.yaml:run.random_runs_per_simulation"] = s.screen_replicates
    return out


def search(inputs: ModelInputs, decisions: Sequence[Decision], *, max_concurrency: int = 1,
           on_evaluation: Callable[[Candidate], None] | None = None) -> Search:
    """Screen ``solve.trials`` candidates (trial 0: every decision at its current value),
    confirm the current plan and the ``solve.confirm`` best distinct others at the full
    sample count, polish the best (:func:`_polished`) and undo each of its changes in turn
    (what each buys). A candidate whose values the validator refuses is recorded as invalid
    and ranks last; nothing is raised for it."""
    evaluator = _Evaluator(inputs, decisions, max_concurrency=max_concurrency,
                           on_evaluation=on_evaluation)
    out = Search(tuple(decisions))
    out.screened = _screened(inputs, evaluator)
    full = _FullCount(evaluator, out.full)
    current = tuple(d.current for d in decisions)
    ranked = [c for c in sorted(out.screened, key=lambda c: c.rank) if c.choice != current]
    confirmed = [full(CONFIRM, c.trial, c.choice)
                 for c in [out.screened[0], *ranked[:inputs.plan.solve.confirm]]]
    out.current = confirmed[0]
    out.best = _polished(full, min(confirmed, key=lambda c: c.rank))
    for i, (d, k) in enumerate(zip(decisions, out.best.choice, strict=True)):
        if k != d.current:
            out.attribution[i] = full(ATTRIBUTION, out.best.trial,
                                      _with(out.best.choice, i, d.current))
    return out


class _FullCount:
    """Evaluations at the plan's full sample count, each candidate once (``log`` collects
    them in evaluation order)."""

    def __init__(self, evaluator: _Evaluator, log: list[Candidate]):
        self.evaluator, self.log = evaluator, log
        self.done: dict[tuple[int, ...], Candidate] = {}

    def __call__(self, phase: str, trial: int, choice: tuple[int, ...]) -> Candidate:
        if choice not in self.done:
            self.done[choice] = self.evaluator(phase, trial, choice, {})
            self.log.append(self.done[choice])
        return self.done[choice]


def _with(choice: tuple[int, ...], i: int, k: int) -> tuple[int, ...]:
    return (*choice[:i], k, *choice[i + 1:])


def _polished(full: _FullCount, best: Candidate) -> Candidate:
    """``best`` with each change taken back as far toward the current value as it can go
    without losing ground — a feasible candidate stays feasible, an infeasible one keeps at
    most its shortfall — largest change first: undo it whole if that holds, else bisect the
    values between (assuming the criteria move monotonically along one decision). Screening
    explores many decisions at once; this keeps only the changes that are needed."""
    decisions = full.evaluator.decisions
    order = sorted((i for i, d in enumerate(decisions) if best.choice[i] != d.current),
                   key=lambda i: (-decisions[i].distance(best.choice[i]), i))
    for i in order:
        best = _pulled_back(full, best, i)
    return best


def _pulled_back(full: _FullCount, best: Candidate, i: int) -> Candidate:
    """``best`` with decision ``i`` as near its current value as holds (see
    :func:`_polished`)."""
    d, k = full.evaluator.decisions[i], best.choice[i]
    path = list(range(d.current, k, 1 if k > d.current else -1)) if d.numeric else [d.current]

    def holds(j: int) -> Candidate | None:
        c = full(POLISH, best.trial, _with(best.choice, i, path[j]))
        return c if _no_worse(c.outcome, best.outcome) else None

    # Index len(path) is the proposed value itself, which holds.
    return holds(0) or _bisected(holds, 1, len(path)) or best


def _bisected(holds: Callable[[int], Candidate | None], lo: int, hi: int) -> Candidate | None:
    """The candidate at the smallest index in ``[lo, hi)`` that holds (index ``hi`` does),
    by bisection; None when none below ``hi`` does."""
    found = None
    while lo < hi:
        mid = (lo + hi) // 2
        c = holds(mid)
        if c is None:
            lo = mid + 1
        else:
            found, hi = c, mid
    return found


def _no_worse(candidate: Outcome, reference: Outcome) -> bool:
    if reference.feasible:
        return candidate.feasible
    return not candidate.invalid and candidate.shortfall <= reference.shortfall + 1e-12


def _screened(inputs: ModelInputs, evaluator: _Evaluator) -> list[Candidate]:
    """The screening pass: one Optuna trial per ``solve.trials``; a candidate proposed again
    is not evaluated again (its result is told to the sampler once more)."""
    import optuna

    s = inputs.plan.solve
    seed = s.seed if s.seed is not None else int(inputs.seeds["general"])
    decisions = evaluator.decisions
    sample = screen_sample(inputs)
    seen: dict[tuple[int, ...], Candidate] = {}
    with _quiet(optuna):
        sampler = optuna.samplers.TPESampler(seed=seed, n_startup_trials=s.startup_trials,
                                             multivariate=True)
        study = optuna.create_study(direction="minimize", sampler=sampler,
                                    storage=optuna.storages.InMemoryStorage())
        study.enqueue_trial({d.key: d.current for d in decisions})
        spaces = {d.key: _space(optuna, d) for d in decisions}
        for number in range(s.trials):
            trial = study.ask(spaces)
            choice = tuple(int(trial.params[d.key]) for d in decisions)
            if choice not in seen:
                seen[choice] = evaluator(SCREEN, number, choice, sample)
            # Optuna's constrained TPE: a trial is feasible when its constraint is ≤ 0.
            trial.set_constraint(SHORTFALL, seen[choice].outcome.shortfall)
            study.tell(trial, seen[choice].distance)
    return list(seen.values())


def _space(optuna, d: Decision):
    """The decision as an Optuna distribution over the indices of its values: ordered for
    numbers, categorical for other choices."""
    if d.numeric:
        return optuna.distributions.IntDistribution(0, len(d.values) - 1)
    return optuna.distributions.CategoricalDistribution(tuple(range(len(d.values))))


@contextmanager
def _quiet(optuna):
    """Optuna's INFO lines (one per trial, on stderr) and its experimental-feature warnings
    off while the search runs: progress is D3's JSONL."""
    level = optuna.logging.get_verbosity()
    optuna.logging.set_verbosity(optuna.logging.WARNING)
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", optuna.exceptions.ExperimentalWarning)
            yield
    finally:
        optuna.logging.set_verbosity(level)
