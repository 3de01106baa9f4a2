"""Generates the key reference of docs/INPUTS.md from the input models, so every key, its unit
and its default are documented and cannot drift (``python -m d3.models.reference``)."""

from __future__ import annotations

import types
import typing
from typing import Any

from pydantic import BaseModel
from pydantic_core import PydanticUndefined

from d3.models.facts import (
    AdsChannelRow,
    AgencyFeeRow,
    CuratedModelRow,
    GpuOfferRow,
    GpuSpecRow,
    InsuranceRow,
    MarketEnv,
    TpsRow,
)
from d3.models.operator import (
    Asset,
    GeneralOperator,
    PrivateOperator,
    PublicOperator,
    RatePolicy,
)
from d3.models.plan import Plan, ScenarioMultipliers, SolveDecision

UNIT_SUFFIXES = (
    ("_eur_per_1k", "EUR per 1k tokens"), ("_eur_per_1M", "EUR per 1M tokens"),
    ("_eur_per_month", "EUR per month"), ("_eur", "EUR"), ("_pct_mom", "% per month"),
    ("_pct_yoy", "% per year"), ("_pct_flat", "% per year, nominal"),
    ("_pct_of_gpu", "% of GPU cost"), ("_pct_of_costs", "% of costs"),
    ("_pct_of_profit", "% of the month's net income"),
    ("_pct_of_inflow", "% of the previous month's sales"), ("_pct", "% (0..100)"),
    ("_months_target", "months"),
    ("_frac", "fraction (0..1)"), ("_s", "seconds"), ("_months", "months"),
    ("_days", "days"), ("hours_in_month", "hours"), ("_hours", "hours"),
    ("hours_per_client_month", "hours per client per month"), ("_minutes", "minutes"),
    ("_gb", "GB"), ("_gb_s", "GB/s"), ("_replicas", "replicas"),
    ("_per_gpu_hr", "USD per GPU-hour"), ("_usd_hr", "USD per hour"),
    ("_tokens_per_s", "tokens/s"), ("_b", "billions"), ("_k", "thousands of tokens"),
)

