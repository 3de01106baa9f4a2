"""P&L, VAT, tax, working capital, cash, bank financing and balance sheet per sample and month
(SPEC §7).

Every array is ``(samples, months)`` in EUR unless stated; general schedules are ``(months,)``
and broadcast. Amounts are booked in whole cents. Conventions (docs/FINANCE.md): corporate tax
is assessed per fiscal year after losses carried forward, accrued monthly as the year-to-date
estimate and paid ``corporate_tax_payment_lag_months`` after the year ends; VAT is charged on
public credits sold (less refunds), private blocks bought and private invoices, recovered on
domestic purchases (bizdev and fixed costs except salaries and insurance; ads bought abroad and
foreign GPU rentals are reverse-charged, VAT-neutral), and the monthly net is remitted
``vat_payment_lag_months`` later; receivables and payables follow AR/AP days on the Private
Tap's monthly invoices and GPU costs; public credits and private GPU-hour blocks are prepaid
(deferred revenue); cash never goes negative: an overdraft up to its limit, then a funding gap,
both charged interest. Salaries and the employer's social security on them are opex (no
VAT). Founder draws and dividends (:mod:`d3.finance.distributions`) are equity: paid from
retained earnings, never below the reserve floor, after the month's cash flow.
"""
from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, replace

import numpy as np

from d3.finance.distributions import (
    DistributionPolicy,
    dividend_withholding_eur,
    social_security_eur,
)
from d3.finance.money import cents

DAYS_PER_MONTH = 30.0
# _compiled: d3.finance.cash_recursion (numba) is imported where the recursion runs; the report
# stage imports this module for its helpers and would otherwise load numba (≈ 0.5 s) for nothing.
# Cost categories that carry no input VAT, by a word in their name: pay, insurance (VAT-exempt
# in NL), a founder's personal costs and a buffer (no supplier invoice behind either).
VAT_EXEMPT_COST_WORDS = ("salary", "salaries", "payroll", "wage", "insurance", "personal",
                         "buffer")


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
    annual_eur = math.fsum(annual_premiums[i] for i in selected)
    return annual_eur / 12.0 * (1.0 + premiums_buffer_pct / 100.0)


def depreciation_and_capex(assets, months: int) -> tuple[np.ndarray, np.ndarray]:
    """Straight-line depreciation per asset from its purchase month, in cents: cost / life
    rounded to the cent each month, the last month taking the rounding residue so the asset
    depreciates to exactly 0 (3200 over 36: 88.89 × 35 + 88.85); capex in the purchase month."""
    dep, capex = np.zeros(months), np.zeros(months)
    for a in assets:
        start = a.purchase_month - 1
        if start >= months:
            continue
        capex[start] += a.cost_eur
        life = a.useful_life_months
        schedule = np.full(life, round(a.cost_eur / life, 2))
        schedule[-1] = round(a.cost_eur - schedule[0] * (life - 1), 2)
        dep[start: start + life] += schedule[: months - start]
    return dep, capex


def vatable_fixed_costs(fixed_by_month: Mapping[str, np.ndarray], months: int) -> np.ndarray:
    out = np.zeros(months)
    for name, series in fixed_by_month.items():
        if not any(word in name.lower() for word in VAT_EXEMPT_COST_WORDS):
            out += series
    return out


# --- corporate tax by fiscal year -------------------------------------------------------------


def fiscal_months(months: int, *, start_month: int, fiscal_year_start_month: int = 1) -> np.ndarray:
    """Month of the fiscal year (1..12) of each plan month, ``(months,)``; plan month 1 is
    calendar month ``start_month``."""
    return (start_month - fiscal_year_start_month + np.arange(months)) % 12 + 1


@dataclass(frozen=True)
class CorporateTax:
    accrued: np.ndarray  # P&L tax of the month (YTD estimate − previous month's), EUR
    paid: np.ndarray  # cash paid to the tax office, EUR
    payable: np.ndarray  # owed at month end, EUR


