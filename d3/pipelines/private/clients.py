"""Private Tap clients per sample and month (SPEC §6.3).

Budget and CAC as the Public Tap; ``new ~ Poisson(λ)``, ``churned ~ Binomial(active, churn)``;
hours per client × a mean-1 lognormal factor (sd ``hours_per_client_month_sd``) per sample-month,
rounded up to the billing unit; revenue = hours × blended sell EUR/hr + active × fees + breakage
of prepaid blocks; COGS = hours × the recommended vendors' blended EUR/hr. Shapes
``(simulations, months)``.

Cash timing: with prepaid blocks (``block_hours > 0``) usage is paid when a block is bought
(``block_purchases_eur``; the unused balance is ``deferred_eur``, its expiry ``expired_eur``) and
only the fees are invoiced monthly on AR terms (``invoiced_eur``); with ``block_hours = 0``
usage and fees are both invoiced monthly (``invoiced_eur = revenue_eur``).
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

import numpy as np

from d3.core.names import gpu_class
from d3.core.rng import sim_stream
from d3.core.rounding import robust_ceil
from d3.pipelines.private.prepaid_blocks import block_ledger
from d3.pipelines.private.pricing import base_fee_for, recommended_vendor, sell_eur_hr
from d3.pipelines.private.provider_costs import ProviderOffer, median_eur_hr
from d3.services.acquisition import customer_paths, customers_per_eur, lognormal_mean_one

SERIES = ("budget_eur", "new_clients", "active_clients", "hours", "usage_revenue_eur",
          "fee_revenue_eur", "revenue_eur", "cogs_eur", "gross_margin_eur",
          "block_purchases_eur", "deferred_eur", "expired_eur", "invoiced_eur")
STREAMS = {"new": "private.new_clients", "churn": "private.churn", "hours": "private.hours",
           "cac": "private.cac_noise"}


@dataclass(frozen=True)
class ClientInputs:
    months: int
    budget_month0_eur: float
    budget_growth_pct_mom: float
    customers_per_eur: float
    churn_frac: float
    hours_per_client_month: float
    hours_sd: float  # sd of the mean-1 lognormal factor on hours
    billing_unit_minutes: int
    sell_eur_hr: float  # blended over the GPU class mix
    cost_eur_hr: float  # blended recommended-vendor price
    fees_eur_per_client_month: float  # management fee + blended base fee
    cac_noise_sd_frac: float = 0.0
    block_hours: float = 0.0  # GPU-hours per prepaid block; 0 = no blocks, invoiced monthly
    block_expiry_months: int = 12  # unused block hours expire (breakage) after this
    budget_policy: str = "growth"  # growth | flat | pct_of_inflow
    budget_monthly_eur: float = 0.0  # the flat policy's budget
    budget_pct_of_inflow: float = 0.0  # pct_of_inflow: share of last month's usage + fees
    budget_cap_monthly_eur: float = 0.0  # pct_of_inflow: the most spent in a month


def billed_hours(hours: np.ndarray, billing_unit_minutes: int) -> np.ndarray:
    """Hours rounded up to whole billing units (15-minute units: 10.1 h → 10.25 h)."""
    units = robust_ceil(np.asarray(hours) * 60.0 / billing_unit_minutes)
    return units * billing_unit_minutes / 60.0


def class_mix(mix: Mapping[str, float], classes: Sequence[str]) -> dict[str, float]:
    """GPU class mix over the offered classes (unknown classes dropped), summing to 1;
    uniform when none is given."""
    kept = {gpu_class(k): v for k, v in mix.items() if gpu_class(k) in classes}
    total = math.fsum(kept.values())
    if not kept or total <= 0:
        return {g: 1.0 / len(classes) for g in classes}
    return {g: kept.get(g, 0.0) / total for g in sorted(classes)}


def client_inputs(private, offers: Sequence[ProviderOffer], channels, *, eur_usd_fx_rate: float,
                  months: int) -> ClientInputs:
    """Blend the per-class economics of one operator configuration into a block's inputs."""
    acq, pricing = private.acquisition, private.pricing_policy.private_tap
    classes = sorted({o.gpu for o in offers})
    mix = class_mix(acq.gpu_class_mix, classes)
    weights = pricing.vendor_weights.model_dump()
    total_w = math.fsum(weights.values())
    weights = {k: v / total_w for k, v in weights.items()}
    sell = math.fsum(w * sell_eur_hr(median_eur_hr(offers, g), pricing.markup_pct)
               for g, w in mix.items())
    cost = math.fsum(w * recommended_vendor(offers, g, weights).eur_hr for g, w in mix.items())
    base = math.fsum(w * base_fee_for(g, base_fee_eur_per_month=pricing.base_fee_eur_per_month,
                                base_fee_by_gpu_class=pricing.base_fee_by_gpu_class)
               for g, w in mix.items())
    return ClientInputs(
        months=months, budget_month0_eur=acq.budget_month0_eur,
        budget_growth_pct_mom=acq.budget_growth_pct_mom,
        customers_per_eur=customers_per_eur(acq.channel_allocation, channels,
                                            cac_base_eur=acq.cac_base_eur,
                                            eur_usd_fx_rate=eur_usd_fx_rate),
        churn_frac=acq.churn_pct_mom / 100.0, hours_per_client_month=acq.hours_per_client_month,
        hours_sd=acq.hours_per_client_month_sd, billing_unit_minutes=pricing.billing_unit_minutes,
        sell_eur_hr=sell, cost_eur_hr=cost,
        fees_eur_per_client_month=pricing.management_fee_eur_per_month + base,
        cac_noise_sd_frac=acq.cac_noise_sd_frac,
        block_hours=private.prepaid_policy.private_tap.block_hours,
        block_expiry_months=private.prepaid_policy.private_tap.expiry_months,
        budget_policy=acq.budget_policy, budget_monthly_eur=acq.budget_monthly_eur,
        budget_pct_of_inflow=acq.budget_pct_of_inflow,
        budget_cap_monthly_eur=acq.budget_cap_monthly_eur or 0.0)