NOTES = {
    "meta.seed": "seed of this tap's streams when params.yaml sets none",
    "meta.fx_buffer_pct": "added to the USD→EUR conversion of provider prices",
    "finance.fixed_costs_monthly_eur": "category → EUR per month",
    "finance.inflation_pct_yoy_by_category": "category → % per year; applied monthly",
    "finance.equity_injection_eur": "cash paid in at month 1",
    "finance.salaries_monthly_eur": "role → gross salary per month; inflated by "
    "inflation_pct_yoy_by_category[role]; opex, no VAT, contingency applies",
    "loan.interest_rate_pct_flat": "annual nominal rate; monthly rate = rate / 12",
    "loan.repayment": "annuity (level payment), flat (equal principal), bullet (all at end)",
    "tax.vat_buffer_policy": "how much VAT cash is set aside until remitted",
    "tax.fiscal_year_start_month": "calendar month (1..12) in which the fiscal year starts",
    "tax.corporate_tax_payment_lag_months": "a fiscal year's tax is paid this many months "
    "after the year's last month",
    "financing.overdraft_limit_eur": "overdraft drawn when cash would go negative; any "
    "shortfall beyond it is a funding gap",
    "financing.overdraft_interest_rate_pct": "annual nominal; charged monthly (rate / 12) on "
    "the opening overdraft and funding gap",
    "calendar.hours_in_month": "hours used to spread monthly demand",
    "reserves.cash_buffer_eur": "minimum free cash to keep; sets the funding need",
    "reserves.reserve_months_target": "months of fixed costs + salaries + social security "
    "kept in free cash: no distribution takes free cash below max(this × the month's costs, "
    "emergency_fund_eur) + cash_buffer_eur",
    "reserves.emergency_fund_eur": "the reserve floor is at least this (+ cash_buffer_eur)",
    "reserves.founder_draw_policy": "none, flat (founder_draw_eur_per_month) or "
    "percent_of_profit (of the month's positive net income); equity, from retained earnings",
    "reserves.distribution_policy.dividend_pct": "of a closed fiscal year's net income less its "
    "draws, paid with the corporate tax; + reinvest_pct = 100",
    "reserves.distribution_policy.reinvest_pct": "the rest of that profit, kept in the company; "
    "left out = 100 − dividend_pct (so a variable can sweep dividend_pct alone)",
    "tax.social_security_pct": "the employer's charges on gross salaries (NL ≈ 18–20 %; a "
    "director-shareholder only the 6.51 % Zvw levy; the employee-side 27.65 % premium is "
    "withheld from wages, not an employer cost)",
    "tax.dividend_withholding_pct": "dividend tax withheld from every distribution and remitted "
    "by the company (NL: 15)",
    "pricing_policy.public_tap.target_margin_pct": "margin on the sell price, 0..95",
    "pricing_policy.public_tap.round_increment_eur_per_1k": "sell prices round UP to this",
    "pricing_policy.public_tap.allow_tps_heuristic": "false: a missing throughput measurement "
    "is an error",
    "pricing_policy.public_tap.cost_basis": "full_throughput: cost per 1M at full throughput; "
    "planned_utilisation: divided by the rented fleet's planned utilisation",
    "prepaid_policy.credits.credit_consumption_months": "months over which a purchase is used",
    "prepaid_policy.credits.expiry_months": "unused credits expire (breakage) after this",
    "acquisition.budget_policy": "growth: budget_month0_eur × (1 + budget_growth_pct_mom/100)"
    "^(m−1); flat: budget_monthly_eur every month; pct_of_inflow: budget_month0_eur in month 1, "
    "then budget_pct_of_inflow % of the previous month's sales, at most budget_cap_monthly_eur",
    "prepaid_policy.credits.min_topup_eur": "each purchase of credits is at least this (ex VAT); "
    "credits bought only to reach it are never used and expire as breakage",
    "acquisition.budget_monthly_eur": "the ads budget of every month under budget_policy flat",
    "acquisition.budget_pct_of_inflow": "under budget_policy pct_of_inflow, the share of the "
    "tap's previous month's sales ex VAT (public: credits sold; private: GPU-hours × sell price "
    "+ fees) spent on ads",
    "acquisition.budget_cap_monthly_eur": "under budget_policy pct_of_inflow, the most spent on "
    "ads in a month (required: the budget buys the sales that fund it)",
    "acquisition.cac_base_eur": "EUR per new customer when no channel_allocation is set",
    "acquisition.channel_allocation": "channel_id → share of budget; sums to 1",
    "acquisition.cac_noise_sd_frac": "lognormal CAC noise in Monte Carlo (0 = off)",
    "acquisition.tokens_per_conversion": "tokens bought by a new customer",
    "acquisition.tokens_per_returning_customer_month": "tokens bought per returning customer",
    "acquisition.hours_per_client_month_sd": "sd of the mean-1 lognormal factor on hours",
    "acquisition.gpu_class_mix": "GPU class → share of hours; sums to 1 (default uniform)",
    "autoscaling.peak_factor": "peak hour = average × this (≥ 1)",
    "autoscaling.capacity_peak_percentile": "if set, peak = this percentile of hourly demand",
    "model_mix": "model (Model + Variant) → share of tokens; sums to 1 (default uniform)",
    "demand_profile.hourly_weights": "24 weights (hour 0..23) for diurnal demand",
    "pricing_policy.private_tap.base_fee_by_gpu_class": "GPU class → EUR per month per client",
    "pricing_policy.private_tap.vendor_weights": "weights of cost, availability, reputation",
    "pricing_policy.private_tap.billing_unit_minutes": "hours are billed in these units",
    "prepaid_policy.private_tap.block_hours": "GPU-hours per prepaid block; 0 = no blocks, "
    "usage invoiced monthly on AR terms",
    "prepaid_policy.private_tap.expiry_months": "unused block hours expire (breakage) after "
    "this",
    "run.random_runs_per_simulation": "replicates per grid point",
    "run.chunk_blocks": "(grid, replicate) blocks per work unit, at least (small blocks are "
                        "grouped to ≥ 2 000 samples); never changes results",
    "stochastic.simulations_per_run": "Monte Carlo iterations per replicate",
    "stochastic.percentiles": "ascending, within 1..99",
    "stochastic.percentile_samples": "null: every sample; N: the monthly statistics over about "
    "N samples per grid point, the first ⌈N / replicates⌉ paths of every block (at least one "
    "per block); KPIs and sample probabilities over every sample",
    "stochastic.sampling": "random: each replicate draws every random variable independently; "
    "latin_hypercube: a grid point's R replicates hit each of R equal-probability strata once",
    "fixed_variables": "variable_id → value: the variable is fixed at this value, one of its "
    "own (its grid min + k·step, or one of values=), whatever its treatment",
    "solve.decisions": "what the solver may change; each item below",
    "solve.trials": "screening evaluations (Optuna TPE trials), the current plan first",
    "solve.startup_trials": "random trials before the sampler models the results",
    "solve.screen_simulations_per_run": "Monte Carlo paths per replicate while screening",
    "solve.screen_replicates": "replicates per grid point while screening; null: "
    "run.random_runs_per_simulation",
    "solve.confirm": "best screened candidates re-evaluated at the plan's full sample count",
    "solve.confirm_simulations_per_run": "Monte Carlo paths per replicate of the full-count "
    "evaluations (current plan, confirmation, polish, attribution, re-check); null: "
    "stochastic.simulations_per_run",
    "solve.seed": "the sampler's seed; null: the plan's general seed",
    "key": "FILE:dotted.key as in dvc exp run -S (params.yaml or inputs/operator/*.yaml)",
    "low": "lowest value (with high and step; or choices), below high; a value the key "
    "accepts",
    "high": "highest value: low + k·step; a value the key accepts",
    "step": "> 0; values low, low + step, …, high",
    "choices": "the values, when not a numeric range (at least one, each a value the key "
    "accepts)",
    "weight": "> 0; share of this decision in the distance (a change over its whole range "
    "counts weight)",
    "price_usd_hr": "USD per hour for the whole num_gpus SKU",
    "throughput_tokens_per_s": "decode tokens/s as measured (see measurement_type)",
    "baseline_tps_8b": "aggregate tokens/s of an 8B dense model; last-resort heuristic",
    "vram_needed_gb": "GB for one serving instance (weights + KV cache + runtime)",
    "cvr_click_to_customer_frac": "share of clicks that become paying customers",
}


