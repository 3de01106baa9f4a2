"""GPU costs: k, hosting SKUs, g* ties, and every throughput path."""

from __future__ import annotations

import pytest

from d3.pipelines.common.catalog import Offer
from d3.pipelines.public.gpu_costs import NonGpuCosts, cost_rows, gpus_per_instance
from d3.services.tps import Measurement, ModelInfo, resolved_tps

FX = {"fx_buffer_pct": 0.0, "eur_usd_fx_rate": 1.0}
RUNTIME = {"slots_default": 16, "batching_efficiency_pct": 50.0}


def meas(model, gpu, tps, kind="aggregate", count=1, slots=None):
    return Measurement(frozenset({model.lower()}), gpu, count, kind, tps, slots)


def test_gpus_per_instance_is_a_robust_ceiling():
    assert gpus_per_instance(20, 24) == 1
    assert gpus_per_instance(48, 24) == 2  # exactly 2 cards, not 3
    assert gpus_per_instance(48.0000001, 24) == 3


def _rows(offers, measurements, models=None, vram=None, **kw):
    models = models or [ModelInfo("m", None, 8.0)]
    vram = vram or {m.key: 20.0 for m in models}
    return cost_rows(models, vram, offers, measurements, bandwidth_gb_s={"A": 1000, "B": 2000},
                     baseline_tps_8b={"A": 1000, "B": 2000}, non_gpu=NonGpuCosts(),
                     allow_heuristic=True, **FX, **RUNTIME, **kw)


def test_g_star_ties_resolve_by_instance_price_then_name():
    # A: €1.00/h at 1000 tok/s; B: €2.00/h at 2000 tok/s → both €0.2778 per 1M.
    # Tie on cost → lower instance €/h wins: A.
    offers = [Offer("A", 24, "p", 1.0, 1), Offer("B", 24, "p", 2.0, 1)]
    rows = _rows(offers, [meas("m", "A", 1000), meas("m", "B", 2000)])
    assert [r.gpu for r in rows if r.best] == ["A"]
    # Same cost and same instance price → name order: A before B.
    offers = [Offer("B", 24, "p", 1.0, 1), Offer("A", 24, "p", 1.0, 1)]
    rows = _rows(offers, [meas("m", "A", 1000), meas("m", "B", 1000)])
    assert [r.gpu for r in rows if r.best] == ["A"]


def test_pair_needs_a_sku_that_is_a_multiple_of_k():
    offers = [Offer("A", 24, "p", 1.0, 1), Offer("A", 24, "q", 1.2, 2)]
    rows = _rows(offers, [meas("m", "A", 1000, count=2)], vram={"m": 40.0})
    (row,) = rows
    # k = 2 → only q's 2-GPU SKU can host it, at €1.20 per GPU-hour.
    assert (row.gpus_per_instance, row.provider, row.instance_eur_hr) == (2, "q", 2.4)
    assert row.tps == pytest.approx(1000 / 2 * 2)
    rows = _rows([Offer("A", 24, "p", 1.0, 1)], [meas("m", "A", 1000)], vram={"m": 40.0})
    assert not rows[0].feasible and "needs 2 GPUs" in rows[0].reason


def _tps(model, gpu, k, measurements, models):
    return resolved_tps(model, gpu, k, measurements=measurements, models=models,
                        bandwidth_gb_s={"A": 1000, "B": 2000}, baseline_tps_8b={"B": 900},
                        **RUNTIME)


def test_measured_prefers_aggregate_then_median():
    m = ModelInfo("m", None, 8.0)
    rows = [meas("m", "A", 100, kind="single_stream", slots=8), meas("m", "A", 1000),
            meas("m", "A", 1400), meas("m", "A", 2000, count=2)]
    # aggregate rows per instance (k=1): 1000, 1400, 2000/2 = 1000 → median 1000.
    t = _tps(m, "A", 1, rows, {"m": m})
    assert (t.tps, t.source) == (1000, "measured")
    # single stream only: 100 tok/s × 8 slots × 50 % = 400.
    t = _tps(m, "A", 1, rows[:1], {"m": m})
    assert t.tps == 400


def test_heuristic_bandwidth_then_active_params_then_baseline():
    m = ModelInfo("m", None, 8.0)
    other = ModelInfo("o", None, 4.0)
    models = {"m": m, "o": other}
    # 1. m measured on A (1000 tok/s) → on B: × 2000/1000 bandwidth → 2000.
    t = _tps(m, "B", 1, [meas("m", "A", 1000)], models)
    assert (t.tps, t.source) == (2000, "heuristic:bandwidth")
    # 2. only o (4B active) measured on B at 3000 → m (8B): 3000 × 4/8 = 1500, × k = 2 → 3000.
    t = _tps(m, "B", 2, [meas("o", "B", 3000)], models)
    assert (t.tps, t.source) == (3000, "heuristic:active_params")
    # 3. nothing measured → baseline 900 × 8/8 = 900.
    t = _tps(m, "B", 1, [], models)
    assert (t.tps, t.source) == (900, "heuristic:baseline")
    # Nothing applies on A (no baseline): None.
    assert _tps(m, "A", 1, [], models) is None


def test_no_heuristic_when_disallowed():
    m = ModelInfo("m", None, 8.0)
    assert resolved_tps(m, "B", 1, measurements=[meas("m", "A", 1000)], models={"m": m},
                        bandwidth_gb_s={"A": 1, "B": 2}, baseline_tps_8b={},
                        allow_heuristic=False, **RUNTIME) is None
