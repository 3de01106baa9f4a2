"""The draft's YAML documents → D3's operator files, market facts and plan.

Every leaf goes through its rule in :mod:`d3.importer.mapping`; the value-dependent rules have a
handler here (``HANDLERS``), registered under the same file and key as their rule.
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Callable
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

from d3.importer import mapping as m
from d3.importer.emit import decimal, get_path, number_text, set_path, yaml_number
from d3.importer.ledger import Ledger
from d3.importer.origins import Origins
from d3.importer.source import DraftTree, leaves, shown
from d3.models.plan import Plan

# Output document of each source YAML.
OUTPUT_OF = {
    "simulation.yaml": "params.yaml",
    "operator/general.yaml": "inputs/operator/general.yaml",
    "operator/public_tap.yaml": "inputs/operator/public_tap.yaml",
    "operator/private_tap.yaml": "inputs/operator/private_tap.yaml",
    "facts/market_env.yaml": "inputs/facts/market_env.yaml",
}


@dataclass
class Context:
    tree: DraftTree
    ledger: Ledger
    out: dict[str, dict[str, Any]] = field(default_factory=dict)  # output file → document
    kept_insurers: frozenset[str] = frozenset()  # insurer_ids written to facts/insurances.csv
    origins: Origins = field(default_factory=Origins)
    # Output CSV → the draft (file, "row N (id)") of each row it gets, in the order written.
    row_sources: dict[str, list[tuple[str, str]]] = field(default_factory=dict)

    def row_from(self, out: str, file: str, where: str) -> None:
        """Record that the next row written to ``out`` comes from ``file`` at ``where``."""
        self.row_sources.setdefault(out, []).append((file, where))

    def variable_default(self, scope: str, path: str) -> tuple[int, dict[str, str]] | None:
        """``(line, record)`` of the draft variables row of ``scope`` on ``path``, if any."""
        table = self.tree.tables.get(f"variables/{scope}.csv")
        for line, record, _ in table.records() if table else ():
            if record.get("path") == path:
                return line, record
        return None


Handler = Callable[[Context, str, str, Any, m.Rule], None]
HANDLERS: dict[tuple[str, str], Handler] = {}


def handles(rel: str, *keys: str) -> Callable[[Handler], Handler]:
    def register(fn: Handler) -> Handler:
        for key in keys:
            HANDLERS[(rel, key)] = fn
        return fn
    return register


def plain(value: Any) -> Any:
    """YAML values as D3 reads them: dates as ISO text (D3 keeps dates as strings)."""
    if isinstance(value, dt.date):
        return value.isoformat()
    if isinstance(value, list):
        return [plain(v) for v in value]
    if isinstance(value, dict):
        return {k: plain(v) for k, v in value.items()}
    return value


def shown_value(value: Any) -> str:
    """A source value as YAML writes it (``false``, ``null``, ``'text'``, ``12``)."""
    if isinstance(value, bool) or value is None:
        return {True: "true", False: "false", None: "null"}[value]
    return repr(plain(value))


def _write(ctx: Context, rel: str, key: str, target: str, value: Any) -> None:
    """Write ``value`` at ``target`` of ``rel``'s output document, remembering that the draft
    key ``key`` is where it came from (issues found later name that key)."""
    out = OUTPUT_OF[rel]
    set_path(ctx.out[out], target, plain(value))
    ctx.origins.keys[(out, target)] = (shown(rel), key)


def convert_doc(ctx: Context, rel: str) -> None:
    """Every leaf of the draft document ``rel`` → its output document and the ledger."""
    table, file = m.KEYS[rel], shown(rel)
    for key, value in leaves(ctx.tree.docs.get(rel, {})):
        rule = m.rule_for(table, key)
        handler = HANDLERS.get((rel, m.generic_key(key)))
        if rule is None:
            ctx.ledger.dropped(file, key, "not a key of the original draft format (not in the "
                               "import mapping table)")
        elif handler is not None:
            handler(ctx, rel, key, value, rule)
        elif rule.kind == "dropped":
            ctx.ledger.rule(file, key, rule)
        elif rule.kind == "converted":
            raise AssertionError(f"no handler for the converted key {rel}:{key}")
        else:
            target = m.target_key(rule, key) if rule.target else ""
            if target:
                _write(ctx, rel, key, target, value)
            ctx.ledger.rule(file, key, rule, target=target, detail=no_effect(ctx, rel, target))


def _draft_value(ctx: Context, rel: str, key: str) -> Any:
    """The draft's value of ``key``: its variables row's default when it has one (the draft's
    overlay rule), else the operator file's value, else None."""
    scope = next((s for s, r in m.SCOPE_FILES.items() if r == rel), None)
    row = ctx.variable_default(scope, key) if scope else None
    return row[1].get("default") if row is not None else get_path(ctx.tree.docs.get(rel, {}),
                                                                   key)[1]


