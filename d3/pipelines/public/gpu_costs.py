"""Public Tap GPU costs (SPEC §5.1): provider EUR/hr, cheapest vendor per GPU class, GPUs per
instance, throughput, cost per 1M tokens for every (model, GPU class), and ``g*(m)``.

Units: ``usd_hr``/``eur_hr`` per GPU-hour; ``instance_eur_hr`` per instance-hour (k GPUs);
``tps`` decode tokens/s per instance; costs in EUR per 1M tokens at full throughput.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass

from d3.core.rounding import robust_ceil
from d3.pipelines.common.catalog import Offer
from d3.services.fx import eur_per_hour
from d3.services.tps import Measurement, ModelInfo, resolved_tps

TOKENS_PER_MILLION = 1_000_000.0


@dataclass(frozen=True)
class VendorChoice:
    gpu: str
    vram_gb: float
    provider: str
    usd_hr: float
    eur_hr: float
    providers: int  # how many providers offer the class


@dataclass(frozen=True)
class CostRow:
    model: str
    gpu: str
    gpus_per_instance: int
    feasible: bool
    reason: str
    provider: str = ""
    usd_hr: float = 0.0
    eur_hr: float = 0.0
    instance_eur_hr: float = 0.0
    tps: float = 0.0
    tps_source: str = ""
    tps_detail: str = ""
    tokens_per_hour: float = 0.0
    gpu_cost_eur_per_1M: float = 0.0
    cost_eur_per_1M: float = 0.0
    best: bool = False


@dataclass(frozen=True)
class NonGpuCosts:
    infra_overhead_pct_of_gpu: float = 0.0
    base_eur_per_1M: float = 0.0


def gpus_per_instance(vram_needed_gb: float, vram_gb: float) -> int:
    """``k = ceil(vram_needed / vram)``, robust to float noise (40 GB on 20 GB cards is 2)."""
    return max(1, int(robust_ceil(vram_needed_gb / vram_gb)))


def vendor_choices(offers: Sequence[Offer], *, fx_buffer_pct: float,
                   eur_usd_fx_rate: float) -> list[VendorChoice]:
    """Cheapest provider per GPU class (per-GPU price; ties → provider name)."""
    out = []
    for gpu in sorted({o.gpu for o in offers}):
        of_class = [o for o in offers if o.gpu == gpu]
        best = min(of_class, key=lambda o: (o.usd_hr, o.provider))
        out.append(VendorChoice(gpu, best.vram_gb, best.provider, best.usd_hr,
                                eur_per_hour(best.usd_hr, fx_buffer_pct=fx_buffer_pct,
                                             eur_usd_fx_rate=eur_usd_fx_rate),
                                len({o.provider for o in of_class})))
    return out


def tokens_per_hour(tps: float) -> float:
    return tps * 3600.0


def gpu_cost_eur_per_1M(instance_eur_hr: float, tps: float) -> float:
    """EUR per 1M tokens at full throughput: instance EUR/hr ÷ (tokens/hr ÷ 1M)."""
    return instance_eur_hr / (tokens_per_hour(tps) / TOKENS_PER_MILLION)


def cost_eur_per_1M(gpu_cost: float, non_gpu: NonGpuCosts) -> float:
    """GPU cost plus infrastructure overhead (% of GPU) plus a flat EUR per 1M tokens."""
    return gpu_cost * (1.0 + non_gpu.infra_overhead_pct_of_gpu / 100.0) + non_gpu.base_eur_per_1M


def cost_rows(
    models: Sequence[ModelInfo],
    vram_needed_gb: Mapping[str, float],
    offers: Sequence[Offer],
    measurements: Sequence[Measurement],
    *,
    bandwidth_gb_s: Mapping[str, float],
    baseline_tps_8b: Mapping[str, float],
    fx_buffer_pct: float,
    eur_usd_fx_rate: float,
    slots_default: int,
    batching_efficiency_pct: float,
    non_gpu: NonGpuCosts,
    allow_heuristic: bool,
) -> list[CostRow]:
    """Every (model, GPU class) pair, feasible or not (with the reason), ``best`` = ``g*(m)``."""
    by_key = {m.key: m for m in models}
    rows: list[CostRow] = []
    classes = sorted({o.gpu for o in offers})
    for model in models:
        model_rows = []
        for gpu in classes:
            of_class = [o for o in offers if o.gpu == gpu]
            k = gpus_per_instance(vram_needed_gb[model.key], of_class[0].vram_gb)
            hosts = [o for o in of_class if o.num_gpus % k == 0]
            if not hosts:
                sizes = sorted({o.num_gpus for o in of_class})
                model_rows.append(CostRow(model.key, gpu, k, False, f"needs {k} GPUs per "
                                          f"instance; {gpu} is offered only as {sizes}-GPU SKUs"))
                continue
            host = min(hosts, key=lambda o: (o.usd_hr, o.provider))
            tput = resolved_tps(model, gpu, k, measurements=measurements, models=by_key,
                                bandwidth_gb_s=bandwidth_gb_s, baseline_tps_8b=baseline_tps_8b,
                                slots_default=slots_default,
                                batching_efficiency_pct=batching_efficiency_pct,
                                allow_heuristic=allow_heuristic)
            if tput is None:
                model_rows.append(CostRow(model.key, gpu, k, False, "no throughput measurement "
                                          "and no heuristic applies"))
                continue
            eur_hr = eur_per_hour(host.usd_hr, fx_buffer_pct=fx_buffer_pct,
                                  eur_usd_fx_rate=eur_usd_fx_rate)
            instance = k * eur_hr
            gpu_cost = gpu_cost_eur_per_1M(instance, tput.tps)
            model_rows.append(CostRow(
                model.key, gpu, k, True, "", host.provider, host.usd_hr, eur_hr, instance,
                tput.tps, tput.source, tput.detail, tokens_per_hour(tput.tps), gpu_cost,
                cost_eur_per_1M(gpu_cost, non_gpu)))
        feasible = [r for r in model_rows if r.feasible]
        if feasible:
            best = min(feasible, key=lambda r: (r.cost_eur_per_1M, r.instance_eur_hr, r.gpu))
            model_rows = [_with_best(r) if r is best else r for r in model_rows]
        rows.extend(model_rows)
    return rows


def _with_best(row: CostRow) -> CostRow:
    from dataclasses import replace

    return replace(row, best=True)


def best_rows(rows: Sequence[CostRow]) -> dict[str, CostRow]:
    """``g*(m)`` for every model that has one."""
    return {r.model: r for r in rows if r.best}
