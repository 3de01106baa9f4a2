"""Fast-fail validation of a whole inputs tree (SPEC §2).

Every file is checked against its schema, then references between files, then the variables
and the plan's guards. All problems are collected; :func:`validated_inputs` raises one
:class:`~d3.core.errors.ValidationError` carrying every issue, or returns the typed inputs plus
the WARNING/INFO issues for the run summary.
"""

from __future__ import annotations

import itertools
import json
import math
import pickle
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from functools import lru_cache
from typing import Any

from pydantic import BaseModel
from pydantic import ValidationError as PydanticValidationError

from d3.core.allocations import off_allocations, touches_allocation
from d3.core.control_chars import inputs_issues as control_char_issues
from d3.core.correlation import correlation_pairs, with_rank_correlations
from d3.core.errors import Issue, ValidationError, errors_of, promoted
from d3.core.fixed import with_fixed_variables
from d3.core.guards import (
    MAX_VALUES_PER_VARIABLE,
    acquisition_magnitude_issues,
    cheapest_customers_per_eur,
    modelled_months,
    simulated_ticks,
    size_issues,
)
from d3.core.names import gpu_class, model_key, model_match_key
from d3.core.schema_issues import issues_from_pydantic, visible
from d3.core.variables import (
    REQUIRED_COLUMNS,
    SCOPES,
    Variable,
    node_at,
    parse_variable,
    reference_value,
    with_override,
    with_overrides,
)
from d3.io.loader import RawInputs, RawTable
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
from d3.models.operator import GeneralOperator, PrivateOperator, PublicOperator
from d3.models.plan import Plan
from d3.solve.decisions import resolved_decisions

IMPLAUSIBLE_USD_HR = 50.0  # per GPU-hour; above this an offer is almost surely a typo
OPERATOR_MODELS: dict[str, type[BaseModel]] = {
    "general": GeneralOperator,
    "public_tap": PublicOperator,
    "private_tap": PrivateOperator,
}


@dataclass(frozen=True)
class GpuOffer:
    """A curated offer normalised to the canonical row ``[gpu, vram_gb, provider, usd_hr]``."""

    gpu: str
    vram_gb: float
    provider: str
    usd_hr: float  # USD per GPU-hour
    num_gpus: int
    availability_frac: float | None
    reputation_frac: float | None


@dataclass(frozen=True)
class ValidatedInputs:
    general: GeneralOperator
    public: PublicOperator
    private: PrivateOperator
    market: MarketEnv
    plan: Plan
    models: tuple[CuratedModelRow, ...]
    offers: tuple[GpuOffer, ...]
    tps: tuple[TpsRow, ...]
    gpu_specs: tuple[GpuSpecRow, ...]
    channels: tuple[AdsChannelRow, ...]
    agency_fees: tuple[AgencyFeeRow, ...]
    insurances: tuple[InsuranceRow, ...]
    variables: tuple[Variable, ...]
    seeds: dict[str, int]
    seed_sources: dict[str, str]
    sha256: dict[str, str]
    issues: tuple[Issue, ...] = field(default=())  # warnings and notes, never errors

    def operator(self, scope: str) -> BaseModel:
        return {"general": self.general, "public_tap": self.public,
                "private_tap": self.private}[scope]


# --- schema -----------------------------------------------------------------------------------


def _doc_model(raw: RawInputs, name: str, model: type[BaseModel], issues: list[Issue]):
    doc = raw.docs.get(name)
    if doc is None:
        return None
    try:
        return model.model_validate(doc.data)
    except PydanticValidationError as exc:
        issues.extend(issues_from_pydantic(exc, file=doc.file, model=model))
        return None


def _row_id(record: Mapping[str, Any], id_cols: Sequence[str]) -> str:
    return visible("/".join(str(record.get(c, "?")) for c in id_cols))


# The columns that name a row of each table in messages (``row 3 (Gemma 3/12B)``).
ROW_ID_COLUMNS: dict[str, tuple[str, ...]] = {
    "models": ("Model", "Variant"), "offers": ("provider", "gpu_model"),
    "tps": ("model", "gpu"), "gpu_specs": ("gpu",), "ads_channels": ("channel_id",),
    "agency_fees": ("agency_id",), "insurances": ("insurer_id",),
    **{f"variables_{scope}": ("variable_id",) for scope in SCOPES},
}


def _table_rows(
    table: RawTable | None,
    model: type[BaseModel],
    id_cols: Sequence[str],
    issues: list[Issue],
    required: Sequence[str] | None = None,
) -> list[tuple[int, str, Any]] | None:
    """Validated rows as ``(row, id, model)``; ``None`` when the header itself is unusable."""
    if table is None:
        return None
    needed = list(required) if required is not None else [
        name for name, f in model.model_fields.items() if f.is_required()
    ]
    missing = [c for c in needed if c not in table.header]
    if missing:
        issues.append(Issue(table.file, "header", f"missing column(s) {', '.join(missing)}",
                            f"add the column(s); required: {', '.join(needed)}"))
        return None
    rows = []
    for number, record in table.rows:
        if number in table.unreadable:
            continue
        rid = _row_id(record, id_cols)
        where = f"row {number} ({rid})" if table.kind == "csv" else f"item {number} ({rid})"
        try:
            rows.append((number, rid, model.model_validate(record)))
        except PydanticValidationError as exc:
            issues.extend(issues_from_pydantic(exc, file=table.file, model=model, location=where))
    return rows


def complete(rows: Sequence[Any] | None, table: RawTable | None) -> bool:
    """True when every row of ``table`` validated (so cross-checks against it are fair)."""
    return rows is not None and table is not None and len(rows) == len(table.rows)


def declared_ids(table: RawTable, column: str) -> set[str]:
    """Every id written in ``column``, whether or not the rest of its row is valid."""
    return {str(record[column]).strip() for _, record in table.rows if column in record}


def _duplicates(rows, key: Callable[[Any], str], file: str, what: str, issues: list[Issue]):
    seen: dict[str, int] = {}
    for number, rid, row in rows:
        k = key(row)
        if k in seen:
            issues.append(Issue(file, f"row {number} ({rid})",
                                f"duplicate {what} {k!r} (first on row {seen[k]})",
                                "keep one row per " + what))
        else:
            seen[k] = number


