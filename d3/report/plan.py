"""``financial_plan_v3.md``: the lender-facing report (SPEC §9).

Every table is rendered from the rows of the CSV it names (the cells are the CSV's own
strings), so the report and the CSVs cannot disagree.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from d3.core.warning_count import run_warnings, warning_count
from d3.finance.kpis import DISTRIBUTION_KPI_SERIES
from d3.finance.tables import SALARY_SERIES
from d3.io.writers import price_text

Rows = list[dict[str, str]]


@dataclass
class ReportData:
    horizon_months: int
    term_months: int
    percentiles: list[int]
    acceptance: dict[str, Any]
    summary: dict[str, Any]
    kpis: Rows
    plan: dict[str, Any]  # resolved plan + seeds (validated/plan.json)
    validation: dict[str, Any]
    vendor_choice: Rows | None = None
    prices: Rows | None = None
    price_card: dict[str, Any] | None = None
    public_op: dict[str, Any] | None = None
    scenarios: Rows | None = None
    autoscaling: Rows | None = None
    scaling_events: int = 0
    economics: Rows | None = None
    vendors: Rows | None = None
    pnl: Rows = field(default_factory=list)
    cashflow: Rows = field(default_factory=list)
    vat: Rows = field(default_factory=list)
    loan: Rows = field(default_factory=list)
    break_even: Rows = field(default_factory=list)
    market: dict[str, Any] = field(default_factory=dict)
    catalog: dict[str, Any] = field(default_factory=dict)
    public_customers: Rows | None = None
    pnl_by_year: Rows = field(default_factory=list)
    balance_sheet: Rows = field(default_factory=list)
    unserved: Rows | None = None
    margin_by_model: Rows | None = None
    charts: list[tuple[str, str]] = field(default_factory=list)  # (file, caption)
    general: dict[str, Any] | None = None  # validated/operator_general.json
    private_op: dict[str, Any] | None = None  # validated/operator_private_tap.json
    overrides: list[dict[str, Any]] = field(default_factory=list)  # logs/variables.json


def table(rows: Sequence[Mapping[str, str]], columns: Sequence[str],
          headers: Sequence[str] | None = None) -> list[str]:
    headers = list(headers or columns)
    out = ["| " + " | ".join(headers) + " |", "|" + "---|" * len(headers)]
    out += ["| " + " | ".join(str(r.get(c, "")) for c in columns) + " |" for r in rows]
    return out


def _eur(x: float) -> str:
    return f"EUR {x:,.0f}"


def _kpi(rows: Rows, grid: str, metric: str) -> dict[str, str]:
    return next((r for r in rows if r["grid_index"] == grid and r["metric"] == metric), {})


def dscr_text(value: str) -> str:
    """A DSCR cell as a lender reads it: "n/m" (not meaningful) when the cash available for
    debt service is negative, empty when there is no debt service."""
    if value in ("", None):
        return "—"
    return "n/m" if float(value) < 0 else value


def _num(row: Mapping[str, str], key: str) -> float | None:
    v = row.get(key, "")
    return float(v) if v not in ("", None) else None


def _pct(x: float | None) -> str:
    return "—" if x is None else f"{x:.1f} %"


def _money(x: float | None) -> str:
    return "—" if x is None else _eur(x)


def _at(doc: Mapping[str, Any] | None, path: str, default: Any = None) -> Any:
    """The value at a dotted key (``reserves.distribution_policy.dividend_pct``) of a validated
    operator document, or ``default`` when the key is absent (opt-in keys are written only
    when set, so a document may lack a key its schema has)."""
    for part in path.split("."):
        if not isinstance(doc, Mapping) or part not in doc:
            return default
        doc = doc[part]
    return doc


def _value(text: str) -> float | str:
    """A variable's value as the run summary writes it (a string): a number when it is one."""
    try:
        return float(text)
    except ValueError:
        return text


def setting(d: ReportData, scope: str, path: str, g: str, default: Any = None) -> Any:
    """The value grid point ``g``'s reference path used for an operator key: the grid point's
    value of a variable overriding it (a random variable at its mean), else the operator
    file's value, else ``default``."""
    docs = {"general": d.general, "public_tap": d.public_op, "private_tap": d.private_op}
    for o in d.overrides:
        if o["scope"] == scope and o["path"] == path:
            value = d.summary.get("reference_values", {}).get(g, {}).get(o["variable_id"])
            if value is not None:
                return _value(value)
    return _at(docs[scope], path, default)


