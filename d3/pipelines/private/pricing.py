"""Private Tap pricing, fees and vendor recommendation (SPEC §6.2). EUR per GPU-hour; fees EUR
per client per month."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass

from d3.core.names import gpu_class
from d3.pipelines.private.provider_costs import ProviderOffer, median_eur_hr


@dataclass(frozen=True)
class ClassEconomics:
    """One GPU class, EUR per GPU-hour (fees EUR per client per month). Margins are on the sell
    price, in percent 0..100: ``…_vs_median`` against the median provider (SPEC §6.2's
    ``margin_eur_hr``/``margin_pct`` columns), ``margin_vendor_…`` against the recommended
    vendor, whom the COGS pays (SPEC §8 judges this one)."""

    gpu: str
    provider_eur_hr_med: float
    markup_pct: float
    sell_eur_hr: float
    margin_eur_hr_vs_median: float
    margin_pct_vs_median: float
    management_fee_eur_per_month: float
    base_fee_eur_per_month: float
    vendor_provider: str
    vendor_paid_eur_hr: float
    margin_vendor_eur_hr: float
    margin_vendor_pct: float


def sell_eur_hr(median: float, markup_pct: float) -> float:
    """``median × (1 + markup/100)``."""
    return median * (1.0 + markup_pct / 100.0)


def margin_pct(sell: float, cost: float) -> float:
    """Margin on the sell price, percent: ``(sell − cost) / sell × 100`` (0 when sell ≤ 0)."""
    return (sell - cost) / sell * 100.0 if sell > 0 else 0.0


def base_fee_for(gpu: str, *, base_fee_eur_per_month: float,
                 base_fee_by_gpu_class: Mapping[str, float]) -> float:
    """The class's own base fee when set, else the general one."""
    by_class = {gpu_class(k): v for k, v in base_fee_by_gpu_class.items()}
    return by_class.get(gpu, base_fee_eur_per_month)


def class_economics(offers: Sequence[ProviderOffer], gpu: str, pricing,
                    weights: Mapping[str, float]) -> ClassEconomics:
    """Sell price, fees and both margins of ``gpu``; ``weights`` (summing to 1) pick the
    vendor actually paid."""
    med = median_eur_hr(offers, gpu)
    sell = sell_eur_hr(med, pricing.markup_pct)
    vendor = recommended_vendor(offers, gpu, weights)
    return ClassEconomics(
        gpu, med, pricing.markup_pct, sell, sell - med, margin_pct(sell, med),
        pricing.management_fee_eur_per_month,
        base_fee_for(gpu, base_fee_eur_per_month=pricing.base_fee_eur_per_month,
                     base_fee_by_gpu_class=pricing.base_fee_by_gpu_class),
        vendor.provider, vendor.eur_hr, sell - vendor.eur_hr, margin_pct(sell, vendor.eur_hr))


@dataclass(frozen=True)
class VendorScore:
    gpu: str
    provider: str
    usd_hr: float
    eur_hr: float
    score: float


def vendor_scores(offers: Sequence[ProviderOffer], gpu: str,
                  weights: Mapping[str, float]) -> list[VendorScore]:
    """``w_cost × (min_eur_hr / eur_hr) + w_avail × availability + w_rep × reputation`` per
    provider of ``gpu``, best first (ties → lower EUR/hr, then provider name). ``weights``
    must already sum to 1."""
    of_class = [o for o in offers if o.gpu == gpu]
    cheapest = min(o.eur_hr for o in of_class)
    scored = [VendorScore(gpu, o.provider, o.usd_hr, o.eur_hr,
                          weights["cost"] * cheapest / o.eur_hr
                          + weights["availability"] * o.availability_frac
                          + weights["reputation"] * o.reputation_frac) for o in of_class]
    # Scores equal up to float noise are ties (12 decimals), broken by price, then name.
    return sorted(scored, key=lambda v: (-round(v.score, 12), v.eur_hr, v.provider))


def recommended_vendor(offers: Sequence[ProviderOffer], gpu: str,
                       weights: Mapping[str, float]) -> VendorScore:
    return vendor_scores(offers, gpu, weights)[0]


def grid_class_margins(offers, private_dump, variables, grid_points
                       ) -> dict[int, dict[str, tuple[float, float]]]:
    """Per grid point and GPU class: ``(margin_vendor_pct, margin_pct_vs_median)`` of the
    grid point's reference operator (a ``low_to_high`` markup differs by grid point), which
    the private margin criterion judges."""
    from d3.pipelines.common.reference import reference_operator

    out = {}
    for g in grid_points:
        pricing = reference_operator("private_tap", private_dump, variables,
                                     g).pricing_policy.private_tap
        weights = pricing.vendor_weights.model_dump()
        out[g] = {}
        for gpu in sorted({o.gpu for o in offers}):
            e = class_economics(offers, gpu, pricing, weights)
            out[g][gpu] = (e.margin_vendor_pct, e.margin_pct_vs_median)
    return out
