"""Operator constants: ``inputs/operator/{general,public_tap,private_tap}.yaml`` (SPEC §1).

Units are in the key names: ``_eur`` money in EUR, ``_pct`` 0..100, ``_frac`` 0..1, ``_s``
seconds, ``_months`` calendar months. docs/INPUTS.md documents every key.
"""

from __future__ import annotations

from typing import Annotated, Literal

from pydantic import Field, SerializationInfo, SerializerFunctionWrapHandler, model_serializer

from d3.models.common import Eur, Frac, Month, NonNegInt, Pct, PosFloat, PosInt, Strict

GrowthPct = Annotated[float, Field(ge=-100, le=100)]  # month-on-month change, percent


class Meta(Strict):
    seed: int | None = None
    fx_buffer_pct: Pct = 0.0  # added on top of the FX conversion of USD prices
    currency: Literal["EUR"] = "EUR"
    description: str = ""


# --- general.yaml -----------------------------------------------------------------------------


class Finance(Strict):
    fixed_costs_monthly_eur: dict[str, Eur]
    salaries_monthly_eur: dict[str, Eur] = {}  # role → gross salary per month
    inflation_pct_yoy_by_category: dict[str, Annotated[float, Field(ge=-50, le=100)]] = {}
    bizdev_budget_monthly_eur: Eur = 0.0
    contingency_pct_of_costs: Pct = 0.0
    equity_injection_eur: Eur = 0.0


class Loan(Strict):
    amount_eur: Eur
    term_months: Annotated[int, Field(ge=1, le=600)]  # ≤ 50 years; sets the modelled months
    interest_rate_pct_flat: Pct  # annual nominal; monthly rate = rate / 12
    grace_period_months: NonNegInt = 0
    repayment: Literal["annuity", "flat", "bullet"] = "annuity"



class Tax(Strict):
    corporate_tax_pct: Pct
    vat_pct: Pct = 21.0
    vat_payment_lag_months: NonNegInt = 1
    vat_buffer_policy: Literal["none", "set_aside_net", "set_aside_collected"] = "set_aside_net"
    loss_carry_forward: bool = True
    fiscal_year_start_month: Month = 1
    corporate_tax_payment_lag_months: NonNegInt = 5  # after the fiscal year's last month
    social_security_pct: Pct = 0.0  # employer charges on gross salaries
    dividend_withholding_pct: Pct = 0.0  # withheld from distributions, remitted by the company


class Financing(Strict):
    """Short-term bank financing drawn when cash would go negative."""

    overdraft_limit_eur: Eur = 0.0
    overdraft_interest_rate_pct: Pct = 12.0  # annual nominal; monthly rate = rate / 12


class Calendar(Strict):
    start_year: Annotated[int, Field(ge=2000, le=2100)]
    start_month: Month
    hours_in_month: Annotated[float, Field(ge=1, le=744)] = 720.0  # 744 = 31 days


class WorkingCapital(Strict):
    ar_days: Annotated[float, Field(ge=0, le=365)] = 30.0
    ap_days: Annotated[float, Field(ge=0, le=365)] = 30.0


class Asset(Strict):
    asset_id: str
    cost_eur: Eur
    useful_life_months: Annotated[int, Field(ge=1, le=600)]  # ≤ 50 years; sizes an array
    purchase_month: Annotated[int, Field(ge=1, le=600)] = 1


class Depreciation(Strict):
    method: Literal["straight_line"] = "straight_line"
    assets: list[Asset] = []


class Insurances(Strict):
    selected: list[str] = []
    premiums_buffer_pct: Pct = 0.0


class DistributionPolicy(Strict):
    """How a closed fiscal year's profit (after founder draws) is split; sums to 100.
    ``reinvest_pct`` may be left out: it is then 100 − ``dividend_pct``, so a variable can sweep
    the dividend share alone."""

    reinvest_pct: Pct | None = None
    dividend_pct: Pct = 0.0

    @property
    def reinvested_pct(self) -> float:
        """The reinvested share, given or derived (100 − dividend_pct)."""
        return 100.0 - self.dividend_pct if self.reinvest_pct is None else self.reinvest_pct

    @model_serializer(mode="wrap")
    def _reinvest_as_derived(self, handler: SerializerFunctionWrapHandler,
                             info: SerializationInfo) -> dict:
        """JSON dumps (``validated/operator_general.json``) write the share as derived, so a
        plan without ``reinvest_pct`` keeps the bytes it had when the key was required."""
        data = handler(self)
        if info.mode_is_json():
            data["reinvest_pct"] = self.reinvested_pct
        return data


