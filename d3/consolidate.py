"""Consolidation: both lines' samples → per-sample P&L and cashflow → KPIs and percentiles."""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from functools import lru_cache
from typing import Any

import numpy as np

from d3.core.variables import Variable, overrides_of, reference_values, with_overrides
from d3.finance.distributions import DistributionPolicy, reserve_floor_eur, social_security_eur
from d3.finance.kpis import distribution_kpis, sample_kpis
from d3.finance.loan import loan_schedule
from d3.finance.money import cents
from d3.finance.statements import (
    GeneralSchedules,
    LineResults,
    depreciation_and_capex,
    fiscal_months,
    fixed_costs_by_month,
    insurance_monthly_eur,
    pnl_and_cashflow,
    safe_ratio,
    vatable_fixed_costs,
)
from d3.finance.tables import OptionalLines
from d3.models.operator import GeneralOperator


def general_schedules(general, annual_premiums: Mapping[str, float], months: int,
                      loan_amount_eur: float | None = None) -> GeneralSchedules:
    """Month schedules of one general configuration (``loan_amount_eur`` overrides the loan).
    Salaries inflate like fixed costs (``inflation_pct_yoy_by_category`` keyed by role)."""
    f = general.finance
    fixed = fixed_costs_by_month(f.fixed_costs_monthly_eur, f.inflation_pct_yoy_by_category,
                                 months)
    salaries = fixed_costs_by_month(f.salaries_monthly_eur, f.inflation_pct_yoy_by_category,
                                    months)
    salaries_total = sum(salaries.values()) if salaries else np.zeros(months)
    fixed_total = sum(fixed.values()) if fixed else np.zeros(months)
    dep, capex = depreciation_and_capex(general.depreciation.assets, months)
    amount = general.loan.amount_eur if loan_amount_eur is None else loan_amount_eur
    loan = loan_schedule(amount_eur=amount, term_months=general.loan.term_months,
                         interest_rate_pct_flat=general.loan.interest_rate_pct_flat,
                         grace_period_months=general.loan.grace_period_months,
                         repayment=general.loan.repayment).padded(months)
    insurance = insurance_monthly_eur(general.insurances.selected, annual_premiums,
                                      general.insurances.premiums_buffer_pct)
    return GeneralSchedules(
        fixed_costs=fixed_total,
        vatable_fixed_costs=vatable_fixed_costs(fixed, months),
        insurance=np.full(months, insurance), bizdev=np.full(months, f.bizdev_budget_monthly_eur),
        depreciation=dep, capex=capex, interest=loan.interest, principal=loan.principal,
        contingency_pct=f.contingency_pct_of_costs,
        corporate_tax_pct=general.tax.corporate_tax_pct,
        loss_carry_forward=general.tax.loss_carry_forward, vat_pct=general.tax.vat_pct,
        vat_lag_months=general.tax.vat_payment_lag_months,
        vat_policy=general.tax.vat_buffer_policy, ar_days=general.working_capital.ar_days,
        ap_days=general.working_capital.ap_days,
        opening_cash_eur=amount + f.equity_injection_eur,
        equity_injection_eur=f.equity_injection_eur,
        loan_closing_principal=loan.closing_principal,
        fiscal_month=fiscal_months(
            months, start_month=general.calendar.start_month,
            fiscal_year_start_month=general.tax.fiscal_year_start_month),
        corporate_tax_payment_lag_months=general.tax.corporate_tax_payment_lag_months,
        overdraft_limit_eur=general.financing.overdraft_limit_eur,
        overdraft_interest_rate_pct=general.financing.overdraft_interest_rate_pct,
        salaries=salaries_total, social_security_pct=general.tax.social_security_pct,
        distribution_policy=distribution_policy(general),
        reserve_floor_eur=reserve_floor(general, fixed_total, salaries_total))


def distribution_policy(general) -> DistributionPolicy:
    """The owner's distribution policy of a general configuration; dividends are paid with the
    corporate tax, ``corporate_tax_payment_lag_months`` after the fiscal year's last month."""
    r = general.reserves
    return DistributionPolicy(
        founder_draw=r.founder_draw_policy, founder_draw_eur_per_month=r.founder_draw_eur_per_month,
        founder_draw_pct_of_profit=r.founder_draw_pct_of_profit,
        dividend_pct=r.distribution_policy.dividend_pct,
        withholding_pct=general.tax.dividend_withholding_pct,
        payment_lag_months=general.tax.corporate_tax_payment_lag_months)