def verdict_lines(d: ReportData, g: str) -> list[str]:
    """The grid point's story in words: verdict, priced vs realised margin, unserved demand,
    funding need at 90 % confidence, and the failing criteria with their probabilities."""
    info = d.acceptance["grid"][g]
    k = {m: _kpi(d.kpis, g, m) for m in (
        "public_priced_margin_pct", "public_realised_margin_pct", "unserved_tokens_share_pct",
        "public_refunds_eur", "funding_need_eur", "ebitda_eur", "runway_months",
        "runway_never_ends", "unserved_tokens_share_term_pct", "public_refunds_term_eur",
        "funding_need_term_eur")}
    p_min = d.acceptance.get("min_acceptance_probability", 0.9)
    out = [f"**Verdict: {'accepted' if info['accepted'] else 'not accepted'}.** "
           f"A criterion holds when at least {p_min:.0%} of the grid point's samples meet it."]
    if k["public_priced_margin_pct"]:
        out.append(
            f"The price list promises a public gross margin of "
            f"{_pct(_num(k['public_priced_margin_pct'], 'p50'))} on the tokens served; on the "
            f"GPU fleet actually rented the Public Tap realises "
            f"{_pct(_num(k['public_realised_margin_pct'], 'p50'))} (median over the samples, "
            f"first {d.horizon_months} months; p10 "
            f"{_pct(_num(k['public_realised_margin_pct'], 'p10'))}, p90 "
            f"{_pct(_num(k['public_realised_margin_pct'], 'p90'))}).")
        out.append(
            f"The capped fleet (`max_instances_per_model`) leaves "
            f"{_pct(_num(k['unserved_tokens_share_pct'], 'p50'))} of the tokens customers ask "
            f"for unserved (p90 {_pct(_num(k['unserved_tokens_share_pct'], 'p90'))}); their "
            f"credits are refunded ({_money(_num(k['public_refunds_eur'], 'p50'))} at the "
            f"median) and earn nothing. Over the whole {d.term_months}-month term demand keeps "
            f"growing against the same cap: "
            f"{_pct(_num(k['unserved_tokens_share_term_pct'], 'p50'))} of tokens go unserved "
            f"and {_money(_num(k['public_refunds_term_eur'], 'p50'))} is refunded at the "
            "median.")
    need = k["funding_need_eur"]
    out.append(
        f"EBITDA over the horizon is {_money(_num(k['ebitda_eur'], 'p50'))} at the median. "
        f"**Funding need: {_money(_num(need, 'p90'))} of extra equity at 90 % confidence** "
        f"({_money(_num(need, 'p50'))} at the median) keeps free cash above the cash buffer "
        f"for the first {d.horizon_months} months; "
        f"{_money(_num(k['funding_need_term_eur'], 'p90'))} at 90 % confidence keeps it there "
        f"for the whole {d.term_months}-month loan term.")
    never = _num(k["runway_never_ends"], "mean") or 0.0
    runway = _num(k["runway_months"], "p50")
    out.append(f"Runway without that money: median {runway:.0f} months among the samples that "
               f"run out; {never:.0%} of samples never run out within the "
               f"{d.term_months}-month term." if runway is not None else
               f"Runway: free cash never runs out within the {d.term_months}-month term "
               f"in {never:.0%} of samples.")
    failed = [c for c in info["criteria"] if not c["ok"]]
    if failed:
        out.append("Failing criteria: " + "; ".join(
            f"**{c['name']}**" + (f" (met in {c['probability']:.1%} of samples)"
                                  if c["probability"] is not None else
                                  " (reference card)" if c["name"].startswith("private_margin")
                                  else " (p50 trace)")
            for c in failed) + ".")
    else:
        out.append("Every criterion holds.")
    return [" ".join(out), ""]


def executive_summary(d: ReportData) -> list[str]:
    acc = d.acceptance
    qs = d.percentiles
    lines = ["## 1. Executive summary", "",
             f"**Accepted: {'yes' if acc['accepted'] else 'no'}** — acceptance checks every grid "
             f"point over the first {d.horizon_months} months as probabilities over its "
             f"samples; the loan runs {d.term_months} months.", ""]
    metrics = ("revenue_total_eur", "ebitda_eur", "net_income_eur", "public_priced_margin_pct",
               "public_realised_margin_pct", "unserved_tokens_share_pct", "min_free_cash_eur",
               "funding_need_eur", "funding_need_term_eur", "min_dscr_t12",
               "months_to_ebitda_break_even", "runway_months", "runway_never_ends")
    for g, info in acc["grid"].items():
        lines += [f"### Grid point {g}: {'accepted' if info['accepted'] else 'not accepted'}",
                  ""]
        lines += verdict_lines(d, g)
        rows = []
        for m in metrics:
            row = {"metric": m, **_kpi(d.kpis, g, m)}
            if m.startswith("min_dscr"):
                row = {**row, **{c: dscr_text(row.get(c, "")) for c in
                                 (*(f"p{q}" for q in qs), "mean", "reference")}}
            rows.append(row)
        lines += table(rows, ["metric", "unit", *(f"p{q}" for q in qs), "mean", "se_p50",
                              "reference"])
        cov = d.summary["grid"][g]["covenants"]
        lines += ["", f"- Probability that the minimum trailing-12-month DSCR falls below "
                  f"{d.plan['plan']['targets']['min_dscr']:g}: "
                  f"**{cov['p_min_dscr_t12_below_target']:.1%}**",
                  f"- Probability of drawing the overdraft (net cash < 0) in any month: "
                  f"**{cov['p_cash_negative_any_month']:.1%}**; of a funding gap beyond the "
                  f"overdraft limit: **{cov['p_funding_gap_any_month']:.1%}**",
                  f"- Largest loan keeping the p10 DSCR at target: "
                  f"**{_eur(cov['max_loan_eur_p10_dscr'])}** (± "
                  f"{cov['max_loan_tolerance_eur']:,.0f})", ""]
    space = d.summary["sample_space"]
    lines += ["Flows are summed over the horizon; cash and DSCR are checked over the loan term. "
              "Percentiles are taken per sample first, then across samples (replicates × Monte "
              "Carlo) of each grid point. The samples of one replicate share their parameter "
              f"draws: each grid point rests on **{space['replicates']} independent parameter "
              f"draws** × {space['simulations_per_run']} Monte Carlo paths, and `se_p50` is the "
              "between-replicate standard error of the median (docs/FINANCE.md). `reference` is "
              "the reference path (every random variable at its mean, no outcome noise): shown, "
              "never used to decide. A DSCR is shown as n/m (not meaningful) when EBITDA − tax "
              "paid is negative.", ""]
    return lines