# --- VAT --------------------------------------------------------------------------------------


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
    collected = cents(sales_eur * vat_pct / 100.0)
    paid = cents(purchases_eur * vat_pct / 100.0)
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
    """Month-indexed schedules shared by every sample (``(months,)`` arrays, EUR).

    The balance sheet balances when ``opening_cash_eur`` = loan amount + ``equity_injection_eur``
    and ``loan_closing_principal`` is the loan's balance after each month (``None``: the part
    of the opening cash that is not equity, less the principal repaid to date)."""

    fixed_costs: np.ndarray
    vatable_fixed_costs: np.ndarray
    insurance: np.ndarray
    bizdev: np.ndarray
    depreciation: np.ndarray
    capex: np.ndarray
    interest: np.ndarray  # loan interest
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
    equity_injection_eur: float = 0.0  # paid-in capital (part of the opening cash)
    loan_closing_principal: np.ndarray | None = None
    fiscal_month: np.ndarray | None = None  # 1..12 per plan month; None: plan month 1 is 1
    corporate_tax_payment_lag_months: int = 5  # after the fiscal year's last month
    overdraft_limit_eur: float = 0.0
    overdraft_interest_rate_pct: float = 12.0  # annual; also charged on a funding gap
    salaries: np.ndarray | None = None  # gross salaries (all roles); None: none
    social_security_pct: float = 0.0  # employer charges on gross salaries
    distribution_policy: DistributionPolicy = DistributionPolicy()
    reserve_floor_eur: np.ndarray | None = None  # free cash a distribution leaves; None: 0


def fiscal_month_of(g: GeneralSchedules, months: int) -> np.ndarray:
    return fiscal_months(months, start_month=1) if g.fiscal_month is None else g.fiscal_month


def loan_balance(g: GeneralSchedules) -> np.ndarray:
    """Loan principal outstanding at each month end, ``(months,)`` EUR."""
    if g.loan_closing_principal is not None:
        return cents(g.loan_closing_principal)
    return cents(g.opening_cash_eur - g.equity_injection_eur) - np.cumsum(cents(g.principal))


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


@dataclass(frozen=True)
class Financing:
    """The month recursion of cash, bank financing and tax, ``(samples, months)`` EUR."""

    overdraft_interest: np.ndarray  # on the opening overdraft + funding gap, rate / 12
    tax: CorporateTax
    net_cash: np.ndarray  # bank cash − overdraft − funding gap, month end
    founder_draw: np.ndarray  # gross, paid at month end (equity)
    dividends: np.ndarray  # gross, paid at month end (equity)


def bank_financing(ebt_before_overdraft: np.ndarray, cash_flow_before_financing: np.ndarray,
                   g: GeneralSchedules, vat_owed: np.ndarray | None = None) -> Financing:
    """Net cash month by month: the opening overdraft and funding gap cost
    ``overdraft_interest_rate_pct``/12 (a P&L expense and a cash outflow, which also lowers
    the tax), corporate tax is assessed per fiscal year and paid
    ``corporate_tax_payment_lag_months`` after it, then the owner's distributions
    (``g.distribution_policy``) are paid out of free cash (net cash − ``vat_owed`` − tax owed)
    above ``g.reserve_floor_eur``: the compiled recursion
    :func:`d3.finance.cash_recursion.financing_paths` (its docstring states the rules).
    ``cash_flow_before_financing`` excludes overdraft interest, tax paid and distributions.
    Arrays ``(samples, months)`` EUR. Raises ``ValueError`` for a negative tax or dividend
    payment lag (the operator schema refuses both first)."""
    from d3.finance.cash_recursion import DRAW_KINDS, financing_paths  # see _compiled

    policy = g.distribution_policy
    if g.corporate_tax_payment_lag_months < 0 or policy.payment_lag_months < 0:
        raise ValueError("payment lags must be ≥ 0 months, got "
                         f"{g.corporate_tax_payment_lag_months} and {policy.payment_lag_months}")

    shape = np.shape(ebt_before_overdraft)
    t = shape[1]
    interest, accrued, paid, net_cash, draw, dividend = financing_paths(
        _c64(ebt_before_overdraft, shape), _c64(cash_flow_before_financing, shape),
        _c64(np.zeros(shape) if vat_owed is None else vat_owed, shape),
        np.ascontiguousarray(fiscal_month_of(g, t), dtype=np.int64),
        _c64(np.zeros(t) if g.reserve_floor_eur is None else cents(g.reserve_floor_eur), (t,)),
        float(cents(g.opening_cash_eur)), g.overdraft_interest_rate_pct / 100.0 / 12.0,
        float(g.corporate_tax_pct), int(g.corporate_tax_payment_lag_months),
        bool(g.loss_carry_forward), bool(policy.pays), DRAW_KINDS[policy.founder_draw],
        float(cents(policy.founder_draw_eur_per_month)),
        float(policy.founder_draw_pct_of_profit), float(policy.dividend_pct),
        int(policy.payment_lag_months))
    return Financing(interest, CorporateTax(accrued, paid, np.cumsum(accrued - paid, axis=-1)),
                     net_cash, draw, dividend)


