"""Throughput of a model on a GPU class, per serving instance (SPEC §5.1).

Order: measured rows (matched by HF id, else normalised name) normalised to one instance of
``k`` GPUs — ``aggregate``/``batched_online``: ``throughput / gpu_count × k``; ``single_stream``:
``throughput × batch_slots × batching_efficiency_pct/100`` — preferring aggregate rows, then the
median. Without a measurement, a heuristic (each use is reported):

1. ``bandwidth``: the same model measured on other GPUs, per GPU, scaled by the memory-bandwidth
   ratio (decode is memory-bound), × k; the median over those GPUs;
2. ``active_params``: other models measured on this GPU, per GPU, scaled by the inverse ratio of
   active parameters, × k; the median over those models;
3. ``baseline``: the GPU's ``baseline_tps_8b`` × 8 / active parameters (billions) × k.
"""

from __future__ import annotations

import statistics
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

from d3.core.names import gpu_class, model_match_key

AGGREGATE_TYPES = ("aggregate", "batched_online")
BASELINE_ACTIVE_PARAMS_B = 8.0


@dataclass(frozen=True)
class Measurement:
    model_keys: frozenset[str]  # normalised name and HF id of the measured model
    gpu: str
    gpu_count: int
    measurement_type: str
    throughput_tokens_per_s: float
    batch_slots: int | None


@dataclass(frozen=True)
class Throughput:
    tps: float  # decode tokens/s of one serving instance (k GPUs)
    source: str  # "measured" or "heuristic:<method>"
    detail: str  # how it was obtained, for the run summary and the report


@dataclass(frozen=True)
class ModelInfo:
    key: str  # Model + Variant
    hf_id: str | None
    active_params_b: float


def measurement(row) -> Measurement:
    keys = {model_match_key(row.model)}
    if row.hf_id:
        keys.add(model_match_key(row.hf_id))
    return Measurement(frozenset(keys), gpu_class(row.gpu), row.gpu_count, row.measurement_type,
                       row.throughput_tokens_per_s, row.batch_slots)


def _matches(model: ModelInfo, m: Measurement) -> bool:
    if model.hf_id and any(model_match_key(model.hf_id) == k for k in m.model_keys):
        return True
    return model_match_key(model.key) in m.model_keys


def instance_tps(m: Measurement, k: int, *, slots_default: int,
                 batching_efficiency_pct: float) -> float:
    """One measurement normalised to an instance of ``k`` GPUs (tokens/s)."""
    if m.measurement_type in AGGREGATE_TYPES:
        return m.throughput_tokens_per_s / m.gpu_count * k
    slots = m.batch_slots if m.batch_slots is not None else slots_default
    return m.throughput_tokens_per_s * slots * batching_efficiency_pct / 100.0


def measured_tps(model: ModelInfo, gpu: str, k: int, measurements: Sequence[Measurement], *,
                 slots_default: int, batching_efficiency_pct: float) -> float | None:
    """Measured per-instance throughput, aggregate rows preferred, median of several."""
    rows = [m for m in measurements if m.gpu == gpu and _matches(model, m)]
    if not rows:
        return None
    preferred = [m for m in rows if m.measurement_type in AGGREGATE_TYPES] or rows
    return statistics.median(
        instance_tps(m, k, slots_default=slots_default,
                     batching_efficiency_pct=batching_efficiency_pct) for m in preferred)


def resolved_tps(
    model: ModelInfo,
    gpu: str,
    k: int,
    *,
    measurements: Sequence[Measurement],
    models: Mapping[str, ModelInfo],
    bandwidth_gb_s: Mapping[str, float],
    baseline_tps_8b: Mapping[str, float],
    slots_default: int,
    batching_efficiency_pct: float,
    allow_heuristic: bool = True,
) -> Throughput | None:
    """Per-instance throughput of ``model`` on ``k`` GPUs of ``gpu``; ``None`` when impossible."""
    opts = {"slots_default": slots_default, "batching_efficiency_pct": batching_efficiency_pct}
    tps = measured_tps(model, gpu, k, measurements, **opts)
    if tps is not None:
        return Throughput(tps, "measured", f"measured on {gpu}")
    if not allow_heuristic:
        return None
    # 1. Same model on other GPUs, per GPU, scaled by the memory-bandwidth ratio.
    estimates = []
    other_gpus = sorted({m.gpu for m in measurements if m.gpu != gpu and _matches(model, m)})
    for other in other_gpus:
        if gpu in bandwidth_gb_s and other in bandwidth_gb_s:
            per_gpu = measured_tps(model, other, 1, measurements, **opts)
            estimates.append(per_gpu * bandwidth_gb_s[gpu] / bandwidth_gb_s[other] * k)
    if estimates:
        return Throughput(statistics.median(estimates), "heuristic:bandwidth",
                          f"same model on {', '.join(other_gpus)} × bandwidth ratio")
    # 2. Other models on this GPU, per GPU, scaled by the inverse active-parameter ratio.
    estimates, donors = [], []
    for key in sorted(models):
        other = models[key]
        if other.key == model.key:
            continue
        per_gpu = measured_tps(other, gpu, 1, measurements, **opts)
        if per_gpu is not None:
            estimates.append(per_gpu * other.active_params_b / model.active_params_b * k)
            donors.append(other.key)
    if estimates:
        return Throughput(statistics.median(estimates), "heuristic:active_params",
                          f"{', '.join(donors)} on {gpu} × active-parameter ratio")
    # 3. The GPU's baseline for an 8B dense model.
    if gpu in baseline_tps_8b:
        tps = baseline_tps_8b[gpu] * BASELINE_ACTIVE_PARAMS_B / model.active_params_b * k
        return Throughput(tps, "heuristic:baseline", f"baseline_tps_8b of {gpu} × 8B / active")
    return None