def no_effect(ctx: Context, rel: str, target: str) -> str:
    """``carried, no effect until …`` when the D3 key ``target`` (imported from the draft file
    ``rel``) changes no number of the imported tree, else "". A founder reading "modelled"
    would otherwise believe the key is in the plan."""
    if target == "tax.social_security_pct":
        found, salaries = get_path(ctx.out[OUTPUT_OF[rel]], "finance.salaries_monthly_eur")
        if not (found and salaries):
            return ("carried, no effect until finance.salaries_monthly_eur has a salary line "
                    "(the imported tree has none: the draft's fixed costs are not salaries)")
    if target == "acquisition.budget_monthly_eur":
        found, policy = get_path(ctx.out.get(OUTPUT_OF.get(rel, ""), {}),
                                 "acquisition.budget_policy")
        if not found or policy != "flat":
            return "carried, no effect until acquisition.budget_policy is flat"
    draws = {"reserves.founder_draw_eur_per_month": "flat",
             "reserves.founder_draw_pct_of_profit": "percent_of_profit"}
    if target in draws:
        policy = _draft_value(ctx, "operator/general.yaml", "reserves.founder_draw_policy")
        if str(policy) != draws[target]:
            return (f"carried, no effect until reserves.founder_draw_policy is {draws[target]} "
                    f"(the draft's is {policy or 'not set: none'})")
    return ""


# --- simulation.yaml --------------------------------------------------------------------------

def _true_or_dropped(reason: str) -> Handler:
    """A flag whose ``true`` is D3's only behaviour: modelled when true, dropped when false."""
    def handler(ctx: Context, rel: str, key: str, value: Any, rule: m.Rule) -> None:
        if value is True:
            ctx.ledger.rule(shown(rel), key, rule)
        else:
            ctx.ledger.dropped(shown(rel), key, f"{shown_value(value)} cannot be honoured: "
                               f"{reason}")
    return handler


handles("simulation.yaml", "consolidation.include_loan_in_cashflow")(
    _true_or_dropped("D3 always includes the loan in the cashflow"))
handles("simulation.yaml", "ui.halt_at_zero_simulation")(
    _true_or_dropped("D3's credit balance never goes below zero"))
handles("simulation.yaml", "logging.write_run_summary")(
    _true_or_dropped("D3 always writes run_summary.{json,md}"))
handles("simulation.yaml", "targets.require_monotonic_growth_public_active_customers")(
    _true_or_dropped("D3 always checks that public active customers never fall"))
handles("operator/private_tap.yaml", "prepaid_policy.private_tap.non_refundable")(
    _true_or_dropped("D3's private prepaid blocks are never refunded"))


@handles("simulation.yaml", "consolidation.report_percentiles")
def _report_percentiles(ctx: Context, rel: str, key: str, value: Any, rule: m.Rule) -> None:
    found, percentiles = get_path(ctx.tree.docs[rel], "stochastic.percentiles")
    percentiles = percentiles if found else Plan().stochastic.percentiles
    if value == percentiles:
        ctx.ledger.rule(shown(rel), key, rule)
    else:
        ctx.ledger.dropped(shown(rel), key, f"{value} differs from stochastic.percentiles "
                           f"{percentiles}, which D3 uses for every table; set "
                           "stochastic.percentiles to the cuts you want reported")


LOG_LEVELS = {"debug": "debug", "info": "info", "warning": "warning", "warn": "warning"}


