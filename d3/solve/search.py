"""The search for the fundable plan nearest to the founder's: the founder's plan evaluated as
the inputs have it, then (when it is not fundable) a seeded Optuna TPE search over the
decisions' values on a cheap screening sample, confirmation of the best candidates at the
plan's full sample count, the polish of the best one, what each of its changes buys (the best
with that change undone) and a re-check of the proposal on independent random futures.

Every evaluation applies exactly the overrides of the candidate's ``dvc exp run -S`` command
(:mod:`d3.solve.decisions`), on common random numbers: every candidate draws from the same
keyed streams, and customers and churn are drawn by inversion of one uniform per sample and
month (:mod:`d3.core.inverse_sampling`), so a decision that moves a budget or a rate moves each
path monotonically instead of re-randomising it; the screened candidates also pin the same
variables. A variable left as the inputs have it (the founder's plan, the polish's unpinned
candidates) keeps its own draws, which differ from a pinned value's — that is the decision.
The autoscaler's per-tick token noise is the exception (NumPy's Poisson sampler; see
docs/DECISIONS.md). The sampler is seeded, sequential and in-memory, so a seed and a budget
give the same candidates, byte for byte.
"""

from __future__ import annotations

import hashlib
import math
import warnings
from collections.abc import Callable, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field, replace
from functools import partial
from typing import Any

from d3.core.errors import ValidationError
from d3.model import ModelInputs, evaluate
from d3.solve.decisions import PARAMS, Decision, overrides_of
from d3.solve.outcome import Outcome, failed_outcome, invalid_outcome, outcome_of, rank_key

CURRENT, SCREEN, CONFIRM, POLISH, ATTRIBUTION, RECHECK = (
    "current", "screen", "confirm", "polish", "attribution", "recheck")
CURRENT_TRIAL = -1  # the founder's plan is not a screening trial
SHORTFALL = "shortfall"  # the sampler's constraint: feasible when ≤ 0
SEED_KEY = f"{PARAMS}:stochastic.random_seed"
RECHECK_KEY = "d3-solve-recheck"

Choice = tuple[int | None, ...]
# (inputs, overrides in FILE:key → value form, keep the evaluation?) → the candidate's outcome.
Measure = Callable[[ModelInputs, Mapping[str, Any], bool], Outcome]


@dataclass(frozen=True)
class Candidate:
    """One evaluated candidate: per decision the index of its value, or ``None`` for a
    varying variable left as the inputs have it (``choice``); the weighted normalised
    distance from the founder's plan, its outcome, and where it came from (``phase``; the
    screening ``trial`` it descends from, :data:`CURRENT_TRIAL` for the founder's plan)."""

    phase: str
    trial: int
    choice: Choice
    distance: float
    outcome: Outcome

    @property
    def rank(self) -> tuple:
        """The candidate's sort key (:func:`d3.solve.outcome.rank_key`): the smallest ranks
        best — feasible, nearest, then the higher p50 net income."""
        return rank_key(self.distance, self.outcome, self.trial)


@dataclass
class Search:
    """The search's result: every candidate in evaluation order (``log``), the founder's plan
    as the inputs have it (``current``), the best candidate at the full sample count, per
    changed decision (its index) the best with that change undone (``attribution``), and the
    best re-evaluated on independent random futures (``recheck``, seed ``recheck_seed``)."""

    decisions: tuple[Decision, ...]
    log: list[Candidate] = field(default_factory=list)
    attribution: dict[int, Candidate] = field(default_factory=dict)
    current: Candidate | None = None
    best: Candidate | None = None
    recheck: Candidate | None = None
    recheck_seed: int | None = None

    @property
    def candidates(self) -> list[Candidate]:
        """Every evaluation in the order it ran: the founder's plan, the screening trials,
        then those at the full sample count (confirmation, polish, attribution, re-check)."""
        return list(self.log)

    @property
    def screened(self) -> list[Candidate]:
        """The screening evaluations (smaller sample), in trial order."""
        return [c for c in self.log if c.phase == SCREEN]


def arguments_of(decisions: Sequence[Decision], choice: Choice) -> list[str]:
    """The ``dvc exp run -S`` arguments of a candidate, in decision order."""
    return [a for d, k in zip(decisions, choice, strict=True)
            if (a := d.argument(k)) is not None]