def reserve_floor(general, fixed_eur: np.ndarray, salaries_eur: np.ndarray) -> np.ndarray:
    """Free cash kept before any distribution, ``(months,)`` EUR: ``reserve_months_target`` ×
    the month's fixed costs + salaries + social security (as booked, in cents), at least the
    emergency fund, plus ``cash_buffer_eur``."""
    r = general.reserves
    staff = cents(salaries_eur)
    costs = cents(fixed_eur) + staff + social_security_eur(staff, general.tax.social_security_pct)
    return reserve_floor_eur(costs, reserve_months=r.reserve_months_target,
                             emergency_fund_eur=r.emergency_fund_eur,
                             cash_buffer_eur=r.cash_buffer_eur)


def uses_salaries(general) -> bool:
    """Whether a configuration has a salary line (then the P&L tables show it)."""
    return bool(general.finance.salaries_monthly_eur)


def pays_distributions(general) -> bool:
    """Whether a configuration can pay the owner (then the cash flow table shows it)."""
    return distribution_policy(general).pays


def empty_line(shape) -> LineResults:
    z = np.zeros(shape)
    return LineResults(z, z, z, z, z, z, z)


def public_line(demand: Mapping[str, np.ndarray]) -> LineResults:
    """Public Tap: revenue = credits served + expired; COGS = the rented fleet (GPU + non-GPU);
    cash = credits sold less refunds of credits the fleet could not serve (prepaid); the
    unconsumed balance is deferred revenue."""
    z = np.zeros_like(demand["revenue_eur"])
    return LineResults(demand["revenue_eur"], demand["cogs_eur"], demand["budget_eur"],
                       demand["credits_sold_eur"] - demand["refunds_eur"],
                       demand["deferred_eur"], z, z)


def private_line(clients: Mapping[str, np.ndarray]) -> LineResults:
    """Private Tap: revenue = usage + fees + breakage of expired block hours. Prepaid usage is
    paid (and VAT charged) when a block is bought; its unused balance is deferred revenue, so
    cash in for usage = ``block_purchases_eur``. What is invoiced monthly (fees; usage too when
    there are no blocks) is VAT base when invoiced and collected on AR days; GPU costs are paid
    on AP days. Cash sales = block purchases + invoiced; neither is counted twice: usage revenue
    is cash through the deferred balance, invoiced revenue through the receivables."""
    return LineResults(clients["revenue_eur"], clients["cogs_eur"], clients["budget_eur"],
                       clients["block_purchases_eur"] + clients["invoiced_eur"],
                       clients["deferred_eur"], clients["invoiced_eur"], clients["cogs_eur"])


ALLOCATION_DRIVERS = ("revenue", "gpu_hours", "tokens")


def overhead_allocation(r: Mapping[str, np.ndarray], *, public_driver: np.ndarray,
                        private_driver: np.ndarray) -> dict:
    """Split the shared overhead (opex less each line's own acquisition) between the lines by
    the driver's monthly shares; only these allocated columns depend on the driver."""
    overhead = r["opex_eur"] - r["acquisition_eur"]
    total = public_driver + private_driver
    share = np.where(total > 0, public_driver / np.where(total > 0, total, 1.0), 0.5)
    return {"overhead_public_eur": overhead * share,
            "overhead_private_eur": overhead * (1.0 - share)}


def consolidated(public: LineResults | None, private: LineResults | None,
                 schedules: GeneralSchedules, shape) -> dict[str, np.ndarray]:
    return pnl_and_cashflow(public or empty_line(shape), private or empty_line(shape), schedules)


def max_loan_for_dscr(public, private, general, annual_premiums, months: int, *, min_dscr: float,
                      percentile: float = 10, dscr_from_month: int = 12,
                      tolerance_eur: float = 100.0, upper_eur: float = 1_000_000.0,
                      shape=None) -> tuple[float, float]:
    """Largest loan amount whose p10 (across samples) of the minimum trailing-12-month DSCR
    stays ≥ ``min_dscr``; bisection to ``tolerance_eur``. Returns (amount, tolerance)."""
    from d3.finance.kpis import nan_min

    def p_dscr(amount: float) -> float:
        g = general_schedules(general, annual_premiums, months, loan_amount_eur=amount)
        r = consolidated(public, private, g, shape)
        values = nan_min(r["dscr_t12"][:, dscr_from_month - 1:])
        # No debt service in the window: no constraint. The largest float, not inf, so that
        # interpolating between two such samples is not inf − inf = NaN (a failure).
        values = np.where(np.isnan(values), np.finfo(float).max, values)
        return float(np.percentile(values, percentile, method="linear"))

    if p_dscr(tolerance_eur) < min_dscr:
        return 0.0, tolerance_eur
    lo, hi = tolerance_eur, upper_eur
    if p_dscr(hi) >= min_dscr:
        return hi, tolerance_eur
    while hi - lo > tolerance_eur:
        mid = (lo + hi) / 2
        lo, hi = (mid, hi) if p_dscr(mid) >= min_dscr else (lo, mid)
    return lo, tolerance_eur


