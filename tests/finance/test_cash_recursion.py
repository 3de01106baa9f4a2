"""The compiled cash recursion (d3/finance/cash_recursion.py) against the numpy recursion it
replaced, stepped month by month over all samples at once, bit for bit (the sign of a zero
shows in the CSVs), on random plans with losses, overdrafts, fiscal years that start
mid-plan, and every distribution policy; and cents_one against numpy's round."""

from __future__ import annotations

import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st

from d3.finance.cash_recursion import cents_one
from d3.finance.distributions import DistributionPolicy
from d3.finance.money import cents
from d3.finance.statements import bank_financing, fiscal_months
from tests.finance._plans import schedules


def _numpy_recursion(ebt, flow, owed, fiscal, g):
    """The reference: the rules of d3.finance.cash_recursion's docstring in numpy, one month
    at a time over every sample (the implementation before it was compiled)."""
    n, t = ebt.shape
    p = g.distribution_policy
    rate, tax_rate = g.overdraft_interest_rate_pct / 100.0 / 12.0, g.corporate_tax_pct / 100.0
    floor = np.zeros(t) if g.reserve_floor_eur is None else cents(g.reserve_floor_eur)
    out = {k: np.zeros((n, t)) for k in ("interest", "accrued", "paid", "net", "draw", "div")}
    net, tax_owed = np.full(n, float(cents(g.opening_cash_eur))), np.zeros(n)
    ebt_ytd, losses, tax_ytd = np.zeros(n), np.zeros(n), np.zeros(n)
    retained, year_income, year_draws = np.zeros(n), np.zeros(n), np.zeros(n)
    tax_due, div_due = {}, {}
    for m in range(t):
        fm = int(fiscal[m])
        interest = cents(rate * np.maximum(-net, 0.0))
        if fm == 1 and m > 0:
            losses = np.maximum(losses - ebt_ytd, 0.0) if g.loss_carry_forward \
                else np.zeros_like(losses)
            ebt_ytd, tax_ytd = np.zeros(n), np.zeros(n)
            year_income, year_draws = np.zeros(n), np.zeros(n)
        ebt_ytd = ebt_ytd + (ebt[:, m] - interest)
        to_date = cents(tax_rate * np.maximum(ebt_ytd - losses, 0.0))
        accrued, tax_ytd = to_date - tax_ytd, to_date
        if fm == 12:
            tax_due[m + g.corporate_tax_payment_lag_months] = tax_due.get(
                m + g.corporate_tax_payment_lag_months, 0.0) + to_date
        paid = np.broadcast_to(tax_due.pop(m, 0.0), (n,))
        net = net + flow[:, m] - interest - paid
        if p.pays:
            tax_owed = tax_owed + (accrued - paid)
            ni = ebt[:, m] - interest - accrued
            free = net - owed[:, m] - tax_owed
            retained, year_income = retained + ni, year_income + ni
            room = np.maximum(free - float(floor[m]), 0.0)
            wanted = {"flat": np.full(n, float(cents(p.founder_draw_eur_per_month))),
                      "percent_of_profit": cents(p.founder_draw_pct_of_profit / 100.0
                                                 * np.maximum(ni, 0.0)),
                      "none": np.zeros(n)}[p.founder_draw]
            draw = np.minimum(np.minimum(wanted, np.maximum(retained, 0.0)), room)
            retained, year_draws = retained - draw, year_draws + draw
            if fm == 12 and p.dividend_pct > 0:
                div_due[m + p.payment_lag_months] = cents(
                    p.dividend_pct / 100.0 * np.maximum(year_income - year_draws, 0.0))
            div = np.minimum(np.minimum(div_due.pop(m, np.zeros(n)), np.maximum(retained, 0.0)),
                             room - draw)
            retained = retained - div
            net = net - draw - div
            out["draw"][:, m], out["div"][:, m] = draw, div
        out["interest"][:, m], out["accrued"][:, m], out["paid"][:, m] = interest, accrued, paid
        out["net"][:, m] = net
    return out


@settings(max_examples=60, deadline=None)
@given(st.integers(1, 30), st.integers(1, 40), st.integers(1, 12), st.integers(0, 6),
       st.booleans(), st.sampled_from(["none", "flat", "percent_of_profit"]),
       st.sampled_from([0.0, 30.0, 100.0]), st.booleans(), st.integers(0, 2**32 - 1))
