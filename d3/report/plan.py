"""``financial_plan_v3.md``: the lender-facing report (SPEC §9, issue 15).

Every table names the CSV it comes from and shows its cells rounded for reading
(:mod:`d3.report.formatting`; the CSVs keep full precision). Grid points are named by the knob
values that define them; §1 says which grid point each section shows. Input text (model, GPU,
provider names, sources) is escaped, never read as Markdown.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from typing import Any

from d3.core.warning_count import run_warnings, warning_count
from d3.finance.kpis import DISTRIBUTION_KPI_SERIES
from d3.finance.tables import SALARY_SERIES
from d3.report.data import (
    ReportData,
    Rows,
    cell,
    focus_grid,
    grid_points_of,
    kpi,
    label,
    setting,
)
from d3.report.drivers import drivers_section
from d3.report.formatting import (
    MISSING,
    NOT_MEANINGFUL,
    Md,
    count_text,
    decimal_of,
    esc,
    eur_text,
    frac_pct_text,
    margin_text,
    millions_text,
    money_text,
    month_text,
    pct_text,
    per_1m_text,
    ratio_text,
    share_text,
    table,
    unit_price_text,
)
from d3.report.statements import grid_rows, statements_section, total, years
from d3.report.summary_text import executive_summary, realised_cost_ratio, short_name
from d3.report.what_it_takes import what_it_takes_section

__all__ = ["ReportData", "financial_plan_markdown", "grid_points_of", "dscr_text"]

_eur = eur_text


def dscr_text(value: str) -> str:
    """A DSCR cell as the CSV writes it, for a quick look: "n/m" (not meaningful) when the cash
    available for debt service is negative, "—" when there is no debt service."""
    if value in ("", None):
        return "—"
    return "n/m" if float(value) < 0 else value


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
    return f"`{esc(policy)}`"


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


def grid_lines(d: ReportData) -> list[str]:
    """What the grid varies, and each grid point's name beside its ``grid_index`` (the CSVs'
    key)."""
    axes = [f"`{o['path']}` (variable `{o['variable_id']}`)" for o in d.overrides
            if o["treatment"] == "low_to_high"]
    grid = list(d.acceptance["grid"])
    lines = [f"- Grid: {len(grid)} grid point(s)"
             + (f", varying {', '.join(axes)}" if axes else ", no `low_to_high` variable")
             + "; each is named by its knob values. The CSVs key them by `grid_index`:", ""]
    lines += table([{"g": g, "label": label(d, g)} for g in grid], ["label", "g"],
                   ["grid point", "grid_index in the CSVs"])
    return [*lines, ""]


def inputs_section(d: ReportData) -> list[str]:
    plan, seeds = d.plan["plan"], d.plan["seeds"]
    fx = d.market["market_env"]["finance"]["eur_usd_fx_rate"]
    counts = d.validation["counts"]
    space = d.summary["sample_space"]
    lines = ["## 2. Inputs, catalogue and grid points", "",
             f"- Seeds: {', '.join(f'{esc(k)} {v}' for k, v in seeds.items())}.",
             f"- Sample space: {space['grid_size']} grid points × {space['replicates']} "
             f"replicates × {space['simulations_per_run']} Monte Carlo iterations = "
             f"{count_text(space['samples'])} samples (futures).",
             f"- FX: {esc(fx['value'])} {esc(fx['unit'])} ({esc(fx['source'])}).",
             f"- Catalogue: {counts['models']} models, {counts['gpu_classes']} GPU classes from "
             f"{counts['providers']} providers ({counts['gpu_offers']} offers), "
             f"{counts['tps_rows']} throughput measurements.",
             f"- Stress test: provider prices +{plan['stress']['provider_price_drift_pct']:g} %, "
             f"throughput −{plan['stress']['tps_downshift_pct']:g} %, FX buffer "
             f"+{plan['stress']['fx_widen_buffer_pct']:g} pp.", *budget_lines(d), *grid_lines(d)]
    if d.vendor_choice:
        lines += ["Cheapest provider per GPU class (`public_vendor_choice.csv`):", ""]
        lines += table([{**r, "vram_gb": count_text(r["vram_gb"]),
                         "usd_hr": unit_price_text(r["usd_hr"]),
                         "eur_hr": unit_price_text(r["eur_hr"])} for r in d.vendor_choice],
                       ["gpu", "vram_gb", "provider", "usd_hr", "eur_hr", "providers"],
                       ["GPU", "VRAM (GB)", "provider", "price (USD per GPU-hour)",
                        "price (EUR per GPU-hour)", "providers quoting (count)"])
        lines.append("")
    models = d.catalog.get("models", [])
    if models:
        lines += ["Curated models:", ""]
        lines += table([{k: str(v) for k, v in m.items()} for m in models],
                       ["key", "params_b", "active_params_b", "architecture", "quantization",
                        "vram_needed_gb"], ["model", "parameters (B)", "active parameters (B)",
                                            "architecture", "quantization", "VRAM needed (GB)"])
        lines.append("")
    return lines


def price_derivation(r: Mapping[str, str], public_op: Mapping[str, Any], fx: float) -> str:
    """One model's price, step by step, from the same CSV row, per 1M tokens (the CSV's
    per-1k columns × 1000, exactly)."""
    buffer = public_op["meta"]["fx_buffer_pct"]
    ng = public_op["pricing_policy"]["public_tap"]["non_gpu_costs"]
    inc = public_op["pricing_policy"]["public_tap"]["round_increment_eur_per_1k"]
    cap = per_1m_text(r["max_cap_eur_per_1k"]) if r["max_cap_eur_per_1k"] else "none"
    return (
        f"**{esc(r['model'])}** on {esc(r['gpu'])} ({esc(r['provider'])}): EUR/hr per GPU = "
        f"{r['usd_hr']} USD × (1 + {buffer:g} %) / {fx:g} = {r['eur_hr']}; × "
        f"{r['gpus_per_instance']} GPU(s) = {r['instance_eur_hr']} EUR per instance-hour → "
        f"{r['tps']} tokens/s ({esc(r['tps_source'])}) = {r['tokens_per_hour']} tokens/hour → "
        f"GPU cost {r['gpu_cost_eur_per_1M']} EUR per 1M → × (1 + "
        f"{ng['infra_overhead_pct_of_gpu']:g} %) + {ng['base_eur_per_1M']:g} = cost "
        f"{r['cost_eur_per_1M']} EUR per 1M → ÷ (1 − {r['target_margin_pct']} %) = "
        f"{per_1m_text(r['unrounded_sell_eur_per_1k'])} EUR per 1M → rounded up to "
        f"{per_1m_text(repr(float(inc)))}: {per_1m_text(r['rounded_sell_eur_per_1k'])} → floor "
        f"{per_1m_text(r['min_floor_eur_per_1k'])}, cap {cap} → **sell "
        f"{per_1m_text(r['sell_eur_per_1k'])} EUR per 1M tokens**, margin "
        f"{pct_text(r['margin_pct'])} (p90 stress: {margin_text(r['margin_pct_stress'])})."
    )


def realised_cost_lines(d: ReportData, g: str) -> list[str]:
    """Priced cost (full throughput) against the cost of the capacity actually provisioned
    (peak × planner, at target utilisation), on grid point ``g``'s reference path."""
    ratio = realised_cost_ratio(d, g)
    if ratio is None:
        return []
    month, priced, realised = ratio
    basis = d.public_op["pricing_policy"]["public_tap"].get("cost_basis", "full_throughput")
    return [f"**Priced vs realised cost.** Prices are set on the `{esc(basis)}` cost basis: "
            f"blended cost {unit_price_text(priced)} EUR per 1M tokens. In month {month} of "
            f"{esc(label(d, g))}'s reference path the provisioned capacity (peak hour × planner "
            "at target utilisation, every public model kept warm) costs "
            f"{unit_price_text(realised)} EUR per 1M tokens served "
            f"({realised / priced:.1f}× the priced cost; `cogs_public_eur` of "
            f"`pnl_by_month.csv` ÷ `tokens_served` of `public_tap_customers_by_month.csv`). "
            + ("Set `pricing_policy.public_tap.cost_basis: planned_utilisation`, raise the "
               "target margin, or serve fewer models, to close the gap." if realised > priced
               else "The price covers the rented fleet."), ""]


