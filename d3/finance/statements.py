"""P&L, VAT, working capital and cashflow per sample and month (SPEC §7).

Every array is ``(samples, months)`` in EUR unless stated; general schedules are ``(months,)``
and broadcast. Conventions (docs/FINANCE.md): tax is computed monthly on positive EBT after
loss carry-forward and paid in the same month; VAT is charged on public credits sold, private
blocks bought and private invoices, recovered on domestic purchases (acquisition, bizdev and
fixed costs except salaries and insurance; foreign GPU rentals are reverse-charged,
VAT-neutral), and the monthly net is remitted ``vat_payment_lag_months`` later; receivables and
payables follow AR/AP days on the Private Tap's monthly invoices and GPU costs; public credits
and private GPU-hour blocks are prepaid (deferred revenue). Cash in follows from revenue and the
change in working capital.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass

import numpy as np

DAYS_PER_MONTH = 30.0
VAT_EXEMPT_COST_WORDS = ("salary", "salaries", "payroll", "wage", "insurance")


# --- operating costs --------------------------------------------------------------------------


def fixed_costs_by_month(fixed: Mapping[str, float], inflation_pct_yoy: Mapping[str, float],
                         months: int) -> dict[str, np.ndarray]:
    """Each category's monthly cost, inflated monthly at its annual rate (none when unset)."""
    t = np.arange(months) / 12.0
    return {k: v * (1.0 + inflation_pct_yoy.get(k, 0.0) / 100.0) ** t
            for k, v in sorted(fixed.items())}


def insurance_monthly_eur(selected: Sequence[str], annual_premiums: Mapping[str, float],
                          premiums_buffer_pct: float) -> float:
    """Selected annual premiums / 12 × (1 + buffer)."""
    return sum(annual_premiums[i] for i in selected) / 12.0 * (1.0 + premiums_buffer_pct / 100.0)


def depreciation_and_capex(assets, months: int) -> tuple[np.ndarray, np.ndarray]:
    """Straight-line depreciation per asset from its purchase month; capex in that month."""
    dep, capex = np.zeros(months), np.zeros(months)
    for a in assets:
        start = a.purchase_month - 1
        if start >= months:
            continue
        capex[start] += a.cost_eur
        dep[start: start + a.useful_life_months] += a.cost_eur / a.useful_life_months
    return dep, capex


def vatable_fixed_costs(fixed_by_month: Mapping[str, np.ndarray], months: int) -> np.ndarray:
    out = np.zeros(months)
    for name, series in fixed_by_month.items():
        if not any(word in name.lower() for word in VAT_EXEMPT_COST_WORDS):
            out += series
    return out


# --- tax and VAT ------------------------------------------------------------------------------


def corporate_tax(ebt: np.ndarray, rate_pct: float, *, carry_forward: bool = True) -> np.ndarray:
    """Monthly tax on positive EBT after losses carried forward from earlier months."""
    tax = np.zeros_like(ebt)
    losses = np.zeros(ebt.shape[:-1])
    for m in range(ebt.shape[-1]):
        profit = ebt[..., m]
        taxable = np.maximum(profit - losses, 0.0) if carry_forward else np.maximum(profit, 0.0)
        if carry_forward:
            losses = np.where(profit < 0, losses - profit, np.maximum(losses - profit, 0.0))
        tax[..., m] = taxable * rate_pct / 100.0
    return tax


def lagged(x: np.ndarray, months: int) -> np.ndarray:
    """``x`` moved ``months`` later along the last axis (what falls past the end is dropped)."""
    out = np.zeros_like(x)
    if months == 0:
        return x.copy()
    if months < x.shape[-1]:
        out[..., months:] = x[..., :-months]
    return out


@dataclass(frozen=True)
class Vat:
    collected: np.ndarray
    paid_on_purchases: np.ndarray
    remitted: np.ndarray  # net VAT paid to (or refunded by, if negative) the tax office
    payable_balance: np.ndarray  # owed at month end
    set_aside: np.ndarray  # cash reserved per vat_buffer_policy


def vat_flows(sales_eur: np.ndarray, purchases_eur: np.ndarray, *, vat_pct: float,
              lag_months: int, policy: str) -> Vat:
    collected = sales_eur * vat_pct / 100.0
    paid = purchases_eur * vat_pct / 100.0
    net = collected - paid
    remitted = lagged(net, lag_months)
    balance = np.cumsum(net - remitted, axis=-1)
    if policy == "set_aside_collected":
        set_aside = np.cumsum(collected - lagged(collected, lag_months), axis=-1)
    elif policy == "set_aside_net":
        set_aside = np.maximum(balance, 0.0)
    else:
        set_aside = np.zeros_like(balance)
    return Vat(collected, paid, remitted, balance, set_aside)


# --- P&L and cashflow -------------------------------------------------------------------------


@dataclass(frozen=True)
class GeneralSchedules:
    """Month-indexed schedules shared by every sample (``(months,)`` arrays, EUR)."""

    fixed_costs: np.ndarray
    vatable_fixed_costs: np.ndarray
    insurance: np.ndarray
    bizdev: np.ndarray
    depreciation: np.ndarray
    capex: np.ndarray
    interest: np.ndarray
    principal: np.ndarray
    contingency_pct: float
    corporate_tax_pct: float
    loss_carry_forward: bool
    vat_pct: float
    vat_lag_months: int
    vat_policy: str
    ar_days: float
    ap_days: float
    opening_cash_eur: float  # loan + equity, month 1