@handles("simulation.yaml", "logging.level")
def _logging_level(ctx: Context, rel: str, key: str, value: Any, rule: m.Rule) -> None:
    text = str(value).strip().lower()
    level = LOG_LEVELS.get(text)
    if level is None and text in ("error", "critical"):
        level = "warning"
        ctx.ledger.warn(shown(rel), key, f"level {value} taken as warning",
                        "D3's levels are debug, info and warning")
    if level is None:
        ctx.ledger.dropped(shown(rel), key, f"unknown level {value!r} (D3: debug, info, warning)")
        return
    _write(ctx, rel, key, "logging.level", level)
    ctx.ledger.converted(shown(rel), key, "logging.level", f"{value} to {level}")


# --- operator/general.yaml --------------------------------------------------------------------

@handles("operator/general.yaml", "insurances.selected")
def _insurances_selected(ctx: Context, rel: str, key: str, value: Any, rule: m.Rule) -> None:
    kept: list[str] = []
    value = [value] if isinstance(value, str) else value
    if not value:
        ctx.ledger.rule(shown(rel), key, rule)
    for i, insurer in enumerate(value or []):
        where = f"{key}[{i}]"
        if str(insurer) in ctx.kept_insurers:
            kept.append(str(insurer))
            ctx.ledger.mapped(shown(rel), where, f"insurances.selected[{len(kept) - 1}]")
        else:
            ctx.ledger.dropped(shown(rel), where, f"{insurer!r} is not an insurer_id with a "
                               "premium in facts/insurances.csv (the draft's fixed cost "
                               "insurance_admin already carries insurance)")
    _write(ctx, rel, key, "insurances.selected", kept)


def vat_policy(percent: Decimal) -> tuple[str, bool]:
    """``(enum, exact)``: 100 → set_aside_collected, 0 → none; else the nearest of the two (a
    tie goes to set_aside_collected, the prudent side)."""
    for value, name in m.VAT_BUFFER_POLICY.items():
        if percent == value:
            return name, True
    return ("set_aside_collected" if percent >= 50 else "none"), False


@handles("operator/general.yaml", "tax.vat_buffer_policy")
def _vat_buffer_policy(ctx: Context, rel: str, key: str, value: Any, rule: m.Rule) -> None:
    row = ctx.variable_default("general", key)
    source, effective = "the operator file", value
    if row is not None:  # a variable overrides the constant (the draft's overlay rule)
        source, effective = f"the default of variables/general.csv row {row[0]}", \
            row[1].get("default")
    percent = decimal(effective)
    if percent is None:
        ctx.ledger.dropped(shown(rel), key, f"{effective!r} is not a percentage")
        return
    policy, exact = vat_policy(percent)
    _write(ctx, rel, key, "tax.vat_buffer_policy", policy)
    if not exact:
        ctx.ledger.warn(shown(rel), key, f"{number_text(percent)} % of VAT set aside taken as "
                        f"the nearest D3 policy {policy}", "D3 sets aside all collected VAT "
                        "(set_aside_collected), the net VAT (set_aside_net) or none")
    ctx.ledger.converted(shown(rel), key, "tax.vat_buffer_policy",
                         f"{number_text(percent)} % of VAT parked aside ({source}) to "
                         f"{policy}{'' if exact else ' (nearest)'}")


def _category_words(category: str) -> set[str]:
    return set(re.split(r"[^a-z0-9]+", category.lower()))


def inflation_groups(categories: list[str]) -> dict[str, list[str]]:
    """Fixed-cost categories by the draft rate that applies: rent, salary or cpi."""
    groups: dict[str, list[str]] = {"rent": [], "salary": [], "cpi": []}
    for category in categories:
        words = _category_words(category)
        group = ("rent" if words & set(m.RENT_LIKE)
                 else "salary" if words & set(m.SALARY_LIKE) else "cpi")
        groups[group].append(category)
    return groups


INFLATION_KEYS = {"inflation.cpi_annual_pct": "cpi", "inflation.rent_growth_annual_pct": "rent",
                  "inflation.salary_growth_annual_pct": "salary"}