# --- domain and cross-file checks ---------------------------------------------------------------


def _fraction_warnings(tree: Any, file: str, path: str = "", pct_parent: bool = False):
    """WARNING for ``*_pct`` values that look like fractions (0.55 where 55 was meant)."""
    if isinstance(tree, Mapping):
        for key, value in tree.items():
            sub = f"{path}.{key}" if path else str(key)
            yield from _fraction_warnings(value, file, sub, "_pct" in str(key))
    elif pct_parent and isinstance(tree, float) and 0 < abs(tree) < 1:
        yield Issue(file, path, f"value {tree} looks like a fraction but this key is a percent "
                    "(0..100)", f"write {tree * 100:g} for {tree * 100:g} %, or ignore if "
                    f"{tree} % is meant", "warning", "fraction_for_percent")


def _allocation_issues(alloc: Mapping[str, float], file: str, loc: str) -> list[Issue]:
    if not alloc:
        return []
    total = math.fsum(alloc.values())
    if total <= 0:
        return [Issue(file, loc, "weights sum to 0", "give at least one positive weight")]
    if abs(total - 1.0) > 1e-9:
        return [Issue(file, loc, f"weights sum to {total:g}, not 1; they are renormalised",
                      "make them sum to 1", "warning", "allocation_renormalised")]
    return []


def _autoscaling_issues(op: PublicOperator, file: str) -> list[Issue]:
    a = op.autoscaling
    out = []
    if not a.scale_down_threshold_pct < a.scale_up_threshold_pct:
        out.append(Issue(file, "autoscaling.scale_down_threshold_pct",
                         f"scale-down threshold {a.scale_down_threshold_pct:g} must be below the "
                         f"scale-up threshold {a.scale_up_threshold_pct:g} (0 < down < up ≤ 100)",
                         "lower scale_down_threshold_pct or raise scale_up_threshold_pct"))
    if a.min_instances_per_model > a.max_instances_per_model:
        out.append(Issue(file, "autoscaling.min_instances_per_model",
                         f"min_instances_per_model {a.min_instances_per_model} is above "
                         f"max_instances_per_model {a.max_instances_per_model}",
                         "make min ≤ max"))
    per_hour = 3600.0 / a.evaluation_interval_s
    if abs(per_hour - round(per_hour)) > 1e-9:
        out.append(Issue(file, "autoscaling.evaluation_interval_s", f"evaluation interval "
                         f"{a.evaluation_interval_s:g} s does not divide an hour (the simulator "
                         "replays whole hours of ticks)", "use a divisor of 3600, e.g. 15, 30 "
                         "or 60"))
    profile = op.demand_profile
    if profile.type == "diurnal":
        w = profile.hourly_weights or []
        if len(w) != 24 or math.fsum(w) <= 0:
            out.append(Issue(file, "demand_profile.hourly_weights",
                             f"a diurnal profile needs 24 hourly weights with a positive sum, "
                             f"got {len(w)}", "list one weight per hour 0..23"))
    return out


def _acquisition_issues(acq, file: str, channel_ids: set[str] | None) -> list[Issue]:
    out = []
    if not acq.channel_allocation and acq.cac_base_eur is None:
        out.append(Issue(file, "acquisition.cac_base_eur", "no CAC: cac_base_eur is missing and "
                         "no channel_allocation is set", "set cac_base_eur (EUR per new "
                         "customer, > 0) or a channel_allocation"))
    if channel_ids is not None:
        for key in acq.channel_allocation:
            if key not in channel_ids:
                hint = (f"use a channel_id of facts/ads_channels.csv: "
                        f"{', '.join(sorted(channel_ids))}" if channel_ids else
                        "facts/ads_channels.csv has no rows: add the channel there, or remove "
                        "channel_allocation and set cac_base_eur")
                out.append(Issue(file, f"acquisition.channel_allocation.{key}",
                                 f"unknown channel id {key!r}", hint))
    out += _allocation_issues(acq.channel_allocation, file, "acquisition.channel_allocation")
    return out + _budget_policy_issues(acq, file)


# The budget keys each ``acquisition.budget_policy`` reads, and its rule in words.
BUDGET_KEYS_BY_POLICY = {
    "growth": ({"budget_month0_eur", "budget_growth_pct_mom"},
               "budget_month0_eur × (1 + budget_growth_pct_mom/100)^(m−1)"),
    "flat": ({"budget_monthly_eur"}, "budget_monthly_eur every month"),
    "pct_of_inflow": ({"budget_month0_eur", "budget_pct_of_inflow", "budget_cap_monthly_eur"},
                      "budget_month0_eur in month 1, then budget_pct_of_inflow % of the previous "
                      "month's sales up to budget_cap_monthly_eur"),
}
OPTIONAL_BUDGET_KEYS = ("budget_growth_pct_mom", "budget_monthly_eur", "budget_pct_of_inflow",
                        "budget_cap_monthly_eur")


def _budget_policy_issues(acq, file: str) -> list[Issue]:
    """The budget keys of ``acq.budget_policy``: the rules of its own keys, then every
    optional budget key it ignores (a WARNING: legal, sometimes meant, never silent)."""
    out = {"flat": _flat_budget_issues, "pct_of_inflow": _inflow_budget_issues}.get(
        acq.budget_policy, lambda *_: [])(acq, file)
    used, formula = BUDGET_KEYS_BY_POLICY[acq.budget_policy]
    for key in OPTIONAL_BUDGET_KEYS:
        value = getattr(acq, key)
        if key not in used and value not in (None, 0, 0.0):
            policy = next(p for p, (keys, _) in BUDGET_KEYS_BY_POLICY.items() if key in keys)
            out.append(Issue(file, f"acquisition.{key}", f"{key} {value:g} is ignored under "
                             f"budget_policy {acq.budget_policy} (the budget is {formula})",
                             f"set budget_policy: {policy} to use it, or remove it",
                             "warning", "ignored_key"))
    return out


