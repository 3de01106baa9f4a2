"""Stage ``public_pricing``: the price card (reference configuration) with p90 stress."""

from __future__ import annotations

from d3.catalog import operator_dump
from d3.core.runner import StageIO
from d3.io.writers import write_csv, write_json
from d3.pipelines.common.reference import reference_operator
from d3.pipelines.public.demand_blocks import priced_card
from d3.pipelines.public.gpu_costs import best_rows
from d3.pipelines.public.pricing import (
    Stress,
    min_topup_warnings,
    non_gpu_costs,
    pricing_policy,
    pricing_warnings,
    stressed_cost_eur_per_1M,
)
from d3.pipelines.public.tables import PRICE_COLUMNS, price_rows


def run(io: StageIO) -> None:
    p = io.params()
    costs = io.load("public_cost_rows")
    best = best_rows(list(costs.rows))
    public = reference_operator("public_tap", operator_dump(io.load("operator_public_tap")),
                                io.load("variables"))
    stress = Stress(p["stress.provider_price_drift_pct"], p["stress.tps_downshift_pct"],
                    p["stress.fx_widen_buffer_pct"])
    general = io.load("operator_general")
    market = io.load("market")
    horizon = p["targets.horizon_months"]
    card = priced_card(public, best, market.channels, eur_usd_fx_rate=market.eur_usd_fx_rate,
                       months=max(horizon, general.loan.term_months),
                       hours_in_month=int(general.calendar.hours_in_month),
                       horizon_months=horizon)
    stress_costs = {
        m: stressed_cost_eur_per_1M(r, stress, fx_buffer_pct=costs.fx_buffer_pct,
                                    eur_usd_fx_rate=costs.eur_usd_fx_rate,
                                    non_gpu=non_gpu_costs(public),
                                    utilisation_frac=(card.utilisation_frac or {}).get(m, 1.0))
        for m, r in best.items()
    }
    policy = pricing_policy(public)
    write_csv(io.out("public_prices"), PRICE_COLUMNS, price_rows(card, best, stress_costs, policy))
    warnings = pricing_warnings(card, stress_costs, policy, "public_tap_prices_per_model.csv")
    warnings += min_topup_warnings(public, card)
    write_json(io.out("public_price_card"), {
        "blended_sell_eur_per_1k": card.blended_sell_eur_per_1k,
        "blended_cost_eur_per_1M": card.blended_cost_eur_per_1M,
        "cost_basis": public.pricing_policy.public_tap.cost_basis,
        "utilisation_frac": card.utilisation_frac,
        "mix": card.mix,
        "public_models": sorted(card.mix),
        "private_only": sorted(m for m, pr in card.prices.items() if pr.status != "public"),
        "warnings": warnings,
    })
    for w in warnings:
        io.emitter.emit("pricing_warning", level="warning", **w)


def main() -> None:
    from d3.cli import stage_main

    stage_main("public_pricing")


if __name__ == "__main__":
    main()