def price_list_lines(d: ReportData) -> list[str]:
    ref = (f" = grid point {esc(label(d, d.reference_grid))}" if d.reference_grid is not None
           else ", not a grid point")
    lines = ["Price list per model on its cheapest GPU class (`public_tap_prices_per_model.csv`)"
             ", at the reference configuration: random variables at their means, grid variables "
             f"at their defaults{ref}. Per 1M tokens, as the market quotes (the CSV's per-1k "
             "columns × 1000):", ""]
    lines += table([{"model": r["model"], "gpu": r["gpu"],
                     "cost": unit_price_text(r["cost_eur_per_1M"]),
                     "sell": per_1m_text(r["sell_eur_per_1k"]),
                     "margin": margin_text(r["margin_pct"]),
                     "stress": margin_text(r["margin_pct_stress"]),
                     "source": r["tps_source"], "status": r["status"]} for r in d.prices],
                   ["model", "gpu", "cost", "sell", "margin", "stress", "source", "status"],
                   ["model", "GPU", "cost (EUR per 1M tokens)", "sell (EUR per 1M tokens)",
                    "margin (%)", "margin under p90 stress (%)", "throughput source", "status"])
    return [*lines, ""]


def grid_price_lines(d: ReportData) -> list[str]:
    """Each model's sell price at every grid point (``public_tap_margin_by_model.csv``)."""
    if not d.margin_by_model:
        return []
    grid = list(d.acceptance["grid"])
    sell = {(r["grid_index"], r["model"]): r["sell_eur_per_1k"] for r in d.margin_by_model}
    models = list(dict.fromkeys(r["model"] for r in d.margin_by_model))
    lines = ["Sell price per model at each grid point (`public_tap_margin_by_model.csv`, "
             "`sell_eur_per_1k` × 1000):", ""]
    lines += table([{"model": m, **{g: per_1m_text(sell.get((g, m))) for g in grid}}
                    for m in models], ["model", *grid],
                   ["model", *(f"{label(d, g)} (EUR per 1M tokens)" for g in grid)])
    return [*lines, ""]