def sampler_seed(inputs: ModelInputs) -> int:
    """The seed of the search's sampler: ``solve.seed``, else the general scope's resolved
    seed (``--seed`` when given)."""
    s = inputs.plan.solve
    return s.seed if s.seed is not None else int(inputs.seeds["general"])


def recheck_seed(inputs: ModelInputs) -> int:
    """The seed of the re-check's independent futures, derived from the general scope's
    seed ``g``: the first 4 bytes (little-endian) of blake2b(``d3-solve-recheck|g|n``) for
    n = 0, 1, … — the first that no scope of the plan uses (streams are keyed by seed and
    scope, so a shared seed would share a scope's futures)."""
    used, g = {int(v) for v in inputs.seeds.values()}, int(inputs.seeds["general"])
    n = 0
    while True:
        text = f"{RECHECK_KEY}|{g}|{n}".encode()
        seed = int.from_bytes(hashlib.blake2b(text, digest_size=4).digest(), "little")
        if seed not in used:
            return seed
        n += 1


def model_outcome(inputs: ModelInputs, overrides: Mapping[str, Any], keep: bool, *,
                  max_concurrency: int = 1) -> Outcome:
    """The :class:`Outcome` of the model evaluated in memory with ``overrides``
    (:func:`d3.model.evaluate`); ``keep`` holds the evaluation for its KPIs."""
    ev = evaluate(inputs, overrides=overrides, max_concurrency=max_concurrency)
    return outcome_of(ev, inputs.plan.targets.min_acceptance_probability, keep=keep)


class _Evaluator:
    """Evaluates candidates with exactly their command's overrides (plus, when screening, the
    smaller sample; when re-checking, another seed), logs and reports each evaluation."""

    def __init__(self, inputs: ModelInputs, decisions: Sequence[Decision], measure: Measure,
                 on_evaluation: Callable[[Candidate], None] | None, log: list[Candidate]):
        self.inputs, self.decisions, self.measure = inputs, tuple(decisions), measure
        self.on_evaluation, self.log = on_evaluation, log

    def distance(self, choice: Choice) -> float:
        return math.fsum(d.distance(k) for d, k in zip(self.decisions, choice, strict=True))

    def __call__(self, phase: str, trial: int, choice: Choice,
                 sample: Mapping[str, Any] | None = None, *, seed: int | None = None
                 ) -> Candidate:
        overrides = {**overrides_of(arguments_of(self.decisions, choice)), **(sample or {})}
        inputs = self.inputs
        if seed is not None:  # every scope on the one seed: --seed must not shadow it
            inputs, overrides[SEED_KEY] = replace(inputs, seed_override=None), seed
        try:
            outcome = self.measure(inputs, overrides, phase != SCREEN)
        except ValidationError as exc:
            outcome = invalid_outcome(exc.issues[0].line())
        except Exception as exc:  # noqa: BLE001 - recorded as failed; the search goes on
            outcome = failed_outcome(exc)
        candidate = Candidate(phase, trial, choice, self.distance(choice), outcome)
        self.log.append(candidate)
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


def confirm_sample(inputs: ModelInputs) -> dict[str, Any]:
    """The plan overrides of a full-count evaluation: none (the plan's own count), or
    ``solve.confirm_simulations_per_run`` paths per replicate when set."""
    n = inputs.plan.solve.confirm_simulations_per_run
    return {} if n is None else {"params.yaml:stochastic.simulations_per_run": n}


