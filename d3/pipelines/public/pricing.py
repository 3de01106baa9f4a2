"""Public Tap pricing (SPEC §5.2): margin on the sell price, rounded UP to the increment,
floor and cap, ``private_only`` admission, p90 stress, blended price.

Units: costs in EUR per 1M tokens; sell prices in EUR per 1k tokens; margins in percent.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass

from d3.core.rounding import robust_ceil
from d3.pipelines.public.gpu_costs import CostRow, NonGpuCosts, cost_eur_per_1M, gpu_cost_eur_per_1M
from d3.services.fx import eur_per_hour


@dataclass(frozen=True)
class PricingPolicy:
    target_margin_pct: float
    round_increment_eur_per_1k: float
    min_floor_eur_per_1k: float = 0.0
    max_cap_eur_per_1k: float | None = None


@dataclass(frozen=True)
class Price:
    unrounded_eur_per_1k: float  # cost / (1 − target margin), per 1k tokens
    rounded_eur_per_1k: float  # after rounding up to the increment
    sell_eur_per_1k: float  # after floor and cap
    margin_pct: float
    status: str  # "public" or "private_only"
    reason: str
    floored: bool
    capped_below_target: bool


@dataclass(frozen=True)
class Stress:
    provider_price_drift_pct: float
    tps_downshift_pct: float
    fx_widen_buffer_pct: float


def ceil_to_increment(value: float, increment: float) -> float:
    """Smallest multiple of ``increment`` ≥ ``value`` ≥ 0 (never rounds a price down; an
    exact multiple with float noise stays where it is)."""
    steps = int(robust_ceil(value / increment))
    return round(steps * increment, 12)


def margin_pct(sell_eur_per_1k: float, cost_eur_per_1M: float) -> float:
    """Margin on the sell price: (sell − cost) / sell × 100, both per 1k tokens."""
    cost_1k = cost_eur_per_1M / 1000.0
    return (sell_eur_per_1k - cost_1k) / sell_eur_per_1k * 100.0


def model_price(cost: float, policy: PricingPolicy) -> Price:
    """The sell price of one model from its cost per 1M tokens."""
    unrounded = cost / (1.0 - policy.target_margin_pct / 100.0) / 1000.0
    rounded = ceil_to_increment(unrounded, policy.round_increment_eur_per_1k)
    sell = max(rounded, policy.min_floor_eur_per_1k)
    floored = sell > rounded
    capped = policy.max_cap_eur_per_1k is not None and sell > policy.max_cap_eur_per_1k
    if capped:
        sell = policy.max_cap_eur_per_1k
    margin = margin_pct(sell, cost)
    if margin <= 0:
        return Price(unrounded, rounded, sell, margin, "private_only",
                     f"no positive margin: cap {sell:g} EUR/1k ≤ cost {cost / 1000:g} EUR/1k",
                     floored, True)
    below = capped and margin < policy.target_margin_pct
    return Price(unrounded, rounded, sell, margin, "public", "", floored, below)


def stressed_cost_eur_per_1M(row: CostRow, stress: Stress, *, fx_buffer_pct: float,
                             eur_usd_fx_rate: float, non_gpu: NonGpuCosts,
                             utilisation_frac: float = 1.0) -> float:
    """p90 cost: provider price drift up, throughput down, FX buffer widened; on the card's
    cost basis (the GPU cost divided by the planned utilisation, 1 at full throughput)."""
    eur_hr = eur_per_hour(row.usd_hr * (1.0 + stress.provider_price_drift_pct / 100.0),
                          fx_buffer_pct=fx_buffer_pct + stress.fx_widen_buffer_pct,
                          eur_usd_fx_rate=eur_usd_fx_rate)
    tps = row.tps * (1.0 - stress.tps_downshift_pct / 100.0)
    return cost_eur_per_1M(gpu_cost_eur_per_1M(row.gpus_per_instance * eur_hr, tps)
                           / utilisation_frac, non_gpu)


def normalised_mix(mix: Mapping[str, float], public_models: list[str]) -> dict[str, float]:
    """Model mix over the models sold publicly: given weights (unknown or private-only models
    dropped) renormalised to 1, or uniform when none is given."""
    kept = {m: w for m, w in mix.items() if m in public_models}
    total = math.fsum(kept.values())
    if not kept or total <= 0:
        return {m: 1.0 / len(public_models) for m in public_models} if public_models else {}
    return {m: kept.get(m, 0.0) / total for m in public_models}


def blended_sell_eur_per_1k(sells: Mapping[str, float], mix: Mapping[str, float]) -> float:
    """Σ mix(m) × sell(m) over the public models (EUR per 1k tokens)."""
    return math.fsum(mix[m] * sells[m] for m in sorted(mix))


@dataclass(frozen=True)
class PriceCard:
    """Prices of every model at one configuration, and the blend the demand uses."""

    costs_eur_per_1M: dict[str, float]
    prices: dict[str, Price]
    mix: dict[str, float]  # over public models, sums to 1
    blended_sell_eur_per_1k: float
    blended_cost_eur_per_1M: float
    utilisation_frac: dict[str, float] | None = None  # planned_utilisation basis, per model


def pricing_policy(public) -> PricingPolicy:
    p = public.pricing_policy.public_tap
    return PricingPolicy(p.target_margin_pct, p.round_increment_eur_per_1k,
                         p.min_floor_eur_per_1k, p.max_cap_eur_per_1k)


def non_gpu_costs(public) -> NonGpuCosts:
    return NonGpuCosts(**public.pricing_policy.public_tap.non_gpu_costs.model_dump())


def price_card(best: Mapping[str, CostRow], public,
               utilisation_frac: Mapping[str, float] | None = None) -> PriceCard:
    """Price every model on its cheapest GPU ``g*`` under the operator ``public``. With
    ``utilisation_frac`` (per model, 0..1: the fleet's planned utilisation) the GPU cost per
    1M tokens is divided by it — the ``planned_utilisation`` cost basis (SPEC §5.1)."""
    policy, non_gpu = pricing_policy(public), non_gpu_costs(public)
    util = utilisation_frac or {}
    costs = {m: cost_eur_per_1M(r.gpu_cost_eur_per_1M / util.get(m, 1.0), non_gpu)
             for m, r in best.items()}
    prices = {m: model_price(c, policy) for m, c in costs.items()}
    public_models = [m for m in best if prices[m].status == "public"]
    mix = normalised_mix(public.model_mix, public_models)
    sells = {m: prices[m].sell_eur_per_1k for m in public_models}
    return PriceCard(costs, prices, mix, blended_sell_eur_per_1k(sells, mix),
                     math.fsum(mix[m] * costs[m] for m in sorted(mix)),
                     dict(utilisation_frac) if utilisation_frac else None)


def pricing_warnings(card, stress_costs, policy, file: str) -> list[dict]:
    out = []
    for model, price in card.prices.items():
        where = f"model={model}"
        if price.status == "private_only":
            out.append({"code": "private_only", "location": where,
                        "message": f"not sold on the Public Tap: {price.reason}"})
        elif price.capped_below_target:
            out.append({"code": "cap_below_target", "location": where,
                        "message": f"max_cap_eur_per_1k {policy.max_cap_eur_per_1k:g} gives "
                        f"margin {price.margin_pct:.2f} % below the target "
                        f"{policy.target_margin_pct:g} %"})
        stress_margin = (price.sell_eur_per_1k * 1000 - stress_costs[model]) / (
            price.sell_eur_per_1k * 1000) * 100
        if price.status == "public" and stress_margin < 0:
            out.append({"code": "stress_negative_margin", "location": where,
                        "message": f"p90 stress margin {stress_margin:.2f} % is negative at the "
                        f"fixed sell price {price.sell_eur_per_1k:g} EUR/1k"})
    return [{"severity": "warning", "file": file, **w,
             "line": f"{file}:{w['location']}: {w['message']}"} for w in out]


def min_topup_warnings(public, card: PriceCard) -> list[dict]:
    """A WARNING when ``min_topup_eur`` is above what a first top-up's tokens cost at the
    blended sell price: the excess of every first purchase is then never used and counts as
    breakage (docs/FINANCE.md, "Prepaid credits"), which can make the plan's revenue mostly
    unused credits."""
    minimum = public.prepaid_policy.credits.min_topup_eur
    wanted = public.acquisition.tokens_per_conversion / 1000.0 * card.blended_sell_eur_per_1k
    if minimum <= wanted:
        return []
    file, where = "inputs/operator/public_tap.yaml", "prepaid_policy.credits.min_topup_eur"
    message = (f"min_topup_eur {minimum:g} is above a first top-up's tokens "
               f"(tokens_per_conversion {public.acquisition.tokens_per_conversion:g} × "
               f"{card.blended_sell_eur_per_1k:g} EUR/1k = {wanted:.2f} EUR): "
               f"{minimum - wanted:.2f} EUR of every first purchase is never used and counts as "
               "breakage")
    hint = "check the minimum against tokens_per_conversion and the prices"
    return [{"severity": "warning", "file": file, "code": "min_topup_above_usage",
             "location": where, "message": message,
             "line": f"{file}:{where}: {message} — {hint}"}]
