"""Exogenous facts (``inputs/facts/``) and curated catalogue rows (``inputs/operator/*.csv``).

Facts are read-only market data, each with a ``source``; no operator policy and no prices of
our own live there.
"""

from __future__ import annotations

from typing import Annotated, Literal

from pydantic import Field, model_validator

from d3.models.common import Eur, Frac, OpenRow, Pct, PosFloat, PosInt, Strict

Text = Annotated[str, Field(min_length=1)]


class FactValue(Strict):
    value: float
    unit: str
    source: Text
    as_of: str | None = None


class FxRate(FactValue):
    value: PosFloat  # USD per 1 EUR (EUR/USD quote)


class MarketFinance(Strict):
    eur_usd_fx_rate: FxRate
    euro_area_inflation_pct_yoy: FactValue | None = None
    ecb_deposit_rate_pct: FactValue | None = None


class MarketMeta(Strict):
    description: str = ""
    as_of: str | None = None


class MarketEnv(Strict):
    meta: MarketMeta = MarketMeta()
    finance: MarketFinance


class GpuOfferRow(OpenRow):
    """One provider offer; ``price_per_gpu_hr`` (USD per GPU-hour) wins over ``price_usd_hr``
    (USD per hour for the whole ``num_gpus`` SKU)."""

    provider: Text
    gpu_model: Text
    gpu_vram_gb: PosFloat
    num_gpus: PosInt
    price_per_gpu_hr: PosFloat | None = None
    price_usd_hr: PosFloat | None = None
    availability_frac: Frac | None = None
    reputation_frac: Frac | None = None

    @model_validator(mode="after")
    def _has_a_price(self) -> GpuOfferRow:
        if self.price_per_gpu_hr is None and self.price_usd_hr is None:
            raise ValueError(
                "no price: both price_per_gpu_hr and price_usd_hr are empty — "
                "fill one of them (USD per GPU-hour, or USD per hour for the whole SKU)"
            )
        return self


class CuratedModelRow(OpenRow):
    Model: Text
    Variant: Text
    hf_id: str | None = None
    params_b: PosFloat  # total parameters, billions
    active_params_b: PosFloat | None = None  # per token (MoE); defaults to params_b
    architecture: Literal["dense", "moe"] = "dense"
    quantization: Text
    vram_needed_gb: PosFloat  # weights + KV cache + runtime, GB, for one serving instance
    context_k: PosFloat | None = None
    license: str | None = None
    source: str | None = None


class TpsRow(OpenRow):
    """Measured decode throughput (tokens/s) of ``model`` on ``gpu_count`` GPUs of class ``gpu``."""

    model: Text
    hf_id: str | None = None
    gpu: Text
    gpu_count: PosInt
    measurement_type: Literal["aggregate", "batched_online", "single_stream"]
    throughput_tokens_per_s: PosFloat
    batch_slots: PosInt | None = None
    source: Text


class GpuSpecRow(OpenRow):
    gpu: Text
    vram_gb: PosFloat
    mem_bandwidth_gb_s: PosFloat
    baseline_tps_8b: PosFloat | None = None  # aggregate tok/s of an 8B dense model, batched
    source: Text


class AdsChannelRow(OpenRow):
    channel_id: Text
    name: Text
    billing: Literal["cpc", "cpm"]
    currency: Literal["EUR", "USD"]
    cost_per_click: PosFloat | None = None  # per click, in ``currency``
    cpm: PosFloat | None = None  # per 1000 impressions, in ``currency``
    ctr_frac: Annotated[float, Field(gt=0, le=1)] | None = None
    cvr_click_to_customer_frac: Annotated[float, Field(gt=0, le=1)]
    source: Text

    @model_validator(mode="after")
    def _billing_fields_present(self) -> AdsChannelRow:
        if self.billing == "cpc" and self.cost_per_click is None:
            raise ValueError("cpc channel without cost_per_click — fill cost_per_click (> 0)")
        if self.billing == "cpm" and (self.cpm is None or self.ctr_frac is None):
            raise ValueError("cpm channel needs cpm and ctr_frac — fill both (> 0)")
        return self


class AgencyFeeRow(OpenRow):
    agency_id: Text
    service: Text
    fee_type: Literal["monthly", "one_off", "pct_of_spend"]
    fee_eur: Eur | None = None
    fee_pct: Pct | None = None
    source: Text


class InsuranceRow(OpenRow):
    insurer_id: Text
    product: Text
    annual_premium_eur: Eur
    coverage_eur: Eur | None = None
    source: Text