def margin_by_model_lines(d: ReportData, g: str) -> list[str]:
    if not d.margin_by_model:
        return []
    lines = [f"Priced and **realised** margin per model, {esc(label(d, g))}, reference path, "
             f"first {d.horizon_months} months (`public_tap_margin_by_model.csv`; realised = "
             "revenue of the tokens served − the rented instances' GPU and non-GPU cost; "
             "utilisation = tokens served ÷ the rented fleet's full-throughput capacity):", ""]
    rows = [{"model": r["model"], "sell": per_1m_text(r["sell_eur_per_1k"]),
             "priced": margin_text(r["priced_margin_pct"]),
             "served": millions_text(r["tokens_served"]),
             "unserved": millions_text(r["unserved_tokens"]),
             "revenue": money_text(r["revenue_eur"]), "gpu": money_text(r["gpu_cogs_eur"]),
             "non_gpu": money_text(r.get("non_gpu_cogs_eur")),
             "realised": margin_text(r["realised_margin_pct"]),
             "util": pct_text(r["utilisation_pct"])}
            for r in d.margin_by_model if r["grid_index"] == g]
    lines += table(rows, ["model", "sell", "priced", "served", "unserved", "revenue", "gpu",
                          "non_gpu", "realised", "util"],
                   ["model", "sell (EUR per 1M tokens)", "priced margin (%)",
                    "tokens served (millions)", "tokens unserved (millions)", "revenue (EUR)",
                    "GPU cost (EUR)", "non-GPU cost (EUR)", "realised margin (%)",
                    "utilisation (%)"])
    return [*lines, ""]


def credits_lines(d: ReportData) -> list[str]:
    credits = d.public_op["prepaid_policy"]["credits"]
    return ["### Credits terms", "",
            f"Tokens are sold as **prepaid, non-refundable credits, valid "
            f"{credits['expiry_months']} months** from purchase; **service stops when the "
            "balance reaches zero** (no credit is extended). Credits are consumed over "
            f"{credits['credit_consumption_months']} month(s); unused credits expire as "
            "breakage revenue. Cash is received at purchase; revenue is recognised as credits "
            "are used or expire (deferred revenue in between). Credits the capped fleet cannot "
            "serve in the month they are due are refunded (a credit note): non-refundability "
            "covers credits a customer leaves unused, not service we could not deliver.", ""]


def public_section(d: ReportData) -> list[str]:
    if d.prices is None:
        return ["## 3. Public Tap", "", "Not run (`--pipelines`).", ""]
    g = focus_grid(d)
    fx = d.market["market_env"]["finance"]["eur_usd_fx_rate"]["value"]
    lines = ["## 3. Public Tap: per-model economics", "", *price_list_lines(d),
             *grid_price_lines(d), *margin_by_model_lines(d, g),
             "### How each price is derived", "",
             *(f"- {price_derivation(r, d.public_op, fx)}" for r in d.prices), "",
             f"Blended sell price (model mix): "
             f"**{per_1m_text(repr(float(d.price_card['blended_sell_eur_per_1k'])))} EUR per "
             "1M tokens**.", "", *realised_cost_lines(d, g), *credits_lines(d)]
    if d.unserved:
        lines += unserved_lines(d, g)
    if d.scenarios:
        lines += scenario_lines(d, g)
    return lines


