"""Cash flow, overdraft, funding gap, free cash and the balance sheet, by hand."""

from __future__ import annotations

import numpy as np
import pytest

from d3.finance.loan import loan_schedule
from d3.finance.statements import fiscal_months, pnl_and_cashflow
from tests.finance._plans import line, schedules


def _three_month_plan(**kw):
    """Both lines, VAT, AR 27 days ≠ AP 15 days, loan, capex, contingency, tax 20 %."""
    public = line(1, 3, revenue=[2000, 2500, 3000], cogs=[500, 600, 700], acquisition=300,
                  cash=[2600, 2500, 3200], deferred=[600, 600, 800])
    private = line(1, 3, revenue=[1000, 1000, 2000], cogs=[400, 400, 800], acquisition=100,
                   ar=[1000, 1000, 2000], ap=[400, 400, 800])
    g = schedules(3, fixed_costs=[1000.0] * 3, vatable_fixed_costs=[400.0] * 3,
                  insurance=[100.0] * 3, bizdev=[200.0] * 3, contingency_pct=10.0,
                  depreciation=[50.0] * 3, capex=[1800.0, 0, 0], interest=[100.0, 90, 80],
                  principal=[1000.0] * 3, loan_closing_principal=[14_000.0, 13_000, 12_000],
                  equity_injection_eur=5000.0, opening_cash_eur=20_000.0,
                  corporate_tax_pct=20.0, vat_pct=21.0, vat_lag_months=1, ar_days=27.0,
                  ap_days=15.0, **kw)
    return pnl_and_cashflow(public, private, g)


def test_three_months_of_cash_by_hand():
    # Opex = acquisition 400 + (fixed 1000 + insurance 100 + bizdev 200) × 1.10 = 1830
    # (contingency 130 on 1300: not on the 400 of ads).
    # m1: revenue 3000, COGS 900, EBITDA 2100 − 1830 = 270, EBT 270 − 50 − 100 = 120,
    #     tax to date 24 → NI 96. VAT: 21 % × (2600 + 1000) = 756 collected, 21 % × (bizdev
    #     200 + vatable fixed 400) = 126 paid (ads are reverse-charged), owed 630.
    #     AR 1000 × 27/30 = 900, AP 400 × 15/30 = 200, deferred 600, tax owed 24:
    #     WC = 900 − 200 − 600 − 630 − 24 = −554. Δcash = 96 + 50 + 554 − 1800 − 1000 = −2100.
    # m2: revenue 3500, COGS 1000, EBITDA 670, EBT 530, tax to date 20 % × 650 = 130 →
    #     accrual 106, NI 424. VAT 735 − 126 = 609 new, 630 remitted → owed 609.
    #     WC = 900 − 200 − 600 − 609 − 130 = −639 (Δ −85). Δcash = 424 + 50 + 85 − 1000 = −441.
    # m3: revenue 5000, COGS 1500, EBITDA 1670, EBT 1540, tax to date 20 % × 2190 = 438 →
    #     accrual 308, NI 1232. VAT 1092 − 126 = 966 new, 609 remitted → owed 966.
    #     AR 1800, AP 400, deferred 800: WC = 1800 − 400 − 800 − 966 − 438 = −804 (Δ −165).
    #     Δcash = 1232 + 50 + 165 − 1000 = 447.
    # Direct check of m3: in 3200 + (2000 − 900) + 1092 = 5392; out 700 + (800 − 200) + 400
    #     + 1000 + 100 + 200 + 130 + 126 + 609 + 80 + 1000 = 4945; 5392 − 4945 = 447.
    r = _three_month_plan()
    assert r["opex_eur"][0].tolist() == [1830.0] * 3
    assert r["contingency_eur"][0].tolist() == [130.0] * 3
    assert r["vat_paid_eur"][0].tolist() == [126.0] * 3
    assert r["ebt_eur"][0].tolist() == [120.0, 530.0, 1540.0]
    assert r["tax_eur"][0].tolist() == [24.0, 106.0, 308.0]
    assert r["net_income_eur"][0].tolist() == [96.0, 424.0, 1232.0]
    assert r["receivables_eur"][0].tolist() == [900.0, 900.0, 1800.0]
    assert r["payables_eur"][0].tolist() == [200.0, 200.0, 400.0]
    assert r["vat_payable_eur"][0].tolist() == [630.0, 609.0, 966.0]
    assert r["delta_working_capital_eur"][0].tolist() == [-554.0, -85.0, -165.0]
    assert r["closing_cash_eur"][0].tolist() == [17_900.0, 17_459.0, 17_906.0]
    assert r["opening_cash_eur"][0].tolist() == [20_000.0, 17_900.0, 17_459.0]
    # free cash = cash − VAT owed − tax owed: 17906 − 966 − 438
    assert r["free_cash_eur"][0, 2] == 16_502.0