def allocation_driver(driver, line, hours, which):
    """The overhead-allocation driver of one line per sample and month (0 when not run)."""
    if line is None:
        return 0.0
    if driver == "revenue":
        return line["revenue_eur"]
    if driver == "gpu_hours":
        return line["instances_total"] * hours if which == "public" else line["hours"]
    return line["tokens_served"] if which == "public" else np.zeros_like(line["revenue_eur"])


def reference_finance(g, general, premiums, months, demand_doc, private_doc, driver, hours):
    """:func:`reference_finance_of` with the lines' expected paths read from their stage
    summaries (``demand_doc``/``private_doc``, ``None`` when a line is not run)."""
    key = str(g)

    def expected(doc):
        return None if doc is None else {k: np.array(v)[None, :]
                                         for k, v in doc["grid"][key]["expected"].items()}

    return reference_finance_of(general, premiums, months, expected(demand_doc),
                                expected(private_doc), driver, hours)


def reference_finance_of(general, premiums, months, pub_e, pri_e, driver, hours):
    """Finance of a grid point's reference path: every random variable at its mean, no
    outcome noise (the lines' ``expected`` paths, ``(1, months)`` series or ``None``). Shown
    beside the samples, never used to decide (SPEC §8)."""
    sched = general_schedules(general, premiums, months)
    r = consolidated(public_line(pub_e) if pub_e else None,
                     private_line(pri_e) if pri_e else None, sched, (1, months))
    r.update(overhead_allocation(
        r, public_driver=allocation_driver(driver, pub_e, hours, "public"),
        private_driver=allocation_driver(driver, pri_e, hours, "private")))
    out = {k: np.asarray(v)[0] for k, v in r.items()}
    if pub_e is not None:
        out["public_active_customers"] = pub_e["active_customers"][0]
        out["expected_violations"] = pub_e["capacity_violations"][0]
    if pri_e is not None:
        out["private_active_clients"] = pri_e["active_clients"][0]
    return out


def _ratio_pct(num: np.ndarray, den: np.ndarray) -> np.ndarray:
    """``num / den`` in percent where ``den > 0``, NaN elsewhere."""
    return safe_ratio(num, den) * 100.0


def public_kpis(demand: Mapping[str, np.ndarray], results: Mapping[str, np.ndarray],
                horizon: int) -> dict[str, tuple[str, np.ndarray]]:
    """Per-sample Public Tap KPIs over the first ``horizon`` months: the margin the price list
    promises on served tokens, the margin the P&L realises on the rented fleet, and the demand
    the capped fleet could not serve (also over the whole term, ``*_term_*``)."""
    h = slice(0, horizon)
    total = {k: v[:, h].sum(axis=1) for k, v in demand.items()}
    term = {k: demand[k].sum(axis=1) for k in ("unserved_tokens", "tokens_demanded",
                                               "refunds_eur")}
    revenue = results["revenue_public_eur"][:, h].sum(axis=1)
    cogs = results["cogs_public_eur"][:, h].sum(axis=1)
    return {
        "public_priced_margin_pct": ("pct", _ratio_pct(total["served_eur"]
                                                       - total["priced_cogs_eur"],
                                                       total["served_eur"])),
        "public_realised_margin_pct": ("pct", _ratio_pct(revenue - cogs, revenue)),
        "unserved_tokens": ("tokens", total["unserved_tokens"]),
        "unserved_tokens_share_pct": ("pct", _ratio_pct(total["unserved_tokens"],
                                                        total["tokens_demanded"])),
        "public_refunds_eur": ("EUR", total["refunds_eur"]),
        "unserved_tokens_share_term_pct": ("pct", _ratio_pct(term["unserved_tokens"],
                                                             term["tokens_demanded"])),
        "public_refunds_term_eur": ("EUR", term["refunds_eur"]),
        "capacity_violation_model_months": ("model-months", total["capacity_violations"]),
    }


