"""Rows of the Public Tap capacity tables: the fleet by month and at the peak, unserved tokens
and margin by model."""

from __future__ import annotations

import math

import numpy as np

from d3.core.percentiles import monthly_percentiles
from d3.io.writers import fmt_float, price_text
from d3.pipelines.public.demand_tables import pct_cell, realised_margin_pct
from d3.pipelines.public.pricing import margin_pct

UNSERVED_COLUMNS = ("grid_index", "month", "model", "gpu", "p10_unserved_tokens",
                    "p50_unserved_tokens", "p90_unserved_tokens", "p50_demanded_tokens",
                    "p50_unserved_share_pct")
MARGIN_COLUMNS = ("grid_index", "model", "gpu", "sell_eur_per_1k", "priced_cost_eur_per_1M",
                  "priced_margin_pct", "tokens_demanded", "tokens_served", "unserved_tokens",
                  "revenue_eur", "gpu_cogs_eur", "non_gpu_cogs_eur", "realised_margin_pct",
                  "utilisation_pct", "months")



def unserved_rows(g: int, models, unserved: np.ndarray, demanded: np.ndarray) -> list[list[str]]:
    rows = []
    for i, m in enumerate(models):
        q = monthly_percentiles(unserved[i], (10, 50, 90))
        d50 = monthly_percentiles(demanded[i], (50,))[0]
        for t in range(unserved.shape[2]):
            share = q[1, t] / d50[t] * 100.0 if d50[t] > 0 else 0.0
            rows.append([str(g), str(t + 1), m.model, m.gpu, fmt_float(q[0, t], 0),
                         fmt_float(q[1, t], 0), fmt_float(q[2, t], 0), fmt_float(d50[t], 0),
                         fmt_float(share, 4)])
    return rows


def margin_rows(g: int, inp, res, horizon: int, hours: int) -> list[list[str]]:
    """Priced vs realised margin per model on the reference path over the horizon."""
    h = slice(0, horizon)
    rows = []
    for i, m in enumerate(inp.models):
        served = float(res.served[i, h].sum())
        revenue = served * m.sell_eur_per_1k / 1000.0
        gpu = float(res.gpu_cogs_by_model_eur[i, h].sum())
        non_gpu = gpu * inp.infra_overhead_pct_of_gpu / 100.0 + served / 1e6 * inp.base_eur_per_1M
        capacity_tokens = float(res.instances[i, h].sum()) * m.tps * 3600.0 * hours
        rows.append([
            str(g), m.model, m.gpu, price_text(m.sell_eur_per_1k),
            price_text(m.priced_cost_eur_per_1M),
            pct_cell(margin_pct(m.sell_eur_per_1k, m.priced_cost_eur_per_1M)),
            fmt_float(float(res.demanded[i, h].sum()), 0), fmt_float(served, 0),
            fmt_float(float(res.unserved[i, h].sum()), 0), fmt_float(revenue, 2),
            fmt_float(gpu, 2), fmt_float(non_gpu, 2),
            pct_cell(realised_margin_pct(revenue, gpu + non_gpu)),
            pct_cell(served / capacity_tokens * 100.0 if capacity_tokens > 0 else math.nan),
            str(horizon)])
    return rows


PLAN_COLUMNS = (
    "model", "gpu", "avg_tokens_per_hour", "peak_tokens_per_hour", "tps",
    "cap_tokens_per_hour_per_instance", "instances_needed", "target_utilization_pct",
    "capacity_violation", "grid_index", "month", "instance_eur_hr", "gpu_cost_eur_month",
)
BY_MONTH_COLUMNS = (
    "grid_index", "month", "model", "gpu", "tokens", "avg_tokens_per_hour",
    "peak_tokens_per_hour", "instances_needed", "capacity_violation", "gpu_cost_eur",
    "tokens_served", "unserved_tokens",
)


def fleet_month_rows(g, models, res, months: int) -> list[list[str]]:
    """``public_tap_capacity_by_month.csv`` rows of one grid point's fleet (``res``)."""
    rows = []
    for i, m in enumerate(models):
        for t in range(months):
            rows.append([g, str(t + 1), m.model, m.gpu, fmt_float(res.demanded[i, t], 0),
                         fmt_float(res.avg_tokens_per_hour[i, t], 2),
                         fmt_float(res.peak_tokens_per_hour[i, t], 2),
                         str(int(res.instances[i, t])),
                         "true" if res.violation[i, t] else "false",
                         fmt_float(res.gpu_cogs_by_model_eur[i, t], 2),
                         fmt_float(res.served[i, t], 0), fmt_float(res.unserved[i, t], 0)])
    return rows


def fleet_plan_rows(g, inp, res, t: int) -> list[list[str]]:
    """``public_tap_capacity_plan.csv`` rows: each model's fleet in the peak month ``t``."""
    policy = inp.capacity_policy
    return [[m.model, m.gpu, fmt_float(res.avg_tokens_per_hour[i, t], 2),
             fmt_float(res.peak_tokens_per_hour[i, t], 2), fmt_float(m.tps, 2),
             fmt_float(res.cap_per_instance[i], 2), str(int(res.instances[i, t])),
             fmt_float(policy.target_utilization_pct, 2),
             "true" if res.violation[i, t] else "false", g, str(t + 1),
             fmt_float(m.instance_eur_hr, 6), fmt_float(res.gpu_cogs_by_model_eur[i, t], 2)]
            for i, m in enumerate(inp.models)]


def fleet_summary(res, trace: str, peak_month: int) -> dict:
    """A grid point's entry in ``public_capacity.json``."""
    return {"trace": trace, "peak_month": peak_month + 1,
            "violations": int(res.violation.sum()), "gpu_cogs_eur": res.gpu_cogs_eur.tolist(),
            "instances_total": res.instances.sum(axis=0).tolist()}