def _flat_budget_issues(acq, file: str) -> list[Issue]:
    if acq.budget_monthly_eur > 0:
        return []
    return [Issue(file, "acquisition.budget_monthly_eur", "budget_policy flat with "
                  "budget_monthly_eur 0: no ads budget, so no new customers",
                  "set budget_monthly_eur (EUR per month), or use budget_policy: growth",
                  "warning", "no_ads_budget")]


def _inflow_budget_issues(acq, file: str) -> list[Issue]:
    """``pct_of_inflow`` without a cap is an ERROR (the budget feeds on the sales it buys, so
    only a cap bounds it); a budget that can never buy a customer, or a month-1 budget above
    the cap, is a WARNING."""
    out = []
    cap = acq.budget_cap_monthly_eur
    if cap is None:
        out.append(Issue(file, "acquisition.budget_cap_monthly_eur", "budget_policy "
                         "pct_of_inflow needs a cap: the budget buys the customers whose sales "
                         "fund the next budget, which can compound without bound",
                         "set budget_cap_monthly_eur, the most you would spend on ads in a "
                         "month (EUR)"))
    if acq.budget_month0_eur == 0:
        out.append(Issue(file, "acquisition.budget_month0_eur", "budget_policy pct_of_inflow "
                         "with budget_month0_eur 0: no first customers, so no sales to fund "
                         "any later budget", "set budget_month0_eur, the month-1 ads budget "
                         "(EUR)", "warning", "no_ads_budget"))
    elif cap is not None and acq.budget_month0_eur > cap:
        out.append(Issue(file, "acquisition.budget_month0_eur", f"budget_month0_eur "
                         f"{acq.budget_month0_eur:g} is above budget_cap_monthly_eur {cap:g}; "
                         "month 1 spends it uncapped", "lower it to the cap, or raise the cap",
                         "warning", "budget_above_cap"))
    if acq.budget_pct_of_inflow == 0:
        out.append(Issue(file, "acquisition.budget_pct_of_inflow", "budget_policy "
                         "pct_of_inflow with budget_pct_of_inflow 0: no ads budget after "
                         "month 1", "set budget_pct_of_inflow (percent of the previous "
                         "month's sales)", "warning", "no_ads_budget"))
    return out


def operator_rule_issues(scope: str, op: BaseModel, file: str,
                         channel_ids: set[str] | None) -> list[Issue]:
    """The cross-field rules of one operator document (its schema is checked by pydantic)."""
    if scope == "general":
        loan, out = op.loan, []
        if loan.grace_period_months >= loan.term_months:
            out.append(Issue(file, "loan.grace_period_months", f"grace period "
                             f"{loan.grace_period_months} must be shorter than term_months "
                             f"{loan.term_months}", "lower the grace period or extend the term"))
        split = op.reserves.distribution_policy
        if split.reinvest_pct is not None and abs(
                split.reinvest_pct + split.dividend_pct - 100.0) > 1e-9:
            out.append(Issue(file, "reserves.distribution_policy.reinvest_pct",
                             f"reinvest_pct {split.reinvest_pct:g} + dividend_pct "
                             f"{split.dividend_pct:g} = "
                             f"{split.reinvest_pct + split.dividend_pct:g}, must sum to 100",
                             f"remove reinvest_pct (it is then 100 − dividend_pct) or set "
                             f"it to 100 − dividend_pct = "
                             f"{100.0 - split.dividend_pct:g}"))
        return out
    out = _acquisition_issues(op.acquisition, file, channel_ids)
    if scope == "public_tap":
        out = _autoscaling_issues(op, file) + out
    return out


def _plan_issues(plan: Plan, file: str) -> list[Issue]:
    out = []
    pct = plan.stochastic.percentiles
    ascending = all(a < b for a, b in zip(pct, pct[1:], strict=False))
    if not pct or any(not 1 <= p <= 99 for p in pct) or not ascending:
        out.append(Issue(file, "stochastic.percentiles", f"percentiles {pct} must be strictly "
                         "ascending whole numbers within 1..99", "e.g. [10, 50, 90]"))
    return out


def dvc_tracked_keys() -> tuple[str, ...]:
    """Every params.yaml key that a stage of dvc.yaml names (the registry generates it)."""
    from d3.registry import STAGES  # the registry imports the catalog, which imports us

    return tuple(dict.fromkeys(k for stage in STAGES for k in stage.param_keys()))


def _dvc_params_issues(data: Mapping[str, Any], file: str) -> list[Issue]:
    """A key dvc.yaml tracks but params.yaml omits makes ``dvc repro`` fail after some stages
    ran, although the engine has a default: require it here, with the default as the fix."""
    defaults = Plan().model_dump(mode="json")
    out = []
    for key in dvc_tracked_keys():
        found, _ = node_at(data, key)
        if not found:
            found_default, default = node_at(defaults, key)
            shown = json_value(default) if found_default else "a value"
            section, _, name = key.rpartition(".")
            yaml = f"{section}: {{{name}: {shown}}}" if section else f"{name}: {shown}"
            out.append(Issue(file, key, "required key is missing (dvc.yaml tracks it and DVC "
                             "has no defaults)", f"add it, e.g. `{yaml}` (the default)"))
    return out


def json_value(value: Any) -> str:
    return json.dumps(value, sort_keys=True)


def _offers(rows) -> list[GpuOffer]:
    offers = []
    for _, _, r in rows:
        per_gpu = r.price_per_gpu_hr
        usd_hr = per_gpu if per_gpu is not None else r.price_usd_hr / r.num_gpus
        offers.append(GpuOffer(gpu_class(r.gpu_model), float(r.gpu_vram_gb), r.provider.strip(),
                               float(usd_hr), int(r.num_gpus), r.availability_frac,
                               r.reputation_frac))
    return offers


def _offer_issues(rows, offers: Sequence[GpuOffer], file: str) -> list[Issue]:
    out = []
    vram: dict[str, tuple[float, int]] = {}
    for (number, rid, _), offer in zip(rows, offers, strict=True):
        if offer.usd_hr >= IMPLAUSIBLE_USD_HR:
            out.append(Issue(file, f"row {number} ({rid})", f"{offer.usd_hr:g} USD per GPU-hour "
                             "is implausible", "check price_per_gpu_hr / price_usd_hr and "
                             "num_gpus", "warning", "implausible_price"))
        first = vram.setdefault(offer.gpu, (offer.vram_gb, number))
        if first[0] != offer.vram_gb:
            out.append(Issue(file, f"row {number} ({rid})", f"GPU class {offer.gpu} has "
                             f"{offer.vram_gb:g} GB here but {first[0]:g} GB on row {first[1]}",
                             "name memory variants differently (e.g. 'A100 40GB', 'A100 80GB')"))
    return out


