"""§5 of the report: the financial statements a lender reads, for one grid point
(:func:`d3.report.data.focus_grid`) on its reference path (every random variable at its mean, no
outcome noise), so that lines add up and the balance sheet balances.

Every amount is a CSV cell or an exact sum of CSV cells (decimal arithmetic on the cents the
CSVs hold), rounded only when written (:mod:`d3.report.formatting`): use of proceeds, the
monthly cash-flow statement of year 1, the annual P&L, cash flow and balance sheet, DSCR by
year with the covenant headroom, and the loan schedule by year.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from decimal import Decimal

from d3.report.data import ReportData, Rows, focus_grid, label, setting
from d3.report.formatting import (
    Md,
    decimal_of,
    esc,
    eur_text,
    margin_text,
    money_text,
    ratio_text,
    table,
)

ZERO = Decimal(0)
Period = tuple[str, Rows, Rows]  # (header, pnl rows, cash-flow rows) of consecutive months


def grid_rows(rows: Rows, g: str) -> Rows:
    """Grid point ``g``'s monthly rows, month 1 first."""
    return sorted((r for r in rows if r["grid_index"] == g), key=lambda r: int(r["month"]))


def total(rows: Rows, column: str) -> Decimal:
    """Exact sum of a column's cells (EUR; an empty cell counts 0)."""
    return sum((decimal_of(r.get(column, "")) or ZERO for r in rows), ZERO)


def years(months: int) -> list[range]:
    """The loan term's years as month ranges (1-based; the last may be short)."""
    return [range(y + 1, min(y + 12, months) + 1) for y in range(0, months, 12)]


def periods(pnl: Rows, cash: Rows, spans: Sequence[range], names: Sequence[str]) -> list[Period]:
    pick = {int(r["month"]): r for r in pnl}
    flow = {int(r["month"]): r for r in cash}
    return [(name, [pick[m] for m in span if m in pick], [flow[m] for m in span if m in flow])
            for name, span in zip(names, spans, strict=True)]


# (label, amount of a period) — signs as a cash-flow statement shows them: outflows negative.
CashLine = tuple[str, Callable[[Rows, Rows], Decimal | None]]


def _first(rows: Rows, column: str) -> Decimal | None:
    return decimal_of(rows[0][column]) if rows else None


def _last(rows: Rows, column: str) -> Decimal | None:
    return decimal_of(rows[-1][column]) if rows else None


def cash_flow_lines(with_distributions: bool) -> list[CashLine]:
    """The indirect cash-flow statement: net income (P&L) + depreciation − the increase in
    working capital (tax and VAT owed included) = operating cash flow (``operating_cash_eur``);
    then capex, loan principal, distributions and the overdraft / funding gap drawn, which take
    opening cash to closing cash (the identity of ``d3.finance.statements``)."""
    lines: list[CashLine] = [
        ("Net income", lambda p, c: total(p, "net_income_eur")),
        ("+ depreciation (not a cash cost)", lambda p, c: total(p, "depreciation_eur")),
        ("− increase in working capital", lambda p, c: -total(c, "delta_working_capital_eur")),
        ("**Operating cash flow**", lambda p, c: total(c, "operating_cash_eur")),
        ("of which corporate tax paid", lambda p, c: -total(c, "tax_paid_eur")),
        ("Capital expenditure", lambda p, c: -total(c, "capex_eur")),
        ("Loan principal repaid", lambda p, c: -total(c, "principal_eur")),
    ]
    if with_distributions:
        lines.append(("Distributions to the owner", lambda p, c: -total(c, "distributions_eur")))
    lines += [
        ("Overdraft drawn (+) / repaid (−)", lambda p, c: total(c, "overdraft_drawn_eur")),
        ("Funding gap drawn (+) / closed (−)", lambda p, c: total(c, "funding_gap_drawn_eur")),
        ("**Net change in cash**", lambda p, c: (_last(c, "closing_cash_eur") or ZERO)
         - (_first(c, "opening_cash_eur") or ZERO)),
        ("Opening cash", lambda p, c: _first(c, "opening_cash_eur")),
        ("**Closing cash**", lambda p, c: _last(c, "closing_cash_eur")),
        ("Free cash at the period's end", lambda p, c: _last(c, "free_cash_eur")),
    ]
    return lines


