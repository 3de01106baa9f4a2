"""Public Tap capacity (SPEC §5.4): tokens per model → hourly demand → peak → replicas →
GPU cost. Tokens are per month; demand per hour; costs EUR."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass

import numpy as np

from d3.pipelines.public.gpu_costs import CostRow
from d3.services.autoscaling import capacity_per_instance, instances_needed


def hourly_weights(profile_type: str, weights: Sequence[float] | None, hours: int) -> np.ndarray:
    """Share of a month's tokens in each of its ``hours`` hours (sums to 1). Diurnal weights
    repeat every 24 hours and are normalised over the month."""
    if profile_type == "uniform":
        return np.full(hours, 1.0 / hours)
    pattern = np.resize(np.asarray(weights, dtype=np.float64), hours)
    return pattern / pattern.sum()


def hourly_demand(tokens: float, shares: np.ndarray) -> np.ndarray:
    """Tokens per hour of one month; the hours add up to ``tokens`` (the last hour takes the
    rounding residue)."""
    hourly = tokens * shares
    hourly[-1] = tokens - float(np.sum(hourly[:-1]))
    return hourly


def peak_share(shares: np.ndarray, *, peak_factor: float, peak_percentile: float | None) -> float:
    """Peak-hour tokens as a share of the month's tokens: ``peak_factor / hours`` (peak = average ×
    factor), or the ``peak_percentile`` of the hourly shares when set."""
    if peak_percentile is not None:
        return float(np.percentile(shares, peak_percentile, method="linear"))
    return peak_factor / len(shares)


@dataclass(frozen=True)
class CapacityPolicy:
    hours_in_month: int
    target_utilization_pct: float
    min_instances: int
    max_instances: int
    peak_share: float  # peak tokens/hour per token of the month


@dataclass(frozen=True)
class ModelCapacity:
    model: str
    gpu: str
    tps: float
    instance_eur_hr: float
    gpu_cost_eur_per_1M: float
    mix_frac: float


def model_capacities(best: Mapping[str, CostRow], mix: Mapping[str, float]) -> list[ModelCapacity]:
    return [ModelCapacity(m, best[m].gpu, best[m].tps, best[m].instance_eur_hr,
                          best[m].gpu_cost_eur_per_1M, mix[m]) for m in sorted(mix)]


@dataclass(frozen=True)
class CapacityResult:
    avg_tokens_per_hour: np.ndarray  # (models, ...) per model
    peak_tokens_per_hour: np.ndarray
    cap_per_instance: np.ndarray  # (models,)
    instances: np.ndarray  # (models, ...)
    violation: np.ndarray  # (models, ...) bool
    gpu_cogs_eur: np.ndarray  # (...) summed over models
    non_gpu_cogs_eur: np.ndarray  # (...)


def capacity(tokens_served: np.ndarray, models: Sequence[ModelCapacity], policy: CapacityPolicy,
             *, infra_overhead_pct_of_gpu: float, base_eur_per_1M: float) -> CapacityResult:
    """Planner over any array of monthly tokens (e.g. ``(samples, months)``)."""
    shape = (-1,) + (1,) * tokens_served.ndim  # one leading axis per model
    per_model = tokens_served[None, ...] * np.array([m.mix_frac for m in models]).reshape(shape)
    avg = per_model / policy.hours_in_month
    peak = per_model * policy.peak_share
    caps = np.array([capacity_per_instance(m.tps, policy.target_utilization_pct)
                     for m in models])
    inst, violation = instances_needed(peak, caps.reshape(shape), policy.min_instances,
                                       policy.max_instances)
    price = np.array([m.instance_eur_hr for m in models]).reshape(shape)
    gpu = (inst * policy.hours_in_month * price).sum(axis=0)
    non_gpu = gpu * infra_overhead_pct_of_gpu / 100.0 + tokens_served / 1e6 * base_eur_per_1M
    return CapacityResult(avg, peak, caps, inst, violation, gpu, non_gpu)


def capacity_policy(public, hours_in_month: int) -> CapacityPolicy:
    """The planner settings of one operator configuration."""
    a = public.autoscaling
    shares = hourly_weights(public.demand_profile.type, public.demand_profile.hourly_weights,
                            hours_in_month)
    return CapacityPolicy(hours_in_month, a.target_utilization_pct, a.min_instances_per_model,
                          a.max_instances_per_model,
                          peak_share(shares, peak_factor=a.peak_factor,
                                     peak_percentile=a.capacity_peak_percentile))
