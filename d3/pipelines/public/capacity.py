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
    gpu_cost_eur_per_1M: float  # at full throughput
    mix_frac: float
    sell_eur_per_1k: float = 0.0  # the price card's sell price
    priced_cost_eur_per_1M: float = 0.0  # the cost the price was set on (its cost basis)


def model_capacities(best: Mapping[str, CostRow], mix: Mapping[str, float],
                     card=None) -> list[ModelCapacity]:
    """The public models of a price ``card`` (or of ``mix`` alone) on their GPU ``g*``."""
    return [ModelCapacity(m, best[m].gpu, best[m].tps, best[m].instance_eur_hr,
                          best[m].gpu_cost_eur_per_1M, mix[m],
                          card.prices[m].sell_eur_per_1k if card else 0.0,
                          card.costs_eur_per_1M[m] if card else 0.0) for m in sorted(mix)]


def servable_tokens_per_month(models: Sequence[ModelCapacity],
                              policy: CapacityPolicy) -> np.ndarray:
    """Tokens per month each model's fleet serves at the instance cap, ``(models,)``:
    ``max_instances × cap_per_instance / peak_share``. Demand above it would need more than
    ``max_instances`` replicas at the planned utilisation in the peak hour (the planner's
    ``capacity_violation``), so "unserved > 0" and "capacity violation" are the same event."""
    caps = np.array([capacity_per_instance(m.tps, policy.target_utilization_pct)
                     for m in models])
    return policy.max_instances * caps / policy.peak_share


def tokens_by_model(tokens: np.ndarray, models: Sequence[ModelCapacity]) -> np.ndarray:
    """Monthly tokens split by the model mix: ``(models, *tokens.shape)``."""
    shape = (-1,) + (1,) * np.ndim(tokens)
    return np.asarray(tokens)[None, ...] * np.array([m.mix_frac for m in models]).reshape(shape)


def served_tokens_by_model(tokens_demanded: np.ndarray, models: Sequence[ModelCapacity],
                           policy: CapacityPolicy) -> np.ndarray:
    """Tokens served per model: ``min(demanded × mix, servable at the instance cap)``,
    shape ``(models, *tokens_demanded.shape)``."""
    cap = servable_tokens_per_month(models, policy).reshape((-1,) + (1,) * np.ndim(
        tokens_demanded))
    return np.minimum(tokens_by_model(tokens_demanded, models), cap)


@dataclass(frozen=True)
class CapacityResult:
    demanded: np.ndarray  # (models, ...) tokens demanded per month
    avg_tokens_per_hour: np.ndarray  # (models, ...) of the demand
    peak_tokens_per_hour: np.ndarray
    cap_per_instance: np.ndarray  # (models,)
    instances: np.ndarray  # (models, ...)
    violation: np.ndarray  # (models, ...) bool: demand needs more than max_instances
    served: np.ndarray  # (models, ...) tokens served per month
    gpu_cogs_by_model_eur: np.ndarray  # (models, ...) rented instances × hours × EUR/hr
    gpu_cogs_eur: np.ndarray  # (...) summed over models
    non_gpu_cogs_eur: np.ndarray  # (...)

    @property
    def unserved(self) -> np.ndarray:
        """Tokens demanded but not served, per model ``(models, ...)``."""
        return self.demanded - self.served


def capacity(tokens_demanded: np.ndarray, models: Sequence[ModelCapacity],
             policy: CapacityPolicy, *, infra_overhead_pct_of_gpu: float,
             base_eur_per_1M: float) -> CapacityResult:
    """Planner over any array of monthly tokens demanded (e.g. ``(samples, months)``): replicas
    for the peak hour (clamped to ``[min, max]_instances``), the tokens they serve, and the
    public COGS = rented GPU-hours × instance EUR/hr × (1 + infra overhead) + base EUR per 1M
    served tokens (SPEC §5.4)."""
    shape = (-1,) + (1,) * np.ndim(tokens_demanded)
    per_model = tokens_by_model(tokens_demanded, models)
    avg = per_model / policy.hours_in_month
    peak = per_model * policy.peak_share
    caps = np.array([capacity_per_instance(m.tps, policy.target_utilization_pct)
                     for m in models])
    inst, violation = instances_needed(peak, caps.reshape(shape), policy.min_instances,
                                       policy.max_instances)
    served = served_tokens_by_model(tokens_demanded, models, policy)
    price = np.array([m.instance_eur_hr for m in models]).reshape(shape)
    gpu_by_model = inst * policy.hours_in_month * price
    gpu = gpu_by_model.sum(axis=0)
    non_gpu = gpu * infra_overhead_pct_of_gpu / 100.0 + served.sum(axis=0) / 1e6 * (
        base_eur_per_1M)
    return CapacityResult(per_model, avg, peak, caps, inst, violation, served, gpu_by_model,
                          gpu, non_gpu)


def capacity_policy(public, hours_in_month: int) -> CapacityPolicy:
    """The planner settings of one operator configuration."""
    a = public.autoscaling
    shares = hourly_weights(public.demand_profile.type, public.demand_profile.hourly_weights,
                            hours_in_month)
    return CapacityPolicy(hours_in_month, a.target_utilization_pct, a.min_instances_per_model,
                          a.max_instances_per_model,
                          peak_share(shares, peak_factor=a.peak_factor,
                                     peak_percentile=a.capacity_peak_percentile))


def planned_utilisation_frac(result: CapacityResult, models: Sequence[ModelCapacity],
                             hours_in_month: int) -> dict[str, float]:
    """Share of the rented fleet's full-throughput capacity that serves tokens, per model:
    ``Σ served / Σ (instances × tps × 3600 × hours)`` over the months of ``result`` (1.0 for a
    model that rents nothing). It carries the target utilisation, the peak factor and the
    always-warm minimum; the ``planned_utilisation`` cost basis divides the GPU cost by it."""
    out = {}
    for i, m in enumerate(models):
        capacity_tokens = float(np.sum(result.instances[i])) * m.tps * 3600.0 * hours_in_month
        served = float(np.sum(result.served[i]))
        out[m.model] = served / capacity_tokens if capacity_tokens > 0 and served > 0 else 1.0
    return out