def budget_policy_text(acq: Mapping[str, Any], *, horizon_months: int) -> str:
    """A tap's monthly ads budget rule in words, from its operator file's ``acquisition``
    (EUR): ``growth`` (the default) = ``budget_month0_eur × (1 + budget_growth_pct_mom/100)^
    (m−1)``, with its value in month ``horizon_months``; ``flat`` = ``budget_monthly_eur``
    every month; ``pct_of_inflow`` = ``budget_pct_of_inflow`` % of the tap's previous month's
    sales ex VAT, month 1 = ``budget_month0_eur``. Keys are read with their defaults: opt-in keys
    are written to the validated file only when set."""
    policy = acq.get("budget_policy", "growth")
    month0 = _eur(acq.get("budget_month0_eur", 0.0))
    if policy == "flat":
        return (f"`flat`: {_eur(acq.get('budget_monthly_eur', 0.0))} every month "
                "(`acquisition.budget_monthly_eur`)")
    if policy == "pct_of_inflow":
        cap = acq.get("budget_cap_monthly_eur")
        capped = (f", at most {_eur(cap)} a month (`budget_cap_monthly_eur`)"
                  if isinstance(cap, int | float) and math.isfinite(cap) else "")
        return (f"`pct_of_inflow`: {acq.get('budget_pct_of_inflow', 0.0):g} % of the tap's "
                "previous month's sales ex VAT (`acquisition.budget_pct_of_inflow`); month 1 "
                f"spends {month0} (`budget_month0_eur`){capped}")
    if policy == "growth":
        growth_pct = acq.get("budget_growth_pct_mom", 0.0)
        last = acq.get("budget_month0_eur", 0.0) * (1 + growth_pct / 100) ** (horizon_months - 1)
        return (f"`growth`: {month0} in month 1, growing {growth_pct:g} % a month "
                f"(budget_month0_eur × (1 + budget_growth_pct_mom/100)^(m−1)): {_eur(last)} in "
                f"month {horizon_months}")
    return f"`{policy}`"


def budget_lines(d: ReportData) -> list[str]:
    """One line per tap run: its ads budget policy in words, and the variables that move its
    budget keys (their values then differ by grid point or sample)."""
    lines = []
    for line, scope, doc in (("public", "public_tap", d.public_op),
                             ("private", "private_tap", d.private_op)):
        if doc is None or line not in d.summary.get("pipelines", [line]):
            continue
        varied = [f"`{o['path']}` is variable `{o['variable_id']}` ({o['treatment']})"
                  for o in d.overrides if o["scope"] == scope
                  and o["path"].startswith("acquisition.budget_")]
        rule = budget_policy_text(doc.get("acquisition", {}), horizon_months=d.horizon_months)
        lines.append(f"- Ads budget, {line.capitalize()} Tap: {rule}"
                     + (f"; {'; '.join(varied)}" if varied else "") + ".")
    return lines


def inputs_section(d: ReportData) -> list[str]:
    plan, seeds = d.plan["plan"], d.plan["seeds"]
    fx = d.market["market_env"]["finance"]["eur_usd_fx_rate"]
    counts = d.validation["counts"]
    lines = ["## 2. Inputs and catalogue", "",
             f"- Seeds: {', '.join(f'{k} {v}' for k, v in seeds.items())}.",
             f"- Sample space: {d.summary['sample_space']['grid_size']} grid points × "
             f"{d.summary['sample_space']['replicates']} replicates × "
             f"{d.summary['sample_space']['simulations_per_run']} Monte Carlo iterations = "
             f"{d.summary['sample_space']['samples']} samples.",
             f"- FX: {fx['value']} {fx['unit']} ({fx['source']}).",
             f"- Catalogue: {counts['models']} models, {counts['gpu_classes']} GPU classes from "
             f"{counts['providers']} providers ({counts['gpu_offers']} offers), "
             f"{counts['tps_rows']} throughput measurements.",
             f"- Stress test: provider prices +{plan['stress']['provider_price_drift_pct']:g} %, "
             f"throughput −{plan['stress']['tps_downshift_pct']:g} %, FX buffer "
             f"+{plan['stress']['fx_widen_buffer_pct']:g} pp.", *budget_lines(d), ""]
    if d.vendor_choice:
        lines += ["Cheapest provider per GPU class (`public_vendor_choice.csv`):", ""]
        lines += table(d.vendor_choice, ["gpu", "vram_gb", "provider", "usd_hr", "eur_hr",
                                         "providers"])
        lines.append("")
    models = d.catalog.get("models", [])
    if models:
        lines += ["Curated models:", ""]
        lines += table([{k: str(v) for k, v in m.items()} for m in models],
                       ["key", "params_b", "active_params_b", "architecture", "quantization",
                        "vram_needed_gb"], ["model", "params (B)", "active (B)", "architecture",
                                            "quantization", "VRAM needed (GB)"])
        lines.append("")
    return lines


