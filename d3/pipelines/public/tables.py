"""Row formatting of the Public Tap CSVs (fixed column order and number precision)."""

from __future__ import annotations

from collections.abc import Sequence

from d3.io.writers import fmt_float, price_text
from d3.pipelines.public.gpu_costs import CostRow, VendorChoice

VENDOR_CHOICE_COLUMNS = ("gpu", "vram_gb", "provider", "usd_hr", "eur_hr", "providers")
COST_COLUMNS = (
    "model", "gpu", "gpus_per_instance", "feasible", "provider", "usd_hr", "eur_hr",
    "instance_eur_hr", "tps", "tps_source", "tokens_per_hour", "gpu_cost_eur_per_1M",
    "cost_eur_per_1M", "best", "reason",
)


def vendor_choice_rows(choices: Sequence[VendorChoice]) -> list[list[str]]:
    return [[c.gpu, fmt_float(c.vram_gb, 1), c.provider, fmt_float(c.usd_hr, 6),
             fmt_float(c.eur_hr, 6), str(c.providers)] for c in choices]


def cost_table_rows(rows: Sequence[CostRow]) -> list[list[str]]:
    out = []
    for r in rows:
        if not r.feasible:
            out.append([r.model, r.gpu, str(r.gpus_per_instance), "false", "", "", "", "", "", "",
                        "", "", "", "false", r.reason])
            continue
        out.append([r.model, r.gpu, str(r.gpus_per_instance), "true", r.provider,
                    fmt_float(r.usd_hr, 6), fmt_float(r.eur_hr, 6),
                    fmt_float(r.instance_eur_hr, 6), fmt_float(r.tps, 2), r.tps_source,
                    fmt_float(r.tokens_per_hour, 0), price_text(r.gpu_cost_eur_per_1M),
                    price_text(r.cost_eur_per_1M), "true" if r.best else "false", ""])
    return out

PRICE_COLUMNS = (
    "model", "gpu", "cost_eur_per_1M", "sell_eur_per_1k", "margin_pct",
    "provider", "tps_source", "margin_pct_stress", "status", "reason",
    "gpus_per_instance", "usd_hr", "eur_hr", "instance_eur_hr", "tps", "tokens_per_hour",
    "gpu_cost_eur_per_1M", "target_margin_pct", "unrounded_sell_eur_per_1k",
    "rounded_sell_eur_per_1k", "min_floor_eur_per_1k", "max_cap_eur_per_1k",
    "cost_eur_per_1M_stress", "mix_frac",
)


def price_rows(card, best, stress_costs, policy) -> list[list[str]]:
    """One row per model on its g*: the spec columns, then every step of the derivation."""
    out = []
    for model, row in best.items():
        price = card.prices[model]
        stress_margin = (price.sell_eur_per_1k * 1000 - stress_costs[model]) / (
            price.sell_eur_per_1k * 1000) * 100
        out.append([
            model, row.gpu, price_text(card.costs_eur_per_1M[model]),
            price_text(price.sell_eur_per_1k), fmt_float(price.margin_pct, 4),
            row.provider, row.tps_source, fmt_float(stress_margin, 4), price.status, price.reason,
            str(row.gpus_per_instance), fmt_float(row.usd_hr, 6), fmt_float(row.eur_hr, 6),
            fmt_float(row.instance_eur_hr, 6), fmt_float(row.tps, 2),
            fmt_float(row.tokens_per_hour, 0), price_text(row.gpu_cost_eur_per_1M),
            fmt_float(policy.target_margin_pct, 2), price_text(price.unrounded_eur_per_1k),
            price_text(price.rounded_eur_per_1k), price_text(policy.min_floor_eur_per_1k),
            "" if policy.max_cap_eur_per_1k is None else price_text(policy.max_cap_eur_per_1k),
            price_text(stress_costs[model]), fmt_float(card.mix.get(model, 0.0), 6),
        ])
    return out
