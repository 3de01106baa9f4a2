"""Fast-fail validation of a whole inputs tree (SPEC §2).

Every file is checked against its schema, then references between files, then the variables
and the plan's guards. All problems are collected; :func:`validated_inputs` raises one
:class:`~d3.core.errors.ValidationError` carrying every issue, or returns the typed inputs plus
the WARNING/INFO issues for the run summary.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from typing import Any

from pydantic import BaseModel
from pydantic import ValidationError as PydanticValidationError

from d3.core.errors import Issue, ValidationError, errors_of, promoted
from d3.core.names import gpu_class, model_key, model_match_key
from d3.core.schema_issues import issues_from_pydantic
from d3.core.variables import (
    REQUIRED_COLUMNS,
    SCOPES,
    Variable,
    grid_size,
    parse_variable,
    with_override,
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
    return "/".join(str(record.get(c, "?")) for c in id_cols)


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
        rid = _row_id(record, id_cols)
        where = f"row {number} ({rid})" if table.kind == "csv" else f"item {number} ({rid})"
        try:
            rows.append((number, rid, model.model_validate(record)))
        except PydanticValidationError as exc:
            issues.extend(issues_from_pydantic(exc, file=table.file, model=model, location=where))
    return rows


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
    total = sum(alloc.values())
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
    profile = op.demand_profile
    if profile.type == "diurnal":
        w = profile.hourly_weights or []
        if len(w) != 24 or sum(w) <= 0:
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
                out.append(Issue(file, f"acquisition.channel_allocation.{key}",
                                 f"unknown channel id {key!r}",
                                 f"use a channel_id of facts/ads_channels.csv: "
                                 f"{', '.join(sorted(channel_ids))}"))
    out += _allocation_issues(acq.channel_allocation, file, "acquisition.channel_allocation")
    return out


def _plan_issues(plan: Plan, file: str) -> list[Issue]:
    out = []
    pct = plan.stochastic.percentiles
    ascending = all(a < b for a, b in zip(pct, pct[1:], strict=False))
    if not pct or any(not 1 <= p <= 99 for p in pct) or not ascending:
        out.append(Issue(file, "stochastic.percentiles", f"percentiles {pct} must be strictly "
                         "ascending whole numbers within 1..99", "e.g. [10, 50, 90]"))
    return out


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
    raw: RawInputs, operators: Mapping[str, BaseModel | None], issues: list[Issue]
) -> list[Variable]:
    variables: list[Variable] = []
    first_row: dict[str, str] = {}
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
        for number, record in table.rows:
            vid = str(record.get("variable_id", "")).strip()
            if vid and vid in first_row:
                issues.append(Issue(table.file, f"row {number} ({vid})", f"duplicate variable_id"
                                    f" {vid!r} (first at {first_row[vid]})", "rename one of them"))
                continue
            var = parse_variable(record, file=table.file, row=number, file_scope=scope,
                                 operator=dump, issues=issues)
            if var is None:
                continue
            first_row[vid] = f"{table.file} row {number}"
            if _override_issues(var, OPERATOR_MODELS[scope], dump, issues):
                variables.append(var)
    return variables


def _override_issues(var: Variable, model, dump, issues: list[Issue]) -> bool:
    """The operator schema must accept the variable's extreme values (and every discrete one)."""
    if dump is None:
        return True
    probes = var.values if var.kind == "discrete" else (var.lo, var.grid_point(var.n_steps))
    for value in probes:
        try:
            model.model_validate(with_override(dump, var.path, var.typed(value)))
        except PydanticValidationError as exc:
            reason = exc.errors()[0]["msg"]
            issues.append(Issue(var.file, var.location, f"value {var.text(value)} is not allowed "
                                f"at {var.path}: {reason}", "keep min/max (or values) inside "
                                "the key's domain (docs/INPUTS.md)"))
            return False
    return True


