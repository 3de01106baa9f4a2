"""Small hand-checkable plans shared by the finance tests."""

from __future__ import annotations

import numpy as np

from d3.finance.statements import CorporateTax, GeneralSchedules, LineResults, bank_financing


def line(n, t, revenue=0.0, cogs=0.0, acquisition=0.0, cash=None, deferred=0.0, ar=0.0, ap=0.0):
    """A product line of ``n`` samples × ``t`` months; scalars and ``(t,)`` rows broadcast."""
    def full(x):
        return np.broadcast_to(np.asarray(x, dtype=float), (n, t)).copy()
    return LineResults(full(revenue), full(cogs), full(acquisition),
                       full(revenue if cash is None else cash), full(deferred), full(ar), full(ap))


def schedules(t, **kw) -> GeneralSchedules:
    """Everything zero (no costs, tax, VAT, loan or overdraft) unless given."""
    z = np.zeros(t)
    base = dict(fixed_costs=z, vatable_fixed_costs=z, insurance=z, bizdev=z, depreciation=z,
                capex=z, interest=z, principal=z, contingency_pct=0.0, corporate_tax_pct=0.0,
                loss_carry_forward=True, vat_pct=0.0, vat_lag_months=1, vat_policy="none",
                ar_days=0.0, ap_days=0.0, opening_cash_eur=0.0, overdraft_limit_eur=0.0,
                overdraft_interest_rate_pct=0.0)
    base.update({k: np.asarray(v, dtype=float) if isinstance(v, list) else v
                 for k, v in kw.items()})
    return GeneralSchedules(**base)


def corporate_tax_by_fiscal_year(ebt: np.ndarray, *, rate_pct: float, fiscal_month: np.ndarray,
                                 payment_lag_months: int,
                                 carry_forward: bool = True) -> CorporateTax:
    """Tax on each fiscal year's EBT (``(samples, months)``) on its own: the cash recursion of
    ``bank_financing`` with no overdraft interest, cash flow or distributions, so the tax is
    the only thing it books."""
    t = ebt.shape[-1]
    g = schedules(t, corporate_tax_pct=rate_pct, fiscal_month=np.asarray(fiscal_month),
                  corporate_tax_payment_lag_months=payment_lag_months,
                  loss_carry_forward=carry_forward)
    return bank_financing(np.asarray(ebt, dtype=float), np.zeros(ebt.shape), g).tax