def scenario_lines(d: ReportData, g: str) -> list[str]:
    lines = [f"### Scenarios ({esc(label(d, g))}, `public_tap_scenarios.csv`)", "",
             "Worst/base/best multipliers on the reference path, with the same capacity "
             "and cost basis as the P&L (base = the P&L's reference public lines):", ""]
    rows = [{"scenario": r["scenario"], "period": r["period"].replace("_", " "),
             "months": r["months"], "new": count_text(r["new_customers"]),
             "active": count_text(r["active_customers_end"]),
             **{k: money_text(r[c]) for k, c in (
                 ("credits", "credits_sold_eur"), ("revenue", "revenue_eur"),
                 ("cogs", "cogs_eur"), ("gm", "gross_margin_eur"),
                 ("marketing", "marketing_eur"), ("net", "net_eur"))},
             "priced": margin_text(r["priced_margin_pct"]),
             "realised": margin_text(r["realised_margin_pct"]),
             "unserved": millions_text(r["unserved_tokens"])}
            for r in d.scenarios if r["grid_index"] == g]
    lines += table(rows, ["scenario", "period", "months", "new", "active", "credits", "revenue",
                          "cogs", "gm", "priced", "realised", "unserved", "marketing", "net"],
                   ["scenario", "period", "months", "new customers (count)",
                    "active customers at the end (count)", "credits sold (EUR)",
                    "revenue (EUR)", "COGS (EUR)", "gross margin (EUR)", "priced margin (%)",
                    "realised margin (%)", "tokens unserved (millions)", "marketing (EUR)",
                    "net (EUR)"])
    return [*lines, ""]


def unserved_lines(d: ReportData, g: str) -> list[str]:
    """Unserved tokens per model in the last month of the horizon (grid point ``g``)."""
    month = str(d.horizon_months)
    rows = [r for r in d.unserved if r["grid_index"] == g and r["month"] == month]
    if not rows:
        return []
    lines = [f"### Demand the fleet cannot serve (month {month}, {esc(label(d, g))})", "",
             "Per model, tokens demanded above what `max_instances_per_model` replicas serve at "
             "the planned utilisation in the peak hour; refunded, never billed "
             "(`public_tap_unserved_by_month.csv`, percentiles over the futures):", ""]
    lines += table([{"model": r["model"],
                     **{q: millions_text(r[f"{q}_unserved_tokens"]) for q in ("p10", "p50",
                                                                              "p90")},
                     "demand": millions_text(r["p50_demanded_tokens"]),
                     "share": pct_text(r["p50_unserved_share_pct"])} for r in rows],
                   ["model", "p10", "p50", "p90", "demand", "share"],
                   ["model", "unserved p10 (millions of tokens)",
                    "unserved p50 (millions of tokens)", "unserved p90 (millions of tokens)",
                    "demanded p50 (millions of tokens)", "unserved share p50 (%)"])
    return [*lines, ""]


def private_section(d: ReportData) -> list[str]:
    if d.economics is None:
        return ["## 4. Private Tap", "", "Not run (`--pipelines`).", ""]
    lines = ["## 4. Private Tap: economics and vendors", "",
             "Sell price = median provider EUR/hr × (1 + markup); margins on the sell price, "
             "against the median provider and against the vendor actually paid, which "
             "acceptance judges (`private_tap_economics.csv`, reference configuration):", ""]
    rows = [{"gpu": r["gpu"], "median": unit_price_text(r["provider_eur_hr_med"]),
             "markup": pct_text(r["markup_pct"]), "sell": unit_price_text(r["sell_eur_hr"]),
             "margin_eur": unit_price_text(r["margin_eur_hr"]),
             "margin": margin_text(r["margin_pct"]),
             "mgmt": money_text(r["management_fee_eur_per_month"]),
             "base": money_text(r["base_fee_eur_per_month"]), "vendor": r["vendor_provider"],
             "paid": unit_price_text(r["vendor_paid_eur_hr"]),
             "margin_vendor": margin_text(r["margin_vendor_pct"])} for r in d.economics]
    lines += table(rows, ["gpu", "median", "markup", "sell", "margin_eur", "margin", "mgmt",
                          "base", "vendor", "paid", "margin_vendor"],
                   ["GPU", "median provider (EUR per GPU-hour)", "markup (%)",
                    "sell (EUR per GPU-hour)", "margin (EUR per GPU-hour)",
                    "margin vs median (%)", "management fee (EUR per month)",
                    "base fee (EUR per month)", "vendor", "vendor paid (EUR per GPU-hour)",
                    "margin vs vendor paid (%)"])
    lines += ["", "Recommended vendor per class (`private_vendor_recommendation.csv`):", ""]
    lines += table([{"gpu": r["gpu"], "provider": r["provider"],
                     "usd": unit_price_text(r["usd_hr"]),
                     "eur": unit_price_text(r["eur_hr_effective"]),
                     "score": unit_price_text(r["score"], 3)} for r in d.vendors],
                   ["gpu", "provider", "usd", "eur", "score"],
                   ["GPU", "provider", "price (USD per GPU-hour)",
                    "effective price (EUR per GPU-hour)", "score (0–1)"])
    lines.append("")
    return lines