def prepaid_series(inp: ClientInputs, hours: np.ndarray, active: np.ndarray,
                   fees: np.ndarray) -> dict[str, np.ndarray]:
    """Cash timing of usage and fees, EUR ``(simulations, months)``: block purchases, deferred
    balance and breakage of the prepaid blocks, and what is invoiced monthly on AR terms
    (fees; usage too when ``block_hours`` is 0)."""
    usage = hours * inp.sell_eur_hr
    if inp.block_hours <= 0:
        z = np.zeros_like(usage)
        return {"block_purchases_eur": z, "deferred_eur": z.copy(), "expired_eur": z.copy(),
                "invoiced_eur": usage + fees}
    ledger = block_ledger(hours, active, block_hours=inp.block_hours,
                          expiry_months=inp.block_expiry_months)
    return {"block_purchases_eur": ledger.purchased_hours * inp.sell_eur_hr,
            "deferred_eur": ledger.balance_hours * inp.sell_eur_hr,
            "expired_eur": ledger.expired_hours * inp.sell_eur_hr, "invoiced_eur": fees}


def billed_hours_per_client(inp: ClientInputs, hours_factor: np.ndarray | float = 1.0):
    """GPU-hours one active client is billed in a month (scalar or ``(simulations, months)``)."""
    return billed_hours(inp.hours_per_client_month * hours_factor, inp.billing_unit_minutes)


def client_sales_eur(inp: ClientInputs, hours_factor: np.ndarray | float = 1.0):
    """What one active client pays in a month, EUR ex VAT: billed hours × blended sell EUR/hr
    + fees (scalar, or ``(simulations, months)`` with an hours factor)."""
    return billed_hours_per_client(inp, hours_factor) * inp.sell_eur_hr + (
        inp.fees_eur_per_client_month)


def client_series(inp: ClientInputs, budget: np.ndarray, new: np.ndarray, active: np.ndarray,
                  hours_factor: np.ndarray | float = 1.0) -> dict[str, np.ndarray]:
    """Every ``SERIES`` of one block, EUR and hours ``(simulations, months)``; revenue = usage +
    fees + breakage of expired block hours."""
    hours = active * billed_hours_per_client(inp, hours_factor)
    usage = hours * inp.sell_eur_hr
    fees = active * inp.fees_eur_per_client_month
    cogs = hours * inp.cost_eur_hr
    cash = prepaid_series(inp, hours, active, fees)
    revenue = usage + fees + cash["expired_eur"]
    return {"budget_eur": np.broadcast_to(budget, new.shape).copy(), "new_clients": new,
            "active_clients": active, "hours": hours, "usage_revenue_eur": usage,
            "fee_revenue_eur": fees, "revenue_eur": revenue, "cogs_eur": cogs,
            "gross_margin_eur": revenue - cogs, **cash}


def client_paths(inp: ClientInputs, simulations: int, hours_factor: np.ndarray | float = 1.0,
                 **draws) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Budget, new and active clients ``(simulations, months)``
    (:func:`d3.services.acquisition.customer_paths`; sales = usage + fees per client)."""
    def sales():
        per_client = client_sales_eur(inp, hours_factor)
        return per_client, per_client

    return customer_paths(inp, simulations, sales, **draws)


def expected_clients(inp: ClientInputs) -> dict[str, np.ndarray]:
    return client_series(inp, *client_paths(inp, 1))


def simulated_paths(inp: ClientInputs, *, seed: int, grid_index: int, replicate_index: int,
                    simulations: int, noise: bool = True):
    """The random part of a block: budget, new and active clients and the hours factor, each
    ``(simulations, months)``."""
    shape = (simulations, inp.months)
    if not noise:
        return *client_paths(inp, simulations), np.ones(shape)

    def gen(name: str) -> np.random.Generator:
        return sim_stream(seed, "private_tap", STREAMS[name], grid_index, replicate_index)

    cac_factor = lognormal_mean_one(gen("cac"), inp.cac_noise_sd_frac, shape)
    factor = lognormal_mean_one(gen("hours"), inp.hours_sd, shape)
    return *client_paths(inp, simulations, factor, cac_factor=cac_factor, new_gen=gen("new"),
                         churn_gen=gen("churn")), factor