def test_compiled_recursion_equals_the_numpy_recursion_bit_for_bit(
        samples, months, fiscal_start, tax_lag, carry_forward, draw, dividend_pct, vat, seed):
    rng = np.random.default_rng(seed)
    # Whole cents, as the statements book them; losses and overdrafts on many paths.
    ebt = cents(rng.normal(200.0, 3_000.0, size=(samples, months)))
    flow = cents(ebt + rng.normal(0.0, 1_000.0, size=(samples, months)))
    owed = cents(np.maximum(rng.normal(0.0, 300.0, size=(samples, months)), 0.0)) if vat \
        else None
    policy = DistributionPolicy(founder_draw=draw, founder_draw_eur_per_month=1_234.567,
                                founder_draw_pct_of_profit=15.0, dividend_pct=dividend_pct,
                                payment_lag_months=int(rng.integers(0, 8)))
    fiscal = fiscal_months(months, start_month=fiscal_start)
    g = schedules(months, corporate_tax_pct=25.0, corporate_tax_payment_lag_months=tax_lag,
                  loss_carry_forward=carry_forward, fiscal_month=fiscal,
                  overdraft_interest_rate_pct=12.0, opening_cash_eur=5_000.0,
                  distribution_policy=policy,
                  reserve_floor_eur=cents(rng.uniform(0, 4_000, size=months)))
    got = bank_financing(ebt, flow, g, owed)
    want = _numpy_recursion(ebt, flow, np.zeros(ebt.shape) if owed is None else owed, fiscal, g)
    pairs = [(got.overdraft_interest, "interest"), (got.tax.accrued, "accrued"),
             (got.tax.paid, "paid"), (got.net_cash, "net"), (got.founder_draw, "draw"),
             (got.dividends, "div")]
    for array, name in pairs:
        assert array.tobytes() == want[name].tobytes(), name


def test_overdraft_interest_and_tax_by_hand():
    # One sample, 3 months, fiscal year = plan year, tax 25 % paid 1 month after month 12
    # (outside the plan), overdraft 12 %/yr = 1 %/month, opening cash 0.
    # m1: no overdraft yet; EBT −1000, flow −1000 → net −1000; tax to date 0.
    # m2: interest 1 % × 1000 = 10.00; EBT 3000 − 10 = 2990, to date 1990 × 25 % = 497.50
    #     accrued; flow 3000 → net −1000 + 3000 − 10 = 1990.
    # m3: no overdraft; EBT 100, to date 2090 → 522.50, accrued 25.00; net 2090.
    g = schedules(3, corporate_tax_pct=25.0, corporate_tax_payment_lag_months=1,
                  overdraft_interest_rate_pct=12.0)
    f = bank_financing(np.array([[-1000.0, 3000.0, 100.0]]),
                       np.array([[-1000.0, 3000.0, 100.0]]), g)
    assert f.overdraft_interest.tolist() == [[0.0, 10.0, 0.0]]
    assert f.tax.accrued.tolist() == [[0.0, 497.5, 25.0]]
    assert f.net_cash.tolist() == [[-1000.0, 1990.0, 2090.0]]


def test_cents_one_is_numpys_round_to_the_cent():
    # Half cents go to the even cent on the scaled value (rint), as np.round does:
    # 0.125 × 100 = 12.5 → 12 → 0.12; 0.135 × 100 = 13.5 → 14 → 0.14.
    assert cents_one(0.125) == 0.12 and cents_one(0.135) == 0.14
    rng = np.random.default_rng(3)
    x = np.concatenate([rng.normal(0, 1e6, 20_000), np.round(rng.normal(0, 1e4, 20_000), 3),
                        [0.0, -0.0, 0.005, -0.005, 1e15, -1e-12]])
    assert np.array([cents_one(v) for v in x]).tobytes() == cents(x).tobytes()


def test_a_negative_payment_lag_is_refused():
    import pytest

    with pytest.raises(ValueError, match="payment lags"):
        bank_financing(np.zeros((1, 3)), np.zeros((1, 3)),
                       schedules(3, corporate_tax_payment_lag_months=-1))
