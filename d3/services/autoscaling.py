"""Autoscaling: the planner (how many replicas the peak needs) — AUTOSCALER.md.

The simulator (threshold / proportional modes) builds on the same policy and lives here too.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from d3.core.errors import Issue, ValidationError

_CEIL_TOLERANCE = 1e-9  # a peak of exactly 3 × capacity needs 3 replicas, not 4


@dataclass(frozen=True)
class PlannerResult:
    instances_needed: int  # clamped to [min, max]
    unclamped: int
    cap_tokens_per_hour_per_instance: float
    capacity_violation: bool  # unclamped > max


def _tps_error(tps: float) -> ValidationError:
    return ValidationError([Issue("autoscaling", "tps", f"throughput must be > 0, got {tps}",
                                  "measure the model or allow the throughput heuristic")])


def capacity_per_instance(tps: float, target_utilization_pct: float) -> float:
    """Tokens per hour one replica serves at the target utilisation."""
    if not tps > 0:
        raise _tps_error(tps)
    return tps * 3600.0 * target_utilization_pct / 100.0


def robust_ceil(ratio: np.ndarray | float) -> np.ndarray:
    """``ceil`` that ignores float noise just above an integer (3.0000000000000004 → 3)."""
    return np.ceil(np.asarray(ratio, dtype=np.float64) - _CEIL_TOLERANCE).clip(min=0)


def planner_instances_needed(peak_tokens_per_hour: float, tps: float,
                             target_utilization_pct: float, min_instances: int,
                             max_instances: int) -> PlannerResult:
    """Replicas for a peak: ``clamp(ceil(peak / (tps × 3600 × target/100)), min, max)``."""
    cap = capacity_per_instance(tps, target_utilization_pct)
    unclamped = int(robust_ceil(peak_tokens_per_hour / cap)) if peak_tokens_per_hour > 0 else 0
    return PlannerResult(min(max(unclamped, min_instances), max_instances), unclamped, cap,
                         unclamped > max_instances)


def instances_needed(peak_tokens_per_hour: np.ndarray, cap_per_instance: float,
                     min_instances: int, max_instances: int) -> tuple[np.ndarray, np.ndarray]:
    """Vectorised planner: (clamped instances, violation flags) for an array of peaks."""
    unclamped = robust_ceil(np.asarray(peak_tokens_per_hour) / cap_per_instance)
    return np.clip(unclamped, min_instances, max_instances), unclamped > max_instances