def price_derivation(r: Mapping[str, str], public_op: Mapping[str, Any], fx: float) -> str:
    """One model's price, step by step, from the same CSV row."""
    buffer = public_op["meta"]["fx_buffer_pct"]
    ng = public_op["pricing_policy"]["public_tap"]["non_gpu_costs"]
    inc = public_op["pricing_policy"]["public_tap"]["round_increment_eur_per_1k"]
    cap = r["max_cap_eur_per_1k"] or "none"
    return (
        f"**{r['model']}** on {r['gpu']} ({r['provider']}): EUR/hr per GPU = {r['usd_hr']} USD × "
        f"(1 + {buffer:g} %) / {fx:g} = {r['eur_hr']}; × {r['gpus_per_instance']} GPU(s) = "
        f"{r['instance_eur_hr']} EUR per instance-hour → {r['tps']} tokens/s "
        f"({r['tps_source']}) = {r['tokens_per_hour']} tokens/hour → GPU cost "
        f"{r['gpu_cost_eur_per_1M']} EUR per 1M → × (1 + {ng['infra_overhead_pct_of_gpu']:g} %) "
        f"+ {ng['base_eur_per_1M']:g} = cost {r['cost_eur_per_1M']} EUR per 1M → ÷ (1 − "
        f"{r['target_margin_pct']} %) / 1000 = {r['unrounded_sell_eur_per_1k']} EUR per 1k → "
        f"rounded up to {format(inc, '.8f').rstrip('0')}: {r['rounded_sell_eur_per_1k']} → floor "
        f"{r['min_floor_eur_per_1k']}, cap {cap} → **sell {r['sell_eur_per_1k']} EUR per 1k "
        f"tokens**, margin {r['margin_pct']} % (p90 stress: {r['margin_pct_stress']} %)."
    )


def realised_cost_lines(d: ReportData) -> list[str]:
    """Priced cost (full throughput) against the cost of the capacity actually provisioned
    (peak × planner, at target utilisation), on the expected path of grid point 0."""
    if not d.public_customers or not d.pnl:
        return []
    month = str(d.horizon_months)
    c = next(r for r in d.public_customers if r["grid_index"] == "0" and r["month"] == month)
    p = next(r for r in d.pnl if r["grid_index"] == "0" and r["month"] == month)
    served = float(c["tokens_served"])
    if served <= 0:
        return []
    realised = float(p["cogs_public_eur"]) / served * 1e6
    priced = d.price_card["blended_cost_eur_per_1M"]
    basis = d.public_op["pricing_policy"]["public_tap"].get("cost_basis", "full_throughput")
    return [f"**Priced vs realised cost.** Prices are set on the `{basis}` cost basis: blended "
            f"cost {priced:.4f} EUR per 1M tokens. In month {month} of the reference path the "
            f"provisioned capacity (peak hour × planner at target utilisation, every public "
            f"model kept warm) costs {realised:.4f} EUR per 1M tokens served "
            f"({realised / priced:.1f}× the priced cost; `cogs_public_eur` of "
            f"`pnl_by_month.csv` ÷ `tokens_served` of `public_tap_customers_by_month.csv`). "
            + ("Set `pricing_policy.public_tap.cost_basis: planned_utilisation`, raise the "
               "target margin, or serve fewer models, to close the gap." if realised > priced
               else "The price covers the rented fleet."), ""]


def public_section(d: ReportData) -> list[str]:
    if d.prices is None:
        return ["## 3. Public Tap", "", "Not run (`--pipelines`).", ""]
    expiry = d.public_op["prepaid_policy"]["credits"]["expiry_months"]
    fx = d.market["market_env"]["finance"]["eur_usd_fx_rate"]["value"]
    lines = ["## 3. Public Tap: per-model economics", "",
             "Prices per model on its cheapest GPU class (`public_tap_prices_per_model.csv`, "
             "reference configuration: random variables at their means, grid variables at "
             "their default — e.g. the default target margin):", ""]
    lines += table(d.prices, ["model", "gpu", "cost_eur_per_1M", "sell_eur_per_1k",
                              "margin_pct", "margin_pct_stress", "tps_source", "status"])
    if d.margin_by_model:
        lines += ["", "Priced and **realised** margin per model, grid point 0's reference "
                  f"path, first {d.horizon_months} months (`public_tap_margin_by_model.csv`; "
                  "realised = revenue of the tokens served − the rented instances' GPU and "
                  "non-GPU cost; utilisation = tokens served ÷ the rented fleet's "
                  "full-throughput capacity):",
                  ""]
        lines += table([r for r in d.margin_by_model if r["grid_index"] == "0"],
                       ["model", "sell_eur_per_1k", "priced_margin_pct", "tokens_served",
                        "unserved_tokens", "revenue_eur", "gpu_cogs_eur", "realised_margin_pct",
                        "utilisation_pct"])
    lines += ["", "### How each price is derived", ""]
    lines += [f"- {price_derivation(r, d.public_op, fx)}" for r in d.prices]
    lines += ["", f"Blended sell price (model mix): "
              f"**{price_text(d.price_card['blended_sell_eur_per_1k'])} EUR per 1k tokens**.", ""]
    lines += realised_cost_lines(d)
    lines += [
              "### Credits terms", "",
              f"Tokens are sold as **prepaid, non-refundable credits, valid {expiry} months** "
              "from purchase; **service stops when the balance reaches zero** (no credit is "
              "extended). Credits are consumed over "
              f"{d.public_op['prepaid_policy']['credits']['credit_consumption_months']} month(s); "
              "unused credits expire as breakage revenue. Cash is received at purchase; revenue "
              "is recognised as credits are used or expire (deferred revenue in between). "
              "Credits the capped fleet cannot serve in the month they are due are refunded "
              "(a credit note): non-refundability covers credits a customer leaves unused, not "
              "service we could not deliver.", ""]
    if d.unserved:
        lines += unserved_lines(d)
    if d.scenarios:
        lines += ["### Scenarios (`public_tap_scenarios.csv`)", "",
                  "Worst/base/best multipliers on the reference path, with the same capacity "
                  "and cost basis as the P&L (base = the P&L's reference public lines):", ""]
        lines += table([r for r in d.scenarios if r["grid_index"] == "0"],
                       ["scenario", "period", "months", "new_customers", "active_customers_end",
                        "credits_sold_eur", "revenue_eur", "cogs_eur", "gross_margin_eur",
                        "priced_margin_pct", "realised_margin_pct", "unserved_tokens",
                        "marketing_eur", "net_eur"])
        lines.append("")
    return lines