def statement_table(lines: Sequence[CashLine], ps: Sequence[Period]) -> list[str]:
    """Lines as rows, periods as columns, money to whole euros."""
    rows = [{"line": Md(name) if name.startswith("**") else name,
             **{h: money_text(f(p, c)) for h, p, c in ps}} for name, f in lines]
    return table(rows, ["line", *(h for h, _, _ in ps)],
                 ["EUR", *(h for h, _, _ in ps)])


def cash_flow_monthly(d: ReportData, g: str) -> list[str]:
    pnl, cash = grid_rows(d.pnl, g), grid_rows(d.cashflow, g)
    n = min(12, d.term_months)
    ps = periods(pnl, cash, [*(range(m, m + 1) for m in range(1, n + 1)), range(1, n + 1)],
                 [*(f"month {m}" for m in range(1, n + 1)), "year 1"])
    lines = cash_flow_lines("distributions_eur" in (cash[0] if cash else {}))
    return [f"### Cash-flow statement, monthly, year 1 (EUR, {esc(label(d, g))}, reference "
            "path)", "",
            "`cashflow_by_month.csv` (reference columns; net income and depreciation from "
            "`pnl_by_month.csv`). Outflows are negative; the funding gap is the shortfall no "
            "overdraft covers, i.e. money the business does not have yet.", "",
            *statement_table(lines, ps), ""]


def cash_flow_annual(d: ReportData, g: str) -> list[str]:
    pnl, cash = grid_rows(d.pnl, g), grid_rows(d.cashflow, g)
    spans = years(d.term_months)
    ps = periods(pnl, cash, [*spans, range(1, d.term_months + 1)],
                 [*(f"year {i + 1}" for i in range(len(spans))), "total"])
    lines = cash_flow_lines("distributions_eur" in (cash[0] if cash else {}))
    return [f"### Cash-flow statement, annual (EUR, {esc(label(d, g))}, reference path)", "",
            "Sums of the monthly reference rows of `cashflow_by_month.csv` and "
            "`pnl_by_month.csv`.", "", *statement_table(lines, ps), ""]


PNL_LINES = (
    ("revenue_public_eur", "Revenue, Public Tap"),
    ("revenue_private_eur", "Revenue, Private Tap"),
    ("revenue_eur", "**Revenue**"),
    ("cogs_eur", "Cost of revenue (GPU rental)"),
    ("gross_margin_eur", "**Gross margin**"),
    ("gross_margin_pct", "Gross margin (%)"),
    ("acquisition_eur", "Customer acquisition (ads)"),
    ("salaries_eur", "Salaries"),
    ("social_security_eur", "Employer's social security"),
    ("opex_eur", "Operating expenses (all, acquisition included)"),
    ("ebitda_eur", "**EBITDA**"),
    ("depreciation_eur", "Depreciation"),
    ("interest_eur", "Interest (loan and overdraft)"),
    ("tax_eur", "Corporate tax"),
    ("net_income_eur", "**Net income**"),
)