def _model_fit_issues(rows, offers: Sequence[GpuOffer], file: str) -> list[Issue]:
    """Every curated model must fit on the largest multi-GPU SKU of at least one class."""
    capacity = {}
    for o in offers:
        capacity[o.gpu] = max(capacity.get(o.gpu, 0.0), o.vram_gb * o.num_gpus)
    best = max(capacity.values(), default=0.0)
    out = []
    for number, rid, m in rows:
        if m.vram_needed_gb > best:
            out.append(Issue(file, f"row {number} ({rid})", f"{model_key(m.Model, m.Variant)} "
                             f"needs {m.vram_needed_gb:g} GB but the largest curated offer has "
                             f"{best:g} GB", "add a larger (multi-GPU) offer or drop the model"))
    return out


def _reference_warnings(
    public: PublicOperator | None,
    private: PrivateOperator | None,
    models, offers, tps_rows, spec_rows, files: Mapping[str, str],
) -> list[Issue]:
    """Unknown model/GPU names that only drop a row: WARNINGs (SPEC §1)."""
    out = []
    model_names = {model_key(m.Model, m.Variant) for _, _, m in models or []}
    model_match = {model_match_key(n) for n in model_names}
    model_match |= {model_match_key(m.hf_id) for _, _, m in models or [] if m.hf_id}
    classes = {o.gpu for o in offers or []}
    if public is not None and models is not None:
        for key in public.model_mix:
            if key not in model_names:
                out.append(Issue(files["public_tap"], f"model_mix.{key}", f"unknown model {key!r}"
                                 "; its weight is dropped", "use a Model + Variant of "
                                 "curated_public_tap_models.csv", "warning", "unknown_model"))
        out += _allocation_issues(public.model_mix, files["public_tap"], "model_mix")
    if private is not None and offers is not None:
        acq, pricing = private.acquisition, private.pricing_policy.private_tap
        for where, mapping in (("acquisition.gpu_class_mix", acq.gpu_class_mix),
                               ("pricing_policy.private_tap.base_fee_by_gpu_class",
                                pricing.base_fee_by_gpu_class)):
            for key in mapping:
                if gpu_class(key) not in classes:
                    out.append(Issue(files["private_tap"], f"{where}.{key}", f"unknown GPU "
                                     f"class {key!r}; the entry is dropped", "use a GPU of "
                                     "curated_gpu.csv", "warning", "unknown_gpu"))
        out += _allocation_issues(acq.gpu_class_mix, files["private_tap"],
                                  "acquisition.gpu_class_mix")
        out += _allocation_issues(pricing.vendor_weights.model_dump(), files["private_tap"],
                                  "pricing_policy.private_tap.vendor_weights")
    if tps_rows is not None and models is not None and offers is not None:
        for number, rid, t in tps_rows:
            known_model = model_match_key(t.model) in model_match or (
                t.hf_id and model_match_key(t.hf_id) in model_match)
            if not known_model or gpu_class(t.gpu) not in classes:
                what = "model" if not known_model else "GPU"
                out.append(Issue(files["tps"], f"row {number} ({rid})", f"unknown {what}; the "
                                 "measurement is not used", "match a curated model (name or "
                                 "hf_id) and GPU class", "warning", f"unknown_{what.lower()}"))
    if spec_rows is not None and offers is not None:
        specified = {gpu_class(s.gpu) for _, _, s in spec_rows}
        for gpu in sorted(classes - specified):
            out.append(Issue(files["gpu_specs"], "header", f"no specs for GPU class {gpu}",
                             "add a row (vram_gb, mem_bandwidth_gb_s) so throughput heuristics "
                             "can use it", "warning", "missing_gpu_specs"))
    return out


# --- variables, guards and seeds --------------------------------------------------------------


def _variables(
    raw: RawInputs, operators: Mapping[str, BaseModel | None], files: Mapping[str, str],
    channel_ids: set[str] | None, issues: list[Issue],
) -> list[Variable]:
    variables: list[Variable] = []
    first_row: dict[str, str] = {}
    first_path: dict[tuple[str, str], str] = {}
    for scope in SCOPES:
        table = raw.tables.get(f"variables_{scope}")
        if table is None:
            continue
        missing = [c for c in REQUIRED_COLUMNS if c not in table.header]
        if missing:
            issues.append(Issue(table.file, "header", f"missing column(s) {', '.join(missing)}",
                                f"add the column(s); required: {', '.join(REQUIRED_COLUMNS)}"))
            continue
        op = operators.get(scope)
        dump = op.model_dump(mode="python") if op is not None else None
        rules = _RuleCheck(scope, files.get(scope, ""), channel_ids)
        if dump is not None:
            rules = replace(rules, own_errors=tuple(rules.all_errors(dump)))
        scoped: list[Variable] = []
        for number, record in table.rows:
            if number in table.unreadable:
                continue
            vid = str(record.get("variable_id", "")).strip()
            if vid and vid in first_row:
                issues.append(Issue(table.file, f"row {number} ({vid})", f"duplicate variable_id"
                                    f" {vid!r} (first at {first_row[vid]})", "rename one of them"))
                continue
            path = str(record.get("path", "")).strip()
            if path and (scope, path) in first_path:
                # Two rows on one key: one would silently override the other.
                issues.append(Issue(table.file, f"row {number} ({vid})", f"path {path!r} is "
                                    f"already varied by {first_path[(scope, path)]}",
                                    "keep one row per key"))
                continue
            var = parse_variable(record, file=table.file, row=number, file_scope=scope,
                                 operator=dump, issues=issues)
            if var is None:
                continue
            first_row[vid] = f"{table.file} row {number}"
            first_path[(scope, path)] = f"row {number} ({vid})"
            scoped.append(var)
        if dump is not None:
            # Judge each variable where it runs: on the file with every fixed row applied.
            fixed = [v for v in scoped if v.treatment == "fixed"]
            base = with_overrides(dump, {v.path: v.typed(v.default) for v in fixed})
            broken = fixed_default_issues(fixed, dump, base, rules)
            issues += broken
            if broken:  # reported once, at the fixed rows; not again at every probe
                rules = replace(rules, own_errors=tuple(rules.all_errors(base)))
            parsed = len(scoped)
            scoped = [v for v in scoped if _value_issues(v, base, rules, issues)]
            issues += drawn_allocation_warnings(scope, scoped, dump, base)
            if len(scoped) == parsed == len(table.rows):
                issues.extend(_corner_issues(scoped, dump, rules))
        variables += scoped
    return variables


