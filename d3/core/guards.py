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
from d3.services.acquisition import channel_cac_eur

# Peak resident memory of a run ≈ BASE + samples × modelled months × PER_SAMPLE_MONTH
# + ticks per autoscaler trace × PER_TICK. Modelled months = max(horizon, loan term).
# Calibrated on this machine with the shipped inputs (10 public models), `/usr/bin/time -f %M`
# (samples × months, horizon → GB measured / estimated):
#   6 000 × 60, h 24 → 0.70 / 0.71;  24 000 × 60, h 24 → 1.55 / 1.57;
#   24 000 × 24, h 24 → 0.87 / 0.90;  99 000 × 60, h 24 → 5.3 / 5.19 (docs/BENCHMARKS.md);
#   30 × 600, h 600 (25.9 M ticks per trace) → 3.82 / 3.78 — the ticks dominate.
# With stochastic.percentile_samples only the kept samples' monthly series count per month;
# every other sample holds its KPI scalars, flags and indices (issue 14, session 7: 100 k →
# 300 k samples with 15 000 kept grew the process tree by 0.26 GB, ≈ 1 300 B per sample).
MEMORY_BASE_BYTES = 0.42e9
MEMORY_PER_SAMPLE_MONTH_BYTES = 800.0
MEMORY_PER_SAMPLE_SCALARS_BYTES = 1300.0
MEMORY_PER_TICK_BYTES = 130.0  # 30 samples, horizon and term 600 months: 3.82 GB measured
MAX_VALUES_PER_VARIABLE = 1_000_000  # a random variable's probabilities are one array
MAX_NEW_CUSTOMERS_PER_MONTH = 1e9  # beyond it a Poisson draw of new customers loses meaning


def sample_count(variables: Sequence[Variable], plan: Plan) -> int:
    """grid points × replicates × Monte Carlo iterations."""
    return (grid_size(variables) * plan.run.random_runs_per_simulation
            * plan.stochastic.simulations_per_run)


def estimated_peak_memory_gb(samples: int, months: int, ticks_per_trace: int = 0,
                             kept_samples: int | None = None) -> float:
    """Peak resident memory of ``d3 run`` / ``dvc repro`` in GB (1e9 bytes) for ``samples``
    over ``months`` modelled months and ``ticks_per_trace`` autoscaler ticks, of which
    ``kept_samples`` keep their monthly series (default every sample; fewer with
    ``stochastic.percentile_samples``) (calibration above)."""
    kept = samples if kept_samples is None else min(kept_samples, samples)
    return (MEMORY_BASE_BYTES + kept * months * MEMORY_PER_SAMPLE_MONTH_BYTES
            + (samples - kept) * MEMORY_PER_SAMPLE_SCALARS_BYTES
            + ticks_per_trace * MEMORY_PER_TICK_BYTES) / 1e9