def pnl_annual(d: ReportData, g: str) -> list[str]:
    """Annual P&L: the ``reference`` column of ``pnl_by_year.csv`` (years and the term total),
    with the gross margin in % of revenue (n/m on zero revenue)."""
    cells = {(r["year"], r["metric"]): r["reference"] for r in d.pnl_by_year
             if r["grid_index"] == g}
    cols = list(dict.fromkeys(y for y, _ in cells))
    if not cols:
        return []
    metrics = {m for _, m in cells}
    rows = []
    for metric, name in PNL_LINES:
        if metric == "gross_margin_pct":
            row = {y: _margin(cells.get((y, "gross_margin_eur")), cells.get((y, "revenue_eur")))
                   for y in cols}
        elif metric in metrics:
            row = {y: money_text(cells.get((y, metric))) for y in cols}
        else:
            continue
        rows.append({"line": Md(name) if name.startswith("**") else name, **row})
    heads = [f"year {y}" if y.isdigit() else y for y in cols]
    return [f"### Profit and loss, annual (EUR, {esc(label(d, g))}, reference path)", "",
            "`pnl_by_year.csv`, column `reference`; §6 has the p10/p50/p90 across futures.", "",
            *table(rows, ["line", *cols], ["EUR", *heads]), ""]


def _margin(gross: str | None, revenue: str | None) -> str:
    gm, rev = decimal_of(gross), decimal_of(revenue)
    if gm is None or rev is None or rev == 0:
        return margin_text(None)
    return margin_text(gm / rev * 100)


BALANCE_LINES = (
    ("bs_cash_eur", "Cash"), ("bs_receivables_eur", "Receivables"),
    ("bs_fixed_assets_net_eur", "Fixed assets (net)"), ("bs_vat_receivable_eur", "VAT receivable"),
    ("bs_total_assets_eur", "**Total assets**"), ("bs_payables_eur", "Payables"),
    ("bs_deferred_revenue_eur", "Deferred revenue (prepaid credits, blocks)"),
    ("bs_vat_payable_eur", "VAT payable"),
    ("bs_corporate_tax_payable_eur", "Corporate tax payable"),
    ("bs_loan_eur", "Loan"), ("bs_overdraft_eur", "Overdraft"),
    ("bs_funding_gap_eur", "Funding gap (unfunded shortfall)"),
    ("bs_total_liabilities_eur", "**Total liabilities**"),
    ("bs_paid_in_capital_eur", "Paid-in capital"),
    ("bs_retained_earnings_eur", "Retained earnings"),
    ("bs_total_equity_eur", "**Total equity**"),
)


def balance_sheet_annual(d: ReportData, g: str) -> list[str]:
    """Year-end balance sheets (the last month of each year) of ``balance_sheet_by_month.csv``,
    reference columns."""
    rows = [r for r in grid_rows(d.balance_sheet, g)
            if int(r["month"]) % 12 == 0 or int(r["month"]) == d.term_months]
    if not rows:
        return []
    diff = max(info["balance_sheet_max_abs_difference_eur"]
               for info in d.summary["grid"].values())
    cols = [f"m{r['month']}" for r in rows]
    lines = [{"line": Md(name) if name.startswith("**") else name,
              **{f"m{r['month']}": money_text(r[item]) for r in rows}}
             for item, name in BALANCE_LINES if item in rows[0]]
    return [f"### Balance sheet at each year end (EUR, {esc(label(d, g))}, reference path)", "",
            "`balance_sheet_by_month.csv` (the file also has every month and the p10/p50/p90 "
            "of every line). Assets = liabilities + equity in every month of every sample: the "
            f"largest difference is **EUR {decimal_of(diff):.2f}**.", "",
            *table(lines, ["line", *cols],
                   ["EUR", *(f"end of year {(int(r['month']) + 11) // 12} (month {r['month']})"
                             for r in rows)]), ""]


