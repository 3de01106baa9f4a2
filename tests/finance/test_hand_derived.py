"""Finance helpers against numbers derived by hand (the arithmetic is in the comments).

Each test pins values that a small fault (an off-by-one month, a window one short, a policy
branch returning zeros, a wrong share) would change; tests/finance/test_statements.py and
test_loan.py hold the identities. Tax, cash, runway and working capital are tested elsewhere.
"""

from __future__ import annotations

import math

import numpy as np
import pytest
from ruamel.yaml import YAML

from d3.consolidate import (
    allocation_driver,
    max_loan_for_dscr,
    overhead_allocation,
)
from d3.core.percentiles import percentiles
from d3.finance.kpis import (
    covenant_probabilities,
    first_true_month,
    nan_min,
)
from d3.finance.loan import loan_schedule
from d3.finance.statements import (
    depreciation_and_capex,
    fixed_costs_by_month,
    insurance_monthly_eur,
    lagged,
    trailing_sum,
    vat_flows,
    vatable_fixed_costs,
)
from d3.models.operator import Asset, GeneralOperator
from tests.helpers import ROOT

NAN = float("nan")


def grid(rows):
    """pytest.approx for a (samples, months) table."""
    return [pytest.approx(r) for r in rows]


# --- operating costs --------------------------------------------------------------------------


def test_fixed_costs_inflate_monthly_from_month_1_and_uninflated_categories_stay_flat():
    # rent 1000 at 100 %/yr: month m costs 1000 × 2^((m − 1)/12), so month 1 is 1000 (no
    # inflation yet), month 7 is 1000 × √2 = 1414.2136, month 13 is one year on: 2000, month 25
    # two years: 4000. Salary has no rate: 3000 every month. The rate of "unused" is ignored.
    out = fixed_costs_by_month({"salary": 3000.0, "rent": 1000.0},
                               {"rent": 100.0, "unused": 50.0}, 25)
    assert list(out) == ["rent", "salary"]  # categories in name order
    rent = out["rent"]
    assert rent[0] == 1000.0
    assert rent[1] == pytest.approx(1000 * 2 ** (1 / 12))  # 1059.4631
    assert rent[6] == pytest.approx(1414.2136, abs=1e-4)
    assert rent[12] == pytest.approx(2000.0)
    assert rent[24] == pytest.approx(4000.0)
    assert out["salary"].tolist() == [3000.0] * 25
    # 12 %/yr: month 13 = 1200 × 1.12 = 1344
    assert fixed_costs_by_month({"a": 1200.0}, {"a": 12.0}, 13)["a"][12] == pytest.approx(1344.0)


def test_insurance_is_the_selected_premiums_over_12_plus_buffer():
    # (1200 + 600) / 12 = 150 per month; × 1.10 buffer = 165. "b" is not selected.
    premiums = {"a": 1200.0, "b": 999.0, "c": 600.0}
    assert insurance_monthly_eur(["a", "c"], premiums, 10.0) == pytest.approx(165.0)
    assert insurance_monthly_eur(["a", "c"], premiums, 0.0) == pytest.approx(150.0)
    assert insurance_monthly_eur([], premiums, 10.0) == 0.0


def test_vatable_fixed_costs_exclude_salaries_payroll_wages_and_insurance():
    # Only "Accounting" (200) and "software" (150, 160) carry VAT: 350, 360. The exempt words
    # match anywhere in the name, case-insensitively.
    fixed = {"Accounting": np.array([200.0, 200.0]), "software": np.array([150.0, 160.0]),
             "founder_salary": np.array([2500.0, 2500.0]),
             "staff_salaries": np.array([1.0, 1.0]), "Payroll_tax": np.array([2.0, 2.0]),
             "wages": np.array([4.0, 4.0]), "cyber_INSURANCE": np.array([8.0, 8.0])}
    assert vatable_fixed_costs(fixed, 2).tolist() == [350.0, 360.0]
    assert vatable_fixed_costs({}, 3).tolist() == [0.0, 0.0, 0.0]