def autoscaler_kpis(rows) -> dict[str, dict[str, dict[str, float]]]:
    """The autoscaler's KPIs per model and trace (``public_tap_autoscaling_kpis.csv`` rows of
    one grid point), plus ``all models``: events and SLA-violation ticks summed,
    utilisation demand-weighted (Σ demand / Σ ready capacity ≈ the mean of ``avg_util_pct``
    weighted by instance-hours) and the highest p95 utilisation."""
    out: dict[str, dict[str, dict[str, float]]] = {}
    for r in rows:
        out.setdefault(r["model"], {})[r["trace"]] = {
            "scale_events": float(r["scale_events"]), "avg_util_pct": float(r["avg_util_pct"]),
            "p95_util_pct": float(r["p95_util_pct"]),
            "sla_violations": float(r["sla_violations"]),
            "instance_hours": float(r["instance_hours"])}
    if not out:
        return out
    total: dict[str, dict[str, float]] = {}
    for trace in sorted({t for m in out.values() for t in m}):
        runs = [m[trace] for m in out.values() if trace in m]
        hours = math.fsum(r["instance_hours"] for r in runs)
        total[trace] = {
            "scale_events": math.fsum(r["scale_events"] for r in runs),
            "avg_util_pct": math.fsum(r["avg_util_pct"] * r["instance_hours"] for r in runs) / hours
            if hours > 0 else 0.0,
            "p95_util_pct": max(r["p95_util_pct"] for r in runs),
            "sla_violations": math.fsum(r["sla_violations"] for r in runs),
            "instance_hours": hours}
    return {"all models": total, **dict(sorted(out.items()))}


class GeneralConfigs:
    """The validated general configuration at given variable values, cached (a run has few
    distinct ones: general-scope variables may vary by block)."""

    def __init__(self, general_dump: Mapping[str, Any], variables: Sequence[Variable]):
        self.dump = general_dump
        self.variables = tuple(variables)
        self._validated = lru_cache(maxsize=64)(self._validate)

    def _validate(self, overrides: tuple) -> GeneralOperator:
        return GeneralOperator.model_validate(with_overrides(self.dump, dict(overrides)))

    def at(self, values: Mapping[str, Any]) -> GeneralOperator:
        return self._validated(tuple(sorted(overrides_of(self.variables, values,
                                                         "general").items())))

    def reference(self, grid_index: int) -> GeneralOperator:
        return self.at(reference_values(self.variables, grid_index))


def block_finance(general: GeneralOperator, premiums: Mapping[str, float], months: int,
                  demand: Mapping[str, np.ndarray] | None,
                  clients: Mapping[str, np.ndarray] | None, *, driver: str,
                  hours: float) -> dict[str, np.ndarray]:
    """P&L, cash flow and balance sheet of one block's samples under its general
    configuration ``general``: EUR ``(samples, months)`` per series, from the lines' series of
    the block (``demand`` / ``clients``, ``None`` when a line is not run; same shape), with
    the shared overhead allocated by ``driver``. Every operation is per sample (row), so a
    block's rows do not depend on the other blocks computed with them."""
    shape = (demand if demand is not None else clients)["revenue_eur"].shape
    pub = public_line(demand) if demand is not None else None
    pri = private_line(clients) if clients is not None else None
    # C-contiguous float64 (a constant line may come back broadcast). Statement lines that
    # are the same number share one array (cash and bs_cash): nothing writes into them.
    out = {k: np.ascontiguousarray(v, dtype=np.float64) for k, v in consolidated(
        pub, pri, general_schedules(general, premiums, months), shape).items()}
    out.update(overhead_allocation(
        out, public_driver=allocation_driver(driver, demand, hours, "public"),
        private_driver=allocation_driver(driver, clients, hours, "private")))
    return out


def grid_kpis(results: Mapping[str, np.ndarray], demand: Mapping[str, np.ndarray] | None,
              horizon: int, *, min_dscr: float, cash_buffer_eur: float,
              distributions: bool) -> dict[str, tuple[str, np.ndarray]]:
    """Per-sample KPIs of one grid point, ``{name: (unit, values)}``: the finance KPIs, the
    Public Tap's (when ``demand`` is given) and the owner's distributions (when paid)."""
    kpis = sample_kpis(results, horizon, min_dscr=min_dscr, cash_buffer_eur=cash_buffer_eur)
    if demand is not None:
        kpis.update(public_kpis(demand, results, horizon))
    if distributions:
        kpis.update(distribution_kpis(results, horizon))
    return kpis


def optional_lines(configs: GeneralConfigs, blocks: Sequence[Mapping[str, Any]],
                   block_ids: np.ndarray, grid_points: Sequence[int]) -> OptionalLines:
    """Salary and distribution lines are shown when any configuration of the run (a block's
    or a grid point's reference) has them."""
    used = {(uses_salaries(c), pays_distributions(c)) for c in (
        *(configs.at(blocks[int(b)]) for b in np.unique(block_ids)),
        *(configs.reference(g) for g in grid_points))}
    return OptionalLines(salaries=any(s for s, _ in used),
                         distributions=any(d for _, d in used))