def _c64(x, shape: tuple[int, ...]) -> np.ndarray:
    """``x`` broadcast to ``shape`` as a C-contiguous float64 array (the kernel's layout)."""
    return np.ascontiguousarray(np.broadcast_to(np.asarray(x, dtype=np.float64), shape))


def cash_overdraft_and_gap(net_cash: np.ndarray, limit_eur: float):
    """Split net cash into (bank cash ≥ 0, overdraft ≤ limit, funding gap beyond the limit)."""
    short = np.maximum(-net_cash, 0.0)
    return np.maximum(net_cash, 0.0), np.minimum(short, limit_eur), \
        np.maximum(short - limit_eur, 0.0)


def free_cash(net_cash: np.ndarray, vat_balance: np.ndarray, tax_payable: np.ndarray):
    """Net cash less VAT owed (a VAT refund due is not counted) and corporate tax owed."""
    return net_cash - np.maximum(vat_balance, 0.0) - tax_payable


def balance_sheet(*, cash, overdraft, funding_gap, receivables, payables, deferred, vat_balance,
                  tax_payable, net_income, g: GeneralSchedules,
                  distributions=0.0) -> dict[str, np.ndarray]:
    """Assets, liabilities and equity at each month end, ``bs_*`` (EUR). Retained earnings =
    cumulative net income − cumulative distributions (gross: the withholding tax is remitted
    in the month it is withheld). Every entry is a sum of whole cents, so assets =
    liabilities + equity holds to the cent by construction."""
    shape = cash.shape
    assets = {"bs_cash_eur": cash, "bs_receivables_eur": receivables,
              "bs_fixed_assets_net_eur": np.broadcast_to(
                  np.cumsum(cents(g.capex) - cents(g.depreciation)), shape),
              "bs_vat_receivable_eur": np.maximum(-vat_balance, 0.0)}
    liabilities = {"bs_payables_eur": payables, "bs_deferred_revenue_eur": deferred,
                   "bs_vat_payable_eur": np.maximum(vat_balance, 0.0),
                   "bs_corporate_tax_payable_eur": tax_payable,
                   "bs_loan_eur": np.broadcast_to(loan_balance(g), shape),
                   "bs_overdraft_eur": overdraft, "bs_funding_gap_eur": funding_gap}
    equity = {"bs_paid_in_capital_eur": np.full(shape, float(cents(g.equity_injection_eur))),
              "bs_retained_earnings_eur": np.cumsum(net_income, axis=-1) - np.cumsum(
                  np.broadcast_to(distributions, shape), axis=-1)}
    return {**assets, **liabilities, **equity,
            "bs_total_assets_eur": sum(assets.values()),
            "bs_total_liabilities_eur": sum(liabilities.values()),
            "bs_total_equity_eur": sum(equity.values())}