def test_depreciation_starts_in_the_purchase_month_and_overlapping_assets_add_up():
    # 18 months. A: 1200 over 12 months bought in month 3 → 100/month in months 3–14.
    # B: 600 over 3 months bought in month 5 → 200/month in months 5–7.
    # C: 300 over 6 months bought in month 16 → 50/month in months 16–18 (rest past the end).
    # D: bought in month 19, past the horizon: no capex, no depreciation (listed first, so that
    # skipping it must not skip the assets after it).
    assets = [Asset(asset_id="d", cost_eur=999, useful_life_months=2, purchase_month=19),
              Asset(asset_id="a", cost_eur=1200, useful_life_months=12, purchase_month=3),
              Asset(asset_id="b", cost_eur=600, useful_life_months=3, purchase_month=5),
              Asset(asset_id="c", cost_eur=300, useful_life_months=6, purchase_month=16)]
    dep, capex = depreciation_and_capex(assets, 18)
    #          m1  m2  m3   m4   m5   m6   m7   m8 … m14    m15  m16–18
    expected = [0, 0, 100, 100, 300, 300, 300] + [100] * 7 + [0] + [50] * 3
    assert dep.tolist() == pytest.approx(expected)
    assert capex.tolist() == [0, 0, 1200, 0, 600] + [0] * 10 + [300, 0, 0]
    # straight line: what is inside the horizon = 1200 + 600 + 3 × 50
    assert dep.sum() == pytest.approx(1950.0)
    dep1, capex1 = depreciation_and_capex(
        [Asset(asset_id="x", cost_eur=90, useful_life_months=3, purchase_month=1)], 4)
    assert dep1.tolist() == [30.0, 30.0, 30.0, 0.0] and capex1.tolist() == [90.0, 0, 0, 0]
    # two assets bought in the same month: capex 90 + 60 = 150, depreciation 30 + 60 = 90
    dep2, capex2 = depreciation_and_capex(
        [Asset(asset_id="x", cost_eur=90, useful_life_months=3, purchase_month=2),
         Asset(asset_id="y", cost_eur=60, useful_life_months=1, purchase_month=2)], 3)
    assert dep2.tolist() == [0.0, 90.0, 30.0] and capex2.tolist() == [0.0, 150.0, 0.0]


# --- VAT --------------------------------------------------------------------------------------

SALES = np.array([[1000.0, 2000.0, 0.0, 500.0], [2000.0, 4000.0, 0.0, 1000.0]])
PURCHASES = np.array([[300.0, 100.0, 200.0, 0.0], [600.0, 200.0, 400.0, 0.0]])
# At 21 %, sample 1: collected 210, 420, 0, 105; paid 63, 21, 42, 0; net 147, 399, −42, 105.
# Sample 2 is sample 1 doubled.


@pytest.mark.parametrize("policy", ["set_aside_collected", "set_aside_net", "none"])
def test_vat_lag_0_remits_every_month_so_nothing_is_owed_or_set_aside(policy):
    v = vat_flows(SALES, PURCHASES, vat_pct=21, lag_months=0, policy=policy)
    assert v.collected[0].tolist() == pytest.approx([210.0, 420.0, 0.0, 105.0])
    assert v.paid_on_purchases[0].tolist() == pytest.approx([63.0, 21.0, 42.0, 0.0])
    assert v.remitted[0].tolist() == pytest.approx([147.0, 399.0, -42.0, 105.0])
    assert v.payable_balance.tolist() == grid([[0.0] * 4] * 2)
    assert v.set_aside.tolist() == grid([[0.0] * 4] * 2)