class Reserves(Strict):
    cash_buffer_eur: Eur = 0.0
    reserve_months_target: Annotated[float, Field(ge=0)] = 0.0  # months of staff + fixed costs
    emergency_fund_eur: Eur = 0.0
    founder_draw_policy: Literal["none", "flat", "percent_of_profit"] = "none"
    founder_draw_eur_per_month: Eur = 0.0
    founder_draw_pct_of_profit: Pct = 0.0
    distribution_policy: DistributionPolicy = DistributionPolicy()


class GeneralOperator(Strict):
    meta: Meta = Meta()
    finance: Finance
    loan: Loan
    tax: Tax
    financing: Financing = Financing()
    calendar: Calendar
    working_capital: WorkingCapital = WorkingCapital()
    depreciation: Depreciation = Depreciation()
    insurances: Insurances = Insurances()
    reserves: Reserves = Reserves()


# --- public_tap.yaml --------------------------------------------------------------------------


class NonGpuCosts(Strict):
    infra_overhead_pct_of_gpu: Pct = 0.0
    base_eur_per_1M: Eur = 0.0


class PublicPricing(Strict):
    target_margin_pct: Annotated[float, Field(ge=0, le=95)]
    # EUR per 1k tokens; 1 EUR per 1k (1 000 per 1M) is far above any market price.
    round_increment_eur_per_1k: Annotated[float, Field(gt=0, le=1)]
    min_floor_eur_per_1k: Annotated[float, Field(ge=0, le=100)] = 0.0
    max_cap_eur_per_1k: Annotated[float, Field(gt=0, le=100)] | None = None
    allow_tps_heuristic: bool = True
    non_gpu_costs: NonGpuCosts = NonGpuCosts()
    # full_throughput: cost per 1M at full throughput; planned_utilisation: at the fleet's
    # planned utilisation (target utilisation, always-warm minimum, peak factor) — SPEC §5.1.
    cost_basis: Literal["full_throughput", "planned_utilisation"] = "full_throughput"


class PublicPricingPolicy(Strict):
    public_tap: PublicPricing


class Credits(Strict):
    expiry_months: PosInt = 12
    credit_consumption_months: PosInt = 1
    min_topup_eur: Eur = 0.0
    refundable: Literal[False] = False


class PublicPrepaid(Strict):
    credits: Credits = Credits()


# Keys added after runs were published (issue 13): JSON dumps carry them only when set.
OPT_IN_ACQUISITION_KEYS = ("budget_policy", "budget_monthly_eur", "budget_pct_of_inflow",
                           "budget_cap_monthly_eur")


class Acquisition(Strict):
    """Shared by both taps: budget, growth, CAC and churn.

    The monthly ads budget follows ``budget_policy``: ``growth`` (the default) =
    ``budget_month0_eur × (1 + budget_growth_pct_mom/100)^(m−1)``; ``flat`` =
    ``budget_monthly_eur`` every month (:func:`d3.services.acquisition.budget_path`);
    ``pct_of_inflow`` = ``budget_month0_eur`` in month 1, then ``budget_pct_of_inflow`` percent
    of the tap's previous month's sales, at most ``budget_cap_monthly_eur``
    (:func:`d3.services.acquisition.inflow_funded_paths`)."""

    budget_month0_eur: Eur
    budget_growth_pct_mom: GrowthPct = 0.0
    budget_policy: Literal["growth", "flat", "pct_of_inflow"] = "growth"
    budget_monthly_eur: Eur = 0.0
    budget_pct_of_inflow: Pct = 0.0
    budget_cap_monthly_eur: PosFloat | None = None
    cac_base_eur: PosFloat | None = None
    churn_pct_mom: Pct
    channel_allocation: dict[str, Frac] = {}
    cac_noise_sd_frac: Annotated[float, Field(ge=0, le=2)] = 0.0

    @model_serializer(mode="wrap")
    def _opt_in_keys_only_when_set(self, handler: SerializerFunctionWrapHandler,
                                   info: SerializationInfo) -> dict:
        """JSON dumps (``validated/<tap>.json``) leave out the keys added in issue 13 while
        they hold their defaults, so runs that do not use them keep their bytes."""
        data = handler(self)
        if info.mode_is_json():
            for key in OPT_IN_ACQUISITION_KEYS:
                if getattr(self, key) == type(self).model_fields[key].default:
                    data.pop(key, None)
        return data