@handles("operator/general.yaml", *INFLATION_KEYS)
def _inflation(ctx: Context, rel: str, key: str, value: Any, rule: m.Rule) -> None:
    found, costs = get_path(ctx.tree.docs[rel], "finance.fixed_costs_monthly_eur")
    categories = [str(c) for c in costs] if found and isinstance(costs, dict) else []
    group = INFLATION_KEYS[key]
    targets = inflation_groups(categories)[group]
    if decimal(value) is None:
        ctx.ledger.dropped(shown(rel), key, f"{value!r} is not a number")
        return
    if not targets:
        ctx.ledger.dropped(shown(rel), key, f"no {group} category among the fixed costs "
                           f"({', '.join(categories) or 'none'}) to apply it to")
        return
    for category in targets:
        _write(ctx, rel, key, f"finance.inflation_pct_yoy_by_category.{category}", value)
    ctx.ledger.rule(shown(rel), key, rule, detail=", ".join(f"{c} ← {value} %/yr"
                                                          for c in targets))


def slug(name: str) -> str:
    """``"Laptop (dev)"`` → ``laptop_dev``."""
    return re.sub(r"[^a-z0-9]+", "_", str(name).lower()).strip("_") or "asset"


@handles("operator/general.yaml", "depreciation_schedule.assets[].name")
def _asset_name(ctx: Context, rel: str, key: str, value: Any, rule: m.Rule) -> None:
    target = m.target_key(rule, key)
    taken = {a.get("asset_id") for a in
             ctx.out[OUTPUT_OF[rel]].get("depreciation", {}).get("assets", [])}
    asset_id, n = slug(value), 2
    while asset_id in taken:
        asset_id, n = f"{slug(value)}_{n}", n + 1
    _write(ctx, rel, key, target, asset_id)
    ctx.ledger.converted(shown(rel), key, target, f"{value!r} to {asset_id}")


@handles("operator/general.yaml", "depreciation_schedule.assets[].start_month_index")
def _asset_start(ctx: Context, rel: str, key: str, value: Any, rule: m.Rule) -> None:
    index = decimal(value)
    if index is None or index != index.to_integral_value() or index < 0:
        ctx.ledger.dropped(shown(rel), key, f"{value!r} is not a month index ≥ 0")
        return
    target = m.target_key(rule, key)
    _write(ctx, rel, key, target, int(index) + 1)
    ctx.ledger.converted(shown(rel), key, target, f"month index {int(index)} (0-based, the "
                         f"draft engine's series index) to month {int(index) + 1} (1-based)")


@handles("operator/general.yaml", "reserves.founder_draw_policy")
def _founder_draw(ctx: Context, rel: str, key: str, value: Any, rule: m.Rule) -> None:
    _write(ctx, rel, key, key, value)
    amount = {"flat": "reserves.founder_draw_eur_per_month",
              "percent_of_profit": "reserves.founder_draw_pct_of_profit"}.get(str(value))
    missing = amount is not None and not get_path(ctx.tree.docs[rel], amount)[0] \
        and ctx.variable_default("general", amount) is None
    detail = (f"the draft gives no {amount.rsplit('.', 1)[1]}, so D3's default 0 applies (no "
              "draw) until it is set" if missing else "")
    ctx.ledger.rule(shown(rel), key, rule, target=key, detail=detail)


DIVIDEND, REINVEST = ("reserves.distribution_policy.dividend_pct",
                      "reserves.distribution_policy.reinvest_pct")