def test_vat_lag_2_balance_and_each_set_aside_policy():
    # remitted = net two months later: 0, 0, 147, 399
    # balance = cumsum(net − remitted) = cumsum(147, 399, −189, −294) = 147, 546, 357, 63
    # set_aside_collected = the VAT collected in the last 2 months (still to be remitted):
    #   210, 210 + 420 = 630, 420 + 0 = 420, 0 + 105 = 105
    # set_aside_net = the balance where positive: 147, 546, 357, 63
    kw = dict(vat_pct=21, lag_months=2)
    collected = vat_flows(SALES, PURCHASES, policy="set_aside_collected", **kw)
    net = vat_flows(SALES, PURCHASES, policy="set_aside_net", **kw)
    none = vat_flows(SALES, PURCHASES, policy="none", **kw)
    for v in (collected, net, none):
        assert v.remitted.tolist() == grid([[0, 0, 147, 399], [0, 0, 294, 798]])
        assert v.payable_balance.tolist() == grid([[147, 546, 357, 63],
                                                            [294, 1092, 714, 126]])
    assert collected.set_aside.tolist() == grid([[210, 630, 420, 105],
                                                          [420, 1260, 840, 210]])
    assert net.set_aside.tolist() == grid([[147, 546, 357, 63], [294, 1092, 714, 126]])
    assert none.set_aside.tolist() == [[0.0] * 4] * 2


def test_vat_set_aside_net_is_zero_while_the_office_owes_a_refund():
    # Month 1: purchases 1000 → paid 210, net −210 (a refund due, balance −210 → set aside 0).
    # Month 2: sales 1000 → collected 210, net +210; remitted (lag 1) = −210 (the refund);
    # balance = −210 + (210 − (−210)) = 210 → set aside 210.
    v = vat_flows(np.array([[0.0, 1000.0]]), np.array([[1000.0, 0.0]]), vat_pct=21,
                  lag_months=1, policy="set_aside_net")
    assert v.payable_balance.tolist() == grid([[-210.0, 210.0]])
    assert v.set_aside.tolist() == grid([[0.0, 210.0]])


# --- trailing sums ----------------------------------------------------------------------------


def test_trailing_12_on_15_months_and_lag_12():
    x = np.arange(1.0, 16.0)  # 1, 2, …, 15
    # months 1–12: everything so far, k(k+1)/2 = 1, 3, 6, …, 78
    # month 13: 2 + … + 13 = 91 − 1 = 90; month 14: 105 − 3 = 102; month 15: 120 − 6 = 114
    expected = [k * (k + 1) / 2 for k in range(1, 13)] + [90.0, 102.0, 114.0]
    assert trailing_sum(x, 12).tolist() == expected
    assert trailing_sum(np.vstack([x, 2 * x]), 12)[1].tolist() == [2 * e for e in expected]
    assert lagged(x, 12).tolist() == [0.0] * 12 + [1.0, 2.0, 3.0]
    assert lagged(np.vstack([x, -x]), 14)[1].tolist() == [0.0] * 14 + [-1.0]


def test_lagged_by_zero_is_a_copy_and_past_the_end_is_all_zero():
    x = np.array([[1.0, 2.0, 3.0]])
    same = lagged(x, 0)
    assert same.tolist() == [[1.0, 2.0, 3.0]] and same is not x
    same[0, 0] = 99.0
    assert x[0, 0] == 1.0
    assert lagged(x, 3).tolist() == [[0.0, 0.0, 0.0]]
    assert lagged(x, 5).tolist() == [[0.0, 0.0, 0.0]]
    assert lagged(x, 1).tolist() == [[0.0, 1.0, 2.0]]


# --- KPIs -------------------------------------------------------------------------------------


def test_first_true_month_is_1_based_and_0_when_never():
    flags = np.array([[False, False, True, True, False], [False] * 5,
                      [True, False, False, False, False], [False, False, False, False, True]])
    assert first_true_month(flags).tolist() == [3, 0, 1, 5]


def test_nan_min_ignores_nan_and_gives_nan_for_an_all_nan_row():
    out = nan_min(np.array([[3.0, NAN, 1.0, 2.0], [NAN] * 4, [-2.0, 5.0, 0.0, NAN]]))
    assert out.shape == (3,)
    assert out[0] == 1.0 and math.isnan(out[1]) and out[2] == -2.0


