"""The Public Tap's cost rows from the normalised catalogue (d3/pipelines/common/catalog.py)."""

from __future__ import annotations

from d3.pipelines.common.catalog import Catalog
from d3.pipelines.public.gpu_costs import CostRow, NonGpuCosts, cost_rows


def public_cost_rows(catalog: Catalog, public, *, eur_usd_fx_rate: float,
                     allow_heuristic: bool | None = None) -> list[CostRow]:
    """:func:`cost_rows` with the Public Tap operator's FX buffer, runtime and non-GPU costs."""
    pricing = public.pricing_policy.public_tap
    return cost_rows(
        catalog.model_infos, {m.key: m.vram_needed_gb for m in catalog.models}, catalog.offers,
        catalog.measurement_objects, bandwidth_gb_s=catalog.bandwidth_gb_s,
        baseline_tps_8b=catalog.baseline_tps_8b, fx_buffer_pct=public.meta.fx_buffer_pct,
        eur_usd_fx_rate=eur_usd_fx_rate, slots_default=public.runtime.slots_total_default,
        batching_efficiency_pct=public.runtime.batching_efficiency_pct,
        non_gpu=NonGpuCosts(**pricing.non_gpu_costs.model_dump()),
        allow_heuristic=pricing.allow_tps_heuristic if allow_heuristic is None
        else allow_heuristic)