def _rank_correlated(raw: RawInputs, variables: list[Variable],
                     issues: list[Issue]) -> list[Variable]:
    """``variables`` with the rank correlations of the optional ``correlations.csv``
    (:func:`d3.core.correlation.correlation_pairs`); judged only when the three variables
    files were read, so an id is never called unknown because its file was broken."""
    tables = [raw.tables.get(f"variables_{scope}") for scope in SCOPES]
    if "correlations" not in raw.tables or None in tables:
        return variables
    declared = set().union(*(declared_ids(t, "variable_id") for t in tables))
    pairs = correlation_pairs(raw.tables["correlations"], variables, declared, issues)
    return with_rank_correlations(variables, pairs)


def drawn_allocation_warnings(scope: str, variables: Sequence[Variable],
                              dump: Mapping[str, Any], base: Mapping[str, Any]) -> list[Issue]:
    """A WARNING at each variable whose values move an allocation's weights off a sum of 1:
    the variables stage renormalises them sample by sample (SPEC §3), and the warning count
    must know it before the run. ``base``: the operator tree with the fixed rows applied; an
    allocation already off in the file itself is warned about against the file."""
    own = set(off_allocations(scope, dump))
    out = []
    for var in variables:
        if not touches_allocation(scope, var.path):
            continue
        off = sorted({path for value in probe_values(var) for path in off_allocations(
            scope, with_override(base, var.path, var.typed(value)))} - own)
        if off:
            out.append(Issue(var.file, var.location, f"its values make the weights of "
                             f"{', '.join(off)} sum to other than 1; each sample's weights are "
                             "renormalised", "vary the weights so they sum to 1, or accept the "
                             "renormalisation (run_summary.md counts the blocks)", "warning",
                             "allocation_renormalised"))
    return out


@dataclass(frozen=True)
class SalvagedPlan:
    """A plan that failed its schema with the failing parts left out (at their defaults): what
    the rest of the plan can still be judged on — the ``solve`` decisions and
    ``fixed_variables`` — so every problem is reported at once, never run. ``numbers``: the
    position in the file of each decision kept."""

    plan: Plan
    numbers: tuple[int, ...]


def salvaged_plan(data: Any, errors: Sequence[Mapping[str, Any]]) -> SalvagedPlan | None:
    """``data`` (the plan file's mapping) without what its schema ``errors`` (pydantic's
    ``errors()``) name: a decision of ``solve.decisions`` with an error, any other key of
    ``solve`` with one, any other top-level section with one. None when the rest does not
    validate either (or the file is not a mapping)."""
    if not isinstance(data, Mapping):
        return None
    data, solve, dropped = dict(data), None, set()
    if isinstance(data.get("solve"), Mapping):
        solve = dict(data["solve"])
    for loc in (tuple(e["loc"]) for e in errors):
        if not loc:
            return None
        if loc[0] == "solve" and solve is not None and len(loc) > 1:
            if loc[1] == "decisions" and len(loc) > 2 and isinstance(loc[2], int):
                dropped.add(loc[2])
            else:
                solve.pop(loc[1], None)
        else:
            data.pop(loc[0], None)
    decisions = solve.get("decisions") if solve is not None else None
    numbers: tuple[int, ...] = ()
    if isinstance(decisions, list):
        numbers = tuple(i for i in range(len(decisions)) if i not in dropped)
        solve["decisions"] = [decisions[i] for i in numbers]
    if solve is not None and "solve" in data:
        data["solve"] = solve
    try:
        return SalvagedPlan(Plan.model_validate(data), numbers)
    except PydanticValidationError:
        return None


def _fixed(raw: RawInputs, variables: list[Variable], plan: Plan,
           issues: list[Issue]) -> list[Variable]:
    """``variables`` with ``fixed_variables`` of the plan applied
    (:func:`d3.core.fixed.with_fixed_variables`); an id is called unknown only when the three
    variables files were read."""
    tables = [raw.tables.get(f"variables_{scope}") for scope in SCOPES]
    declared = (None if None in tables else
                set().union(*(declared_ids(t, "variable_id") for t in tables)))
    return with_fixed_variables(variables, plan.fixed_variables, file=raw.plan.file,
                                declared=declared, issues=issues)


@dataclass(frozen=True)
class _RuleCheck:
    """The checks an operator document of ``scope`` must pass: its schema (types, domains,
    magnitudes) and the cross-field rules, so a variable's values are judged like the file."""

    scope: str
    file: str
    channel_ids: set[str] | None
    own_errors: tuple[tuple[str, str], ...] = ()

    def errors(self, tree: Mapping[str, Any]) -> list[tuple[str, str]]:
        """``(key, message)`` for why ``tree`` is not a valid operator document, leaving out
        what the file itself already breaks (reported once, against the file)."""
        return [e for e in self.all_errors(tree) if e not in self.own_errors]

    def all_errors(self, tree: Mapping[str, Any]) -> list[tuple[str, str]]:
        ids = None if self.channel_ids is None else frozenset(self.channel_ids)
        try:
            key = pickle.dumps(tree, protocol=pickle.HIGHEST_PROTOCOL)
        except (pickle.PicklingError, TypeError, AttributeError):
            return list(_operator_errors(self.scope, self.file, ids, tree))
        return list(_operator_errors_of_bytes(self.scope, self.file, ids, key))