def test_percentiles_interpolate_linearly_over_finite_values_only():
    # finite values 1, 2, 3, 4 (NaN and inf dropped); p at rank p/100 × 3:
    # p0 = 1, p10 = 1 + 0.3 = 1.3, p50 = 2.5, p90 = 1 + 2.7 = 3.7, p100 = 4
    v = np.array([4.0, NAN, 2.0, np.inf, 1.0, 3.0, -np.inf])
    assert percentiles(v, [0, 10, 50, 90, 100]).tolist() == pytest.approx(
        [1.0, 1.3, 2.5, 3.7, 4.0])
    empty = percentiles(np.array([NAN, np.inf]), [10, 90])
    assert empty.shape == (2,) and np.isnan(empty).all()


def test_covenant_probabilities_on_four_samples():
    kpis = {"min_cash_eur": ("EUR", np.array([100.0, -5.0, 0.0, -20.0])),
            "first_breach_month": ("months", np.array([0.0, 3.0, 1.0, 12.0])),
            "min_dscr_t12": ("ratio", np.array([1.5, NAN, 1.2, 1.19])),
            "min_free_cash_less_buffer_eur": ("EUR", np.array([-1.0, 0.0, 5.0, -0.01])),
            "max_funding_gap_eur": ("EUR", np.array([0.0, 0.0, 3.0, 0.0]))}
    p = covenant_probabilities(kpis, min_dscr=1.2)
    # DSCR below 1.2: only 1.19 (NaN = no debt service counts as fine; 1.2 is not below) → 1/4
    # cash negative: −5 and −20 (0 is not negative) → 2/4; a breach month > 0: 3 of 4;
    # free cash below the buffer: −1 and −0.01 → 2/4; a funding gap: 1/4
    assert p == {"p_min_dscr_t12_below_target": 0.25, "p_cash_negative_any_month": 0.5,
                 "p_free_cash_below_buffer_any_month": 0.5, "p_funding_gap_any_month": 0.25,
                 "p_any_breach": 0.75}
    empty = {k: (u, np.array([])) for k, (u, _) in kpis.items()}
    assert set(covenant_probabilities(empty, min_dscr=1.2).values()) == {0.0}


# --- overhead allocation ----------------------------------------------------------------------


def test_overhead_split_by_driver_share_and_half_when_no_driver():
    # overhead = opex − acquisition = 800, 500, 400, 1000
    # public share = 3 / (3 + 1) = 0.75; month 2 has no driver at all → 0.5; month 3 = 0 / 2 = 0;
    # month 4, a driver total below 1: 0.1 / (0.1 + 0.4) = 0.2
    r = {"opex_eur": np.array([[1000.0, 600.0, 400.0, 1100.0]]),
         "acquisition_eur": np.array([[200.0, 100.0, 0.0, 100.0]])}
    out = overhead_allocation(r,
                              public_driver=np.array([[3.0, 0.0, 0.0, 0.1]]),
                              private_driver=np.array([[1.0, 0.0, 2.0, 0.4]]))
    assert out["overhead_public_eur"].tolist() == grid([[600.0, 250.0, 0.0, 200.0]])
    assert out["overhead_private_eur"].tolist() == grid([[200.0, 250.0, 400.0, 800.0]])


def test_allocation_driver_by_driver_and_line():
    rev = np.array([[10.0, 20.0]])
    public = {"revenue_eur": rev, "tokens_served": np.array([[7.0, 8.0]]),
              "instances_total": np.array([[2.0, 3.0]])}
    private = {"revenue_eur": 2 * rev, "hours": np.array([[30.0, 40.0]])}
    assert allocation_driver("revenue", public, 720.0, "public") is rev
    assert allocation_driver("revenue", private, 720.0, "private").tolist() == [[20., 40.]]
    # public GPU hours = instances × hours in the month: 2 × 720, 3 × 720
    assert allocation_driver("gpu_hours", public, 720.0, "public").tolist() == \
        [[1440.0, 2160.0]]
    assert allocation_driver("gpu_hours", private, 720.0, "private").tolist() == \
        [[30.0, 40.0]]
    assert allocation_driver("tokens", public, 720.0, "public").tolist() == [[7.0, 8.0]]
    # the Private Tap serves no metered tokens
    assert allocation_driver("tokens", private, 720.0, "private").tolist() == [[0.0, 0.0]]
    for driver in ("revenue", "gpu_hours", "tokens"):
        assert allocation_driver(driver, None, 720.0, "public") == 0.0