def dscr_by_year(d: ReportData, g: str) -> list[str]:
    """Per year: debt service (``loan_schedule.csv``), cash available for it (EBITDA of
    ``pnl_by_year.csv`` − tax paid of ``cashflow_by_month.csv``), the trailing-12-month DSCR at
    the year's last month (reference and p10/p50/p90 of ``cashflow_by_month.csv``) and the
    headroom against ``targets.min_dscr``: in × (DSCR − covenant) and in EUR (cash available −
    covenant × debt service; negative = the shortfall)."""
    covenant = decimal_of(d.plan["plan"]["targets"]["min_dscr"])
    cash, loan = grid_rows(d.cashflow, g), {int(r["month"]): r for r in d.loan}
    ebitda = {r["year"]: r["reference"] for r in d.pnl_by_year
              if r["grid_index"] == g and r["metric"] == "ebitda_eur"}
    rows = []
    for i, span in enumerate(years(d.term_months)):
        end = next((r for r in cash if int(r["month"]) == span[-1]), None)
        if end is None:
            continue
        service = sum((decimal_of(loan[m]["payment"]) or ZERO for m in span if m in loan), ZERO)
        cfads = (decimal_of(ebitda.get(str(i + 1))) or ZERO) - total(
            [r for r in cash if int(r["month"]) in span], "tax_paid_eur")
        dscr = decimal_of(end["dscr_t12"])
        rows.append({
            "year": str(i + 1), "service": money_text(service), "cfads": money_text(cfads),
            "dscr": ratio_text(dscr), **{q: ratio_text(end.get(f"{q}_dscr_t12")) for q in
                                         ("p10", "p50", "p90")},
            "head_x": _headroom(dscr, covenant),
            "head_eur": money_text(cfads - covenant * service) if service else ratio_text(None)})
    return [f"### Debt service coverage by year ({esc(label(d, g))})", "",
            f"Covenant: trailing-12-month DSCR ≥ {ratio_text(covenant)} "
            "(`targets.min_dscr`). DSCR = (EBITDA − tax paid) ÷ (loan interest + principal) "
            "over the 12 months; n/m when the cash for debt service is negative or there is "
            "no debt service. Headroom in EUR = cash for debt service − covenant × debt "
            "service (negative: the shortfall). Reference path, with the p10/p50/p90 across "
            "futures of `cashflow_by_month.csv`:", "",
            *table(rows, ["year", "service", "cfads", "dscr", "p10", "p50", "p90", "head_x",
                          "head_eur"],
                   ["year", "debt service (EUR)", "cash for debt service (EUR)", "DSCR (×)",
                    "DSCR p10 (×)", "DSCR p50 (×)", "DSCR p90 (×)", "headroom (×)",
                    "headroom (EUR)"]), ""]


def _headroom(dscr: Decimal | None, covenant: Decimal) -> str:
    """DSCR − covenant, signed, in ×; n/m when the DSCR is."""
    if dscr is None or dscr < 0:
        return ratio_text(None)
    gap = dscr - covenant
    return ("+" if gap >= 0 else "-") + ratio_text(abs(gap))


def loan_annual(d: ReportData) -> list[str]:
    """``loan_schedule.csv`` by year: opening principal, the year's interest, principal and
    payments, closing principal."""
    by_month = {int(r["month"]): r for r in d.loan}
    rows = []
    for i, span in enumerate(years(len(d.loan))):
        ms = [by_month[m] for m in span]
        rows.append({"year": str(i + 1), "open": money_text(ms[0]["opening_principal"]),
                     **{c: money_text(total(ms, c)) for c in ("interest", "principal",
                                                              "payment")},
                     "close": money_text(ms[-1]["closing_principal"])})
    return ["### Loan schedule by year (EUR)", "",
            f"{len(d.loan)} monthly payments, {eur_text(total(d.loan, 'interest'))} of interest "
            "in all (`loan_schedule.csv` has every month; interest + principal = payment to the "
            "cent, closing balance 0):", "",
            *table(rows, ["year", "open", "interest", "principal", "payment", "close"],
                   ["year", "opening principal (EUR)", "interest (EUR)", "principal (EUR)",
                    "payments (EUR)", "closing principal (EUR)"]), ""]


def trough_month(cash: Rows) -> int:
    """The month the reference path's net cash (cash − overdraft − funding gap) is lowest:
    the business has consumed the most money by then (the first such month)."""
    return int(min(cash, key=lambda r: (decimal_of(r["net_cash_eur"]), int(r["month"])))["month"])