def test_balance_sheet_of_month_1_by_hand():
    # Assets: cash 17900 + AR 900 + fixed assets 1800 − 50 = 20550.
    # Liabilities: AP 200 + deferred 600 + VAT 630 + tax 24 + loan 14000 = 15454.
    # Equity: paid-in 5000 + retained 96 = 5096; 15454 + 5096 = 20550.
    r = _three_month_plan()
    assert r["bs_total_assets_eur"][0, 0] == 20_550.0
    assert r["bs_total_liabilities_eur"][0, 0] == 15_454.0
    assert r["bs_total_equity_eur"][0, 0] == 5096.0
    assert r["bs_fixed_assets_net_eur"][0].tolist() == [1750.0, 1700.0, 1650.0]


def test_overdraft_is_drawn_to_its_limit_then_a_funding_gap_both_charged_interest():
    # Opening cash 1000, overdraft limit 2000 at 12 % a year (1 % a month), no tax or VAT.
    # m1: −3000 of COGS → net −2000: overdraft 2000, gap 0, bank cash 0.
    # m2: interest 1 % × 2000 = 20; −1000 → net −2000 − 1000 − 20 = −3020: overdraft 2000,
    #     gap 1020.
    # m3: interest 1 % × 3020 = 30.20; +1500 → net −1550.20: the gap is repaid first,
    #     overdraft 1550.20.
    # m4: interest 1 % × 1550.20 = 15.50 (to the cent); +3000 → net 1434.30: overdraft repaid,
    #     bank cash 1434.30.
    g = schedules(4, opening_cash_eur=1000.0, equity_injection_eur=1000.0,
                  overdraft_limit_eur=2000.0, overdraft_interest_rate_pct=12.0)
    r = pnl_and_cashflow(line(1, 4, revenue=[0, 0, 1500, 3000], cogs=[3000, 1000, 0, 0]),
                         line(1, 4), g)
    assert r["overdraft_interest_eur"][0].tolist() == [0.0, 20.0, 30.2, 15.5]
    assert r["interest_eur"][0].tolist() == [0.0, 20.0, 30.2, 15.5]  # no loan: all overdraft
    assert r["net_income_eur"][0].tolist() == pytest.approx([-3000, -1020, 1469.8, 2984.5])
    assert r["overdraft_eur"][0].tolist() == pytest.approx([2000, 2000, 1550.2, 0])
    assert r["funding_gap_eur"][0].tolist() == pytest.approx([0, 1020, 0, 0])
    assert r["closing_cash_eur"][0].tolist() == pytest.approx([0, 0, 0, 1434.3])
    assert r["net_cash_eur"][0].tolist() == pytest.approx([-2000, -3020, -1550.2, 1434.3])
    assert r["free_cash_eur"][0].tolist() == pytest.approx([-2000, -3020, -1550.2, 1434.3])
    # the same plan without overdraft interest: −2000, −3000, −1500, +1500
    assert r["free_cash_without_overdraft_interest_eur"][0].tolist() == \
        pytest.approx([-2000, -3000, -1500, 1500])
    bs = r["bs_total_assets_eur"] - r["bs_total_liabilities_eur"] - r["bs_total_equity_eur"]
    assert np.abs(bs).max() < 0.005
    # Borrowing drawn (+) / repaid (−) each month: overdraft 2000, 0, −449.80, −1550.20; gap
    # 0, 1020, −1020, 0. The cash flow statement then reconciles: opening + operating − capex
    # − principal + drawn = closing (month 3: 0 + (1469.80 − 0) + (−449.80 − 1020) = 0).
    assert r["overdraft_drawn_eur"][0].tolist() == pytest.approx([2000, 0, -449.8, -1550.2])
    assert r["funding_gap_drawn_eur"][0].tolist() == pytest.approx([0, 1020, -1020, 0])
    flow = (r["opening_cash_eur"] + r["operating_cash_eur"] - r["capex_eur"]
            - r["principal_eur"] + r["overdraft_drawn_eur"] + r["funding_gap_drawn_eur"])
    assert flow[0] == pytest.approx(r["closing_cash_eur"][0])


