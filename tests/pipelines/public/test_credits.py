"""Prepaid credit ledger: consumption, breakage timing, balance never negative."""

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from d3.pipelines.public.credits import credit_ledger


def test_consumed_over_three_months_no_breakage_when_expiry_is_longer():
    ledger = credit_ledger(np.array([300.0, 0, 0, 0, 0]), consumption_months=3, expiry_months=12)
    assert ledger.consumed.tolist() == [100, 100, 100, 0, 0]
    assert ledger.expired.tolist() == [0, 0, 0, 0, 0]
    assert ledger.balance.tolist() == [200, 100, 0, 0, 0]


def test_breakage_appears_exactly_expiry_months_after_an_unconsumed_purchase():
    # 300 bought in month 1, used 100/month, expiry 2 months: 100 left expires in month 1 + 2.
    ledger = credit_ledger(np.array([300.0, 0, 0, 0]), consumption_months=3, expiry_months=2)
    assert ledger.consumed.tolist() == [100, 100, 0, 0]
    assert ledger.expired.tolist() == [0, 0, 100, 0]
    assert ledger.balance.tolist() == [200, 100, 0, 0]
    assert ledger.revenue.sum() == 300  # every euro is recognised once


def test_single_month_consumption_recognises_purchases_immediately():
    purchases = np.array([[10.0, 20.0, 30.0]])
    ledger = credit_ledger(purchases, consumption_months=1, expiry_months=12)
    assert np.array_equal(ledger.revenue, purchases)
    assert np.array_equal(ledger.balance, np.zeros((1, 3)))


@settings(max_examples=200, deadline=None)
@given(st.lists(st.floats(0, 1e6), min_size=1, max_size=30), st.integers(1, 14),
       st.integers(1, 14))
def test_ledger_never_negative_and_conserves_value(purchases, c, e):
    p = np.array(purchases)
    ledger = credit_ledger(p, consumption_months=c, expiry_months=e)
    assert (ledger.balance >= 0).all()
    # purchases = recognised revenue + what is still live at the end
    assert ledger.revenue.sum() + ledger.balance[-1] == pytest.approx(p.sum(), rel=1e-9, abs=1e-6)


def test_credits_bought_only_to_reach_the_minimum_top_up_are_never_used_and_expire():
    # 100 EUR bought in month 1, of which 40 only to reach the minimum: the 60 wanted are used
    # over 2 months (30, 30); the 40 expire 3 months after the purchase (month 4).
    ledger = credit_ledger(np.array([100.0, 0, 0, 0, 0]), consumption_months=2,
                           expiry_months=3, unused=np.array([40.0, 0, 0, 0, 0]))
    assert ledger.consumed.tolist() == [30, 30, 0, 0, 0]
    assert ledger.expired.tolist() == [0, 0, 0, 40, 0]
    assert ledger.balance.tolist() == [70, 40, 40, 0, 0]
    assert (ledger.revenue.sum(), 100.0) == (100.0, 100.0)  # every euro bought is earned once