@lru_cache(maxsize=4096)
def _operator_errors_of_bytes(scope: str, file: str, channel_ids: frozenset[str] | None,
                              tree: bytes) -> tuple[tuple[str, str], ...]:
    """:func:`_operator_errors` of a pickled tree, cached: equal bytes are an equal tree, so
    the answer is the same. The solver validates ≈ 130 probe trees per candidate, most of them
    seen at an earlier candidate (a scope its decisions did not move)."""
    return _operator_errors(scope, file, channel_ids, pickle.loads(tree))


def _operator_errors(scope: str, file: str, channel_ids: frozenset[str] | None,
                     tree: Mapping[str, Any]) -> tuple[tuple[str, str], ...]:
    """``(key, message)`` of every error of ``tree`` as an operator document of ``scope``."""
    try:
        op = OPERATOR_MODELS[scope].model_validate(tree)
    except PydanticValidationError as exc:
        found = issues_from_pydantic(exc, file=file, model=OPERATOR_MODELS[scope])
    else:
        found = errors_of(operator_rule_issues(
            scope, op, file, None if channel_ids is None else set(channel_ids)))
    return tuple((i.location, i.message) for i in found)


def probe_values(var: Variable) -> tuple[Any, ...]:
    """Values that stand for every value ``var`` can take (grid points and quantised draws).

    Key domains are intervals plus a type, so for a numeric variable its two ends and the
    first step cover them: an integer key fails at ``min + step`` whenever any value has a
    fraction (min integral, step not), or at ``min`` itself. Discrete: every value. A ``fixed``
    variable only ever takes its default."""
    if var.treatment == "fixed":
        return (var.default,)
    # The reference path uses the mean of a random variable, which is not a grid value.
    huge = var.kind == "numeric" and var.n_steps + 1 > MAX_VALUES_PER_VARIABLE
    reference = (reference_value(var),) if var.treatment == "random" and not huge else ()
    if var.kind == "discrete":
        return tuple(dict.fromkeys((*var.values, *reference)))
    if var.n_steps < MAX_PROBED_VALUES:
        # Small grids: every value, since a few domains are not intervals (an evaluation
        # interval must divide an hour).
        return tuple(dict.fromkeys((*var.grid_points(), *reference)))
    last = var.grid_point(var.n_steps)
    return tuple(dict.fromkeys((var.lo, var.grid_point(1), last, *reference)))


def _value_issues(var: Variable, dump: Mapping[str, Any], rules: _RuleCheck,
                  issues: list[Issue]) -> bool:
    """Append an issue for the first value of ``var`` the operator would refuse; True if none."""
    for value in probe_values(var):
        reasons = rules.errors(with_override(dump, var.path, var.typed(value)))
        if reasons:
            key, why = reasons[0]
            because = why if key == var.path else f"{key}: {why}"
            issues.append(Issue(var.file, var.location, f"value {var.text(value)} is not allowed "
                                f"at {var.path}: {because}", "keep min/max (or values) "
                                "inside the key's domain (docs/INPUTS.md)"))
            return False
    return True


MAX_PROBED_VALUES = 4096  # every grid value of a variable with fewer steps is checked
MAX_CORNERS = 256  # 2^8: every combination of the extremes of up to 8 varying variables


def fixed_default_issues(fixed: Sequence[Variable], dump: Mapping[str, Any],
                         base: Mapping[str, Any], rules: _RuleCheck) -> list[Issue]:
    """A cross-field rule broken by the fixed rows' defaults together (e.g. scale-down 70 and
    scale-up 60, each valid alone): one issue naming the rows it needs."""
    reasons = rules.errors(base)
    if not reasons:
        return []
    culprits = [v for v in fixed if not rules.errors(with_overrides(dump, {
        w.path: w.typed(w.default) for w in fixed if w is not v}))] or list(fixed)
    values = ", ".join(f"{v.variable_id} = {v.text(v.default)}" for v in culprits)
    key, why = reasons[0]
    last = culprits[-1]
    return [Issue(last.file, last.location, f"with the fixed values {values}: {key}: {why}",
                  "change the fixed defaults so they satisfy the rule together")]


def corner_combinations(axes: Sequence[Sequence[Any]], defaults: Sequence[Any]):
    """Every combination of the axes' values when there are at most :data:`MAX_CORNERS`;
    else every pair of variables at every pair of their values with the others at their
    defaults, plus all-first and all-last (the cross-field rules involve two keys, or all the
    weights of one allocation)."""
    if math.prod(len(a) for a in axes) <= MAX_CORNERS:
        yield from itertools.product(*axes)
        return
    yield tuple(a[0] for a in axes)
    yield tuple(a[-1] for a in axes)
    for i, j in itertools.combinations(range(len(axes)), 2):
        for x, y in itertools.product(axes[i], axes[j]):
            values = list(defaults)
            values[i], values[j] = x, y
            yield tuple(values)


def _corner_issues(variables: Sequence[Variable], dump: Mapping[str, Any],
                   rules: _RuleCheck) -> list[Issue]:
    """Cross-field rules (e.g. scale-down below scale-up) at the combinations of the varying
    variables' extremes in one scope (:func:`corner_combinations`); each alone was already
    checked."""
    varying = [v for v in variables if v.treatment != "fixed"]
    axes = [probe_values(v) if v.kind == "discrete" else (v.lo, v.grid_point(v.n_steps))
            for v in varying]
    if len(varying) < 2:
        return []  # one varying variable was judged at every probe by _value_issues
    fixed = {v.path: v.typed(v.default) for v in variables if v.treatment == "fixed"}

    def reasons_at(combo: dict[Variable, Any]) -> list[tuple[str, str]]:
        overrides = {**fixed, **{v.path: v.typed(x) for v, x in combo.items()}}
        return rules.errors(with_overrides(dump, overrides))

    for values in corner_combinations(axes, [v.default for v in varying]):
        combo = dict(zip(varying, values, strict=True))
        reasons = reasons_at(combo)
        if reasons:
            # Name only the variables the violation needs: back to default whoever is not.
            for var in varying:
                trial = {**combo, var: var.default}
                if reasons_at(trial):
                    combo = trial
            culprits = [v for v in varying if combo[v] != v.default] or varying
            values = ", ".join(f"{v.variable_id} = {v.text(combo[v])}" for v in culprits)
            last = culprits[-1]
            key, why = reasons_at(combo)[0]
            return [Issue(last.file, last.location, f"with {values}: {key}: {why}",
                          "narrow the variables' ranges so every combination is valid")]
    return []