@handles("operator/general.yaml", REINVEST)
def _reinvest(ctx: Context, rel: str, key: str, value: Any, rule: m.Rule) -> None:
    """Written only when it is not 100 − dividend_pct: D3 derives it then, so a variable that
    sweeps the dividend share alone keeps the pair summing to 100. Without a dividend_pct the
    dividend share is written as 100 − reinvest_pct (D3's dividend_pct defaults to 0)."""
    found, dividend = get_path(ctx.tree.docs[rel], DIVIDEND)
    reinvest, share = decimal(value), decimal(dividend) if found else None
    if reinvest is not None and share is not None and reinvest == 100 - share:
        ctx.ledger.rule(shown(rel), key, rule, target=key, detail=(
            f"derived: D3 takes it as 100 − dividend_pct = {number_text(reinvest)}, so it is "
            "not written (a sweep of dividend_pct alone then stays valid)"))
        ctx.origins.keys[(OUTPUT_OF[rel], key)] = (shown(rel), key)
        return
    if reinvest is not None and not found:
        _write(ctx, rel, key, DIVIDEND, yaml_number(100 - reinvest))
        ctx.ledger.converted(shown(rel), key, DIVIDEND, f"reinvest_pct {number_text(reinvest)} "
                             f"to dividend_pct {number_text(100 - reinvest)} (100 − "
                             "reinvest_pct; D3 derives the reinvested share)")
        return
    _write(ctx, rel, key, key, value)
    ctx.ledger.rule(shown(rel), key, rule, target=key)
    if reinvest is not None and share is not None:
        ctx.ledger.warn(shown(rel), key, f"reinvest_pct {number_text(reinvest)} + dividend_pct "
                        f"{number_text(share)} ≠ 100, which D3 rejects", "leave reinvest_pct out "
                        "(it is then 100 − dividend_pct) or make the two sum to 100")


# Above this a rate is not an employer's charge in NL (≈ 18–20 %; docs/FINANCE.md).
EMPLOYER_SOCIAL_SECURITY_MAX_PCT = 25.0


@handles("operator/general.yaml", "tax.social_security_pct")
def _social_security(ctx: Context, rel: str, key: str, value: Any, rule: m.Rule) -> None:
    """Carried unchanged, with a WARNING when the rate looks like the employee-side premium
    (the draft's 27.65 % = AOW + Anw + Wlz, withheld from wages), which D3 would book as an
    employer cost."""
    _write(ctx, rel, key, key, value)
    ctx.ledger.rule(shown(rel), key, rule, target=key, detail=no_effect(ctx, rel, key))
    number = decimal(value)
    if number is not None and number > Decimal(str(EMPLOYER_SOCIAL_SECURITY_MAX_PCT)):
        ctx.ledger.warn(shown(rel), key, f"{number_text(number)} % looks like the employee-side "
                        "national insurance premium, which is withheld from wages; D3 books "
                        "tax.social_security_pct as the employer's charge on top of them",
                        "use the employer's rate (NL ≈ 18–20 %; a director-shareholder only the "
                        "6.51 % Zvw levy)")


# --- operator/public_tap.yaml -----------------------------------------------------------------

@handles("operator/public_tap.yaml", "prepaid_policy.credits.non_refundable")
def _credits_non_refundable(ctx: Context, rel: str, key: str, value: Any, rule: m.Rule) -> None:
    if value is True:
        _write(ctx, rel, key, "prepaid_policy.credits.refundable", False)
        ctx.ledger.rule(shown(rel), key, rule)
    else:
        ctx.ledger.dropped(shown(rel), key, f"{shown_value(value)} cannot be honoured: D3's "
                           "credits are non-refundable (refundable: false)")


@handles("operator/public_tap.yaml", "acquisition.tokens_per_conversion_sd")
def _tokens_sd_constant(ctx: Context, rel: str, key: str, value: Any, rule: m.Rule) -> None:
    ctx.ledger.dropped(shown(rel), key, "D3 keeps this sd only on a random variables row "
                       "(its sd cell); as an operator constant it has no D3 key")


# --- facts/market_env.yaml --------------------------------------------------------------------

@handles("facts/market_env.yaml", "finance.eur_usd_fx_rate.unit")
def _fx_unit(ctx: Context, rel: str, key: str, value: Any, rule: m.Rule) -> None:
    _write(ctx, rel, key, "finance.eur_usd_fx_rate.unit", "USD per EUR")
    ctx.ledger.converted(shown(rel), key, "finance.eur_usd_fx_rate.unit",
                         f"{value!r} to 'USD per EUR' (EUR = USD / rate)")


def new_documents() -> dict[str, dict[str, Any]]:
    """Empty output documents; the plan starts from D3's defaults so that params.yaml holds
    every key dvc.yaml tracks."""
    out: dict[str, dict[str, Any]] = {name: {} for name in OUTPUT_OF.values()}
    out["params.yaml"] = Plan().model_dump(mode="json")
    return out