@dataclass(frozen=True)
class LineResults:
    """One product line per sample and month (zeros for a line that is not run)."""

    revenue: np.ndarray
    cogs: np.ndarray
    acquisition: np.ndarray
    cash_sales: np.ndarray  # VAT base: credits sold (public) / blocks bought + invoiced (private)
    deferred_revenue: np.ndarray  # balance, prepaid credits or block hours not yet recognised
    receivable_base: np.ndarray  # revenue subject to AR days (invoiced monthly)
    payable_base: np.ndarray  # costs subject to AP days


def pnl_and_cashflow(public: LineResults, private: LineResults,
                     g: GeneralSchedules) -> dict[str, np.ndarray]:
    """The P&L, VAT, working capital and cash of every sample; returns named series."""
    revenue = public.revenue + private.revenue
    cogs = public.cogs + private.cogs
    gross_margin = revenue - cogs
    acquisition = public.acquisition + private.acquisition
    base_opex = g.fixed_costs + g.insurance + g.bizdev
    contingency = base_opex * g.contingency_pct / 100.0
    opex = acquisition + base_opex + contingency
    ebitda = gross_margin - opex
    ebit = ebitda - g.depreciation
    ebt = ebit - g.interest
    tax = corporate_tax(ebt, g.corporate_tax_pct, carry_forward=g.loss_carry_forward)
    net_income = ebt - tax

    vat = vat_flows(public.cash_sales + private.cash_sales,
                    acquisition + g.bizdev + g.vatable_fixed_costs, vat_pct=g.vat_pct,
                    lag_months=g.vat_lag_months, policy=g.vat_policy)
    receivables = (public.receivable_base + private.receivable_base) * g.ar_days / DAYS_PER_MONTH
    payables = (public.payable_base + private.payable_base) * g.ap_days / DAYS_PER_MONTH
    deferred = public.deferred_revenue + private.deferred_revenue
    working_capital = receivables - payables - deferred - vat.payable_balance
    delta_wc = np.diff(working_capital, axis=-1, prepend=0.0)
    operating_cash = net_income + g.depreciation - delta_wc
    delta_cash = operating_cash - g.capex - g.principal
    closing = g.opening_cash_eur + np.cumsum(delta_cash, axis=-1)
    opening = closing - delta_cash

    debt_service = g.interest + g.principal
    cash_for_debt = ebitda - tax
    with np.errstate(divide="ignore", invalid="ignore"):
        dscr = np.where(debt_service > 0, cash_for_debt / np.where(debt_service > 0,
                                                                     debt_service, 1.0), np.nan)
        ds12 = trailing_sum(np.broadcast_to(debt_service, ebitda.shape), 12)
        dscr_t12 = np.where(ds12 > 0, trailing_sum(cash_for_debt, 12) / np.where(
            ds12 > 0, ds12, 1.0), np.nan)
        icr = np.where(g.interest > 0, ebit / np.where(g.interest > 0, g.interest, 1.0), np.nan)
    shape = revenue.shape
    return {
        "revenue_public_eur": public.revenue, "revenue_private_eur": private.revenue,
        "revenue_eur": revenue, "cogs_public_eur": public.cogs, "cogs_private_eur": private.cogs,
        "cogs_eur": cogs, "gross_margin_eur": gross_margin, "acquisition_eur": acquisition,
        "fixed_costs_eur": np.broadcast_to(g.fixed_costs, shape),
        "insurance_eur": np.broadcast_to(g.insurance, shape),
        "bizdev_eur": np.broadcast_to(g.bizdev, shape),
        "contingency_eur": np.broadcast_to(contingency, shape), "opex_eur": opex,
        "ebitda_eur": ebitda, "depreciation_eur": np.broadcast_to(g.depreciation, shape),
        "ebit_eur": ebit, "interest_eur": np.broadcast_to(g.interest, shape), "ebt_eur": ebt,
        "tax_eur": tax, "net_income_eur": net_income,
        "opening_cash_eur": opening, "operating_cash_eur": operating_cash,
        "delta_working_capital_eur": delta_wc, "receivables_eur": receivables,
        "payables_eur": payables, "deferred_revenue_eur": deferred,
        "vat_collected_eur": vat.collected, "vat_paid_eur": vat.paid_on_purchases,
        "vat_remitted_eur": vat.remitted, "vat_payable_eur": vat.payable_balance,
        "vat_set_aside_eur": vat.set_aside,
        "capex_eur": np.broadcast_to(g.capex, shape),
        "principal_eur": np.broadcast_to(g.principal, shape), "closing_cash_eur": closing,
        "debt_service_eur": np.broadcast_to(debt_service, shape), "dscr": dscr,
        "dscr_t12": dscr_t12, "icr": icr,
    }


def trailing_sum(x: np.ndarray, window: int) -> np.ndarray:
    """Sum of the last ``window`` months (fewer at the start)."""
    c = np.cumsum(x, axis=-1)
    return c - lagged(c, window)