def lender_ratios(ebitda, ebit, tax_paid, loan_interest, principal, interest):
    """Monthly and trailing-12-month DSCR = (EBITDA − tax paid) / (loan interest + principal),
    ICR = EBIT / all interest; NaN where the denominator is 0."""
    debt_service = np.broadcast_to(loan_interest + principal, ebitda.shape)
    cash_for_debt = ebitda - tax_paid
    ds12 = trailing_sum(debt_service, 12)
    return {"debt_service_eur": debt_service,
            "dscr": safe_ratio(cash_for_debt, debt_service),
            "dscr_t12": safe_ratio(trailing_sum(cash_for_debt, 12), ds12),
            "icr": safe_ratio(ebit, np.broadcast_to(interest, ebit.shape))}


def safe_ratio(num: np.ndarray, den: np.ndarray) -> np.ndarray:
    """``num / den`` where ``den > 0``, NaN elsewhere (the denominator is replaced by 1 where
    it is not positive, so nothing is ever divided by zero)."""
    return np.where(den > 0, num / np.where(den > 0, den, 1.0), np.nan)


def pnl_and_cashflow(public: LineResults, private: LineResults,
                     g: GeneralSchedules) -> dict[str, np.ndarray]:
    """The P&L, VAT, tax, working capital, cash, bank financing and balance sheet of every
    sample; returns named ``(samples, months)`` series (EUR unless a ratio). Amounts are booked
    in whole cents."""
    rev_pub, rev_pri = cents(public.revenue), cents(private.revenue)
    cogs_pub, cogs_pri = cents(public.cogs), cents(private.cogs)
    revenue, cogs = rev_pub + rev_pri, cogs_pub + cogs_pri
    gross_margin = revenue - cogs
    acquisition = cents(public.acquisition) + cents(private.acquisition)
    fixed, insurance, bizdev = cents(g.fixed_costs), cents(g.insurance), cents(g.bizdev)
    salaries = np.zeros_like(fixed) if g.salaries is None else cents(g.salaries)
    social = social_security_eur(salaries, g.social_security_pct)
    contingency = cents((fixed + salaries + social + insurance + bizdev)
                        * g.contingency_pct / 100.0)
    opex = acquisition + fixed + salaries + social + insurance + bizdev + contingency
    ebitda = gross_margin - opex
    depreciation, capex, principal = cents(g.depreciation), cents(g.capex), cents(g.principal)
    loan_interest = cents(g.interest)
    ebit = ebitda - depreciation
    ebt_before_overdraft = ebit - loan_interest

    # acquisition (ads bought abroad, reverse-charged) is outside the input-VAT base
    vat = vat_flows(cents(public.cash_sales) + cents(private.cash_sales),
                    np.broadcast_to(bizdev + cents(g.vatable_fixed_costs), revenue.shape),
                    vat_pct=g.vat_pct,
                    lag_months=g.vat_lag_months, policy=g.vat_policy)
    receivables = cents((public.receivable_base + private.receivable_base) * g.ar_days
                        / DAYS_PER_MONTH)
    payables = cents((public.payable_base + private.payable_base) * g.ap_days / DAYS_PER_MONTH)
    deferred = cents(public.deferred_revenue) + cents(private.deferred_revenue)
    wc_before_tax = receivables - payables - deferred - vat.payable_balance
    flow_before_financing = ebt_before_overdraft + depreciation - np.diff(
        wc_before_tax, axis=-1, prepend=0.0) - capex - principal
    vat_owed = np.maximum(vat.payable_balance, 0.0)
    f = bank_financing(ebt_before_overdraft, flow_before_financing, g, vat_owed)
    unfunded = f if not f.overdraft_interest.any() else bank_financing(
        ebt_before_overdraft, flow_before_financing, replace(g, overdraft_interest_rate_pct=0.0),
        vat_owed)
    distributions = f.founder_draw + f.dividends

    interest = loan_interest + f.overdraft_interest
    ebt = ebt_before_overdraft - f.overdraft_interest
    net_income = ebt - f.tax.accrued
    delta_wc = np.diff(wc_before_tax - f.tax.payable, axis=-1, prepend=0.0)
    cash, overdraft, gap = cash_overdraft_and_gap(f.net_cash, g.overdraft_limit_eur)
    opening = np.concatenate([np.full((cash.shape[0], 1), float(cents(g.opening_cash_eur))),
                              cash[:, :-1]], axis=-1)
    shape = revenue.shape
    return {
        "revenue_public_eur": rev_pub, "revenue_private_eur": rev_pri,
        "revenue_eur": revenue, "cogs_public_eur": cogs_pub, "cogs_private_eur": cogs_pri,
        "cogs_eur": cogs, "gross_margin_eur": gross_margin, "acquisition_eur": acquisition,
        "fixed_costs_eur": np.broadcast_to(fixed, shape),
        "salaries_eur": np.broadcast_to(salaries, shape),
        "social_security_eur": np.broadcast_to(social, shape),
        "insurance_eur": np.broadcast_to(insurance, shape),
        "bizdev_eur": np.broadcast_to(bizdev, shape),
        "contingency_eur": np.broadcast_to(contingency, shape), "opex_eur": opex,
        "ebitda_eur": ebitda, "depreciation_eur": np.broadcast_to(depreciation, shape),
        "ebit_eur": ebit, "loan_interest_eur": np.broadcast_to(loan_interest, shape),
        "overdraft_interest_eur": f.overdraft_interest, "interest_eur": interest, "ebt_eur": ebt,
        "tax_eur": f.tax.accrued, "tax_paid_eur": f.tax.paid,
        "tax_payable_eur": f.tax.payable, "net_income_eur": net_income,
        "opening_cash_eur": opening, "operating_cash_eur": net_income + depreciation - delta_wc,
        "delta_working_capital_eur": delta_wc, "receivables_eur": receivables,
        "payables_eur": payables, "deferred_revenue_eur": deferred,
        "vat_collected_eur": vat.collected, "vat_paid_eur": vat.paid_on_purchases,
        "vat_remitted_eur": vat.remitted, "vat_payable_eur": vat.payable_balance,
        "vat_set_aside_eur": vat.set_aside,
        "capex_eur": np.broadcast_to(capex, shape),
        "principal_eur": np.broadcast_to(principal, shape),
        # Owner distributions (equity; company cash out = gross, the withholding included).
        "founder_draw_eur": f.founder_draw, "dividends_gross_eur": f.dividends,
        "dividend_withholding_eur": dividend_withholding_eur(
            distributions, g.distribution_policy.withholding_pct),
        "distributions_eur": distributions,
        "reserve_floor_eur": np.broadcast_to(
            np.zeros(shape[-1]) if g.reserve_floor_eur is None else cents(g.reserve_floor_eur),
            shape),
        "closing_cash_eur": cash,
        "overdraft_eur": overdraft, "funding_gap_eur": gap, "net_cash_eur": f.net_cash,
        # Borrowing drawn (+) or repaid (−) in the month, so that opening cash + operating
        # cash − capex − principal − distributions + drawn = closing cash in the cash flow
        # statement.
        "overdraft_drawn_eur": np.diff(overdraft, axis=-1, prepend=0.0),
        "funding_gap_drawn_eur": np.diff(gap, axis=-1, prepend=0.0),
        "free_cash_eur": free_cash(f.net_cash, vat.payable_balance, f.tax.payable),
        "free_cash_without_overdraft_interest_eur": free_cash(
            unfunded.net_cash, vat.payable_balance, unfunded.tax.payable),
        **lender_ratios(ebitda, ebit, f.tax.paid, loan_interest, principal, interest),
        **balance_sheet(cash=cash, overdraft=overdraft, funding_gap=gap, receivables=receivables,
                        payables=payables, deferred=deferred, vat_balance=vat.payable_balance,
                        tax_payable=f.tax.payable, net_income=net_income, g=g,
                        distributions=distributions),
    }


def trailing_sum(x: np.ndarray, window: int) -> np.ndarray:
    """Sum of the last ``window`` months (fewer at the start)."""
    c = np.cumsum(x, axis=-1)
    return c - lagged(c, window)