def salary_lines(d: ReportData) -> tuple[str, ...]:
    """The salary opex lines the P&L tables carry: both when some configuration of the run
    has a salary, none otherwise (the consolidation's rule, so report and CSVs agree)."""
    return SALARY_SERIES if d.pnl and f"p50_{SALARY_SERIES[0]}" in d.pnl[0] else ()


def salary_note(d: ReportData, g: str) -> list[str]:
    """Where the salary lines come from, with grid point ``g``'s social-security rate."""
    if not salary_lines(d):
        return []
    pct = setting(d, "general", "tax.social_security_pct", g, 0.0)
    return [f"Opex includes gross salaries (`salaries_eur`, `finance.salaries_monthly_eur`) and "
            f"the employer's social security on them (`social_security_eur`, "
            f"`tax.social_security_pct` = {pct:g} %), each a line of its own below.", ""]


LINE_NAME = {"revenue_eur": "revenue", "gross_margin_eur": "gross margin",
             "salaries_eur": "salaries", "social_security_eur": "social security",
             "opex_eur": "opex", "ebitda_eur": "EBITDA", "net_income_eur": "net income"}

# consolidated_kpis.csv metrics shown per grid point in §6: (label with its unit, formatter)
KPI_ROWS = (
    ("revenue_total_eur", "revenue, first {h} months (EUR)", money_text),
    ("ebitda_eur", "EBITDA, first {h} months (EUR)", money_text),
    ("net_income_eur", "net income, first {h} months (EUR)", money_text),
    ("public_priced_margin_pct", "Public Tap priced margin (%)", margin_text),
    ("public_realised_margin_pct", "Public Tap realised margin (%)", margin_text),
    ("unserved_tokens_share_pct", "tokens unserved (% of demand)", pct_text),
    ("min_free_cash_eur", "lowest free cash, {t}-month term (EUR)", money_text),
    ("funding_need_eur", "funding need, first {h} months (EUR)", money_text),
    ("funding_need_term_eur", "funding need, {t}-month term (EUR)", money_text),
    ("min_dscr_t12", "lowest trailing-12-month DSCR (×)", ratio_text),
    ("months_to_ebitda_break_even", "first month with EBITDA ≥ 0 (month)", month_text),
    ("runway_months", "runway without more money (months)", month_text),
)


def kpi_table(d: ReportData, g: str) -> list[str]:
    cols = [*(f"p{q}" for q in d.percentiles), "mean", "se_p50", "reference"]
    rows = []
    for metric, name, fmt in KPI_ROWS:
        row = kpi(d, g, metric)
        if row:
            rows.append({"metric": name.format(h=d.horizon_months, t=d.term_months),
                         **{c: fmt(row.get(c)) for c in cols}})
    never = cell(kpi(d, g, "runway_never_ends"), "mean")
    out = table(rows, ["metric", *cols], ["metric (unit)", *cols])
    if never is not None:
        out += ["", f"Free cash never runs out within the {d.term_months}-month term in "
                f"{frac_pct_text(never)} of "
                "futures (`runway_never_ends`)."]
    return out


def outcomes_per_grid(d: ReportData) -> list[str]:
    lines = []
    covenant = d.plan["plan"]["targets"]["min_dscr"]
    for g, info in d.acceptance["grid"].items():
        cov = d.summary["grid"][g]["covenants"]
        lines += [f"### {esc(label(d, g))}: "
                  f"{'accepted' if info['accepted'] else 'not accepted'}", "",
                  *kpi_table(d, g), "",
                  f"- Probability that the lowest trailing-12-month DSCR falls below "
                  f"{ratio_text(covenant)}: **{frac_pct_text(cov['p_min_dscr_t12_below_target'])}"
                  "**",
                  f"- Probability of drawing the overdraft (net cash < 0) in any month: "
                  f"**{frac_pct_text(cov['p_cash_negative_any_month'])}**; of a funding gap "
                  f"beyond the overdraft limit: **{frac_pct_text(cov['p_funding_gap_any_month'])}"
                  "**",
                  f"- Largest loan keeping the p10 DSCR at the covenant: "
                  f"**{_eur(cov['max_loan_eur_p10_dscr'])}** (± "
                  f"{money_text(cov['max_loan_tolerance_eur'])})", ""]
    return lines


