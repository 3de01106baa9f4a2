"""The one mapping table of ``d3 import-draft``: every key and column of the original draft's
input tree (llama-orch ``.003-draft/inputs``) → what it becomes in D3.

Each source key maps to one :class:`Rule`:

* ``mapped``    — copied unchanged (same meaning and unit) to a D3 key, possibly renamed;
* ``converted`` — written to a D3 key in another unit or form (the rule says from what to what);
* ``modelled``  — carried by a D3 feature rather than a one-to-one key (the rule names it);
* ``dropped``   — not imported, with the reason (also a WARNING on stderr).

Keys are dotted paths; ``*`` matches one segment, ``**`` the rest of the path, and list items
are written ``[]`` (``depreciation_schedule.assets[].name``). A key not in the table is dropped
as unknown. Value-dependent outcomes (a ``false`` where D3 only has the ``true`` behaviour, a
VAT percentage between the two enum values) are decided by the handlers in
:mod:`d3.importer.convert`, which name their rule here. docs/INPUTS.md ("Importing the original
draft") is generated from these tables (``python -m d3.importer``).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Literal

Kind = Literal["mapped", "converted", "modelled", "dropped"]
KINDS: tuple[Kind, ...] = ("mapped", "converted", "modelled", "dropped")


@dataclass(frozen=True)
class Rule:
    kind: Kind
    target: str = ""  # D3 key or column ("" when dropped)
    note: str = ""  # from → to (converted), the feature (modelled) or the reason (dropped)

    def describe(self) -> str:
        """The rule as one line of the report / the docs."""
        if self.kind == "mapped":
            return f"mapped to `{self.target}`" + (f" ({self.note})" if self.note else "")
        if self.kind == "converted":
            return f"converted from {self.note} (`{self.target}`)"
        if self.kind == "modelled":
            return f"modelled by {self.note}" + (f" (`{self.target}`)" if self.target else "")
        return f"dropped: {self.note}"


def mapped(target: str, note: str = "") -> Rule:
    return Rule("mapped", target, note)


def converted(target: str, from_to: str) -> Rule:
    return Rule("converted", target, from_to)


def modelled(feature: str, target: str = "") -> Rule:
    return Rule("modelled", target, feature)


def dropped(reason: str) -> Rule:
    return Rule("dropped", "", reason)


def same(*keys: str) -> dict[str, Rule]:
    """Keys whose name and meaning are the same in D3."""
    return {k: mapped(k) for k in keys}


# --- reasons and features used more than once ---------------------------------------------

NO_CONVERSION_RATES = ("the draft gives cost per click/impression but no click-to-customer "
                       "conversion rate, so no channel CAC can be computed; the draft's own "
                       "fallback acquisition.cac_base_eur applies")
ONE_TOPUP = "D3 models one top-up per conversion (acquisition.tokens_per_conversion)"
NOT_MODELLED_FACT = "exogenous context the model does not use"
DESCRIPTIVE = "descriptive; D3 does not use it"
RANGE = "D3 keeps one value per fact (no low/high range)"
BUDGET_POLICY = ("a flat monthly acquisition budget, used when acquisition.budget_policy is "
                 "flat (left at its default, growth: the draft's engine grew "
                 "budget_month0_eur by budget_growth_pct_mom)")

# --- simulation.yaml → params.yaml ---------------------------------------------------------

PLAN: dict[str, Rule] = {
    **same("run.random_seed", "run.pipelines", "run.fail_on_warning",
           "run.random_runs_per_simulation", "stochastic.simulations_per_run",
           "stochastic.percentiles", "stochastic.random_seed",
           "stress.provider_price_drift_pct", "stress.tps_downshift_pct",
           "stress.fx_widen_buffer_pct", "consolidation.overhead_allocation_driver",
           "targets.horizon_months", "targets.private_margin_threshold_pct",
           "targets.public_growth_min_mom_pct", "targets.autoscaling_util_tolerance_pct"),
    "run.output_dir": dropped("D3 writes where `d3 run --out DIR` says"),
    "run.max_concurrency": dropped("a runtime option (`d3 run --max-concurrency N`) that never "
                                   "changes the results"),
    "run.grid_samples": dropped("D3 derives the grid from the low_to_high variables"),
    "consolidation.include_loan_in_cashflow": modelled(
        "the consolidation, which always includes the loan in the cashflow"),
    "consolidation.report_percentiles": modelled(
        "the percentiles of every table, which are stochastic.percentiles",
        "stochastic.percentiles"),
    "ui.show_credit_packs": dropped("presentation only"),
    "ui.halt_at_zero_simulation": modelled(
        "the credit ledger, whose balance never goes below zero (halt at zero)"),
    "ui.**": dropped("presentation only"),
    "logging.level": converted("logging.level", "upper case (INFO) to D3's lower-case level"),
    "logging.write_run_summary": modelled("the run summary, always written "
                                          "(run_summary.{json,md})"),
    "targets.require_monotonic_growth_public_active_customers": modelled(
        "the acceptance criterion public_customers_non_decreasing, always checked"),
    "targets.require_monotonic_growth_private_active_customers": mapped(
        "targets.private_growth_required"),
}

# --- operator/general.yaml -------------------------------------------------------------------

GENERAL: dict[str, Rule] = {
    "meta.version": dropped("format version of the draft; D3 files carry none"),
    "meta.description": mapped("meta.description"),
    "finance.fixed_costs_monthly_eur.*": mapped("finance.fixed_costs_monthly_eur.*"),
    "finance.depreciation_assets_eur": dropped(
        "superseded by depreciation_schedule (as in the draft's engine); keeping both would "
        "count the depreciation twice"),
    "finance.marketing_allocation_pct_of_inflow": dropped(
        "the draft's engine only quoted it in its report text and grew each tap's "
        "budget_month0_eur by budget_growth_pct_mom, which the import keeps; to spend a share "
        "of inflow instead, set in each tap acquisition.budget_policy: pct_of_inflow, "
        "budget_pct_of_inflow (this value) and budget_cap_monthly_eur"),
    "finance.bizdev_budget_monthly_eur": mapped("finance.bizdev_budget_monthly_eur"),
    "finance.contingency_pct": mapped("finance.contingency_pct_of_costs"),
    **same("loan.amount_eur", "loan.term_months", "loan.interest_rate_pct_flat",
           "loan.grace_period_months"),
    "loan.repayment_type": mapped("loan.repayment"),
    "loan.equity_injection_eur": mapped("finance.equity_injection_eur"),
    "insurances.selected": mapped("insurances.selected"),
    "insurances.premiums_buffer_pct": mapped("insurances.premiums_buffer_pct"),
    "tax.vat_pct": mapped("tax.vat_pct"),
    "tax.corporate_income_pct": mapped("tax.corporate_tax_pct"),
    "tax.dividend_withholding_pct": modelled("dividend withholding on distributions",
                                             "tax.dividend_withholding_pct"),
    "tax.social_security_pct": modelled("employer social security on salaries",
                                        "tax.social_security_pct"),
    "tax.vat_buffer_policy": converted(
        "tax.vat_buffer_policy", "percent of VAT parked aside to D3's enum (100 → "
        "set_aside_collected, 0 → none)"),
    **same("calendar.start_year", "calendar.start_month", "working_capital.ar_days",
           "working_capital.ap_days"),
    "working_capital.inventory_days": dropped("D3 models a service business without "
                                              "inventory"),
    "working_capital.vat_payment_lag_months": mapped("tax.vat_payment_lag_months"),
    "inflation.cpi_annual_pct": modelled(
        "inflation by category: every fixed-cost category that is neither rent-like nor a "
        "salary", "finance.inflation_pct_yoy_by_category"),
    "inflation.rent_growth_annual_pct": modelled(
        "inflation by category: the office/rent-like fixed-cost categories",
        "finance.inflation_pct_yoy_by_category"),
    "inflation.salary_growth_annual_pct": modelled(
        "inflation by category: the salary categories", "finance.inflation_pct_yoy_by_category"),
    "depreciation_schedule.assets[].name": converted(
        "depreciation.assets[].asset_id", "a display name to an id (lower-case slug)"),
    "depreciation_schedule.assets[].amount_eur": mapped("depreciation.assets[].cost_eur"),
    "depreciation_schedule.assets[].months": mapped("depreciation.assets[].useful_life_months"),
    "depreciation_schedule.assets[].start_month_index": converted(
        "depreciation.assets[].purchase_month", "the draft engine's 0-based month index to "
        "D3's 1-based month number (+1)"),
    **{f"reserves.{k}": modelled(feature, f"reserves.{k}") for k, feature in (
        ("reserve_months_target", "the reserve target in months of costs"),
        ("emergency_fund_eur", "the emergency fund kept before any distribution"),
        ("founder_draw_policy", "the founder draw policy (none | flat | percent_of_profit)"),
        ("founder_draw_eur_per_month", "the flat founder draw"),
        ("founder_draw_pct_of_profit", "the founder draw as a percent of profit"),
        ("distribution_policy.reinvest_pct", "the distribution policy (reinvested share)"),
        ("distribution_policy.dividend_pct", "the distribution policy (dividend share)"),
    )},
}

# --- operator/public_tap.yaml and private_tap.yaml ---------------------------------------------

_META = same("meta.seed", "meta.fx_buffer_pct")
_ACQUISITION = {
    **same("acquisition.budget_month0_eur", "acquisition.budget_growth_pct_mom",
           "acquisition.cac_base_eur", "acquisition.churn_pct_mom"),
    "acquisition.budget_monthly_eur": modelled(BUDGET_POLICY, "acquisition.budget_monthly_eur"),
    "acquisition.channel_allocation.*": dropped(NO_CONVERSION_RATES),
}

PUBLIC_TAP: dict[str, Rule] = {
    **_META,
    **same(*(f"pricing_policy.public_tap.{k}" for k in (
        "target_margin_pct", "round_increment_eur_per_1k", "min_floor_eur_per_1k",
        "max_cap_eur_per_1k", "non_gpu_costs.base_eur_per_1M",
        "non_gpu_costs.infra_overhead_pct_of_gpu"))),
    **same("prepaid_policy.credits.min_topup_eur", "prepaid_policy.credits.expiry_months"),
    "prepaid_policy.credits.max_topup_eur": dropped(ONE_TOPUP),
    "prepaid_policy.credits.non_refundable": converted(
        "prepaid_policy.credits.refundable", "non_refundable: true to refundable: false"),
    "prepaid_policy.credits.auto_refill_default_enabled": dropped(ONE_TOPUP),
    "prepaid_policy.credits.auto_refill_cap_eur": dropped(ONE_TOPUP),
    **_ACQUISITION,
    "acquisition.tokens_per_conversion_mean": mapped("acquisition.tokens_per_conversion"),
    "acquisition.tokens_per_conversion_sd": modelled(
        "the sd cell of the acquisition.tokens_per_conversion variable row (the row itself is "
        "merged into it)", "acquisition.tokens_per_conversion"),
    **same(*(f"autoscaling.{k}" for k in (
        "target_utilization_pct", "peak_factor", "min_instances_per_model",
        "max_instances_per_model", "evaluation_interval_s", "scale_up_threshold_pct",
        "scale_down_threshold_pct", "scale_up_step_replicas", "scale_down_step_replicas",
        "stabilization_window_s", "warmup_s", "cooldown_s"))),
    **same("runtime.slots_total_default", "runtime.batching_efficiency_pct"),
}

PRIVATE_TAP: dict[str, Rule] = {
    **_META,
    "prepaid_policy.private_tap.billing_unit_minutes": mapped(
        "pricing_policy.private_tap.billing_unit_minutes"),
    "prepaid_policy.private_tap.non_refundable": modelled(
        "the private prepaid blocks, which are never refunded (unused hours expire)"),
    "prepaid_policy.private_tap.expiry_months": mapped("prepaid_policy.private_tap.expiry_months"),
    "pricing_policy.private_tap.default_markup_over_provider_cost_pct": mapped(
        "pricing_policy.private_tap.markup_pct"),
    **same("pricing_policy.private_tap.management_fee_eur_per_month",
           *(f"pricing_policy.private_tap.vendor_weights.{k}"
             for k in ("cost", "availability", "reputation"))),
    **_ACQUISITION,
    "acquisition.hours_per_client_month_mean": mapped("acquisition.hours_per_client_month"),
}

# --- facts/market_env.yaml ---------------------------------------------------------------------

MARKET_ENV: dict[str, Rule] = {
    "finance.eur_usd_fx_rate.value": mapped("finance.eur_usd_fx_rate.value"),
    "finance.eur_usd_fx_rate.unit": converted(
        "finance.eur_usd_fx_rate.unit", "the draft's unit text to D3's `USD per EUR` (the value "
        "is the EUR/USD quote)"),
    "finance.eur_usd_fx_rate.source": mapped("finance.eur_usd_fx_rate.source"),
    "finance.eur_usd_fx_rate.source_date": mapped("finance.eur_usd_fx_rate.as_of"),
    "finance.eur_usd_fx_rate.low": dropped(
        f"{RANGE}; FX risk is stress.fx_widen_buffer_pct in params.yaml"),
    "finance.eur_usd_fx_rate.high": dropped(
        f"{RANGE}; FX risk is stress.fx_widen_buffer_pct in params.yaml"),
    "finance.eur_usd_fx_rate.notes": dropped(DESCRIPTIVE),
    "demographics.**": dropped(NOT_MODELLED_FACT),
    "economy.**": dropped(NOT_MODELLED_FACT),
    "energy.**": dropped(NOT_MODELLED_FACT + " (GPU rent prices include power)"),
}

# --- facts/gpu_baselines.yaml and facts/tps_sources.yaml --------------------------------------

GPU_BASELINES: dict[str, Rule] = {
    "*": converted("facts/gpu_specs.csv:baseline_tps_8b",
                   "tokens/s per instance of the first pattern that matches an offered GPU "
                   "class (the draft's rule) to baseline_tps_8b, taken as an 8B dense model"),
}
TPS_SOURCES: dict[str, Rule] = {
    "*.name": mapped("facts/tps_model_gpu.csv:source", "name and url of the row's source_tag"),
    "*.url": mapped("facts/tps_model_gpu.csv:source", "name and url of the row's source_tag"),
    "*.notes": dropped(DESCRIPTIVE),
}

# --- CSV columns -------------------------------------------------------------------------------

VARIABLE_COLUMNS: dict[str, Rule] = {
    **same("variable_id", "scope", "type", "unit", "min", "max", "step", "default", "notes"),
    "path": converted("path", "a draft key to its D3 key (the operator-file rules above)"),
    "treatment": converted("treatment", "random_<distribution> to treatment random + the "
                           "distribution column"),
}

CURATED_GPU_COLUMNS: dict[str, Rule] = {
    **same("provider", "gpu_model", "num_gpus", "gpu_vram_gb", "price_usd_hr",
           "price_per_gpu_hr"),
    **{c: dropped(DESCRIPTIVE) for c in (
        "sku_id", "gpu_arch", "system_ram_gb", "storage_gb", "net_bandwidth_gbps",
        "pricing_basis", "price_source", "is_estimate", "concurrency_capacity", "notes")},
}

CURATED_MODEL_COLUMNS: dict[str, Rule] = {
    "Model": mapped("Model"),
    "Variant": mapped("Variant", "and converted to params_b: 20B → 20"),
    "Developer": dropped(DESCRIPTIVE),
    "Capabilities": dropped(DESCRIPTIVE),
    "Native_Function_Calling": dropped(DESCRIPTIVE),
    "Context_Length_Tokens": converted("context_k", "tokens to thousands of tokens (÷ 1000)"),
    "Quantization/Runtime": converted(
        "quantization", "the runtime list to the basis of the VRAM figure: mxfp4 when it lists "
        "MXFP4, else 4bit; the runtimes are dropped"),
    "Typical_VRAM_for_4bit_or_MXFP4_GB": converted(
        "vram_needed_gb", "a range in GB to its upper end (~4-6 → 6; <6 → 6)"),
    "License": mapped("license"),
    "Download": mapped("hf_id"),
    "Benchmarks": dropped(DESCRIPTIVE),
    "Notes": converted("active_params_b", "`total_params_b=`/`active_params_b=` in the notes "
                       "to params_b/active_params_b, architecture moe; other text dropped"),
    "weights_vram_4bit_gb_est": converted(
        "vram_needed_gb", "weights-only GB to a serving estimate (× 1.2), used only where "
        "the Typical_VRAM cell cannot be read"),
    "weights_vram_fp16_gb_est": dropped("D3 serves the 4-bit/MXFP4 variant whose VRAM is "
                                        "given"),
}

TPS_COLUMNS: dict[str, Rule] = {
    "model_id": mapped("hf_id"),
    "model_name": mapped("model"),
    "engine": dropped(DESCRIPTIVE),
    "precision": dropped(DESCRIPTIVE),
    "gpu": mapped("gpu"),
    "gpu_count": mapped("gpu_count"),
    "batch": mapped("batch_slots", "aggregate rows only: a single_stream row's batch is the "
                    "one measured request, not the instance's slots"),
    "input_tokens": dropped(DESCRIPTIVE),
    "output_tokens": dropped(DESCRIPTIVE),
    "throughput_tokens_per_sec": mapped("throughput_tokens_per_s"),
    "measurement_type": mapped("measurement_type", "per_user_stream rows are dropped"),
    "scenario_notes": dropped(DESCRIPTIVE),
    "source_tag": converted("source", "a tag to the name and url of tps_sources.yaml"),
}

ADS_CHANNEL_COLUMNS: dict[str, Rule] = {
    c: dropped(NO_CONVERSION_RATES) for c in (
        "channel_id", "platform", "region", "objective", "cost_model", "unit", "currency",
        "typical_value", "low_value", "high_value", "notes", "source_url", "source_date")
}

AGENCY_FEE_COLUMNS: dict[str, Rule] = {
    "agency_id": mapped("agency_id"),
    "agency_name": mapped("service", "joined: `agency_name: service_type`"),
    "service_type": mapped("service", "joined: `agency_name: service_type`"),
    "city": dropped(DESCRIPTIVE),
    "region": dropped(DESCRIPTIVE),
    "fee_model": converted("fee_type", "flat_monthly (with unit per_month) to monthly; other "
                           "fee models drop the row"),
    "unit": converted("fee_type", "per_month (with fee_model flat_monthly) to monthly"),
    "currency": converted("fee_eur", "EUR to fee_eur; a row in another currency is dropped"),
    "value": mapped("fee_eur"),
    "low_value": dropped(RANGE),
    "high_value": dropped(RANGE),
    "setup_fee_currency": converted("fee_eur", "EUR to the setup row's fee_eur; a setup fee "
                                    "in another currency is not imported"),
    "setup_fee_value": converted("fee_type", "a setup fee to its own one_off row "
                                 "`<agency_id>_setup`"),
    "notes": dropped(DESCRIPTIVE),
    "source_url": mapped("source", "with source_date in brackets"),
    "source_date": mapped("source", "with source_date in brackets"),
}

INSURANCE_COLUMNS: dict[str, Rule] = {
    "insurer_id": mapped("insurer_id"),
    "insurer_name": mapped("product", "joined: `insurer_name: product`"),
    "product": mapped("product", "joined: `insurer_name: product`"),
    "focus_segment": dropped(DESCRIPTIVE),
    "coverage_highlights": dropped(DESCRIPTIVE),
    "example_limit_eur": mapped("coverage_eur"),
    "example_deductible_eur": dropped("D3 has no deductible"),
    "example_premium_eur_per_month": converted(
        "annual_premium_eur", "EUR per month to EUR per year (× 12); rows without a premium "
        "are dropped"),
    "source_url": mapped("source"),
    "notes": dropped(DESCRIPTIVE),
}

COLUMNS: dict[str, dict[str, Rule]] = {
    "operator/curated_gpu.csv": CURATED_GPU_COLUMNS,
    "operator/curated_public_tap_models.csv": CURATED_MODEL_COLUMNS,
    "variables/general.csv": VARIABLE_COLUMNS,
    "variables/public_tap.csv": VARIABLE_COLUMNS,
    "variables/private_tap.csv": VARIABLE_COLUMNS,
    "facts/tps_model_gpu.csv": TPS_COLUMNS,
    "facts/ads_channels.csv": ADS_CHANNEL_COLUMNS,
    "facts/agency_fees.csv": AGENCY_FEE_COLUMNS,
    "facts/insurances.csv": INSURANCE_COLUMNS,
}

KEYS: dict[str, dict[str, Rule]] = {
    "simulation.yaml": PLAN,
    "operator/general.yaml": GENERAL,
    "operator/public_tap.yaml": PUBLIC_TAP,
    "operator/private_tap.yaml": PRIVATE_TAP,
    "facts/market_env.yaml": MARKET_ENV,
    "facts/gpu_baselines.yaml": GPU_BASELINES,
    "facts/tps_sources.yaml": TPS_SOURCES,
}
# A draft variables row that only carries the sd of another row's distribution → that row.
SD_ROWS = {"acquisition.tokens_per_conversion_sd": "acquisition.tokens_per_conversion_mean"}
# Draft keys that become an enum in D3: a variables row on them is dropped and its default,
# converted, is written to the operator file.
ENUM_KEYS = ("tax.vat_buffer_policy",)
SCOPE_FILES = {"general": "operator/general.yaml", "public_tap": "operator/public_tap.yaml",
               "private_tap": "operator/private_tap.yaml"}

# --- value tables --------------------------------------------------------------------------

# Treatment of a draft variables row → (D3 treatment, distribution column).
TREATMENTS: dict[str, tuple[str, str]] = {
    "fixed": ("fixed", ""),
    "low_to_high": ("low_to_high", ""),
    "random": ("random", ""),
    "random_uniform": ("random", ""),
    "random_normal": ("random", "normal"),
    "random_lognormal": ("random", "lognormal"),
    "random_beta": ("random", "beta"),
}
# The draft engine's defaults where a row gives no sd (engine/src/core/variables.py at
# 5e82b654): normal sd = 10 % of the mean, lognormal sd = 50 % of the mean, beta concentration
# k = α + β = 50 on the 0..1 scale (0..100 for a percent).
DRAFT_NORMAL_SD_OF_MEAN = "0.1"
DRAFT_LOGNORMAL_SD_OF_MEAN = "0.5"
DRAFT_BETA_CONCENTRATION = 50
SD_SIGNIFICANT_DIGITS = 6

# tax.vat_buffer_policy: percent of collected VAT parked aside → D3 enum.
VAT_BUFFER_POLICY: dict[int, str] = {0: "none", 100: "set_aside_collected"}

MEASUREMENT_TYPES: dict[str, str | None] = {
    "aggregate": "aggregate",
    "batched_online": "batched_online",
    "single_stream": "single_stream",
    # One stream's speed while ~38 requests/s run: neither one request alone nor the total.
    "per_user_stream": None,
}

AGENCY_FEE_MODELS: dict[tuple[str, str], str] = {("flat_monthly", "per_month"): "monthly"}

# Fixed-cost categories that follow rent, or salaries, rather than consumer prices (matched
# as words of the category name, case-insensitive).
RENT_LIKE = ("office", "rent", "huur", "kantoor", "lease", "premises")
SALARY_LIKE = ("salary", "salaries", "salaris", "wage", "wages", "loon", "payroll")

# Peak memory bandwidth per GPU class, GB/s, from NVIDIA's product datasheets (H100: "H100
# Tensor Core GPU" datasheet, SXM 3.35 TB/s, PCIe 2 TB/s; H200 4.8 TB/s; A100: 40GB 1 555,
# 80GB SXM 2 039; L40S and L40 864; A40 696; A10 600; L4 300; T4 320; V100 900; RTX A6000 768;
# RTX 6000 Ada 960; GeForce RTX 4090 1 008, RTX 3090 936). Keys are D3 GPU classes
# (d3.core.names.gpu_class) with memory written NNGB.
MEM_BANDWIDTH_SOURCE = "NVIDIA datasheets"
MEM_BANDWIDTH_GB_S: dict[str, int] = {
    "H200": 4800, "H100 SXM": 3350, "H100 SXM5": 3350, "H100 PCIE": 2000,
    "A100 80GB": 2039, "A100 40GB": 1555, "L40S": 864, "L40": 864, "A40": 696, "A10": 600,
    "A10G": 600, "L4": 300, "T4": 320, "V100": 900, "A6000": 768, "6000 ADA": 960,
    "4090": 1008, "3090": 936,
}
# Where the import cannot tell which of several datasheet figures applies.
AMBIGUOUS_GPU = {"H100": "H100 SXM (3350) or H100 PCIe (2000)",
                 "A100": "A100 40GB (1555) or A100 80GB (2039)"}

# The serving-VRAM estimate from weights only (where the typical-VRAM cell cannot be read).
WEIGHTS_TO_SERVING_VRAM = "1.2"


# --- lookup ----------------------------------------------------------------------------------


def generic_key(key: str) -> str:
    """``assets[0].name`` → ``assets[].name`` (the table's form of list items)."""
    out, depth = [], 0
    for ch in key:
        if ch == "[":
            depth += 1
            out.append("[]")
        elif ch == "]":
            depth -= 1
        elif depth == 0:
            out.append(ch)
    return "".join(out)


def _matches(pattern: str, key: str) -> bool:
    p, k = pattern.split("."), key.split(".")
    for i, part in enumerate(p):
        if part == "**":
            return len(k) > i
        if i >= len(k) or (part != "*" and part != k[i]):
            return False
    return len(p) == len(k)


def rule_for(table: dict[str, Rule], key: str) -> Rule | None:
    """The rule of ``key`` (exact entry first, then the most specific pattern), or None."""
    key = generic_key(key)
    if key in table:
        return table[key]
    candidates = [p for p in table if ("*" in p) and _matches(p, key)]
    if not candidates:
        return None
    best = max(candidates, key=lambda p: (len(p.split(".")), -p.count("*")))
    return table[best]


def target_key(rule: Rule, key: str) -> str:
    """The D3 key a source ``key`` lands on: ``*`` segments taken from the end of ``key``,
    ``[]`` filled with its list indices in order (``assets[0].months`` →
    ``depreciation.assets[0].useful_life_months``)."""
    target = rule.target
    if "*" in target:
        src, tgt = key.split("."), target.split(".")
        target = ".".join(src[-(len(tgt) - i)] if part == "*" else part
                          for i, part in enumerate(tgt))
    for index in re.findall(r"\[(\d+)\]", key):
        target = target.replace("[]", f"[{index}]", 1)
    return target


# --- docs ------------------------------------------------------------------------------------

BEGIN = "<!-- BEGIN GENERATED IMPORT MAPPING (python -m d3.importer) -->"
END = "<!-- END GENERATED IMPORT MAPPING -->"


def _cell(text: str) -> str:
    return text.replace("|", "\\|")


def mapping_markdown() -> str:
    lines = [BEGIN, ""]
    for file, table in (*KEYS.items(), *COLUMNS.items()):
        what = "column" if file.endswith(".csv") else "key"
        lines += [f"#### `{file}`", "", f"| draft {what} | becomes |", "|---|---|"]
        lines += [f"| `{_cell(k)}` | {_cell(r.describe())} |" for k, r in table.items()]
        lines.append("")
    lines.append(END)
    return "\n".join(lines)


def with_mapping(doc: str) -> str:
    """``doc`` with its generated mapping block replaced by the current tables."""
    head, found, rest = doc.partition(BEGIN)
    if not found:
        raise ValueError("docs/INPUTS.md has no generated import mapping block")
    _, _, tail = rest.partition(END)
    return head + mapping_markdown() + tail