def _magnitude_issues(variables, plan: Plan, operators, channel_rows, market,
                      files: Mapping[str, str]) -> list[Issue]:
    """Budgets and customer counts the horizon can reach (:mod:`d3.core.guards`)."""
    if market is None or channel_rows is None:
        return []
    channels = {c.channel_id: c.model_dump() for _, _, c in channel_rows}
    fx = market.finance.eur_usd_fx_rate.value
    out = []
    for scope in ("public_tap", "private_tap"):
        op = operators[scope]
        if op is None:
            continue
        per_eur = cheapest_customers_per_eur(op.acquisition, variables, scope, channels, fx)
        out += acquisition_magnitude_issues(scope, op.acquisition, variables, plan,
                                            files[scope], per_eur)
    return out


def resolved_seeds(
    plan: Plan | None,
    metas: Mapping[str, int | None],
    seed_override: int | None,
) -> tuple[dict[str, int], dict[str, str]]:
    """Seed per scope: ``--seed`` → stochastic.random_seed → run.random_seed → the scope's
    ``meta.seed`` (general falls back to public_tap's, then private_tap's)."""
    seeds: dict[str, int] = {}
    sources: dict[str, str] = {}
    fallbacks = {
        "general": ("general", "public_tap", "private_tap"),
        "public_tap": ("public_tap",),
        "private_tap": ("private_tap",),
    }
    for scope in SCOPES:
        chain: list[tuple[str, int | None]] = [("--seed", seed_override)]
        if plan is not None:
            chain += [("stochastic.random_seed", plan.stochastic.random_seed),
                      ("run.random_seed", plan.run.random_seed)]
        chain += [(f"{s}.meta.seed", metas.get(s)) for s in fallbacks[scope]]
        for source, value in chain:
            if value is not None:
                seeds[scope], sources[scope] = int(value), source
                break
    return seeds, sources


# --- entry point ------------------------------------------------------------------------------