def kept_sample_count(variables: Sequence[Variable], plan: Plan) -> int:
    """Samples that keep their monthly series: every one, or with
    ``stochastic.percentile_samples`` N the first ⌈N / replicates⌉ paths of every block."""
    n = plan.stochastic.percentile_samples
    per_block = plan.stochastic.simulations_per_run if n is None else min(
        -(-n // plan.run.random_runs_per_simulation), plan.stochastic.simulations_per_run)
    return grid_size(variables) * plan.run.random_runs_per_simulation * per_block


def simulated_ticks(general: Any, public: Any, variables: Sequence[Variable],
                    plan: Plan) -> int:
    """Evaluation ticks the autoscaler replays per trace: horizon × hours × ticks per hour, at
    the shortest evaluation interval a variable allows (0 without a Public Tap)."""
    if general is None or public is None:
        return 0
    interval = _largest(variables, "public_tap", "autoscaling.evaluation_interval_s",
                        public.autoscaling.evaluation_interval_s, smallest=True)
    hours = int(general.calendar.hours_in_month)
    return int(plan.targets.horizon_months * hours * round(3600.0 / interval))


def modelled_months(general: Any, variables: Sequence[Variable], plan: Plan) -> int:
    """Months every per-sample series spans: max(horizon, the longest loan term allowed)."""
    if general is None:
        return plan.targets.horizon_months
    term = _largest(variables, "general", "loan.term_months", general.loan.term_months)
    return max(plan.targets.horizon_months, int(term))


def size_issues(variables: Sequence[Variable], plan: Plan, file: str,
                ticks_per_trace: int = 0, months: int | None = None) -> list[Issue]:
    """Grid size, sample count and memory against ``run.max_grid_size``,
    ``run.max_samples`` and ``run.max_memory_gb``; ``months`` are the modelled months
    (:func:`modelled_months`, default the horizon)."""
    # A random variable's distribution is one array over its values (the grid's variables
    # are counted by the grid size below).
    out = [Issue(v.file, v.location, f"{v.n_steps + 1} values from {v.text(v.lo)} to "
                 f"{v.text(v.grid_point(v.n_steps))} by {v.text(v.step)}, more than "
                 f"{MAX_VALUES_PER_VARIABLE} for a random variable", "use a coarser step")
           for v in variables if v.kind == "numeric" and v.treatment == "random"
           and v.n_steps + 1 > MAX_VALUES_PER_VARIABLE]
    size = grid_size(variables)
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
    confirm = plan.solve.confirm_simulations_per_run
    if confirm is not None and samples // plan.stochastic.simulations_per_run * confirm > \
            plan.run.max_samples:
        out.append(Issue(file, "solve.confirm_simulations_per_run", f"grid × replicates × "
                         f"{confirm} = {samples // plan.stochastic.simulations_per_run * confirm}"
                         f" samples per solver evaluation, more than run.max_samples = "
                         f"{plan.run.max_samples}", "lower solve.confirm_simulations_per_run "
                         "(null: the plan's simulations_per_run)"))
    months = plan.targets.horizon_months if months is None else months
    memory = estimated_peak_memory_gb(samples, months, ticks_per_trace,
                                      kept_sample_count(variables, plan))
    if memory > plan.run.max_memory_gb:
        out.append(Issue(file, "run.max_memory_gb", f"{samples} samples × "
                         f"{months} months need about {memory:.1f} GB, "
                         f"more than run.max_memory_gb = {plan.run.max_memory_gb:g}",
                         "set stochastic.percentile_samples (monthly statistics over a "
                         "subsample), lower simulations_per_run, random_runs_per_simulation, "
                         "horizon_months or the loan term, or raise run.max_memory_gb if the "
                         "machine has the memory"))
    return out


def _largest(variables: Sequence[Variable], scope: str, path: str, current: float,
             smallest: bool = False) -> float:
    """The extreme value a key can take: its variable's min/max, else the operator value."""
    for var in variables:
        if var.scope != scope or var.path != path:
            continue
        if var.treatment == "fixed":
            return float(var.default)
        values = ([float(x) for x in var.values] if var.kind == "discrete"
                  else [float(var.lo), float(var.grid_point(var.n_steps))])
        return min(values) if smallest else max(values)
    return current


def acquisition_magnitude_issues(
    scope: str, acquisition: Any, variables: Sequence[Variable], plan: Plan, file: str,
    customers_per_eur: float,
) -> list[Issue]:
    """The largest monthly ads budget — ``b0 × (1 + g)^(H−1)`` under ``budget_policy: growth``,
    ``budget_monthly_eur`` under ``flat``, ``max(b0, budget_cap_monthly_eur)`` under
    ``pct_of_inflow`` — and the new customers it buys (budget × customers
    per EUR), at the largest budget, growth and scenario multiplier the plan allows, must stay
    within :data:`MAX_INPUT_MAGNITUDE` EUR and :data:`MAX_NEW_CUSTOMERS_PER_MONTH`."""
    for policy in _values_of(variables, scope, "acquisition.budget_policy",
                             acquisition.budget_policy):
        found = _budget_magnitude_issues(policy, scope, acquisition, variables, plan, file,
                                         customers_per_eur)
        if found:
            return found
    return []


def _values_of(variables: Sequence[Variable], scope: str, path: str, current: Any) -> tuple:
    """Every value a key can take: its variable's default or values, else the operator's."""
    for var in variables:
        if var.scope == scope and var.path == path:
            return (var.default,) if var.treatment == "fixed" else tuple(var.grid_points())
    return (current,)


def _budget_magnitude_issues(policy: str, scope: str, acquisition: Any,
                             variables: Sequence[Variable], plan: Plan, file: str,
                             customers_per_eur: float) -> list[Issue]:
    months = plan.targets.horizon_months
    budget_x = max([1.0, *(s.budget_multiplier for s in plan.scenarios.values())])
    cac_x = min([1.0, *(s.cac_multiplier for s in plan.scenarios.values())])
    if policy == "flat":
        monthly = _largest(variables, scope, "acquisition.budget_monthly_eur",
                           acquisition.budget_monthly_eur)
        budget = monthly * budget_x
        where = "acquisition.budget_monthly_eur"
        reached = f"every month ({monthly:g} EUR × {budget_x:g})"
        fix = "lower budget_monthly_eur or the scenarios' budget_multiplier"
    elif policy == "pct_of_inflow":
        b0 = _largest(variables, scope, "acquisition.budget_month0_eur",
                      acquisition.budget_month0_eur)
        cap = _largest(variables, scope, "acquisition.budget_cap_monthly_eur",
                       acquisition.budget_cap_monthly_eur or 0.0)
        budget = max(b0, cap) * budget_x
        where = "acquisition.budget_cap_monthly_eur"
        reached = f"(max of budget_month0_eur {b0:g} and the cap {cap:g} EUR × {budget_x:g})"
        fix = "lower budget_cap_monthly_eur, budget_month0_eur or the scenarios' budget_multiplier"
    else:
        b0 = _largest(variables, scope, "acquisition.budget_month0_eur",
                      acquisition.budget_month0_eur)
        growth = _largest(variables, scope, "acquisition.budget_growth_pct_mom",
                          acquisition.budget_growth_pct_mom)
        factor = max(1.0, 1.0 + growth / 100.0)
        try:
            budget = b0 * budget_x * factor ** (months - 1)
        except OverflowError:
            budget = float("inf")
        where = "acquisition.budget_growth_pct_mom"
        reached = f"by month {months} ({b0:g} EUR × {budget_x:g} × (1 + {growth:g} %)^{months - 1})"
        fix = "lower budget_growth_pct_mom, budget_month0_eur or horizon_months"
    if budget > MAX_INPUT_MAGNITUDE:
        return [Issue(file, where, f"the monthly ads budget reaches {budget:.3g} EUR {reached}, "
                      f"beyond the magnitude guard {MAX_INPUT_MAGNITUDE:g} EUR", fix)]
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
    if acquisition.channel_allocation:
        return max(1.0 / channel_cac_eur(channels[c], eur_usd_fx_rate=eur_usd_fx_rate)
                   for c in acquisition.channel_allocation if c in channels)
    cac = _largest(variables, scope, "acquisition.cac_base_eur", acquisition.cac_base_eur,
                   smallest=True)
    return 1.0 / cac
