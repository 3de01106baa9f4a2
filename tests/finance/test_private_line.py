"""The Private Tap line in the finance: prepaid blocks are cash when bought, fees on AR days."""

from __future__ import annotations

from dataclasses import replace

import numpy as np
import pytest

from d3.consolidate import empty_line, private_line
from d3.finance.statements import GeneralSchedules, pnl_and_cashflow
from d3.pipelines.private.clients import ClientInputs, expected_clients

# One client a month (200 EUR × 0.005), full churn → one active client using 60 h/month at
# €2/h (COGS €1.5/h), fees €50/month; 100-h blocks expiring after 2 months
# (tests/pipelines/private/test_prepaid_blocks.py derives the ledger by hand).
CLIENTS = ClientInputs(months=4, budget_month0_eur=200, budget_growth_pct_mom=0,
                       customers_per_eur=0.005, churn_frac=1.0, hours_per_client_month=60,
                       hours_sd=0.0, billing_unit_minutes=60, sell_eur_hr=2.0, cost_eur_hr=1.5,
                       fees_eur_per_client_month=50, block_hours=100, block_expiry_months=2)


def schedules(t, **kw):
    z = np.zeros(t)
    base = dict(fixed_costs=z, vatable_fixed_costs=z, insurance=z, bizdev=z, depreciation=z,
                capex=z, interest=z, principal=z, contingency_pct=0, corporate_tax_pct=0,
                loss_carry_forward=True, vat_pct=0, vat_lag_months=1, vat_policy="none",
                ar_days=30, ap_days=0, opening_cash_eur=0.0,
                # Cash goes negative here: no overdraft interest, so the line's own cash shows.
                overdraft_interest_rate_pct=0.0)
    base.update(kw)
    return GeneralSchedules(**base)


def test_block_purchases_are_cash_in_and_fees_arrive_on_ar_terms():
    e = expected_clients(CLIENTS)
    r = pnl_and_cashflow(empty_line((1, 4)), private_line(e), schedules(4))
    # Revenue 120 usage + 50 fees (+ 40 breakage in month 4) − COGS 90 − acquisition 200:
    # net income −120, −120, −120, −80.
    assert r["net_income_eur"][0].tolist() == [-120, -120, -120, -80]
    # Cash in = blocks bought 200, 200, 0, 200 + fees collected a month late (AR 30 days)
    # 0, 50, 50, 50; cash out = COGS 90 + acquisition 200 = 290:
    # 200 − 290 = −90; 250 − 290 = −40; 50 − 290 = −240; 250 − 290 = −40.
    assert r["operating_cash_eur"][0] == pytest.approx([-90, -40, -240, -40])
    # Working capital: receivables 50 each month, deferred 80, 160, 40, 80 (unused block hours).
    assert r["receivables_eur"][0].tolist() == [50] * 4
    assert r["deferred_revenue_eur"][0].tolist() == [80, 160, 40, 80]


def test_vat_is_charged_when_a_block_is_bought_and_when_fees_are_invoiced():
    r = pnl_and_cashflow(empty_line((1, 4)), private_line(expected_clients(CLIENTS)),
                         schedules(4, vat_pct=20))
    # 20 % × (blocks 200, 200, 0, 200 + fees 50) = 50, 50, 10, 50 (usage and breakage: none)
    assert r["vat_collected_eur"][0] == pytest.approx([50, 50, 10, 50])


def test_without_blocks_everything_is_invoiced_on_ar_terms_as_before():
    e = expected_clients(replace(CLIENTS, block_hours=0))
    line = private_line(e)
    # revenue 60 × 2 + 50 = 170 a month: VAT base, receivable base, nothing deferred
    assert line.cash_sales[0].tolist() == line.receivable_base[0].tolist() == [170] * 4
    assert line.deferred_revenue[0].tolist() == [0] * 4
    r = pnl_and_cashflow(empty_line((1, 4)), line, schedules(4))
    # cash in 0, 170, 170, 170 (a month late) − 290 → −290, −120, −120, −120
    assert r["operating_cash_eur"][0] == pytest.approx([-290, -120, -120, -120])
