"""§1 of the report: the executive summary in words (issue 15).

The verdict; why, as the two or three most important failing criteria in plain language with
their probabilities; the funding need at 90 % confidence; priced against realised margin; what
the grid comparison shows; and one table comparing every grid point. Every number is a cell of
``consolidated_kpis.csv`` or ``acceptance.json`` written by :mod:`d3.report.formatting`.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

from d3.report.data import ReportData, cell, failing, focus_grid, kpi, label, setting
from d3.report.drivers import driver_sentence
from d3.report.formatting import (
    MISSING,
    Md,
    count_text,
    esc,
    eur_text,
    frac_pct_text,
    margin_text,
    money_text,
    month_text,
    pct_text,
    ratio_text,
    share_text,
    table,
)

# Which failing criteria "why" names first: the lender's covenants, then what makes the
# money (margin, capacity, growth), then the operational checks decided on one trace.
IMPORTANCE = ("min_dscr", "min_cash", "public_realised_margin", "no_capacity_violation",
              "public_customers_non_decreasing", "private_clients_non_decreasing",
              "private_margin_per_class", "autoscaler_no_sla_violations",
              "autoscaler_p95_util_within_tolerance")
WHY_SHOWN = 3

SHORT_NAME = {
    "min_dscr": "the DSCR covenant", "min_cash": "the minimum free cash",
    "public_realised_margin": "the realised Public Tap margin floor",
    "no_capacity_violation": "the fleet cap",
    "public_customers_non_decreasing": "steady Public Tap customer growth",
    "private_clients_non_decreasing": "steady Private Tap client growth",
    "private_margin_per_class": "the Private Tap margin floor",
    "autoscaler_no_sla_violations": "the autoscaler's service level",
    "autoscaler_p95_util_within_tolerance": "the autoscaler's utilisation band",
}


def short_name(name: str) -> str:
    """A criterion in a few words (its code name with spaces when it is a new one)."""
    return SHORT_NAME.get(name, name.replace("_", " "))


def importance(c: Mapping[str, Any]) -> tuple[int, float]:
    rank = IMPORTANCE.index(c["name"]) if c["name"] in IMPORTANCE else len(IMPORTANCE)
    return rank, c["probability"] if c["probability"] is not None else 1.0


def _futures(d: ReportData, c: Mapping[str, Any]) -> str:
    bar = share_text(d.acceptance.get("min_acceptance_probability", 0.9))
    return f"in only {frac_pct_text(c['probability'])} of futures; the lender asks for {bar}"


def dscr_by_year(d: ReportData, g: str) -> list[str]:
    """The reference path's trailing-12-month DSCR at each year end (``cashflow_by_month.csv``),
    e.g. ``["n/m", "9.34×", "24.94×"]``."""
    ends = [r for r in d.cashflow if r["grid_index"] == g
            and (int(r["month"]) % 12 == 0 or int(r["month"]) == d.term_months)]
    return [ratio_text(r["dscr_t12"]) for r in sorted(ends, key=lambda r: int(r["month"]))]


def _dscr(d: ReportData, g: str, c: Mapping[str, Any]) -> str:
    covenant = d.plan["plan"]["targets"]["min_dscr"]
    years = dscr_by_year(d, g)
    return (f"**Debt service:** the trailing-12-month DSCR stays at or above the covenant "
            f"{ratio_text(covenant)} from month 12 to month {d.term_months} {_futures(d, c)}."
            + (f" On the reference path it is {', '.join(years)} at the ends of years 1 to "
               f"{len(years)} (§5): the weakest year decides." if years else ""))


def _cash(d: ReportData, g: str, c: Mapping[str, Any]) -> str:
    floor = d.plan["plan"]["targets"]["min_cash_eur"]
    buffer = setting(d, "general", "reserves.cash_buffer_eur", g, 0.0)
    return (f"**Cash:** free cash (cash − overdraft − VAT and tax owed) stays at or above "
            f"{eur_text(floor + buffer)} (minimum cash {eur_text(floor)} + cash buffer "
            f"{eur_text(buffer)}) in every month of the {d.term_months}-month term "
            f"{_futures(d, c)}.")


def _capacity(d: ReportData, g: str, c: Mapping[str, Any]) -> str:
    cap = setting(d, "public_tap", "autoscaling.max_instances_per_model", g)
    fleet = f"the fleet cap of {count_text(cap)} instances per model" if cap else "the fleet cap"
    return (f"**Capacity:** demand fits within {fleet} in every month of the first "
            f"{d.horizon_months} months {_futures(d, c)}.")


def _customers(d: ReportData, g: str, c: Mapping[str, Any]) -> str:
    tap = "Public Tap customers" if c["name"].startswith("public") else "Private Tap clients"
    growth = d.plan["plan"]["targets"].get("public_growth_min_mom_pct", 0) \
        if c["name"].startswith("public") else 0
    more = f" and grow at least {pct_text(growth)} a month" if growth else ""
    return (f"**Growth:** active {tap} never fall from one month to the next{more} over the "
            f"first {d.horizon_months} months {_futures(d, c)}.")


def _realised(d: ReportData, g: str, c: Mapping[str, Any]) -> str:
    floor = d.plan["plan"]["targets"].get("public_realised_margin_min_pct")
    return (f"**Realised margin:** the Public Tap's realised gross margin over the first "
            f"{d.horizon_months} months reaches {pct_text(floor)} {_futures(d, c)}.")


def _private_margin(d: ReportData, g: str, c: Mapping[str, Any]) -> str:
    threshold = d.plan["plan"]["targets"]["private_margin_threshold_pct"]
    return (f"**Private Tap margin:** at least one GPU class earns less than "
            f"{pct_text(threshold)} on the vendor actually paid (reference price card; §9 "
            "lists every class).")


def _median_trace(d: ReportData, g: str) -> list[dict[str, str]]:
    return [r for r in d.autoscaling or [] if r["grid_index"] == g and r["trace"] == "p50"]


def _utilisation(d: ReportData, g: str, c: Mapping[str, Any]) -> str:
    off = [r for r in _median_trace(d, g) if r["p95_within_tolerance"] != "true"]
    target = setting(d, "public_tap", "autoscaling.target_utilization_pct", g)
    tolerance = d.plan["plan"]["targets"]["autoscaling_util_tolerance_pct"]
    names = ", ".join(f"{esc(r['model'])} {pct_text(r['p95_util_pct'])}" for r in off)
    return (f"**Autoscaling:** on the median demand trace, the 95th-percentile utilisation of "
            f"{len(off)} model(s) lies outside {pct_text(target)} ± {pct_text(tolerance)}"
            + (f": {names}." if names else "."))


def _sla(d: ReportData, g: str, c: Mapping[str, Any]) -> str:
    late = sorted((r for r in _median_trace(d, g) if float(r["sla_violations"]) > 0),
                  key=lambda r: (-float(r["sla_violations"]), r["model"]))
    interval = (d.public_op or {}).get("autoscaling", {}).get("evaluation_interval_s", 60)
    ticks = sum(int(float(r["sla_violations"])) for r in late)
    worst = (f" (most: {esc(late[0]['model'])}, {count_text(late[0]['sla_violations'])})"
             if late else "")
    return (f"**Autoscaling:** on the median demand trace, demand outruns the ready replicas "
            f"in {count_text(ticks)} ticks of {interval:g} s across {len(late)} model(s)"
            f"{worst} over the first {d.horizon_months} months.")


SENTENCE: dict[str, Callable[[ReportData, str, Mapping[str, Any]], str]] = {
    "min_dscr": _dscr, "min_cash": _cash, "no_capacity_violation": _capacity,
    "public_customers_non_decreasing": _customers, "private_clients_non_decreasing": _customers,
    "public_realised_margin": _realised, "private_margin_per_class": _private_margin,
    "autoscaler_p95_util_within_tolerance": _utilisation, "autoscaler_no_sla_violations": _sla,
}


def criterion_sentence(d: ReportData, g: str, c: Mapping[str, Any]) -> str:
    """A failing criterion of grid point ``g`` in plain language, with its probability (the
    share of futures meeting it) when it has one; never its code name."""
    if c["name"] in SENTENCE:
        return SENTENCE[c["name"]](d, g, c)
    prob = f" {_futures(d, c)}" if c["probability"] is not None else ""
    return f"**{esc(short_name(c['name']).capitalize())}** fails{prob}."


def probability(d: ReportData, g: str, name: str) -> float | None:
    c = next((c for c in d.acceptance["grid"][g].get("criteria", []) if c["name"] == name),
             None)
    return None if c is None else c["probability"]


def verdict_lines(d: ReportData) -> list[str]:
    grid = d.acceptance["grid"]
    passed = [g for g, info in grid.items() if info.get("accepted")]
    space = d.summary["sample_space"]
    if len(passed) == len(grid):
        head = (f"**Verdict: accepted.** All {len(grid)} grid point(s) meet every acceptance "
                "criterion.")
    elif not passed:
        head = (f"**Verdict: not accepted.** None of the {len(grid)} grid points meets every "
                "acceptance criterion.")
    else:
        head = (f"**Verdict: not accepted as a whole.** {len(passed)} of {len(grid)} grid "
                f"points meet every criterion ({', '.join(esc(label(d, g)) for g in passed)}); "
                "the run's verdict asks it of every grid point.")
    bar = share_text(d.acceptance.get("min_acceptance_probability", 0.9))
    futures = space["replicates"] * space["simulations_per_run"]
    return [f"{head} A criterion holds when at least {bar} of a grid point's futures meet it. "
            f"Each grid point is {count_text(futures)} futures: "
            f"{space['replicates']} independent parameter draws × "
            f"{space['simulations_per_run']} Monte Carlo paths, judged over the first "
            f"{d.horizon_months} months (cash and DSCR over the {d.term_months}-month loan "
            "term).", ""]


def why_lines(d: ReportData, g: str) -> list[str]:
    """The 2–3 most important failing criteria of ``g`` in words, then the others by name."""
    bad = sorted(failing(d.acceptance["grid"][g]), key=importance)
    if not bad:
        probs = [c for c in d.acceptance["grid"][g].get("criteria", [])
                 if c["probability"] is not None]
        close = min(probs, key=lambda c: c["probability"], default=None)
        return [f"**Why it holds** ({esc(label(d, g))}): every criterion holds"
                + (f"; the closest call is {short_name(close['name'])}, met in "
                   f"{frac_pct_text(close['probability'])} of futures." if close else "."), ""]
    lines = [f"**Why** ({esc(label(d, g))}, the grid point closest to fundable):", ""]
    lines += [f"- {criterion_sentence(d, g, c)}" for c in bad[:WHY_SHOWN]]
    rest = bad[WHY_SHOWN:]
    if rest:
        lines.append(f"- Also failing: {', '.join(short_name(c['name']) for c in rest)} "
                     "(§9 lists every criterion).")
    return [*lines, ""]


def funding_lines(d: ReportData, g: str) -> list[str]:
    need, term = kpi(d, g, "funding_need_eur"), kpi(d, g, "funding_need_term_eur")
    if not need:
        return []
    buffer = setting(d, "general", "reserves.cash_buffer_eur", g, 0.0)
    runway = cell(kpi(d, g, "runway_months"), "p50")
    never = cell(kpi(d, g, "runway_never_ends"), "mean") or 0.0
    out = (f"**Funding need:** {eur_text(need.get('p90'))} of extra equity at 90 % confidence "
           f"(p90 over futures; {eur_text(need.get('p50'))} at the median) keeps free cash at "
           f"or above the cash buffer of {eur_text(buffer)} for the first {d.horizon_months} "
           f"months; {eur_text(term.get('p90'))} at 90 % confidence keeps it there for the "
           f"whole {d.term_months}-month loan term.")
    if runway is not None and never < 0.5:
        out += (f" Without that money, free cash runs out after {month_text(runway)} months "
                "at the median.")
    return [out, ""]


def realised_cost_ratio(d: ReportData, g: str) -> tuple[int, float, float] | None:
    """(month, priced cost, provisioned cost) in EUR per 1M tokens: the price card's blended
    cost against the cost of the fleet grid point ``g``'s reference path rents in the last
    month of the horizon per token it serves (``cogs_public_eur`` ÷ ``tokens_served``)."""
    if not d.public_customers or not d.pnl or not d.price_card:
        return None
    month = str(d.horizon_months)
    c = next((r for r in d.public_customers if r["grid_index"] == g and r["month"] == month),
             None)
    p = next((r for r in d.pnl if r["grid_index"] == g and r["month"] == month), None)
    if c is None or p is None or float(c["tokens_served"]) <= 0:
        return None
    realised = float(p["cogs_public_eur"]) / float(c["tokens_served"]) * 1e6
    return d.horizon_months, d.price_card["blended_cost_eur_per_1M"], realised


def margin_lines(d: ReportData, g: str) -> list[str]:
    priced, real = kpi(d, g, "public_priced_margin_pct"), kpi(d, g, "public_realised_margin_pct")
    if not priced:
        return []
    out = (f"**Margins:** The price list promises a public gross margin of "
           f"{margin_text(priced.get('p50'))} on the tokens served; on the GPU fleet actually "
           f"rented the Public Tap realises {margin_text(real.get('p50'))} (median over "
           f"futures, first {d.horizon_months} months; p10 {margin_text(real.get('p10'))}, p90 "
           f"{margin_text(real.get('p90'))}).")
    ratio = realised_cost_ratio(d, g)
    if ratio is not None and ratio[2] > ratio[1]:
        out += (f" The fleet is sized for the peak hour with every model kept warm: in month "
                f"{ratio[0]} of the reference path it costs {ratio[2] / ratio[1]:.1f}× the "
                "cost per token the prices assume (§3).")
    unserved = kpi(d, g, "unserved_tokens_share_pct")
    if unserved:
        out += (f" The fleet cap leaves {pct_text(unserved.get('p50'))} of the tokens customers "
                "ask for unserved at the median (refunded, never billed).")
    return [out, ""]


def kpi_text(d: ReportData, g: str, metric: str, q: str, fmt: Callable[[Any], str]) -> str:
    """A KPI cell written by ``fmt``; "—" when the run did not compute the metric (a line
    left out), so that ``n/m`` keeps its one meaning."""
    row = kpi(d, g, metric)
    return fmt(row.get(q)) if row else MISSING


def _change(d: ReportData, a: str, b: str, metric: str, q: str, fmt) -> str:
    return f"{kpi_text(d, a, metric, q, fmt)} → {kpi_text(d, b, metric, q, fmt)}"


def _p_change(d: ReportData, a: str, b: str, name: str) -> str:
    return f"{frac_pct_text(probability(d, a, name))} → {frac_pct_text(probability(d, b, name))}"


def lever_lines(d: ReportData, focus: str) -> list[str]:
    """What the grid comparison shows: the grid point closest to fundable against the farthest,
    and the criteria no grid point passes; then what the tornado ranks highest."""
    grid = d.acceptance["grid"]
    later = driver_sentence(d) or ("The sensitivity analysis (which other inputs move the "
                                   "verdict most) is switched off in params.yaml.")
    if len(grid) < 2:
        return [f"**Levers:** the plan has one grid point; there is no grid to compare. {later}",
                ""]

    def distance(g: str) -> tuple:
        need = cell(kpi(d, g, "funding_need_term_eur"), "p90")
        return (not grid[g].get("accepted", False), len(failing(grid[g])),
                float("-inf") if need is None else need, -int(g))
    far = max(grid, key=distance)
    margin = (f", realised margin "
              f"{_change(d, far, focus, 'public_realised_margin_pct', 'p50', margin_text)}"
              if kpi(d, focus, "public_realised_margin_pct") else "")
    out = (f"**Levers (the grid comparison):** {esc(label(d, focus))} is the closest to "
           f"fundable ({len(failing(grid[focus]))} failing criteria). Against "
           f"{esc(label(d, far))}: funding need at 90 % confidence over the "
           f"{d.term_months}-month term "
           f"{_change(d, far, focus, 'funding_need_term_eur', 'p90', eur_text)}{margin}, DSCR "
           f"covenant met in {_p_change(d, far, focus, 'min_dscr')} of futures, minimum free "
           f"cash met in {_p_change(d, far, focus, 'min_cash')}.")
    common = set.intersection(*({c["name"] for c in failing(info)} for info in grid.values()))
    if common:
        names = sorted(common, key=lambda n: (importance({"name": n, "probability": None}), n))
        out += (f" No grid point passes {', '.join(short_name(n) for n in names)}: the grid's "
                "knob alone does not make the plan fundable.")
    return [f"{out} {later}", ""]


def grid_table(d: ReportData, focus: str) -> list[str]:
    """One row per grid point: verdict, failing criteria, the two covenants' probabilities,
    funding need, margins, EBITDA and break-even."""
    rows = []
    for g, info in d.acceptance["grid"].items():
        name = esc(label(d, g))
        rows.append({
            "grid": Md(f"**{name}** (§5)") if g == focus else Md(name),
            "verdict": "accepted" if info.get("accepted") else "not accepted",
            "failing": str(len(failing(info))),
            "dscr": frac_pct_text(probability(d, g, "min_dscr")),
            "cash": frac_pct_text(probability(d, g, "min_cash")),
            "need": kpi_text(d, g, "funding_need_eur", "p90", money_text),
            "need_term": kpi_text(d, g, "funding_need_term_eur", "p90", money_text),
            "priced": kpi_text(d, g, "public_priced_margin_pct", "p50", margin_text),
            "realised": kpi_text(d, g, "public_realised_margin_pct", "p50", margin_text),
            "ebitda": kpi_text(d, g, "ebitda_eur", "p50", money_text),
            "be": kpi_text(d, g, "months_to_ebitda_break_even", "p50", month_text)})
    h, t = d.horizon_months, d.term_months
    covenant = ratio_text(d.plan["plan"]["targets"]["min_dscr"])
    return table(rows, ["grid", "verdict", "failing", "dscr", "cash", "need", "need_term",
                        "priced", "realised", "ebitda", "be"],
                 ["grid point", "verdict", "failing criteria (count)",
                  f"DSCR ≥ {covenant} (% of futures)", "free cash ≥ floor (% of futures)",
                  f"funding need p90, {h} months (EUR)", f"funding need p90, {t} months (EUR)",
                  "priced margin p50 (%)", "realised margin p50 (%)",
                  f"EBITDA p50, {h} months (EUR)", "EBITDA break-even p50 (month)"])


def executive_summary(d: ReportData) -> list[str]:
    """§1: verdict, why, funding need, margins, levers, every grid point in one table, and
    which grid point each section shows."""
    g = focus_grid(d)
    ref = (f"the variables' defaults, {esc(label(d, d.reference_grid))}"
           if d.reference_grid is not None else "the variables' defaults")
    return ["## 1. Executive summary", "", *verdict_lines(d), *why_lines(d, g),
            *funding_lines(d, g), *margin_lines(d, g), *lever_lines(d, g),
            *grid_table(d, g), "",
            "The table: `acceptance.json` (verdicts, criteria, shares of futures) and "
            "`consolidated_kpis.csv` (p50, p90). "
            f"Grid points are named by the knob values that define them. §1, §6 and §9 show "
            f"every grid point; §3's price list is the reference configuration ({ref}); "
            f"every other table shows **{esc(label(d, g))}**, the grid point closest to "
            "fundable (accepted first, then the fewest failing criteria, then the smallest "
            f"funding need at 90 % confidence over the {d.term_months}-month term), and says "
            "so.", ""]