def scenarios_section(d: ReportData) -> list[str]:
    """§6: every grid point's outcomes across futures (``consolidated_kpis.csv``), then the P&L
    percentiles of the grid point the statements show."""
    g = focus_grid(d)
    space = d.summary["sample_space"]
    lines = ["## 6. Scenarios: outcomes across futures (month, year, full term)", "",
             "Flows are summed over the horizon; cash and DSCR are checked over the loan term. "
             "Percentiles are taken per sample first, then across the futures (replicates × "
             "Monte Carlo) of each grid point (`consolidated_kpis.csv`). The futures of one "
             "replicate share their parameter draws: each grid point rests on "
             f"**{space['replicates']} independent parameter draws** × "
             f"{space['simulations_per_run']} Monte Carlo paths, and `se_p50` is the "
             "between-replicate standard error of the median (docs/FINANCE.md). `reference` is "
             "the reference path (every random variable at its mean, no outcome noise): shown, "
             "never used to decide. A DSCR is n/m (not meaningful) when EBITDA − tax paid is "
             "negative.", "", *outcomes_per_grid(d), *pnl_percentile_lines(d, g)]
    return lines


def pnl_percentile_lines(d: ReportData, g: str) -> list[str]:
    """Grid point ``g``'s P&L across futures: the monthly p50 of year 1 (``pnl_by_month.csv``)
    and the yearly and full-term percentiles beside the reference path (``pnl_by_year.csv``)."""
    cols = ["revenue_eur", "gross_margin_eur", *salary_lines(d), "opex_eur", "ebitda_eur",
            "net_income_eur"]
    first = grid_rows(d.pnl, g)[:12]
    lines = [f"### P&L across futures, {esc(label(d, g))}", "", *salary_note(d, g),
              "Monthly, first 12 months — the median (p50) of each line across the futures "
              "(`pnl_by_month.csv`; medians of separate lines do not add up):", ""]
    lines += table([{"month": r["month"], "calendar": r["calendar_month"],
                     **{c: money_text(r.get(f"p50_{c}")) for c in cols},
                     "p10": money_text(r.get("p10_ebitda_eur")),
                     "p90": money_text(r.get("p90_ebitda_eur"))} for r in first],
                   ["month", "calendar", *cols, "p10", "p90"],
                   ["month", "calendar month", *(f"{LINE_NAME[c]} p50 (EUR)" for c in cols),
                    "EBITDA p10 (EUR)", "EBITDA p90 (EUR)"])
    years_ = [r for r in d.pnl_by_year if r["grid_index"] == g and r["metric"] in cols]
    lines += ["", "Yearly and full term: each future's sum, then the percentiles across futures "
              "(`pnl_by_year.csv`), beside the reference path:", ""]
    lines += table([{"year": r["year"], "months": r["months"],
                     "metric": f"{LINE_NAME[r['metric']]} (EUR)",
                     **{c: money_text(r[c]) for c in ("p10", "p50", "p90", "reference")}}
                    for r in years_],
                   ["year", "months", "metric", "p10", "p50", "p90", "reference"],
                   ["year", "months", "line (unit)", "p10", "p50", "p90", "reference"])
    lines.append("")
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
            cells = {s: kpi(d, g, s.removesuffix("_eur") + suffix).get("p50")
                     for s in DISTRIBUTION_KPI_SERIES}
            if all(v is None for v in cells.values()):
                continue
            rows.append({"grid": label(d, g), "period": period,
                         **{s: money_text(v or "") for s, v in cells.items()}})
    return rows