# --- loan -------------------------------------------------------------------------------------
# numpy-financial is not installed in the project venv, so these are hand numbers:
# 1000 EUR at 12 %/yr = 1 %/month, in cents, interest rounded to the cent each month.


def _rows(s):
    return [s.interest.tolist(), s.principal.tolist(), s.payment.tolist(),
            s.closing_principal.tolist()]


def test_annuity_1000_over_3_months_at_1_pct():
    # level = 1000 × 0.01 / (1 − 1.01^−3) = 10 / 0.0294099 = 340.0221 → 340.02
    # m1: interest 10.00, principal 330.02, closing 669.98
    # m2: interest 6.6998 → 6.70, principal 333.32, closing 336.66
    # m3: interest 3.3666 → 3.37, principal = the rest 336.66 → payment 340.03
    s = loan_schedule(amount_eur=1000, term_months=3, interest_rate_pct_flat=12)
    assert _rows(s) == [[10.0, 6.70, 3.37], [330.02, 333.32, 336.66],
                        [340.02, 340.02, 340.03], [669.98, 336.66, 0.0]]
    assert s.opening_principal.tolist() == [1000.0, 669.98, 336.66]


def test_flat_1000_over_3_months():
    # principal 100000 // 3 = 33333 cents; m1 interest 10.00; m2 666.67 × 1 % = 6.6667 → 6.67;
    # m3 333.34 × 1 % = 3.3334 → 3.33 and the last principal takes the residue: 333.34
    s = loan_schedule(amount_eur=1000, term_months=3, interest_rate_pct_flat=12,
                      repayment="flat")
    assert _rows(s) == [[10.0, 6.67, 3.33], [333.33, 333.33, 333.34],
                        [343.33, 340.0, 336.67], [666.67, 333.34, 0.0]]


def test_bullet_1000_over_3_months():
    s = loan_schedule(amount_eur=1000, term_months=3, interest_rate_pct_flat=12,
                      repayment="bullet")
    assert _rows(s) == [[10.0, 10.0, 10.0], [0.0, 0.0, 1000.0], [10.0, 10.0, 1010.0],
                        [1000.0, 1000.0, 0.0]]


def test_grace_then_annuity_and_grace_then_flat():
    # 1 grace month (interest 10), then an annuity over 2: 10 / (1 − 1.01^−2) = 507.5124
    # → 507.51; m2: interest 10, principal 497.51; m3: 502.49 × 1 % = 5.0249 → 5.02 + 502.49
    s = loan_schedule(amount_eur=1000, term_months=3, interest_rate_pct_flat=12,
                      grace_period_months=1)
    assert _rows(s) == [[10.0, 10.0, 5.02], [0.0, 497.51, 502.49], [10.0, 507.51, 507.51],
                        [1000.0, 502.49, 0.0]]
    # 2 grace months of 4, then flat over 2: 500 each; interest 10, 10, 10, 5
    s = loan_schedule(amount_eur=1000, term_months=4, interest_rate_pct_flat=12,
                      grace_period_months=2, repayment="flat")
    assert _rows(s) == [[10.0, 10.0, 10.0, 5.0], [0.0, 0.0, 500.0, 500.0],
                        [10.0, 10.0, 510.0, 505.0], [1000.0, 1000.0, 500.0, 0.0]]


def test_a_one_cent_loan_is_repaid():
    # 0.01 over 2 months at 0 %: level = 0.005 → 0 cents, so month 1 repays nothing and the
    # last month repays the 1 cent
    s = loan_schedule(amount_eur=0.01, term_months=2, interest_rate_pct_flat=0)
    assert s.principal.tolist() == [0.0, 0.01] and s.closing_principal.tolist() == [0.01, 0.0]