def test_overdraft_interest_lowers_the_tax():
    # As above with tax 20 %: year EBT = −3000 − 1020 + 1469.80 + 2984.50 = 434.30 → 86.86,
    # where the plan without overdraft interest would be taxed on 480 → 96.
    g = schedules(4, opening_cash_eur=1000.0, overdraft_limit_eur=2000.0,
                  overdraft_interest_rate_pct=12.0, corporate_tax_pct=20.0)
    r = pnl_and_cashflow(line(1, 4, revenue=[0, 0, 1500, 3000], cogs=[3000, 1000, 0, 0]),
                         line(1, 4), g)
    assert r["tax_eur"][0].sum() == pytest.approx(86.86)
    assert r["tax_payable_eur"][0, -1] == pytest.approx(86.86)


def test_free_cash_excludes_vat_and_tax_owed_but_not_a_vat_refund():
    # VAT 21 %, lag 1; tax 20 %; opening cash 0.
    # m1: revenue 1000 (cash) → VAT owed 210, tax to date 200: net cash 1210, free 800.
    # m2: VAT remitted → net cash 1000; tax still owed 200 → free 800.
    # m3: bizdev 100 (+21 input VAT) → VAT balance −21 (a refund due, not cash yet); tax to
    #     date 20 % × 900 = 180; net cash 1000 − 121 = 879; free 879 − 0 − 180 = 699.
    g = schedules(3, bizdev=[0.0, 0.0, 100.0], vat_pct=21.0, vat_lag_months=1,
                  corporate_tax_pct=20.0)
    r = pnl_and_cashflow(line(1, 3, revenue=[1000, 0, 0]), line(1, 3), g)
    assert r["vat_payable_eur"][0].tolist() == pytest.approx([210, 0, -21])
    assert r["tax_payable_eur"][0].tolist() == pytest.approx([200, 200, 180])
    assert r["net_cash_eur"][0].tolist() == pytest.approx([1210, 1000, 879])
    assert r["free_cash_eur"][0].tolist() == pytest.approx([800, 800, 699])
    assert r["bs_vat_receivable_eur"][0, 2] == pytest.approx(21.0)


def _random_plan(n=5, t=36, seed=7):
    public, private, g = random_plan_inputs(n, t, seed)
    return pnl_and_cashflow(public, private, g), g


def random_plan_inputs(n=5, t=36, seed=7):
    """A loss year then profit years, AR 45 ≠ AP 10 days, a small overdraft (a funding gap
    occurs), VAT, tax with carry-forward, a real loan schedule, equity and capex."""
    rng = np.random.default_rng(seed)
    ramp = np.clip(np.arange(t) - 6, 0, None) * 1500.0
    public = line(n, t, revenue=ramp * rng.uniform(0.5, 1.5, (n, t)),
                  cogs=ramp * 0.3 * rng.uniform(0.8, 1.2, (n, t)), acquisition=800.0,
                  cash=ramp * rng.uniform(0.5, 1.6, (n, t)),
                  deferred=ramp * rng.uniform(0.0, 0.4, (n, t)))
    priv = rng.uniform(0, 4000, (n, t)) * (np.arange(t) > 9)
    private = line(n, t, revenue=priv, cogs=priv * 0.6, acquisition=300.0, ar=priv,
                   ap=priv * 0.6)
    loan = loan_schedule(amount_eur=12_345.67, term_months=24, interest_rate_pct_flat=9.95
                         ).padded(t)
    g = schedules(t, fixed_costs=np.full(t, 3456.78), vatable_fixed_costs=np.full(t, 987.65),
                  insurance=np.full(t, 123.457), bizdev=np.full(t, 250.0),
                  contingency_pct=7.5, depreciation=np.r_[np.full(36, 3200 / 36)][:t],
                  capex=np.r_[3200.0, np.zeros(t - 1)], interest=loan.interest,
                  principal=loan.principal, loan_closing_principal=loan.closing_principal,
                  equity_injection_eur=5000.0, opening_cash_eur=12_345.67 + 5000.0,
                  corporate_tax_pct=19.0, vat_pct=21.0, vat_lag_months=1,
                  vat_policy="set_aside_net", ar_days=45.0, ap_days=10.0,
                  fiscal_month=fiscal_months(t, start_month=3),
                  corporate_tax_payment_lag_months=5, overdraft_limit_eur=3000.0,
                  overdraft_interest_rate_pct=12.0)
    return public, private, g


