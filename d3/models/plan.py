"""The simulation plan: root ``params.yaml`` (or an older inputs tree's ``simulation.yaml``)."""

from __future__ import annotations

from typing import Annotated, Literal

from pydantic import Field

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


class SensitivityKey(Strict):
    """An operator or params key swung in the tornado: ``key`` in ``dvc exp run -S`` syntax
    (``FILE:dotted.key``), swung to ``low`` and ``high`` with everything else central."""

    key: Annotated[str, Field(pattern=r"^(params\.yaml|inputs/operator/(general|public_tap|"
                                      r"private_tap)\.yaml):[A-Za-z0-9_.]+$")]
    low: float | int | bool | str
    high: float | int | bool | str


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
    sobol_base_samples: Annotated[int, Field(ge=8, le=65_536)] = 64
    sobol_simulations: PosInt = 20


class Plan(Strict):
    run: RunPlan = RunPlan()
    stochastic: Stochastic = Stochastic()
    stress: Stress = Stress()
    consolidation: Consolidation = Consolidation()
    targets: Targets = Targets()
    scenarios: dict[str, ScenarioMultipliers] = Field(default_factory=_default_scenarios)
    logging: Logging = Logging()
    sensitivity: Sensitivity = Sensitivity()