def test_padded_schedule_is_zero_after_the_term_and_cut_at_the_horizon():
    s = loan_schedule(amount_eur=1000, term_months=3, interest_rate_pct_flat=12,
                      repayment="bullet")
    assert s.padded(5).payment.tolist() == [10.0, 10.0, 1010.0, 0.0, 0.0]
    assert s.padded(5).opening_principal.tolist() == [1000.0, 1000.0, 1000.0, 0.0, 0.0]
    assert s.padded(2).interest.tolist() == [10.0, 10.0]
    assert s.padded(2).closing_principal.tolist() == [1000.0, 1000.0]


# --- largest loan for a DSCR ------------------------------------------------------------------


def _general(**loan) -> GeneralOperator:
    """inputs/operator/general.yaml without costs, tax, assets or insurance: EBITDA = revenue."""
    data = YAML(typ="safe", pure=True).load((ROOT / "inputs/operator/general.yaml").read_text())
    data["finance"].update(fixed_costs_monthly_eur={}, inflation_pct_yoy_by_category={},
                           bizdev_budget_monthly_eur=0, contingency_pct_of_costs=0)
    data["tax"]["corporate_tax_pct"] = 0
    data["depreciation"]["assets"] = []
    data["insurances"]["selected"] = []
    data["loan"].update({"term_months": 12, "interest_rate_pct_flat": 12.0,
                         "grace_period_months": 0, "repayment": "annuity", **loan})
    return GeneralOperator.model_validate(data)


def _revenue_line(ebitda_per_sample, months=12):
    """A public line whose revenue (= EBITDA, no costs) is constant per sample, or given per
    sample and month."""
    from d3.consolidate import public_line
    rev = np.asarray(ebitda_per_sample, dtype=float)
    if rev.ndim == 1:
        rev = np.repeat(rev[:, None], months, axis=1)
    z = np.zeros_like(rev)
    return public_line({"revenue_eur": rev, "budget_eur": z, "credits_sold_eur": rev,
                        "refunds_eur": z, "deferred_eur": z, "cogs_eur": z})


# A 12-month annuity at 1 %/month and EBITDA 1200 every month: the trailing-12 DSCR at month 12
# is 12 × 1200 / (12 × payment) ≥ 1.2 ⇔ payment ≤ 1000, so the largest loan is the present
# value of 12 payments of 1000: 1000 × (1 − 1.01^−12) / 0.01 = 1000 × 11.255077 = 11 255.08.
LARGEST = 1000 * (1 - 1.01 ** -12) / 0.01


def test_max_loan_for_dscr_is_the_annuity_present_value_of_the_payment_cap():
    assert pytest.approx(11255.08, abs=0.01) == LARGEST
    amount, tol = max_loan_for_dscr(_revenue_line([1200.0]), None, _general(), {}, 12,
                                    min_dscr=1.2, tolerance_eur=1.0, upper_eur=50_000.0,
                                    shape=(1, 12))
    assert tol == 1.0
    # bisection keeps the last amount that passes: within one tolerance below the answer
    # (plus a cent of rounding in the payments)
    assert LARGEST - 1.0 - 0.05 <= amount <= LARGEST + 0.05


def test_max_loan_counts_the_private_line_and_looks_from_month_12():
    from d3.consolidate import private_line
    # EBITDA 600 public + 600 private = 1200 a month: the same 11 255.08
    half, z = np.full((1, 12), 600.0), np.zeros((1, 12))
    pri = private_line({"revenue_eur": half, "cogs_eur": z, "budget_eur": z,
                        "block_purchases_eur": z, "invoiced_eur": half, "deferred_eur": z})
    amount, _ = max_loan_for_dscr(_revenue_line([600.0]), pri, _general(), {}, 12,
                                  min_dscr=1.2, tolerance_eur=1.0, upper_eur=50_000.0,
                                  shape=(1, 12))
    assert LARGEST - 1.05 <= amount <= LARGEST + 0.05
    # EBITDA 1100 in months 1–11 and 2300 in month 12: Σ = 12 100 + 2300 = 14 400 as before,
    # so the trailing-12 DSCR at month 12 gives 11 255.08 again; month 11 (11 × 1100 over 11
    # payments, which would cap the payment at 916.67) is before dscr_from_month and ignored.
    line = _revenue_line([[1100.0] * 11 + [2300.0]])
    amount, _ = max_loan_for_dscr(line, None, _general(), {}, 12, min_dscr=1.2,
                                  tolerance_eur=1.0, upper_eur=50_000.0, shape=(1, 12))
    assert LARGEST - 1.05 <= amount <= LARGEST + 0.05


