"""Prepaid GPU-hour blocks of the Private Tap: purchases, FIFO expiry, balance (hand-computed)."""

from __future__ import annotations

from dataclasses import replace

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from d3.core.rounding import robust_ceil
from d3.pipelines.private.clients import ClientInputs, expected_clients
from d3.pipelines.private.prepaid_blocks import block_ledger


def ledger(hours, active=1.0, block_hours=100.0, expiry_months=12):
    h = np.array([hours], dtype=float)
    a = np.broadcast_to(np.asarray(active, dtype=float), h.shape)
    led = block_ledger(h, a, block_hours=block_hours, expiry_months=expiry_months)
    return led.purchased_hours[0].tolist(), led.expired_hours[0].tolist(), \
        led.balance_hours[0].tolist()


def test_one_client_60_hours_a_month_with_100_hour_blocks():
    # m1 balance 0 < 60 → 1 block, 100 − 60 = 40; m2 40 < 60 → ceil(20/100) = 1, 140 − 60 = 80;
    # m3 80 ≥ 60 → 0, 80 − 60 = 20; m4 20 < 60 → ceil(40/100) = 1, 120 − 60 = 60;
    # m5 60 ≥ 60 → 0, balance 0.
    bought, expired, balance = ledger([60, 60, 60, 60, 60])
    assert bought == [100, 100, 0, 100, 0]
    assert balance == [40, 80, 20, 60, 0]
    assert expired == [0] * 5


def test_unused_hours_expire_fifo_after_expiry_months():
    # Expiry 2: a block bought in month j is usable in months j, j+1, expires in month j+2.
    # m1 buy v1 = 100, use 60 → v1 40. m2 40 < 60 → buy v2 = 100; draw 60 oldest first: v1 40 → 0,
    # v2 20 → 80. m3 v1 expires with 0 left; 80 ≥ 60 → no purchase, v2 → 20.
    # m4 v2 (bought m2) expires: 20 h breakage; balance 0 < 60 → buy v4 = 100 → 40.
    bought, expired, balance = ledger([60, 60, 60, 60], expiry_months=2)
    assert bought == [100, 100, 0, 100]
    assert expired == [0, 0, 0, 20]
    assert balance == [40, 80, 20, 40]


def test_an_idle_client_loses_the_whole_unused_block():
    # 30 h in month 1 then none: 100 − 30 = 70 left, expires in month 1 + 3 = 4.
    bought, expired, balance = ledger([30, 0, 0, 0, 0], expiry_months=3)
    assert bought == [100, 0, 0, 0, 0]
    assert expired == [0, 0, 0, 70, 0]
    assert balance == [70, 70, 70, 0, 0]


def test_zero_usage_buys_nothing():
    assert ledger([0, 0, 0]) == ([0, 0, 0], [0, 0, 0], [0, 0, 0])
    assert ledger([0, 0, 0], active=0.0) == ([0, 0, 0], [0, 0, 0], [0, 0, 0])


def test_every_active_client_tops_up_its_share_of_the_shortfall_in_whole_blocks():
    # 10 clients × 60 h = 600 h: m1 shortfall 600 → 60 h each → 1 block each = 1000 h, left 400.
    # m2 5 clients (5 churned; the pooled 400 h stay) × 60 = 300 ≤ 400 → nothing, left 100.
    # m3 5 × 60 = 300: shortfall 200 → 40 h each → 1 block each = 500 h, left 300.
    bought, _, balance = ledger([600, 300, 300], active=[10, 5, 5])
    assert bought == [1000, 0, 500]
    assert balance == [400, 100, 300]
    # 500 h for 2 clients = 250 h each against 100-h blocks: ceil(2.5) = 3 blocks each → 600 h.
    assert ledger([500.0], active=2.0)[0] == [600.0]
    # an exact multiple (float noise aside) buys exactly that many: 300 h → 3 blocks, not 4
    assert ledger([300.0 + 1e-12])[0] == [300.0]


def test_the_oldest_hours_are_drawn_first_and_never_below_zero():
    # Expiry 3, 100-h blocks. m1 30 h: buy A = 100, A 70. m2 0 h. m3 150 h: live 70 < 150 →
    # ceil(80/100) = 1 block B; draw 150 oldest first: A 70 → 0, B 80 → 20. m4: A expires with
    # 0 left (nothing lost: the oldest were drawn first); 20 h used → B 0.
    bought, expired, balance = ledger([30, 0, 150, 20], expiry_months=3)
    assert bought == [100, 0, 100, 0]
    assert expired == [0, 0, 0, 0]
    assert balance == [70, 70, 20, 0]


def _ledger_by_vectorised_months(hours, active, block_hours, expiry_months):
    """The reference: the months loop vectorised over samples and live vintages (numpy),
    which the compiled ledger replaced; (purchased, expired, balance) ``(samples, months)``."""
    h, a = np.ascontiguousarray(hours.T), np.ascontiguousarray(active.T)
    vintages = np.zeros_like(h)
    purchased, expired, balance = (np.zeros_like(h) for _ in range(3))
    for m in range(h.shape[0]):
        if m >= expiry_months:
            expired[m] = vintages[m - expiry_months]
            vintages[m - expiry_months] = 0.0
        live = vintages[max(0, m - expiry_months + 1): m + 1]
        shortfall = np.maximum(h[m] - live.sum(axis=0), 0.0)
        share = np.divide(shortfall, a[m], out=np.zeros_like(shortfall), where=a[m] > 0)
        purchased[m] = a[m] * block_hours * robust_ceil(share / block_hours)
        vintages[m] = purchased[m]
        before = np.cumsum(live, axis=0) - live
        live -= np.clip(h[m] - before, 0.0, live)
        balance[m] = live.sum(axis=0)
    return purchased.T, expired.T, balance.T