def _guard_issues(variables: Sequence[Variable], plan: Plan, file: str) -> list[Issue]:
    size = grid_size(variables)
    out = []
    if size > plan.run.max_grid_size:
        out.append(Issue(file, "run.max_grid_size", f"the run grid has {size} points, more than "
                         f"run.max_grid_size = {plan.run.max_grid_size}", "make some "
                         "low_to_high variables random, or use a coarser step"))
    samples = size * plan.run.random_runs_per_simulation * plan.stochastic.simulations_per_run
    if samples > plan.run.max_samples:
        out.append(Issue(file, "run.max_samples", f"grid × replicates × Monte Carlo = {samples} "
                         f"samples, more than run.max_samples = {plan.run.max_samples}",
                         "lower simulations_per_run or random_runs_per_simulation, or use "
                         "random instead of low_to_high"))
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
    general = _doc_model(raw, "general", GeneralOperator, issues)
    public = _doc_model(raw, "public_tap", PublicOperator, issues)
    private = _doc_model(raw, "private_tap", PrivateOperator, issues)
    market = _doc_model(raw, "market_env", MarketEnv, issues)
    plan = None
    if raw.plan is not None:
        try:
            plan = Plan.model_validate(raw.plan.data)
        except PydanticValidationError as exc:
            issues.extend(issues_from_pydantic(exc, file=raw.plan.file, model=Plan))
    t = raw.tables
    files = {name: doc.file for name, doc in raw.docs.items()}
    files.update({name: tab.file for name, tab in t.items()})
    models = _table_rows(t.get("models"), CuratedModelRow, ("Model", "Variant"), issues)
    offer_rows = _table_rows(t.get("offers"), GpuOfferRow, ("provider", "gpu_model"), issues,
                             required=("provider", "gpu_model", "gpu_vram_gb", "num_gpus"))
    price_columns = {"price_per_gpu_hr", "price_usd_hr"}
    if offer_rows is not None and not price_columns & set(t["offers"].header):
        issues.append(Issue(t["offers"].file, "header", "no price column",
                            "add price_per_gpu_hr (USD per GPU-hour) or price_usd_hr"))
        offer_rows = None
    tps_rows = _table_rows(t.get("tps"), TpsRow, ("model", "gpu"), issues)
    spec_rows = _table_rows(t.get("gpu_specs"), GpuSpecRow, ("gpu",), issues)
    channel_rows = _table_rows(t.get("ads_channels"), AdsChannelRow, ("channel_id",), issues)
    fee_rows = _table_rows(t.get("agency_fees"), AgencyFeeRow, ("agency_id",), issues)
    insurer_rows = _table_rows(t.get("insurances"), InsuranceRow, ("insurer_id",), issues)

    offers = _offers(offer_rows) if offer_rows is not None else None
    if offer_rows is not None:
        issues += _offer_issues(offer_rows, offers, t["offers"].file)
    if models is not None:
        _duplicates(models, lambda m: model_key(m.Model, m.Variant), t["models"].file, "model",
                    issues)
        if offers is not None:
            issues += _model_fit_issues(models, offers, t["models"].file)
    for rows, key, name, what in (
        (spec_rows, lambda s: gpu_class(s.gpu), "gpu_specs", "GPU class"),
        (channel_rows, lambda c: c.channel_id, "ads_channels", "channel_id"),
        (fee_rows, lambda f: f.agency_id, "agency_fees", "agency_id"),
        (insurer_rows, lambda i: i.insurer_id, "insurances", "insurer_id"),
    ):
        if rows is not None:
            _duplicates(rows, key, t[name].file, what, issues)

    channel_ids = {c.channel_id for _, _, c in channel_rows} if channel_rows is not None else None
    if general is not None:
        if general.loan.grace_period_months >= general.loan.term_months:
            issues.append(Issue(files["general"], "loan.grace_period_months",
                                f"grace period {general.loan.grace_period_months} must be shorter "
                                f"than term_months {general.loan.term_months}",
                                "lower the grace period or extend the term"))
        if insurer_rows is not None:
            insurer_ids = {i.insurer_id for _, _, i in insurer_rows}
            for k, ins in enumerate(general.insurances.selected):
                if ins not in insurer_ids:
                    issues.append(Issue(files["general"], f"insurances.selected[{k}]",
                                        f"unknown insurer id {ins!r}", "use an insurer_id of "
                                        f"facts/insurances.csv: {', '.join(sorted(insurer_ids))}"))
    if public is not None:
        issues += _autoscaling_issues(public, files["public_tap"])
        issues += _acquisition_issues(public.acquisition, files["public_tap"], channel_ids)
    if private is not None:
        issues += _acquisition_issues(private.acquisition, files["private_tap"], channel_ids)
    if plan is not None:
        issues += _plan_issues(plan, raw.plan.file)
    issues += _reference_warnings(public, private, models, offers, tps_rows, spec_rows, files)
    for name, obj in (("general", general), ("public_tap", public), ("private_tap", private)):
        if obj is not None:
            issues += _fraction_warnings(obj.model_dump(mode="python"), files[name])
    if plan is not None:
        issues += _fraction_warnings(plan.model_dump(mode="python"), raw.plan.file)

    operators = {"general": general, "public_tap": public, "private_tap": private}
    variables = _variables(raw, operators, issues)
    if plan is not None and not errors_of(issues):
        issues += _guard_issues(variables, plan, raw.plan.file)

    metas = {s: (op.meta.seed if op is not None else None) for s, op in operators.items()}
    seeds, sources = resolved_seeds(plan, metas, seed_override)
    for scope in SCOPES:
        if scope not in seeds and (scope == "general" or operators[scope] is not None):
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
    from d3.pipelines.public.catalog import catalog_from_validated, public_cost_rows

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
