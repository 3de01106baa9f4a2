"""The simulation plan: root ``params.yaml`` (or an older inputs tree's ``simulation.yaml``)."""

from __future__ import annotations

import re
from typing import Annotated, Literal

from pydantic import AfterValidator, Field

from d3.models.common import Pct, PosInt, Strict

MAX_HORIZON_MONTHS = 600  # 50 years: beyond any loan or plan a lender reads


class RunPlan(Strict):
    random_seed: int | None = None
    random_runs_per_simulation: PosInt = 1  # replicates per grid point
    max_grid_size: PosInt = 10_000
    max_samples: PosInt = 10_000_000
    pipelines: Annotated[list[Literal["public", "private"]],
                         Field(min_length=1)] = ["public", "private"]
    fail_on_warning: bool = False
    # Refuse a plan whose estimated peak memory (d3/core/guards.py) exceeds this, in GB.
    max_memory_gb: Annotated[float, Field(gt=0)] = 16.0
    chunk_blocks: PosInt = 64  # (grid, replicate) blocks per work chunk; never changes bytes


class Stochastic(Strict):
    random_seed: int | None = None
    simulations_per_run: Annotated[int, Field(ge=1)] = 1000  # Monte Carlo iterations per block
    percentiles: list[int] = [10, 50, 90]
    outcome_noise: bool = True  # false: every Monte Carlo path equals the expected path
    # How the replicates of a grid point draw the random variables: independently, or
    # stratified (one draw per equal-probability stratum; d3.core.variables.lhs_column).
    sampling: Literal["random", "latin_hypercube"] = "random"
    # Opt-in for very large runs: the monthly percentile paths (statements, fans, autoscaler
    # traces, max loan) over a stratified subsample of about this many samples per grid point
    # (the first ⌈N / replicates⌉ paths of every block); KPIs and probabilities always use
    # every sample. null: every sample (exact over the run). docs/DECISIONS.md, issue 14.
    percentile_samples: Annotated[int, Field(ge=1)] | None = None


class Stress(Strict):
    provider_price_drift_pct: Pct = 10.0
    tps_downshift_pct: Annotated[float, Field(ge=0, lt=100)] = 10.0
    fx_widen_buffer_pct: Pct = 5.0


class Consolidation(Strict):
    overhead_allocation_driver: Literal["revenue", "gpu_hours", "tokens"] = "revenue"


class Targets(Strict):
    horizon_months: Annotated[int, Field(ge=1, le=MAX_HORIZON_MONTHS)] = 24
    min_dscr: Annotated[float, Field(ge=0)] = 1.2
    min_cash_eur: float = 0.0
    public_growth_min_mom_pct: float = 0.0
    private_growth_required: bool = False
    private_margin_threshold_pct: Pct = 20.0
    autoscaling_util_tolerance_pct: Pct = 15.0
    # A criterion holds when at least this share of a grid point's samples meets it (SPEC §8).
    min_acceptance_probability: Annotated[float, Field(gt=0, le=1)] = 0.9
    # Optional: the Public Tap's realised gross margin over the horizon must reach this.
    public_realised_margin_min_pct: Annotated[float, Field(ge=-100, le=100)] | None = None


class ScenarioMultipliers(Strict):
    budget_multiplier: Annotated[float, Field(ge=0)] = 1.0
    cac_multiplier: Annotated[float, Field(gt=0)] = 1.0
    churn_multiplier: Annotated[float, Field(ge=0)] = 1.0
    tokens_multiplier: Annotated[float, Field(ge=0)] = 1.0


def _default_scenarios() -> dict[str, ScenarioMultipliers]:
    return {
        "worst": ScenarioMultipliers(
            budget_multiplier=0.8, cac_multiplier=1.3, churn_multiplier=1.5, tokens_multiplier=0.7
        ),
        "base": ScenarioMultipliers(),
        "best": ScenarioMultipliers(
            budget_multiplier=1.2, cac_multiplier=0.8, churn_multiplier=0.7, tokens_multiplier=1.3
        ),
    }


class Logging(Strict):
    level: Literal["debug", "info", "warning"] = "info"


_OVERRIDE_KEY = re.compile(r"^(params\.yaml|inputs/operator/(general|public_tap|private_tap)"
                           r"\.yaml):[A-Za-z0-9_]+(\.[A-Za-z0-9_]+)*$")
OVERRIDE_KEY_HINT = ("FILE is params.yaml or inputs/operator/<general|public_tap|private_tap>"
                     ".yaml, as in dvc exp run -S (e.g. "
                     "inputs/operator/general.yaml:loan.amount_eur)")