def unserved_lines(d: ReportData) -> list[str]:
    """Unserved tokens per model in the last month of the horizon (grid point 0)."""
    month = str(d.horizon_months)
    rows = [r for r in d.unserved if r["grid_index"] == "0" and r["month"] == month]
    if not rows:
        return []
    lines = [f"### Demand the fleet cannot serve (month {month}, grid point 0)", "",
             "Per model, tokens demanded above what `max_instances_per_model` replicas serve at "
             "the planned utilisation in the peak hour; refunded, never billed "
             "(`public_tap_unserved_by_month.csv`, percentiles over the samples):", ""]
    lines += table(rows, ["model", "p10_unserved_tokens", "p50_unserved_tokens",
                          "p90_unserved_tokens", "p50_demanded_tokens", "p50_unserved_share_pct"])
    lines.append("")
    return lines


def private_section(d: ReportData) -> list[str]:
    if d.economics is None:
        return ["## 4. Private Tap", "", "Not run (`--pipelines`).", ""]
    lines = ["## 4. Private Tap: economics and vendors", "",
             "Sell price = median provider EUR/hr × (1 + markup); margins on the sell price, "
             "`margin_pct` against the median provider and `margin_vendor_pct` against the "
             "vendor actually paid, which acceptance judges (`private_tap_economics.csv`):", ""]
    lines += table(d.economics, ["gpu", "provider_eur_hr_med", "markup_pct", "sell_eur_hr",
                                 "margin_eur_hr", "margin_pct", "management_fee_eur_per_month",
                                 "base_fee_eur_per_month", "vendor_provider",
                                 "vendor_paid_eur_hr", "margin_vendor_pct"])
    lines += ["", "Recommended vendor per class (`private_vendor_recommendation.csv`):", ""]
    lines += table(d.vendors, ["gpu", "provider", "usd_hr", "eur_hr_effective", "score"])
    lines.append("")
    return lines