class PublicAcquisition(Acquisition):
    tokens_per_conversion: Annotated[float, Field(ge=0)]
    tokens_per_returning_customer_month: Annotated[float, Field(ge=0)] = 0.0


class RatePolicy(Strict):
    type: Literal["pods", "percent"]
    value: PosFloat
    period_s: PosFloat


class Autoscaling(Strict):
    target_utilization_pct: Annotated[float, Field(gt=0, le=100)]
    min_instances_per_model: NonNegInt = 1
    max_instances_per_model: Annotated[int, Field(ge=1, le=10_000)] = 8  # sizes arrays
    evaluation_interval_s: Annotated[float, Field(ge=1, le=3600)] = 60.0  # divides an hour
    scale_up_threshold_pct: Annotated[float, Field(gt=0, le=100)] = 80.0
    scale_down_threshold_pct: Annotated[float, Field(gt=0, le=100)] = 40.0
    scale_up_step_replicas: PosInt = 1
    scale_down_step_replicas: PosInt = 1
    stabilization_window_s: Annotated[float, Field(ge=0)] = 300.0
    warmup_s: Annotated[float, Field(ge=0)] = 120.0
    cooldown_s: Annotated[float, Field(ge=0)] = 300.0
    peak_factor: Annotated[float, Field(ge=1)] = 2.0
    capacity_peak_percentile: Annotated[float, Field(gt=0, le=100)] | None = None
    mode: Literal["threshold", "proportional"] = "threshold"
    count_pending: bool = False
    tolerance_frac: Frac = 0.1
    scale_up_window_s: Annotated[float, Field(ge=0)] = 0.0
    scale_up_policies: list[RatePolicy] = []
    scale_down_policies: list[RatePolicy] = []
    scale_up_select: Literal["max", "min", "disabled"] = "max"
    scale_down_select: Literal["max", "min", "disabled"] = "max"
    tick_noise: Literal["none", "poisson"] = "none"


class Runtime(Strict):
    slots_total_default: PosInt = 16
    batching_efficiency_pct: Pct = 70.0


class DemandProfile(Strict):
    type: Literal["uniform", "diurnal"] = "uniform"
    hourly_weights: list[Annotated[float, Field(ge=0)]] | None = None



class PublicOperator(Strict):
    meta: Meta = Meta()
    pricing_policy: PublicPricingPolicy
    prepaid_policy: PublicPrepaid = PublicPrepaid()
    acquisition: PublicAcquisition
    autoscaling: Autoscaling
    runtime: Runtime = Runtime()
    model_mix: dict[str, Frac] = {}
    demand_profile: DemandProfile = DemandProfile()


# --- private_tap.yaml -------------------------------------------------------------------------


class VendorWeights(Strict):
    cost: Frac = 0.6
    availability: Frac = 0.2
    reputation: Frac = 0.2


class PrivatePricing(Strict):
    markup_pct: Annotated[float, Field(ge=0, le=1000)]
    management_fee_eur_per_month: Eur = 0.0
    base_fee_eur_per_month: Eur = 0.0
    base_fee_by_gpu_class: dict[str, Eur] = {}
    vendor_weights: VendorWeights = VendorWeights()
    billing_unit_minutes: PosInt = 60


class PrivatePricingPolicy(Strict):
    private_tap: PrivatePricing


class PrivateBlocks(Strict):
    block_hours: Annotated[float, Field(ge=0)] = 0.0  # 0: no blocks, usage invoiced monthly
    expiry_months: PosInt = 12


class PrivatePrepaid(Strict):
    private_tap: PrivateBlocks = PrivateBlocks()


class PrivateAcquisition(Acquisition):
    hours_per_client_month: Annotated[float, Field(ge=0)]
    hours_per_client_month_sd: Annotated[float, Field(ge=0, le=5)] = 0.0  # lognormal sd, mean 1
    gpu_class_mix: dict[str, Frac] = {}


class PrivateOperator(Strict):
    meta: Meta = Meta()
    pricing_policy: PrivatePricingPolicy
    prepaid_policy: PrivatePrepaid = PrivatePrepaid()
    acquisition: PrivateAcquisition
