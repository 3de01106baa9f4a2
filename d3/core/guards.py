"""Size and magnitude guards, judged before anything is built (docs/DECISIONS.md, "Guards").

Every figure here is arithmetic on the validated inputs — grid points, samples, the memory a
run will need, the largest ads budget and customer count the horizon can reach — so a plan
that would exhaust memory or overflow a draw is refused with exit 2 instead of failing later.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from d3.core.errors import Issue
from d3.core.variables import Variable, grid_size
from d3.models.common import MAX_INPUT_MAGNITUDE
from d3.models.plan import Plan

# Peak resident memory of a run ≈ BASE + samples × (PER_SAMPLE + PER_SAMPLE_MONTH × months).
# Calibrated on this machine with the shipped inputs (10 public models), `/usr/bin/time -f %M`:
# 6 000 samples × 24 months → 0.70 GB, 24 000 × 6 / 24 / 60 → 1.55 / 1.55 / 1.63 GB,
# 99 000 × 24 → 5.3 GB (docs/BENCHMARKS.md). The estimate is within 5 % of each.
MEMORY_BASE_BYTES = 0.45e9
MEMORY_PER_SAMPLE_BYTES = 45e3
MEMORY_PER_SAMPLE_MONTH_BYTES = 100.0
MAX_NEW_CUSTOMERS_PER_MONTH = 1e9  # beyond it a Poisson draw of new customers loses meaning


def sample_count(variables: Sequence[Variable], plan: Plan) -> int:
    """grid points × replicates × Monte Carlo iterations."""
    return (grid_size(variables) * plan.run.random_runs_per_simulation
            * plan.stochastic.simulations_per_run)


def estimated_peak_memory_gb(samples: int, months: int) -> float:
    """Peak resident memory of ``d3 run`` / ``dvc repro`` in GB (1e9 bytes), see the
    calibration above."""
    per_sample = MEMORY_PER_SAMPLE_BYTES + MEMORY_PER_SAMPLE_MONTH_BYTES * months
    return (MEMORY_BASE_BYTES + samples * per_sample) / 1e9


def size_issues(variables: Sequence[Variable], plan: Plan, file: str) -> list[Issue]:
    """Grid size, sample count and memory against ``run.max_grid_size``,
    ``run.max_samples`` and ``run.max_memory_gb``."""
    size = grid_size(variables)
    out = []
    if size > plan.run.max_grid_size:
        out.append(Issue(file, "run.max_grid_size", f"the run grid has {size} points, more than "
                         f"run.max_grid_size = {plan.run.max_grid_size}", "make some "
                         "low_to_high variables random, or use a coarser step"))
        return out  # the sample count and memory follow from the grid: one cause, one error
    samples = sample_count(variables, plan)
    if samples > plan.run.max_samples:
        out.append(Issue(file, "run.max_samples", f"grid × replicates × Monte Carlo = {samples} "
                         f"samples, more than run.max_samples = {plan.run.max_samples}",
                         "lower simulations_per_run or random_runs_per_simulation, or use "
                         "random instead of low_to_high"))
        return out
    memory = estimated_peak_memory_gb(samples, plan.targets.horizon_months)
    if memory > plan.run.max_memory_gb:
        out.append(Issue(file, "run.max_memory_gb", f"{samples} samples × "
                         f"{plan.targets.horizon_months} months need about {memory:.1f} GB, "
                         f"more than run.max_memory_gb = {plan.run.max_memory_gb:g}",
                         "lower simulations_per_run, random_runs_per_simulation or "
                         "horizon_months, or raise run.max_memory_gb if the machine has the "
                         "memory"))
    return out


def _largest(variables: Sequence[Variable], scope: str, path: str, current: float,
             smallest: bool = False) -> float:
    """The extreme value a key can take: its variable's min/max, else the operator value."""
    for var in variables:
        if var.scope == scope and var.path == path and var.kind == "numeric":
            bound = var.lo if smallest else var.grid_point(var.n_steps)
            if var.treatment == "fixed":
                bound = var.default
            return float(bound)
    return current


def acquisition_magnitude_issues(
    scope: str, acquisition: Any, variables: Sequence[Variable], plan: Plan, file: str,
    customers_per_eur: float,
) -> list[Issue]:
    """The ads budget ``b0 × (1 + g)^(H−1)`` and new customers per month (budget × customers
    per EUR) at the largest budget, growth and scenario multiplier the plan allows must stay
    within :data:`MAX_INPUT_MAGNITUDE` EUR and :data:`MAX_NEW_CUSTOMERS_PER_MONTH`."""
    months = plan.targets.horizon_months
    b0 = _largest(variables, scope, "acquisition.budget_month0_eur",
                  acquisition.budget_month0_eur)
    growth = _largest(variables, scope, "acquisition.budget_growth_pct_mom",
                      acquisition.budget_growth_pct_mom)
    budget_x = max([1.0, *(s.budget_multiplier for s in plan.scenarios.values())])
    cac_x = min([1.0, *(s.cac_multiplier for s in plan.scenarios.values())])
    factor = max(1.0, 1.0 + growth / 100.0)
    try:
        budget = b0 * budget_x * factor ** (months - 1)
    except OverflowError:
        budget = float("inf")
    where = "acquisition.budget_growth_pct_mom"
    if budget > MAX_INPUT_MAGNITUDE:
        return [Issue(file, where, f"the monthly ads budget reaches {budget:.3g} EUR by month "
                      f"{months} ({b0:g} EUR × {budget_x:g} × (1 + {growth:g} %)^{months - 1}), "
                      f"beyond the magnitude guard {MAX_INPUT_MAGNITUDE:g} EUR",
                      "lower budget_growth_pct_mom, budget_month0_eur or horizon_months")]
    customers = budget * customers_per_eur / cac_x
    if customers > MAX_NEW_CUSTOMERS_PER_MONTH:
        return [Issue(file, where, f"the ads budget buys {customers:.3g} new customers in "
                      f"month {months}, beyond the guard {MAX_NEW_CUSTOMERS_PER_MONTH:g}",
                      "check cac_base_eur / the ads channels' costs and the budget")]
    return []


def cheapest_customers_per_eur(acquisition: Any, variables: Sequence[Variable], scope: str,
                               channels: Mapping[str, Mapping[str, Any]],
                               eur_usd_fx_rate: float) -> float:
    """New customers per EUR at the lowest CAC the inputs allow (upper bound)."""
    from d3.services.acquisition import channel_cac_eur

    if acquisition.channel_allocation:
        return max(1.0 / channel_cac_eur(channels[c], eur_usd_fx_rate=eur_usd_fx_rate)
                   for c in acquisition.channel_allocation if c in channels)
    cac = _largest(variables, scope, "acquisition.cac_base_eur", acquisition.cac_base_eur,
                   smallest=True)
    return 1.0 / cac