def test_max_loan_without_debt_service_in_the_window_is_the_upper_bound():
    # (Was a bug: the linear percentile of [inf] is inf − inf = NaN, so every amount failed and
    # the answer was the 100 EUR tolerance.)
    # 24 months, a 12-month loan, DSCR looked at from month 24 only: months 13–24 carry no debt
    # service, so the trailing-12 DSCR is undefined (NaN = no constraint) for every amount
    amount = max_loan_for_dscr(_revenue_line([10.0], months=24), None, _general(), {}, 24,
                               min_dscr=1.2, dscr_from_month=24, upper_eur=5_000.0,
                               shape=(1, 24))
    assert amount == (5_000.0, 100.0)


def test_max_loan_uses_the_p10_sample_not_the_worst():
    # 11 samples: EBITDA 600, 1200 and nine of 6000. Linear p10 of 11 sorted values is the
    # value at rank 0.1 × 10 = 1: the 1200 sample, so the answer is again 11 255.08 (the worst
    # sample alone would give half of it).
    line = _revenue_line([6000.0] * 5 + [600.0, 1200.0] + [6000.0] * 4)
    amount, _ = max_loan_for_dscr(line, None, _general(), {}, 12, min_dscr=1.2,
                                  tolerance_eur=1.0, upper_eur=50_000.0, shape=(11, 12))
    assert LARGEST - 1.05 <= amount <= LARGEST + 0.05


def test_max_loan_edges_zero_and_the_upper_bound():
    # EBITDA 5/month cannot carry even a 100 EUR loan (payment ≈ 8.88, DSCR ≈ 0.56) → 0
    assert max_loan_for_dscr(_revenue_line([5.0]), None, _general(), {}, 12, min_dscr=1.2,
                             shape=(1, 12)) == (0.0, 100.0)
    # EBITDA 1200 carries any loan up to 10 000 (< 11 255.08) → the upper bound itself
    assert max_loan_for_dscr(_revenue_line([1200.0]), None, _general(), {}, 12, min_dscr=1.2,
                             upper_eur=10_000.0, shape=(1, 12)) == (10_000.0, 100.0)
    # EBITDA 200 000/month could carry 200 × 11 255.08 = 2.25 M: capped at the default 1 M
    assert max_loan_for_dscr(_revenue_line([200_000.0]), None, _general(), {}, 12, min_dscr=1.2,
                             shape=(1, 12)) == (1_000_000.0, 100.0)


def test_max_loan_a_dscr_exactly_at_the_target_meets_it():
    # At 0 % a 12 000 loan over 12 months is 12 payments of exactly 1000.00; with EBITDA 1200
    # the trailing-12 DSCR is 14 400 / 12 000 = 1.2 exactly, which meets a 1.2 minimum (≥).
    general = _general(interest_rate_pct_flat=0.0)
    line = _revenue_line([1200.0])

    def largest(**kw):
        return max_loan_for_dscr(line, None, general, {}, 12, min_dscr=1.2, shape=(1, 12), **kw)

    # the upper bound itself sits on the target
    assert largest(upper_eur=12_000.0) == (12_000.0, 100.0)
    # first bisection step (100 + 23 900) / 2 = 12 000 sits on it: kept, and every later
    # candidate above it fails, so the answer stays exactly 12 000
    assert largest(upper_eur=23_900.0) == (12_000.0, 100.0)
    # the smallest candidate (the tolerance, here 12 000) sits on it: not "no loan"
    assert largest(upper_eur=50_000.0, tolerance_eur=12_000.0) == (12_000.0, 12_000.0)