def use_of_proceeds(d: ReportData, g: str) -> list[str]:
    """Sources (loan, equity) against what they fund up to the trough of net cash: capex, the
    operating cash outflow, the principal repaid, distributions, and the cash buffer kept."""
    cash = grid_rows(d.cashflow, g)
    if not cash:
        return []
    t = trough_month(cash)
    upto = [r for r in cash if int(r["month"]) <= t]
    loan = decimal_of(setting(d, "general", "loan.amount_eur", g, 0.0)) or ZERO
    equity = decimal_of(setting(d, "general", "finance.equity_injection_eur", g, 0.0)) or ZERO
    buffer = decimal_of(setting(d, "general", "reserves.cash_buffer_eur", g, 0.0)) or ZERO
    assets = [a for a in (d.general or {}).get("depreciation", {}).get("assets", [])
              if int(a.get("purchase_month", 1)) <= t]
    uses = {"capex": total(upto, "capex_eur"), "operating": -total(upto, "operating_cash_eur"),
            "principal": total(upto, "principal_eur"),
            "distributions": total(upto, "distributions_eur"), "buffer": buffer}
    bought = "; ".join(f"{esc(a['asset_id'])} {eur_text(a['cost_eur'])} in month "
                       f"{a.get('purchase_month', 1)}" for a in assets)
    rows = [("Loan (`loan.amount_eur`)", loan),
            ("Equity (`finance.equity_injection_eur`)", equity),
            ("**Sources** (= opening cash)", loan + equity),
            (f"Capital expenditure, months 1–{t}" + (f" ({bought})" if bought else ""),
             uses["capex"]),
            (f"Operating losses: operating cash outflow, months 1–{t}", uses["operating"]),
            (f"Loan principal repaid, months 1–{t}", uses["principal"]),
            *([(f"Distributions to the owner, months 1–{t}", uses["distributions"])]
              if uses["distributions"] else []),
            ("Cash buffer kept (`reserves.cash_buffer_eur`)", uses["buffer"]),
            ("**Uses**", sum(uses.values(), ZERO)),
            ("**Surplus (+) / shortfall (−)**", loan + equity - sum(uses.values(), ZERO))]
    need = next((r.get("reference") for r in d.kpis if r["grid_index"] == g
                 and r["metric"] == "funding_need_term_eur"), None)
    return [f"### Use of proceeds ({esc(label(d, g))}, reference path)", "",
            f"What the loan and the equity pay for until month {t}, the month the reference "
            "path's net cash (cash − overdraft − funding gap) is lowest, i.e. until the "
            "business stops consuming cash (`cashflow_by_month.csv`, reference columns; "
            "sources from `general.yaml`).", "",
            *table([{"item": Md(n), "eur": money_text(v)} for n, v in rows], ["item", "eur"],
                   ["", "EUR"]), "",
            "The shortfall counts cash only; the funding need of §1 also keeps the VAT and tax "
            "owed in cash, which makes it larger: "
            f"{eur_text(need)} on this reference path over the {d.term_months}-month term "
            "(`funding_need_term_eur`, `consolidated_kpis.csv`).", ""]


def statements_section(d: ReportData) -> list[str]:
    """§5: the grid point closest to fundable, on its reference path."""
    g = focus_grid(d)
    lines = ["## 5. Financial statements", "",
             f"One grid point, **{esc(label(d, g))}** (the closest to fundable, §1), on its "
             "reference path: every random variable at its mean and no outcome noise, so every "
             "statement adds up and the balance sheet balances. §6 gives the spread across "
             "futures. Amounts are rounded to whole euros; the CSVs named under each table keep "
             "the cents.", ""]
    for part in (use_of_proceeds(d, g), cash_flow_monthly(d, g), pnl_annual(d, g),
                 cash_flow_annual(d, g), balance_sheet_annual(d, g), dscr_by_year(d, g),
                 loan_annual(d) if d.loan else []):
        lines += part
    return lines