def search(inputs: ModelInputs, decisions: Sequence[Decision], *, max_concurrency: int = 1,
           on_evaluation: Callable[[Candidate], None] | None = None,
           measure: Measure | None = None) -> Search:
    """Evaluate the founder's plan as the inputs have it (no override) at the full sample
    count; when it is not fundable, screen ``solve.trials`` candidates (trial 0: every
    decision at its current value, varying variables pinned there), confirm the
    ``solve.confirm`` best at the full count, polish the best of them and the founder's plan
    (:func:`_polished`) and undo each of its changes in turn (what each buys); then re-check
    the best on independent futures (:func:`recheck_seed`). ``measure`` evaluates one
    candidate (default: the model, :func:`model_outcome`). A candidate whose values the
    validator refuses, or whose evaluation raises, is recorded as invalid or failed and ranks
    last. Raises ``RuntimeError`` when no candidate at all could be evaluated."""
    out = Search(tuple(decisions))
    measure = measure or partial(model_outcome, max_concurrency=max_concurrency)
    evaluator = _Evaluator(inputs, out.decisions, measure, on_evaluation, out.log)
    full = _FullCount(evaluator, confirm_sample(inputs))
    out.current = full(CURRENT, CURRENT_TRIAL, tuple(d.baseline for d in out.decisions))
    out.best = out.current
    if not out.current.outcome.feasible:
        screened = _screened(inputs, evaluator)
        confirmed = [full(CONFIRM, c.trial, c.choice)
                     for c in sorted(screened, key=lambda c: c.rank)[:inputs.plan.solve.confirm]]
        out.best = _polished(full, min([out.current, *confirmed], key=lambda c: c.rank))
        for i, d in enumerate(out.decisions):
            if out.best.choice[i] != d.baseline:
                out.attribution[i] = full(ATTRIBUTION, out.best.trial,
                                          _with(out.best.choice, i, d.baseline))
    out.recheck_seed = recheck_seed(inputs)
    out.recheck = evaluator(RECHECK, out.best.trial, out.best.choice, confirm_sample(inputs),
                            seed=out.recheck_seed)
    _check_something_evaluated(out.log)
    return out


def _check_something_evaluated(log: Sequence[Candidate]) -> None:
    """An internal error, not a search result, when every evaluation failed."""
    if not any(c.outcome.evaluated for c in log):
        first = next((c.outcome.error for c in log if c.outcome.error), "")
        raise RuntimeError(f"no candidate could be evaluated; the first failure: {first}")


class _FullCount:
    """Evaluations at the full count (the plan's, or ``solve.confirm_simulations_per_run``),
    each candidate once (``done``: choice → candidate)."""

    def __init__(self, evaluator: _Evaluator, sample: Mapping[str, Any]):
        self.evaluator, self.sample = evaluator, sample
        self.done: dict[Choice, Candidate] = {}

    def __call__(self, phase: str, trial: int, choice: Choice) -> Candidate:
        if choice not in self.done:
            self.done[choice] = self.evaluator(phase, trial, choice, self.sample or None)
        return self.done[choice]


def _with(choice: Choice, i: int, k: int | None) -> Choice:
    return (*choice[:i], k, *choice[i + 1:])


def _polished(full: _FullCount, best: Candidate) -> Candidate:
    """``best`` with each change taken back toward the founder's plan as far as it can go
    without losing ground — a feasible candidate stays feasible, an infeasible one keeps at
    most its shortfall: the largest change first, undone whole if that holds, else bisected
    over the values between (:meth:`Decision.toward`; assuming the criteria move
    monotonically along one decision). Passes repeat until one changes nothing, so undoing
    any change of the result alone loses ground (what "without it" reports). Screening
    explores many decisions at once; this keeps only the changes that are needed."""
    decisions = full.evaluator.decisions
    while True:
        start = best
        order = sorted((i for i, d in enumerate(decisions) if best.choice[i] != d.baseline),
                       key=lambda i: (-decisions[i].distance(best.choice[i]), i))
        for i in order:
            best = _pulled_back(full, best, i)
        if best.choice == start.choice:
            return best


def _pulled_back(full: _FullCount, best: Candidate, i: int) -> Candidate:
    """``best`` with decision ``i`` as near the founder's plan as holds (see
    :func:`_polished`)."""
    path = full.evaluator.decisions[i].toward(best.choice[i])
    if not path:
        return best

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
    return candidate.evaluated and candidate.shortfall <= reference.shortfall + 1e-12


def _screened(inputs: ModelInputs, evaluator: _Evaluator) -> list[Candidate]:
    """The screening pass: one Optuna trial per ``solve.trials``; a candidate proposed again
    is not evaluated again (its result is told to the sampler once more)."""
    import optuna

    s = inputs.plan.solve
    decisions = evaluator.decisions
    sample = screen_sample(inputs)
    seen: dict[Choice, Candidate] = {}
    with _quiet(optuna):
        sampler = optuna.samplers.TPESampler(seed=sampler_seed(inputs),
                                             n_startup_trials=s.startup_trials,
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
