"""P&L, tax, VAT and cashflow identities."""

from __future__ import annotations

import numpy as np
import pytest

from d3.finance.statements import (
    GeneralSchedules,
    LineResults,
    fiscal_months,
    pnl_and_cashflow,
    vat_flows,
)
from tests.finance._plans import corporate_tax_by_fiscal_year


def test_loss_in_month_1_reduces_tax_in_month_2():
    # One fiscal year, EBT −1000, +1500, +400 at 20 %: tax to date 0, (500 × 20 %) = 100,
    # (900 × 20 %) = 180 → accruals 0, 100, 80 (not 0, 300, 80 as month-by-month tax would be).
    tax = corporate_tax_by_fiscal_year(np.array([[-1000.0, 1500.0, 400.0]]), rate_pct=20,
                                       fiscal_month=fiscal_months(3, start_month=1),
                                       payment_lag_months=5)
    assert tax.accrued.tolist() == [[0.0, 100.0, 80.0]]


def test_vat_with_one_month_lag_reconciles():
    sales = np.array([[1000.0, 2000.0, 0.0, 500.0]])
    purchases = np.array([[300.0, 100.0, 200.0, 0.0]])
    v = vat_flows(sales, purchases, vat_pct=21, lag_months=1, policy="set_aside_net")
    assert v.remitted.tolist()[0] == pytest.approx([0.0, 147.0, 399.0, -42.0])
    # Σ remitted + what is still owed = Σ collected − Σ paid
    assert v.remitted.sum() + v.payable_balance[0, -1] == pytest.approx(
        v.collected.sum() - v.paid_on_purchases.sum())
    assert v.payable_balance[0, -1] == pytest.approx(105.0)  # month 4's net, remitted later


def _line(n, t, revenue, cogs=0.0, acquisition=0.0, cash=None, deferred=0.0, ar=0.0, ap=0.0):
    def full(x):
        return np.broadcast_to(np.asarray(x, dtype=float), (n, t)).copy()
    return LineResults(full(revenue), full(cogs), full(acquisition),
                       full(revenue if cash is None else cash), full(deferred), full(ar), full(ap))


def _general(t, **kw):
    base = dict(fixed_costs=np.full(t, 500.0), vatable_fixed_costs=np.full(t, 200.0),
                insurance=np.full(t, 50.0), bizdev=np.full(t, 100.0),
                depreciation=np.full(t, 80.0), capex=np.array([960.0] + [0.0] * (t - 1)),
                interest=np.full(t, 100.0), principal=np.full(t, 400.0), contingency_pct=10,
                corporate_tax_pct=20, loss_carry_forward=True, vat_pct=21, vat_lag_months=1,
                vat_policy="set_aside_net", ar_days=30, ap_days=15, opening_cash_eur=40_000.0)
    base.update(kw)
    return GeneralSchedules(**base)


def test_cash_links_and_reconciles_with_the_pnl():
    rng = np.random.default_rng(0)
    n, t = 4, 12
    public = _line(n, t, rng.uniform(0, 3000, (n, t)), cogs=rng.uniform(0, 900, (n, t)),
                   acquisition=300.0, cash=rng.uniform(0, 3500, (n, t)),
                   deferred=rng.uniform(0, 800, (n, t)))
    private = _line(n, t, rng.uniform(0, 2000, (n, t)), cogs=500.0, acquisition=200.0,
                    ar=rng.uniform(0, 2000, (n, t)), ap=400.0)
    r = pnl_and_cashflow(public, private, _general(t))
    # opening of month m+1 = closing of month m, in every sample
    assert np.allclose(r["opening_cash_eur"][:, 1:], r["closing_cash_eur"][:, :-1])
    assert np.allclose(r["opening_cash_eur"][:, 0], 40_000.0)
    # net income + depreciation − Δ working capital − capex − principal = Δ net cash (the
    # bank balance less overdraft and funding gap; working capital includes tax owed)
    delta_cash = np.diff(r["net_cash_eur"], axis=-1, prepend=40_000.0)
    assert np.allclose(r["net_income_eur"] + r["depreciation_eur"]
                       - r["delta_working_capital_eur"] - r["capex_eur"] - r["principal_eur"],
                       delta_cash)
    # P&L chain
    assert np.allclose(r["ebitda_eur"], r["revenue_eur"] - r["cogs_eur"] - r["opex_eur"])
    assert np.allclose(r["net_income_eur"], r["ebitda_eur"] - 80 - 100 - r["tax_eur"])


def test_contingency_dscr_and_icr_by_hand():
    # revenue 3000, no COGS; opex = acquisition 0 + (500 + 50 + 100) × 1.10 = 715
    # EBITDA 2285; EBIT 2205; EBT 2105; tax accrued 421 a month, but the year's tax is paid
    # 5 months after the year ends, so nothing is paid in months 1–3:
    # DSCR = (2285 − 0) / 500 = 4.57; ICR 22.05
    r = pnl_and_cashflow(_line(1, 3, 3000.0), _line(1, 3, 0.0), _general(3))
    assert r["opex_eur"][0, 0] == pytest.approx(715.0)
    assert r["tax_eur"][0].tolist() == [421.0, 421.0, 421.0]
    assert r["tax_paid_eur"][0].tolist() == [0.0, 0.0, 0.0]
    assert r["dscr"][0, 0] == pytest.approx(2285 / 500)
    assert r["icr"][0, 0] == pytest.approx(2205 / 100)
    assert r["dscr_t12"][0, 2] == pytest.approx(2285 * 3 / 1500)


def test_no_debt_service_gives_no_dscr():
    g = _general(2, interest=np.zeros(2), principal=np.zeros(2))
    r = pnl_and_cashflow(_line(1, 2, 1000.0), _line(1, 2, 0.0), g)
    assert np.isnan(r["dscr"]).all() and np.isnan(r["icr"]).all()