@settings(max_examples=80, deadline=None)
@given(st.integers(1, 40), st.integers(1, 61), st.integers(1, 14),
       st.sampled_from([10.0, 37.5, 100.0, 160.0]), st.integers(0, 2**32 - 1))
def test_the_compiled_ledger_equals_the_vectorised_months_loop_bit_for_bit(
        samples, months, expiry, block_hours, seed):
    # Bytes, not values: the sign of a zero hour shows in the CSVs, so it must match too.
    rng = np.random.default_rng(seed)
    active = rng.poisson(rng.uniform(0, 8), size=(samples, months)).astype(float)
    hours = active * rng.choice([0.0, 15.25, 60.0, 100.0], size=(samples, months)) \
        * rng.uniform(0.5, 1.5, size=(samples, months))
    led = block_ledger(hours, active, block_hours=block_hours, expiry_months=expiry)
    expected = _ledger_by_vectorised_months(hours, active, block_hours, expiry)
    for got, want in zip((led.purchased_hours, led.expired_hours, led.balance_hours), expected,
                         strict=True):
        assert got.tobytes() == np.ascontiguousarray(want).tobytes()


@settings(max_examples=60, deadline=None)
@given(st.lists(st.tuples(st.integers(0, 12), st.integers(0, 400)), min_size=1, max_size=30),
       st.sampled_from([10.0, 50.0, 100.0, 160.0]), st.integers(1, 6))
def test_balance_is_never_negative_covers_usage_and_reconciles(rows, block_hours, expiry):
    active = np.array([[a for a, _ in rows]], dtype=float)
    hours = active * np.array([[h / 4 for _, h in rows]])  # billed in 15-minute units
    led = block_ledger(hours, active, block_hours=block_hours, expiry_months=expiry)
    assert (led.balance_hours >= 0).all() and (led.expired_hours >= 0).all()
    opening = np.concatenate([[0.0], led.balance_hours[0, :-1]])
    # usage is always covered by what is live plus what was bought
    assert (opening - led.expired_hours[0] + led.purchased_hours[0] >= hours[0] - 1e-9).all()
    # balance_m = balance_{m−1} + bought − used − expired
    assert led.balance_hours[0] == pytest.approx(
        opening + led.purchased_hours[0] - hours[0] - led.expired_hours[0], abs=1e-9)
    # whole blocks per active client
    per_client = np.divide(led.purchased_hours, active * block_hours,
                           out=np.zeros_like(hours), where=active > 0)
    assert per_client == pytest.approx(np.round(per_client))


BASE = ClientInputs(months=4, budget_month0_eur=200, budget_growth_pct_mom=0,
                    customers_per_eur=0.005, churn_frac=1.0, hours_per_client_month=60,
                    hours_sd=0.0, billing_unit_minutes=60, sell_eur_hr=2.0, cost_eur_hr=1.5,
                    fees_eur_per_client_month=50)


def test_blocks_drive_cash_series_and_breakage_is_revenue():
    # One new client a month (200 × 0.005), full churn → one active client using 60 h a month
    # (pooled balance carries over), 100-h blocks at €2/h, expiry 2 (the FIFO case above):
    # bought 100, 100, 0, 100 h → €200, 200, 0, 200; balance 40, 80, 20, 40 h → €80, 160, 40,
    # 80; expired 20 h in month 4 → €40 breakage. Usage 60 × 2 = €120; fees €50.
    e = {k: v[0].tolist() for k, v in expected_clients(
        replace(BASE, block_hours=100, block_expiry_months=2)).items()}
    assert e["block_purchases_eur"] == [200, 200, 0, 200]
    assert e["deferred_eur"] == [80, 160, 40, 80]
    assert e["expired_eur"] == [0, 0, 0, 40]
    assert e["invoiced_eur"] == [50] * 4  # only the fees are invoiced on AR terms
    assert e["revenue_eur"] == [170, 170, 170, 210]  # 120 + 50 (+ 40 breakage in month 4)
    assert e["gross_margin_eur"] == [80, 80, 80, 120]  # − COGS 60 × 1.5 = 90


def test_without_blocks_usage_and_fees_are_invoiced_monthly():
    e = {k: v[0].tolist() for k, v in expected_clients(BASE).items()}  # block_hours 0
    assert e["invoiced_eur"] == [170] * 4 == e["revenue_eur"]  # 60 × 2 + 50
    assert e["block_purchases_eur"] == e["deferred_eur"] == e["expired_eur"] == [0] * 4


def test_an_expiry_below_one_month_is_refused():
    with pytest.raises(ValueError, match="expiry_months"):
        block_ledger(np.ones((1, 3)), np.ones((1, 3)), block_hours=10.0, expiry_months=0)