def validated_inputs(
    raw: RawInputs, *, seed_override: int | None = None, fail_on_warning: bool = False
) -> ValidatedInputs:
    """Typed, cross-checked inputs; raises ValidationError with every issue when unusable."""
    issues: list[Issue] = list(raw.issues)
    if not raw.docs and not raw.tables and raw.plan is None:
        raise ValidationError(issues)  # nothing was read (no inputs dir): the rest would cascade
    issues += control_char_issues(raw, ROW_ID_COLUMNS)
    general = _doc_model(raw, "general", GeneralOperator, issues)
    public = _doc_model(raw, "public_tap", PublicOperator, issues)
    private = _doc_model(raw, "private_tap", PrivateOperator, issues)
    market = _doc_model(raw, "market_env", MarketEnv, issues)
    plan, salvaged = None, None
    if raw.plan is not None:
        try:
            plan = Plan.model_validate(raw.plan.data)
        except PydanticValidationError as exc:
            issues.extend(issues_from_pydantic(exc, file=raw.plan.file, model=Plan))
            salvaged = salvaged_plan(raw.plan.data, exc.errors())
    t = raw.tables
    files = {name: doc.file for name, doc in raw.docs.items()}
    files.update({name: tab.file for name, tab in t.items()})
    models = _table_rows(t.get("models"), CuratedModelRow, ROW_ID_COLUMNS["models"], issues)
    offer_rows = _table_rows(t.get("offers"), GpuOfferRow, ROW_ID_COLUMNS["offers"], issues,
                             required=("provider", "gpu_model", "gpu_vram_gb", "num_gpus"))
    price_columns = {"price_per_gpu_hr", "price_usd_hr"}
    if offer_rows is not None and not price_columns & set(t["offers"].header):
        issues.append(Issue(t["offers"].file, "header", "no price column",
                            "add price_per_gpu_hr (USD per GPU-hour) or price_usd_hr"))
        offer_rows = None
    # An empty table is one line naming it, not one error per row that then cannot match.
    if offer_rows is not None and not t["offers"].rows:
        issues.append(Issue(t["offers"].file, "(file)", "has no rows",
                            "add at least one GPU offer"))
        offer_rows = None
    if (models is not None and not t["models"].rows
            and (plan is None or "public" in plan.run.pipelines)):
        issues.append(Issue(t["models"].file, "(file)", "has no rows", "add at least one "
                            "model, or run only the private pipeline (run.pipelines: [private])"))
        models = None
    tps_rows, spec_rows, channel_rows, fee_rows, insurer_rows = (
        _table_rows(t.get(name), model, ROW_ID_COLUMNS[name], issues) for name, model in (
            ("tps", TpsRow), ("gpu_specs", GpuSpecRow), ("ads_channels", AdsChannelRow),
            ("agency_fees", AgencyFeeRow), ("insurances", InsuranceRow)))

    offers = _offers(offer_rows) if offer_rows is not None else None
    if offer_rows is not None:
        issues += _offer_issues(offer_rows, offers, t["offers"].file)
    if models is not None:
        _duplicates(models, lambda m: model_key(m.Model, m.Variant), t["models"].file, "model",
                    issues)
        if offers is not None and complete(offer_rows, t["offers"]):
            issues += _model_fit_issues(models, offers, t["models"].file)
    for rows, key, name, what in (
        (spec_rows, lambda s: gpu_class(s.gpu), "gpu_specs", "GPU class"),
        (channel_rows, lambda c: c.channel_id, "ads_channels", "channel_id"),
        (fee_rows, lambda f: f.agency_id, "agency_fees", "agency_id"),
        (insurer_rows, lambda i: i.insurer_id, "insurances", "insurer_id"),
    ):
        if rows is not None:
            _duplicates(rows, key, t[name].file, what, issues)

    channel_ids = (declared_ids(t["ads_channels"], "channel_id")
                   if channel_rows is not None else None)
    for scope, op in (("general", general), ("public_tap", public), ("private_tap", private)):
        if op is not None:
            issues += operator_rule_issues(scope, op, files[scope], channel_ids)
    if general is not None and insurer_rows is not None:
        # Ids as written, also on rows with a bad cell: that cell is already reported, and
        # the id must not be reported a second time as "unknown" (no cascading errors).
        insurer_ids = declared_ids(t["insurances"], "insurer_id")
        for k, ins in enumerate(general.insurances.selected):
            if ins not in insurer_ids:
                issues.append(Issue(files["general"], f"insurances.selected[{k}]",
                                    f"unknown insurer id {ins!r}", "use an insurer_id of "
                                    f"facts/insurances.csv: {', '.join(sorted(insurer_ids))}"))
    if plan is not None:
        issues += _plan_issues(plan, raw.plan.file)
        if raw.plan_tracked_by_dvc:
            issues += _dvc_params_issues(raw.plan.data, raw.plan.file)
    # A table with a bad row is incomplete: judging names against it would cascade.
    issues += _reference_warnings(
        public, private, models if complete(models, t.get("models")) else None,
        offers if complete(offer_rows, t.get("offers")) else None, tps_rows, spec_rows, files)
    for name, obj in (("general", general), ("public_tap", public), ("private_tap", private)):
        if obj is not None:
            issues += _fraction_warnings(obj.model_dump(mode="python"), files[name])
    if plan is not None:
        issues += _fraction_warnings(plan.model_dump(mode="python"), raw.plan.file)

    operators = {"general": general, "public_tap": public, "private_tap": private}
    variables = _variables(raw, operators, files, channel_ids, issues)
    variables = _rank_correlated(raw, variables, issues)
    judged = plan if plan is not None else salvaged.plan if salvaged is not None else None
    if judged is not None:
        variables = _fixed(raw, variables, judged, issues)
        issues += resolved_decisions(
            judged.solve, params=judged.model_dump(mode="json"),
            operators={s: op.model_dump(mode="json") for s, op in operators.items()
                       if op is not None},
            variables=variables, file=raw.plan.file,
            numbers=salvaged.numbers if plan is None else None)[1]
    if plan is not None and not errors_of(issues):
        issues += size_issues(variables, plan, raw.plan.file,
                              ticks_per_trace=simulated_ticks(general, public, variables, plan),
                              months=modelled_months(general, variables, plan))
        issues += _magnitude_issues(variables, plan, operators, channel_rows, market, files)

    metas = {s: (op.meta.seed if op is not None else None) for s, op in operators.items()}
    seeds, sources = resolved_seeds(plan, metas, seed_override)
    # Where a seed may come from is only known when the plan and the operator files were read.
    seeds_knowable = plan is not None and all(
        operators[s] is not None for s in SCOPES)
    for scope in SCOPES if seeds_knowable else ():
        if scope not in seeds:
            file = files.get(scope, f"inputs/operator/{scope}.yaml")
            issues.append(Issue(file, "meta.seed", f"no random seed for scope {scope}",
                                "set stochastic.random_seed in params.yaml (or run.random_seed, "
                                "or meta.seed here), or pass --seed"))

    effective_fail = fail_on_warning or (plan is not None and plan.run.fail_on_warning)
    if errors_of(issues):
        raise ValidationError(_deduplicated(promoted(issues, fail_on_warning=effective_fail)))
    validated = ValidatedInputs(
        general=general, public=public, private=private, market=market, plan=plan,
        models=tuple(m for _, _, m in models),
        offers=tuple(offers),
        tps=tuple(r for _, _, r in tps_rows),
        gpu_specs=tuple(r for _, _, r in spec_rows),
        channels=tuple(r for _, _, r in channel_rows),
        agency_fees=tuple(r for _, _, r in fee_rows),
        insurances=tuple(r for _, _, r in insurer_rows),
        variables=tuple(variables),
        seeds=seeds, seed_sources=sources, sha256=dict(sorted(raw.sha256.items())),
    )
    issues += public_cost_issues(validated, files)
    final = _deduplicated(promoted(issues, fail_on_warning=effective_fail))
    if errors_of(final):
        raise ValidationError(final)
    return replace(validated, issues=tuple(final))


def public_cost_issues(v: ValidatedInputs, files: Mapping[str, str]) -> list[Issue]:
    """Throughput gaps and infeasible models, found by building the Public Tap cost table:
    each heuristic use is a WARNING (or an ERROR when allow_tps_heuristic is false), each
    infeasible (model, GPU) pair an INFO, a model with no feasible GPU an ERROR."""
    from d3.pipelines.common.catalog import catalog_from_validated
    from d3.pipelines.public.catalog import public_cost_rows

    catalog = catalog_from_validated(v)
    fx = v.market.finance.eur_usd_fx_rate.value
    strict = not v.public.pricing_policy.public_tap.allow_tps_heuristic
    rows = public_cost_rows(catalog, v.public, eur_usd_fx_rate=fx, allow_heuristic=True)
    out = []
    tps_file = files["tps"]
    for r in rows:
        where = f"model={r.model},gpu={r.gpu}"
        if not r.feasible:
            out.append(Issue(files["offers"], where, f"pair skipped: {r.reason}", "",
                             "info", "infeasible_pair"))
        elif r.tps_source != "measured":
            out.append(Issue(tps_file, where, f"no measurement; throughput {r.tps:.0f} tokens/s "
                             f"from {r.tps_source} ({r.tps_detail})", "add a measured row",
                             "error" if strict else "warning", "tps_heuristic"))
    for model in catalog.models:
        if not any(r.feasible for r in rows if r.model == model.key):
            out.append(Issue(files["models"], f"model={model.key}", "no curated GPU can serve "
                             "this model (see the skipped pairs)", "add an offer with enough "
                             "GPUs per SKU, or drop the model"))
    return out


def _deduplicated(issues: Iterable[Issue]) -> list[Issue]:
    """Errors first, then warnings, then notes; each in the order found, without repeats."""
    order = {"error": 0, "warning": 1, "info": 2}
    unique = list(dict.fromkeys(issues))
    return sorted(unique, key=lambda i: order[i.severity])