def override_key_problem(key: str) -> str | None:
    """Why ``key`` is not ``FILE:dotted.key`` as ``dvc exp run -S`` writes it (the hint is
    :data:`OVERRIDE_KEY_HINT`); None when it is."""
    return None if _OVERRIDE_KEY.match(key) else f"{key!r} is not FILE:dotted.key"


def _override_key(key: str) -> str:
    problem = override_key_problem(key)
    if problem is not None:
        raise ValueError(f"{problem} — {OVERRIDE_KEY_HINT}")
    return key


# An operator or params key in ``dvc exp run -S`` syntax: ``FILE:dotted.key``.
OverrideKey = Annotated[str, AfterValidator(_override_key)]
# A value a key can hold: a number, true/false or text.
Scalar = float | int | bool | str


class SensitivityKey(Strict):
    """An operator or params key swung in the tornado: ``key`` in ``dvc exp run -S`` syntax
    (``FILE:dotted.key``), swung to ``low`` and ``high`` with everything else central."""

    key: OverrideKey
    low: float | int | bool | str
    high: float | int | bool | str


def _power_of_two(n: int) -> int:
    if n & (n - 1):
        below = 1 << (n.bit_length() - 1)
        raise ValueError(f"{n} is not a power of 2 (Sobol' sequences balance only at powers "
                         f"of 2) — use {below} or {below * 2}")
    return n


class Sensitivity(Strict):
    """What the ``sensitivity`` stage evaluates (issue 16). Not part of ``validated/plan.json``:
    changing it reruns only that stage."""

    tornado: bool = True
    # Outcome-noise paths per tornado evaluation: replicates × simulations (every variable is
    # fixed in a tornado evaluation, so replicates differ only in outcome noise).
    replicates: PosInt = 4
    simulations_per_evaluation: PosInt = 100
    extra_keys: list[SensitivityKey] = []
    # Variance-based (Sobol) indices over the random variables: Saltelli's scheme evaluates
    # base_samples × (variables + 2) parameter sets, each with sobol_simulations noise paths.
    sobol: bool = True
    sobol_base_samples: Annotated[int, Field(ge=8, le=65_536),
                                  AfterValidator(_power_of_two)] = 64
    sobol_simulations: PosInt = 20


class SolveDecision(Strict):
    """A decision the solver may change (issue 17): ``key`` in ``dvc exp run -S`` syntax, its
    values ``low, low + step, …, high`` (numbers) or ``choices`` (any values the key takes);
    ``weight`` scales its share of the distance from the current plan.

    The schema holds the types only. What the fields mean together — the key's form, one
    domain, ``low < high``, a positive ``step`` and ``weight``, at least one choice — is
    judged with the inputs by :func:`d3.solve.decisions.resolved_decisions`, which reports
    every problem of every decision at once (a schema error here would hide the others: the
    whole plan fails)."""

    key: str
    low: float | None = None
    high: float | None = None
    step: float | None = None
    choices: list[Scalar] | None = None
    weight: float = 1.0


class Solve(Strict):
    """What the ``solve`` stage searches (issue 17): the decisions, the evaluation budget and
    the sample sizes. Not part of ``validated/plan.json``: changing it reruns only that stage."""

    decisions: list[SolveDecision] = []
    # Screening evaluations (Optuna trials), the current plan (trial 0) included.
    trials: Annotated[int, Field(ge=1, le=100_000)] = 60
    # Random trials before the TPE sampler models the results.
    startup_trials: PosInt = 10
    # Monte Carlo paths per replicate while screening (the plan's full count confirms).
    screen_simulations_per_run: PosInt = 100
    screen_replicates: PosInt | None = None  # null: run.random_runs_per_simulation
    # Best screened candidates re-evaluated at the plan's full sample count.
    confirm: PosInt = 3
    # The "full count" of the confirmation, polish, attribution and re-check evaluations:
    # null = stochastic.simulations_per_run; smaller bounds the cost on very large runs.
    confirm_simulations_per_run: PosInt | None = None
    seed: int | None = None  # the sampler's seed; null: the general scope's resolved seed


class Plan(Strict):
    run: RunPlan = RunPlan()
    stochastic: Stochastic = Stochastic()
    stress: Stress = Stress()
    consolidation: Consolidation = Consolidation()
    targets: Targets = Targets()
    scenarios: dict[str, ScenarioMultipliers] = Field(default_factory=_default_scenarios)
    logging: Logging = Logging()
    sensitivity: Sensitivity = Sensitivity()
    # variable_id → value: the variable is fixed at this value (a value of its grid) whatever
    # its treatment; what a `dvc exp run -S params.yaml:++fixed_variables.<id>=<value>` sets.
    fixed_variables: dict[str, Scalar] = {}
    solve: Solve = Solve()