BS_ASSETS = ("bs_cash_eur", "bs_receivables_eur", "bs_fixed_assets_net_eur",
             "bs_vat_receivable_eur")
BS_LIABILITIES = ("bs_payables_eur", "bs_deferred_revenue_eur", "bs_vat_payable_eur",
                  "bs_corporate_tax_payable_eur", "bs_loan_eur", "bs_overdraft_eur",
                  "bs_funding_gap_eur")
BS_EQUITY = ("bs_paid_in_capital_eur", "bs_retained_earnings_eur")


def test_balance_sheet_balances_every_month_of_every_sample_to_the_cent():
    r, _ = _random_plan()
    # the plan exercises what it claims: a funding gap, a loss year, then profit, tax paid
    assert (r["funding_gap_eur"] > 0).any() and (r["overdraft_eur"] > 0).any()
    assert (r["net_income_eur"][:, :10].sum(axis=1) < 0).all()
    assert (r["net_income_eur"][:, 24:].sum(axis=1) > 0).all() and r["tax_paid_eur"].any()
    assert (r["closing_cash_eur"] >= 0).all()
    gap = r["bs_total_assets_eur"] - r["bs_total_liabilities_eur"] - r["bs_total_equity_eur"]
    assert np.abs(gap).max() < 0.005
    # as written with 2 decimals: the lines, in whole cents, add up to the totals and balance
    def written(name):
        return np.round(r[name] * 100).astype(np.int64)
    assets = sum(written(k) for k in BS_ASSETS)
    liabilities = sum(written(k) for k in BS_LIABILITIES)
    equity = sum(written(k) for k in BS_EQUITY)
    assert (assets == written("bs_total_assets_eur")).all()
    assert (liabilities == written("bs_total_liabilities_eur")).all()
    assert (equity == written("bs_total_equity_eur")).all()
    assert (assets == liabilities + equity).all()
    # the loan ends repaid; liabilities carry it until then
    assert r["bs_loan_eur"][0, 0] == pytest.approx(12_345.67 - r["principal_eur"][0, 0])
    assert (r["bs_loan_eur"][:, 23:] == 0).all()


def test_cash_reconciles_with_the_pnl_on_the_random_plan():
    r, g = _random_plan()
    delta_net = np.diff(r["net_cash_eur"], axis=-1, prepend=g.opening_cash_eur)
    assert np.allclose(delta_net, r["net_income_eur"] + r["depreciation_eur"]
                       - r["delta_working_capital_eur"] - r["capex_eur"] - r["principal_eur"])
    assert np.allclose(r["net_cash_eur"], r["closing_cash_eur"] - r["overdraft_eur"]
                       - r["funding_gap_eur"])
    assert np.allclose(r["interest_eur"], r["loan_interest_eur"] + r["overdraft_interest_eur"])


def test_an_asset_depreciates_to_exactly_zero_in_cents():
    from d3.finance.statements import depreciation_and_capex
    from d3.models.operator import Asset

    # 3200 over 36 months: 3200/36 = 88.888… → 88.89 for 35 months (3111.15) and the last
    # month takes the residue 3200 − 3111.15 = 88.85; net book value ends at 0.00, not −0.04.
    dep, capex = depreciation_and_capex(
        [Asset(asset_id="w", cost_eur=3200, useful_life_months=36, purchase_month=1)], 40)
    assert dep[:35].tolist() == [88.89] * 35 and dep[35] == 88.85 and dep[36:].sum() == 0
    assert round(capex.sum() - dep.sum(), 2) == 0.0