def unit_of(name: str) -> str:
    for suffix, unit in UNIT_SUFFIXES:
        if name.endswith(suffix):
            return unit
    return ""


def _type_name(annotation: Any) -> str:
    origin = typing.get_origin(annotation)
    if origin is typing.Annotated:
        return _type_name(typing.get_args(annotation)[0])
    if origin in (typing.Union, types.UnionType):
        return " or ".join(_type_name(a) for a in typing.get_args(annotation))
    if origin is typing.Literal:
        return " \\| ".join(repr(a) for a in typing.get_args(annotation))
    if origin in (list, dict):
        return f"{origin.__name__}[{', '.join(_type_name(a) for a in typing.get_args(annotation))}]"
    if annotation is type(None):
        return "null"
    return getattr(annotation, "__name__", str(annotation))


def _constraints(field) -> str:
    parts = []
    for meta in field.metadata:
        for attr, sign in (("ge", "≥"), ("gt", ">"), ("le", "≤"), ("lt", "<")):
            value = getattr(meta, attr, None)
            if value is not None:
                parts.append(f"{sign} {value}")
    annotation = field.annotation
    for arg in typing.get_args(annotation) or ():
        for meta in getattr(arg, "__metadata__", ()):
            for attr, sign in (("ge", "≥"), ("gt", ">"), ("le", "≤"), ("lt", "<")):
                value = getattr(meta, attr, None)
                if value is not None:
                    parts.append(f"{sign} {value}")
    return ", ".join(dict.fromkeys(parts))