def reserve_floor_line(d: ReportData, g: str) -> str:
    """Grid point ``g``'s reserve floor on the reference path, first and last month."""
    rows = [r for r in d.cashflow if r["grid_index"] == g and r.get("reserve_floor_eur")]
    if not rows:
        return ""
    return (f"- {esc(label(d, g))}: reserve floor {_eur(rows[0]['reserve_floor_eur'])} in "
            f"month {rows[0]['month']}, {_eur(rows[-1]['reserve_floor_eur'])} in month "
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
        lines += [*(f"- {esc(label(d, g))}: {t}" for g, t in texts.items()), ""]
    totals = distribution_totals(d)
    if not totals:
        return lines
    lines += [*filter(None, (reserve_floor_line(d, g) for g in texts)), ""]
    lines += ["Totals per grid point: the median (p50) over the futures of each future's sum "
              "(`consolidated_kpis.csv`; medians do not add up). Distributions are equity, not "
              "expenses: they lower cash and retained earnings, never EBITDA, tax or the "
              "DSCR.", ""]
    lines += table(totals, ["grid", "period", *DISTRIBUTION_KPI_SERIES],
                   ["grid point", "period", "founder draws (EUR)", "dividends, gross (EUR)",
                    "dividend tax withheld (EUR)", "distributions, gross (EUR)"])
    lines.append("")
    return lines


def break_even_section(d: ReportData) -> list[str]:
    g = focus_grid(d)
    lines = ["## 7. Break-even", "",
             "A month is covered when EBITDA ≥ 0 — the P&L's own definition, ad spend "
             "included.", ""]
    for h in d.acceptance["grid"]:
        be = kpi(d, h, "months_to_ebitda_break_even")
        cum = kpi(d, h, "months_to_cumulative_break_even")
        never = cell(kpi(d, h, "ebitda_break_even_never"), "mean") or 0.0
        cum_never = cell(kpi(d, h, "cumulative_break_even_never"), "mean") or 0.0
        lines.append(f"- {esc(label(d, h))}: first month with EBITDA ≥ 0 p50 "
                     f"{month_text(be.get('p50'))} (p10 {month_text(be.get('p10'))}, p90 "
                     f"{month_text(be.get('p90'))}) among the {frac_pct_text(1 - never)} of "
                     "futures that get there; cumulative EBITDA turns positive at p50 month "
                     f"{month_text(cum.get('p50'))} in the {frac_pct_text(1 - cum_never)} of "
                     f"futures where it does within the {d.term_months}-month term.")
    rows = grid_rows(d.break_even, g)[: d.horizon_months]
    lines += ["", "Revenue needed for EBITDA ≥ 0 at the month's gross margin, per future then "
              "the median (n/m while the gross margin is negative: no revenue covers the opex)"
              f" (`break_even_targets.csv`, {esc(label(d, g))}, horizon):", ""]
    lines += table([{"month": r["month"], "opex": money_text(r["opex_eur"]),
                     "gm": margin_text(r["p50_gross_margin_pct"]),
                     "needed": _or_nm(money_text, r["p50_revenue_needed_eur"]),
                     "revenue": money_text(r["p50_revenue_eur"]),
                     "ebitda": money_text(r["p50_ebitda_eur"]),
                     "covered": frac_pct_text(r["p_covered"]),
                     "reference": money_text(r["reference_ebitda_eur"]),
                     "customers": _or_nm(count_text, r["public_customers_needed"])}
                    for r in rows],
                   ["month", "opex", "gm", "needed", "revenue", "ebitda", "covered",
                    "reference", "customers"],
                   ["month", "opex (EUR)", "gross margin p50 (%)", "revenue needed p50 (EUR)",
                    "revenue p50 (EUR)", "EBITDA p50 (EUR)", "futures covered (%)",
                    "EBITDA, reference path (EUR)", "Public Tap customers needed (count)"])
    lines.append("")
    return lines


def _or_nm(fmt, value: str) -> str:
    return NOT_MEANINGFUL if decimal_of(value) is None else fmt(value)


def vat_section(d: ReportData) -> list[str]:
    g = focus_grid(d)
    rows = grid_rows(d.vat, g)
    policy = rows[0]["policy"] if rows else MISSING
    cols = ["vat_collected_eur", "vat_paid_eur", "vat_remitted_eur"]
    by_month = {int(r["month"]): r for r in rows}
    lines = ["## 8. VAT and compliance", "",
             f"VAT is charged on credits sold and private invoices and remitted with the lag set "
             f"in general.yaml; cash is set aside per policy `{esc(policy)}` "
             "(`vat_set_aside.csv`). GPU rentals from non-EU providers and ads bought from "
             "providers abroad are reverse-charged (VAT-neutral). Prepaid credits are sold to "
             "business customers under non-refundable terms; credits the fleet could not serve "
             "are refunded with a credit note that reverses their VAT. By year, "
             f"{esc(label(d, g))}, reference path:", ""]
    lines += table([{"year": str(i + 1),
                     **{c: money_text(total([by_month[m] for m in span if m in by_month], c))
                        for c in cols}} for i, span in enumerate(years(d.term_months))],
                   ["year", *cols], ["year", "VAT collected (EUR)",
                                     "VAT paid on purchases (EUR)", "VAT remitted (EUR)"])
    lines.append("")
    return lines


def safeguards_section(d: ReportData) -> list[str]:
    targets = d.plan["plan"]["targets"]
    lines = ["## 9. Safeguards and acceptance criteria", "",
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
             f"- Covenant: lowest trailing-12-month DSCR ≥ {ratio_text(targets['min_dscr'])} "
             f"and free cash ≥ {_eur(targets['min_cash_eur'])} + the cash buffer; see §1.",
             ""]
    lines += ["Acceptance criteria per grid point: the share of futures meeting each (a "
              "criterion holds at ≥ "
              f"{share_text(d.acceptance.get('min_acceptance_probability', 0.9))}), and "
              "whether the reference path meets it (shown, not used):", ""]
    for g, info in d.acceptance["grid"].items():
        rows = [{"grid": label(d, g),
                 "criterion": Md(f"{esc(short_name(c['name']))} (`{c['name']}`)"),
                 "ok": "yes" if c["ok"] else Md("**no**"),
                 "probability": ("— (reference card)" if c["name"].startswith("private_margin")
                                 else "— (median trace)") if c["probability"] is None
                 else frac_pct_text(c["probability"]),
                 "reference": {True: "yes", False: "no"}.get(c.get("reference"), MISSING),
                 "detail": c["detail"]} for c in info["criteria"]]
        lines += table(rows, ["grid", "criterion", "ok", "probability", "reference", "detail"],
                       ["grid point", "criterion", "holds", "futures meeting it (%)",
                        "reference path meets it", "detail"])
        lines.append("")
    return lines


def autoscaling_section(d: ReportData) -> list[str]:
    if d.autoscaling is None:
        return ["## 10. Autoscaling", "", "Not run (`--pipelines`).", ""]
    g = focus_grid(d)
    interval = (d.public_op or {}).get("autoscaling", {}).get("evaluation_interval_s", 60)
    lines = ["## 10. Autoscaling", "",
             f"Each public model's p50 and p90 demand traces over the first {d.horizon_months} "
             "months were replayed through the threshold autoscaler, one check every "
             f"{interval:g} s ({count_text(d.scaling_events)} scaling events in "
             "`public_tap_scaling_events.csv`). **The P&L's COGS is the planner's fleet** "
             "(replicas for each month's peak hour, rented all month), not the autoscaler's: "
             "the simulation is a what-if showing how many instance-hours a dynamic policy "
             "would rent (autoscaler vs planner instance-hours) and how often demand would "
             f"outrun ready replicas while they warm up (SLA violations: checks of {interval:g} "
             "s with demand above the ready capacity), including on models whose monthly "
             "demand the planner fully serves. KPIs for "
             f"{esc(label(d, g))} (`public_tap_autoscaling_kpis.csv`):", ""]
    rows = [{"model": r["model"], "gpu": r["gpu"], "trace": r["trace"],
             "events": count_text(r["scale_events"]), "avg": pct_text(r["avg_util_pct"]),
             "p95": pct_text(r["p95_util_pct"]), "sla": count_text(r["sla_violations"]),
             "hours": count_text(r["instance_hours"]),
             "planner": count_text(r["planner_instance_hours"]),
             "oracle": count_text(r["oracle_instance_hours"]),
             "cost": money_text(r["gpu_cost_eur"])}
            for r in d.autoscaling if r["grid_index"] == g]
    lines += table(rows, ["model", "gpu", "trace", "events", "avg", "p95", "sla", "hours",
                          "planner", "oracle", "cost"],
                   ["model", "GPU", "demand trace", "scale events (count)",
                    "average utilisation (%)", "p95 utilisation (%)",
                    f"SLA violations (ticks of {interval:g} s)",
                    "instance-hours, autoscaler (h)", "instance-hours, planner (h)",
                    "instance-hours, oracle (h)", "GPU cost, autoscaler (EUR)"])
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
        lines += table(rows, ["model", "gpu", "throughput", "price"],
                       ["model", "GPU", "throughput", "price"])
        lines.append("")
    count = warning_count(run_warnings(d.validation, d.price_card))  # as in run_summary.md
    lines += [f"{count.sentence()}: listed in `run_summary.md`.", ""]
    return lines


def charts_section(d: ReportData) -> list[str]:
    lines = ["## 12. Charts", ""]
    for file, caption in d.charts:
        lines += [f"![{esc(caption)}]({file})", "", f"*{esc(caption)}*", ""]
    return lines


def statements_and_distributions(d: ReportData) -> list[str]:
    """§5: the statements, then the owner's distributions (policy and totals)."""
    return [*statements_section(d), *distributions_lines(d)]


SECTIONS = (what_it_takes_section, executive_summary, drivers_section, inputs_section,
            public_section, private_section, statements_and_distributions, scenarios_section,
            break_even_section, vat_section, safeguards_section, autoscaling_section,
            data_quality_section, charts_section)


def financial_plan_markdown(d: ReportData) -> str:
    lines = ["# Financial plan v3", "",
             "Deterministic Monte Carlo plan of a GPU-inference business: the Public Tap "
             "(tokens, prepaid credits) and the Private Tap (dedicated GPU-hours). Every table "
             "below names the CSV in `outputs/` it comes from; the tables round for reading "
             "(money to whole euros, percentages to 0.1, ratios to 0.01), the CSVs keep full "
             "precision. A *future* is one simulated sample.", ""]
    for section in SECTIONS:
        lines += section(d)
    return "\n".join(lines)