def _year_rows(rows: Rows, columns: Sequence[str], months: int) -> Rows:
    out = []
    for year in range((months + 11) // 12):
        sel = rows[year * 12:(year + 1) * 12]
        out.append({"year": str(year + 1),
                    **{c: f"{sum(float(r[c] or 0) for r in sel):.2f}" for c in columns}})
    return out


def salary_lines(d: ReportData) -> tuple[str, ...]:
    """The salary opex lines the P&L tables carry: both when some configuration of the run
    has a salary, none otherwise (the consolidation's rule, so report and CSVs agree)."""
    return SALARY_SERIES if d.pnl and f"p50_{SALARY_SERIES[0]}" in d.pnl[0] else ()


def salary_note(d: ReportData) -> list[str]:
    """Where the salary lines come from, with grid point 0's social-security rate."""
    if not salary_lines(d):
        return []
    pct = setting(d, "general", "tax.social_security_pct", "0", 0.0)
    return [f"Opex includes gross salaries (`salaries_eur`, `finance.salaries_monthly_eur`) and "
            f"the employer's social security on them (`social_security_eur`, "
            f"`tax.social_security_pct` = {pct:g} %), each a line of its own below.", ""]


def scenarios_section(d: ReportData) -> list[str]:
    cols = ["revenue_eur", "gross_margin_eur", *salary_lines(d), "opex_eur", "ebitda_eur",
            "net_income_eur"]
    grid0 = [r for r in d.pnl if r["grid_index"] == "0"]
    lines = ["## 5. Scenarios: monthly, yearly and full-term views (grid point 0)", "",
             *salary_note(d),
             "Monthly, first 12 months — the median (p50) of each line across the samples "
             "(`pnl_by_month.csv`; medians of separate lines do not add up):", ""]
    lines += table(grid0[:12], ["month", "calendar_month", *(f"p50_{c}" for c in cols),
                                "p10_ebitda_eur", "p90_ebitda_eur"],
                   ["month", "calendar month", *cols, "p10 EBITDA", "p90 EBITDA"])
    years = [r for r in d.pnl_by_year if r["grid_index"] == "0" and r["metric"] in cols]
    lines += ["", "Yearly and full term: each sample's sum, then the percentiles across samples "
              "(`pnl_by_year.csv`), beside the reference path:", ""]
    lines += table(years, ["year", "months", "metric", "p10", "p50", "p90", "reference"])
    lines.append("")
    lines += distributions_lines(d)
    return lines


def distribution_policy_text(*, founder_draw: str, draw_eur_per_month: float,
                             draw_pct_of_profit: float, dividend_pct: float,
                             withholding_pct: float, payment_lag_months: float,
                             reserve_months: float, emergency_fund_eur: float,
                             cash_buffer_eur: float) -> str:
    """The owner's distribution policy in words (``reserves.*``, ``tax.*``; EUR, pct 0..100);
    one sentence when nothing can be paid."""
    if founder_draw == "none" and dividend_pct == 0:
        return ("No distributions (`reserves.founder_draw_policy: none`, "
                "`reserves.distribution_policy.dividend_pct` 0).")
    draw = {"flat": f"{_eur(draw_eur_per_month)} a month (`flat`)",
            "percent_of_profit": f"{draw_pct_of_profit:g} % of each month's positive net income "
                                 "(`percent_of_profit`)"}.get(founder_draw, "none")
    dividend = (f"{dividend_pct:g} % of each fiscal year's net income less the year's draws, "
                f"paid {payment_lag_months:g} months after the year ends, with its corporate "
                "tax" if dividend_pct else "none")
    return (f"Founder draw: {draw}. Dividend: {dividend}. Dividend tax of {withholding_pct:g} % "
            "is withheld from every distribution, draws included (the owner receives the gross "
            "less it). Paid only from retained earnings, and never below the reserve floor: "
            f"max({reserve_months:g} months × (fixed costs + salaries + social security), "
            f"emergency fund {_eur(emergency_fund_eur)}) + cash buffer "
            f"{_eur(cash_buffer_eur)}, tested on free cash.")


def distribution_policy_of(d: ReportData, g: str) -> str:
    """Grid point ``g``'s distribution policy in words (its reference path's settings)."""
    def at(path: str, default: Any) -> Any:
        return setting(d, "general", path, g, default)

    return distribution_policy_text(
        founder_draw=at("reserves.founder_draw_policy", "none"),
        draw_eur_per_month=at("reserves.founder_draw_eur_per_month", 0.0),
        draw_pct_of_profit=at("reserves.founder_draw_pct_of_profit", 0.0),
        dividend_pct=at("reserves.distribution_policy.dividend_pct", 0.0),
        withholding_pct=at("tax.dividend_withholding_pct", 0.0),
        payment_lag_months=at("tax.corporate_tax_payment_lag_months", 5),
        reserve_months=at("reserves.reserve_months_target", 0.0),
        emergency_fund_eur=at("reserves.emergency_fund_eur", 0.0),
        cash_buffer_eur=at("reserves.cash_buffer_eur", 0.0))


def distribution_totals(d: ReportData) -> Rows:
    """Per grid point and period (horizon, term): the p50 of each sample's total of each
    distribution line (``consolidated_kpis.csv``, written when the run can pay)."""
    rows = []
    for g in d.acceptance["grid"]:
        for period, suffix in ((f"first {d.horizon_months} months", "_eur"),
                               (f"{d.term_months}-month term", "_term_eur")):
            cells = {s: _kpi(d.kpis, g, s.removesuffix("_eur") + suffix).get("p50")
                     for s in DISTRIBUTION_KPI_SERIES}
            if all(v is None for v in cells.values()):
                continue
            rows.append({"grid": g, "period": period, **{s: v or "" for s, v in cells.items()}})
    return rows


def reserve_floor_line(d: ReportData, g: str) -> str:
    """Grid point ``g``'s reserve floor on the reference path, first and last month."""
    rows = [r for r in d.cashflow if r["grid_index"] == g and r.get("reserve_floor_eur")]
    if not rows:
        return ""
    return (f"- Grid point {g}: reserve floor {_eur(float(rows[0]['reserve_floor_eur']))} in "
            f"month {rows[0]['month']}, {_eur(float(rows[-1]['reserve_floor_eur']))} in month "
            f"{rows[-1]['month']} (`reserve_floor_eur`, reference path).")


def distributions_lines(d: ReportData) -> list[str]:
    """"Distributions to the owner": the policy in words (once when every grid point shares
    it), the reserve floor, and the p50 totals per grid point."""
    if d.general is None:
        return []
    texts = {g: distribution_policy_of(d, g) for g in d.acceptance["grid"]}
    lines = ["### Distributions to the owner", ""]
    if len(set(texts.values())) == 1:
        lines += [next(iter(texts.values())), ""]
    else:
        lines += [*(f"- Grid point {g}: {t}" for g, t in texts.items()), ""]
    totals = distribution_totals(d)
    if not totals:
        return lines
    lines += [*filter(None, (reserve_floor_line(d, g) for g in texts)), ""]
    lines += ["Totals per grid point: the median (p50) over the samples of each sample's sum "
              "(`consolidated_kpis.csv`; medians do not add up). Distributions are equity, not "
              "expenses: they lower cash and retained earnings, never EBITDA, tax or the "
              "DSCR.", ""]
    lines += table(totals, ["grid", "period", *DISTRIBUTION_KPI_SERIES],
                   ["grid", "period", "founder draws", "dividends (gross)",
                    "dividend tax withheld", "distributions (gross)"])
    lines.append("")
    return lines


def break_even_section(d: ReportData) -> list[str]:
    lines = ["## 6. Break-even", "",
             "A month is covered when EBITDA ≥ 0 — the P&L's own definition, ad spend "
             "included.", ""]
    for g in d.acceptance["grid"]:
        be = _kpi(d.kpis, g, "months_to_ebitda_break_even")
        cum = _kpi(d.kpis, g, "months_to_cumulative_break_even")
        never = _num(_kpi(d.kpis, g, "ebitda_break_even_never"), "mean") or 0.0
        cum_never = _num(_kpi(d.kpis, g, "cumulative_break_even_never"), "mean") or 0.0
        lines.append(f"- Grid point {g}: first month with EBITDA ≥ 0 p50 {be.get('p50') or '—'} "
                     f"(p10 {be.get('p10') or '—'}, p90 {be.get('p90') or '—'}) among the "
                     f"{1 - never:.0%} of samples that get there; cumulative EBITDA turns "
                     f"positive at p50 month {cum.get('p50') or '—'} in the {1 - cum_never:.0%} "
                     f"of samples where it does within the {d.term_months}-month term.")
    rows = [r for r in d.break_even if r["grid_index"] == "0"][: d.horizon_months]
    lines += ["", "Revenue needed for EBITDA ≥ 0 at the month's gross margin, per sample then "
              "the median; `p_covered` is the share of samples with EBITDA ≥ 0 "
              "(`break_even_targets.csv`, grid point 0, horizon):", ""]
    lines += table(rows, ["month", "opex_eur", "p50_gross_margin_pct", "p50_revenue_needed_eur",
                          "p50_revenue_eur", "p50_ebitda_eur", "p_covered", "covered",
                          "reference_ebitda_eur", "public_customers_needed"])
    lines.append("")
    return lines


def balance_sheet_section(d: ReportData) -> list[str]:
    """Year-end balance sheets of grid point 0: reference path and medians."""
    if not d.balance_sheet:
        return []
    rows = [r for r in d.balance_sheet if r["grid_index"] == "0"
            and int(r["month"]) % 12 == 0]
    diff = max(d.summary["grid"][g]["balance_sheet_max_abs_difference_eur"]
               for g in d.summary["grid"])
    items = ["bs_cash_eur", "bs_receivables_eur", "bs_fixed_assets_net_eur",
             "bs_vat_receivable_eur", "bs_total_assets_eur", "bs_payables_eur",
             "bs_deferred_revenue_eur", "bs_vat_payable_eur", "bs_corporate_tax_payable_eur",
             "bs_loan_eur", "bs_overdraft_eur", "bs_funding_gap_eur", "bs_paid_in_capital_eur",
             "bs_retained_earnings_eur", "bs_total_equity_eur"]
    lines = ["## Balance sheet", "",
             "Year-end balance sheets, reference path (`balance_sheet_by_month.csv`; the file "
             "also has the p10/p50/p90 of every line). Assets = liabilities + equity in every "
             f"month of every sample: the largest difference is **EUR {diff:.2f}**.", ""]
    lines += table([{"line": i.removeprefix("bs_").removesuffix("_eur"),
                     **{f"m{r['month']}": r[i] for r in rows}} for i in items],
                   ["line", *(f"m{r['month']}" for r in rows)],
                   ["line", *(f"month {r['month']}" for r in rows)])
    lines.append("")
    return lines


def loan_section(d: ReportData) -> list[str]:
    total_interest = sum(float(r["interest"]) for r in d.loan)
    lines = ["## 7. Loan schedule", "",
             f"{len(d.loan)} monthly payments; total interest {_eur(total_interest)} "
             "(`loan_schedule.csv`; interest + principal = payment to the cent, closing balance "
             "0):", ""]
    lines += table(d.loan, ["month", "opening_principal", "interest", "principal", "payment",
                            "closing_principal"])
    lines.append("")
    return lines


def vat_section(d: ReportData) -> list[str]:
    cols = ["vat_collected_eur", "vat_paid_eur", "vat_remitted_eur"]
    grid0 = [r for r in d.vat if r["grid_index"] == "0"]
    policy = grid0[0]["policy"] if grid0 else "—"
    lines = ["## 8. VAT and compliance", "",
             f"VAT is charged on credits sold and private invoices and remitted with the lag set "
             f"in general.yaml; cash is set aside per policy `{policy}` (`vat_set_aside.csv`). "
             "GPU rentals from non-EU providers and ads bought from providers abroad are "
             "reverse-charged (VAT-neutral). Prepaid credits are sold to business customers "
             "under non-refundable terms; credits the fleet could not serve are refunded with a "
             "credit note that reverses their VAT.", ""]
    lines += table(_year_rows(grid0, cols, d.term_months), ["year", *cols])
    lines.append("")
    return lines


def safeguards_section(d: ReportData) -> list[str]:
    lines = ["## 9. Safeguards", "",
             "- Prices are rounded **up**, so rounding never lowers a margin below target; a "
             "model whose margin cannot be positive is not sold on the Public Tap.",
             "- The p90 stress (provider drift, slower throughput, wider FX buffer) is "
             "recomputed at the fixed sell prices; negative stressed margins are warnings.",
             "- Credits are prepaid and service halts at a zero balance: no receivable risk on "
             "the Public Tap.",
             "- Capacity is capped per model (`max_instances_per_model`): demand above the cap "
             "is not served, its credits are refunded and it is reported per model and month; "
             "revenue is never booked for tokens without capacity behind them.",
             "- Negative cash is never free: it draws the overdraft (interest in the P&L) up to "
             "its limit, beyond which it is a funding gap; free cash excludes VAT and tax owed.",
             f"- Covenant: minimum trailing-12-month DSCR ≥ "
             f"{d.plan['plan']['targets']['min_dscr']:g} and free cash ≥ "
             f"{d.plan['plan']['targets']['min_cash_eur']:g} EUR + the cash buffer; see the "
             "probabilities in §1.",
             ""]
    lines += ["Acceptance criteria: the share of samples meeting each (`probability`; a "
              f"criterion holds at ≥ {d.acceptance.get('min_acceptance_probability', 0.9):.0%}), "
              "and whether the reference path meets it (shown, not used):", ""]
    for g, info in d.acceptance["grid"].items():
        rows = [{"grid": g, "criterion": c["name"], "ok": "yes" if c["ok"] else "**no**",
                 "probability": ("— (reference card)" if c["name"].startswith("private_margin")
                                 else "— (p50 trace)") if c["probability"] is None
                 else f"{c['probability']:.1%}",
                 "reference": {True: "yes", False: "no"}.get(c.get("reference"), "—"),
                 "detail": c["detail"]} for c in info["criteria"]]
        lines += table(rows, ["grid", "criterion", "ok", "probability", "reference", "detail"])
        lines.append("")
    return lines


def autoscaling_section(d: ReportData) -> list[str]:
    if d.autoscaling is None:
        return ["## 10. Autoscaling", "", "Not run (`--pipelines`).", ""]
    lines = ["## 10. Autoscaling", "",
             f"Each public model's p50 and p90 demand traces over the horizon were replayed "
             f"through the threshold autoscaler ({d.scaling_events} scaling events in "
             "`public_tap_scaling_events.csv`). **The P&L's COGS is the planner's fleet** "
             "(replicas for each month's peak hour, rented all month), not the autoscaler's: "
             "the simulation is a what-if showing how many instance-hours a dynamic policy "
             "would rent (`instance_hours` vs `planner_instance_hours`) and how often demand "
             "would outrun ready replicas while they warm up (SLA ticks), including on models "
             "whose monthly demand the planner fully serves. KPIs for grid point 0 "
             "(`public_tap_autoscaling_kpis.csv`):", ""]
    lines += table([r for r in d.autoscaling if r["grid_index"] == "0"],
                   ["model", "gpu", "trace", "scale_events", "avg_util_pct", "p95_util_pct",
                    "sla_violations", "instance_hours", "planner_instance_hours",
                    "oracle_instance_hours", "gpu_cost_eur"])
    lines.append("")
    return lines


def data_quality_section(d: ReportData) -> list[str]:
    lines = ["## 11. Data-quality legend", "",
             "- **measured**: throughput from `facts/tps_model_gpu.csv` (source per row).",
             "- **heuristic:bandwidth / active_params / baseline**: no measurement for the pair; "
             "estimated from another GPU (memory-bandwidth ratio), other models on the GPU "
             "(active-parameter ratio) or the GPU's baseline — re-measure before launch.",
             "- Provider prices and market facts are list prices or public benchmarks with the "
             "source in the input files; they are estimates until contracted.", ""]
    if d.prices:
        rows = [{"model": r["model"], "gpu": r["gpu"], "throughput": r["tps_source"],
                 "price": "estimated from list prices"} for r in d.prices]
        lines += table(rows, ["model", "gpu", "throughput", "price"])
        lines.append("")
    count = warning_count(run_warnings(d.validation, d.price_card))  # as in run_summary.md
    lines += [f"{count.sentence()}: listed in `run_summary.md`.", ""]
    return lines


def charts_section(d: ReportData) -> list[str]:
    lines = ["## 12. Charts", ""]
    for file, caption in d.charts:
        lines += [f"![{caption}]({file})", "", f"*{caption}*", ""]
    return lines


def financial_plan_markdown(d: ReportData) -> str:
    lines = ["# Financial plan v3", "",
             "Deterministic Monte Carlo plan of a GPU-inference business: the Public Tap "
             "(tokens, prepaid credits) and the Private Tap (dedicated GPU-hours). Every table "
             "below is generated from the CSV it names in `outputs/`.", ""]
    for section in (executive_summary, inputs_section, public_section, private_section,
                    scenarios_section, break_even_section, balance_sheet_section,
                    loan_section, vat_section,
                    safeguards_section, autoscaling_section, data_quality_section,
                    charts_section):
        lines += section(d)
    return "\n".join(lines)