def _default(field) -> str:
    if field.is_required():
        return "**required**"
    value = field.default
    if value is PydanticUndefined:
        value = field.default_factory() if field.default_factory else None
    if isinstance(value, BaseModel):
        return "(section)"
    return f"`{value!r}`" if value not in ({}, []) else f"`{value}`"


def _rows(model: type[BaseModel], prefix: str = "") -> list[str]:
    out = []
    for name, field in model.model_fields.items():
        path = f"{prefix}{name}"
        nested = [a for a in (typing.get_args(field.annotation) or (field.annotation,))
                  if isinstance(a, type) and issubclass(a, BaseModel)]
        if isinstance(field.annotation, type) and issubclass(field.annotation, BaseModel):
            nested = [field.annotation]
        if nested and typing.get_origin(field.annotation) not in (list, dict):
            out += _rows(nested[0], f"{path}.")
            continue
        note = NOTES.get(path, NOTES.get(name, ""))
        out.append(f"| `{path}` | {_type_name(field.annotation)} | {unit_of(name)} | "
                   f"{_default(field)} | {_constraints(field)} | {note} |")
    return out


SECTIONS = (
    ("inputs/operator/general.yaml", GeneralOperator),
    ("general.yaml: each item of depreciation.assets", Asset),
    ("inputs/operator/public_tap.yaml", PublicOperator),
    ("public_tap.yaml: each item of autoscaling.scale_up_policies / scale_down_policies",
     RatePolicy),
    ("inputs/operator/private_tap.yaml", PrivateOperator),
    ("inputs/facts/market_env.yaml", MarketEnv),
    ("params.yaml (the plan)", Plan),
    ("params.yaml: each scenarios.<name>", ScenarioMultipliers),
    ("params.yaml: each item of solve.decisions", SolveDecision),
    ("inputs/operator/curated_gpu.csv (columns)", GpuOfferRow),
    ("inputs/operator/curated_public_tap_models.csv (columns)", CuratedModelRow),
    ("inputs/facts/tps_model_gpu.csv (columns)", TpsRow),
    ("inputs/facts/gpu_specs.csv (columns)", GpuSpecRow),
    ("inputs/facts/ads_channels.csv (columns)", AdsChannelRow),
    ("inputs/facts/agency_fees.csv (columns)", AgencyFeeRow),
    ("inputs/facts/insurances.csv (columns)", InsuranceRow),
)
BEGIN = "<!-- BEGIN GENERATED KEY REFERENCE (python -m d3.models.reference) -->"
END = "<!-- END GENERATED KEY REFERENCE -->"


def key_reference_markdown() -> str:
    lines = [BEGIN, ""]
    for title, model in SECTIONS:
        lines += [f"### {title}", "", "| key | type | unit | default | domain | notes |",
                  "|---|---|---|---|---|---|", *_rows(model), ""]
    lines.append(END)
    return "\n".join(lines)


def with_reference(doc: str) -> str:
    """``doc`` with the generated block replaced by the current reference."""
    head, _, rest = doc.partition(BEGIN)
    _, _, tail = rest.partition(END)
    return head + key_reference_markdown() + tail


if __name__ == "__main__":
    import sys
    from pathlib import Path

    target = Path(sys.argv[1]) if len(sys.argv) > 1 else Path("docs/INPUTS.md")
    target.write_text(with_reference(target.read_text(encoding="utf-8")), encoding="utf-8")
