"""Founder draws and dividends, by hand (docs/FINANCE.md, "Distributions: founder draw and
dividends"): equity paid from retained earnings, never below the reserve floor, after the
month's cash flow; dividends once a year with the corporate tax; CFADS before distributions."""

from __future__ import annotations

import csv
import json
from dataclasses import replace

import numpy as np

from d3.finance.cash_recursion import DRAW_KINDS, founder_draw_wanted_eur
from d3.finance.distributions import DistributionPolicy
from d3.finance.statements import fiscal_months, pnl_and_cashflow
from d3.finance.tables import CASH_SERIES, OptionalLines
from tests.finance._plans import line, schedules
from tests.finance.test_cash_and_financing import (
    BS_ASSETS,
    BS_EQUITY,
    BS_LIABILITIES,
    random_plan_inputs,
)
from tests.helpers import copy_minimal, edit_yaml, invoke

GENERAL = "inputs/operator/general.yaml"
FLAT_1000 = DistributionPolicy(founder_draw="flat", founder_draw_eur_per_month=1000.0)


def _plan(t, revenue=0.0, cogs=0.0, **kw):
    """One sample, public line only, no VAT or tax unless given."""
    return pnl_and_cashflow(line(1, t, revenue=revenue, cogs=cogs), line(1, t), schedules(t, **kw))


def test_flat_draw_is_paid_only_from_retained_earnings():
    # Opening cash = equity 9000; floor 5000 (never binding here). Net income −2000, 2600,
    # 1500, −4200, 5000:
    # m1: retained −2000 → no draw (nothing distributable); cash 7000.
    # m2: retained 600 → draw 600 (capped by what is distributable); retained 0, cash 9000.
    # m3: retained 1500 → draw 1000; retained 500, cash 9500.
    # m4: retained −3700 → no draw; cash 5300.
    # m5: retained 1300 → draw 1000; retained 300, cash 9300.
    r = _plan(5, revenue=[0, 2600, 1500, 0, 5000], cogs=[2000, 0, 0, 4200, 0],
              opening_cash_eur=9000.0, equity_injection_eur=9000.0,
              distribution_policy=FLAT_1000, reserve_floor_eur=[5000.0] * 5)
    assert r["net_income_eur"][0].tolist() == [-2000, 2600, 1500, -4200, 5000]
    assert r["founder_draw_eur"][0].tolist() == [0, 600, 1000, 0, 1000]
    assert r["closing_cash_eur"][0].tolist() == [7000, 9000, 9500, 5300, 9300]
    assert r["bs_retained_earnings_eur"][0].tolist() == [-2000, 0, 500, -3700, 300]
    # a draw is equity, not an expense
    assert r["opex_eur"][0].tolist() == [0.0] * 5
    assert r["dividends_gross_eur"][0].tolist() == [0.0] * 5


def test_the_reserve_floor_blocks_or_cuts_a_draw():
    # Opening cash = equity 5000 = floor. Revenue 3000, 500, 0, 1800; capex 2000 in m2 and
    # 300 in m3 (cash, not an expense):
    # m1: retained 3000, cash 8000: room 3000 → draw 1000; cash 7000, retained 2000.
    # m2: retained 2500, cash 7000 + 500 − 2000 = 5500: room 500 → draw 500; cash 5000.
    # m3: cash 5000 − 300 = 4700 < floor → no draw (retained 2000 would allow it).
    # m4: retained 3800, cash 6500: room 1500 → draw 1000; cash 5500, retained 2800.
    r = _plan(4, revenue=[3000, 500, 0, 1800], capex=[0, 2000, 300, 0],
              opening_cash_eur=5000.0, equity_injection_eur=5000.0,
              distribution_policy=FLAT_1000, reserve_floor_eur=[5000.0] * 4)
    assert r["founder_draw_eur"][0].tolist() == [1000, 500, 0, 1000]
    assert r["free_cash_eur"][0].tolist() == [7000, 5000, 4700, 5500]
    assert r["reserve_floor_eur"][0].tolist() == [5000.0] * 4
    # Balance sheet m4: cash 5500 + fixed assets 2300 = 7800 = paid-in 5000 + retained
    # (5300 earned − 2500 drawn = 2800).
    assert r["bs_total_assets_eur"][0, 3] == 7800 and r["bs_retained_earnings_eur"][0, 3] == 2800


def test_the_floor_is_tested_on_free_cash_not_on_the_bank_balance():
    # Revenue 10 000 with VAT 21 % (remitted next month) and tax 20 % (paid after the year):
    # bank cash 12 100, VAT owed 2100, tax owed 2000 → free cash 8000; net income 8000.
    # Floor 3000 → room 5000; a flat draw of 9000 is cut to 5000 (retained 8000 would allow
    # 8000). Bank cash after the draw: 12 100 − 5000 = 7100; free cash 3000 = the floor.
    r = _plan(1, revenue=[10_000], vat_pct=21.0, corporate_tax_pct=20.0,
              distribution_policy=DistributionPolicy(founder_draw="flat",
                                                     founder_draw_eur_per_month=9000.0),
              reserve_floor_eur=[3000.0])
    assert r["founder_draw_eur"][0].tolist() == [5000.0]
    assert r["closing_cash_eur"][0].tolist() == [7100.0]
    assert r["free_cash_eur"][0].tolist() == [3000.0]


def test_percent_of_profit_draw_takes_its_share_of_the_months_positive_net_income():
    # 50 % of the month's net income, tax 20 % accrued year to date, withholding 15 %.
    # EBT 1000, −500, 2000 → tax to date 200, 100, 500 → accruals 200, −100, 400 →
    # net income 800, −400, 1600 → draws 400, 0 (a loss month), 800;
    # withholding 15 % → 60, 0, 120; the founder receives 340, 0, 680.
    # Retained: 800 − 400 = 400; 400 − 400 = 0; 1600 − 800 = 800.
    policy = DistributionPolicy(founder_draw="percent_of_profit", founder_draw_pct_of_profit=50.0,
                                withholding_pct=15.0)
    r = _plan(3, revenue=[1000, 0, 2000], cogs=[0, 500, 0], corporate_tax_pct=20.0,
              opening_cash_eur=10_000.0, equity_injection_eur=10_000.0,
              distribution_policy=policy)
    assert r["net_income_eur"][0].tolist() == [800, -400, 1600]
    assert r["founder_draw_eur"][0].tolist() == [400, 0, 800]
    assert r["dividend_withholding_eur"][0].tolist() == [60, 0, 120]
    assert (r["founder_draw_eur"] - r["dividend_withholding_eur"])[0].tolist() == [340, 0, 680]
    assert r["bs_retained_earnings_eur"][0].tolist() == [400, 0, 800]
    # cash 10 000 + 1000 − 400 = 10 600; − 500 = 10 100; + 2000 − 800 = 11 300
    assert r["closing_cash_eur"][0].tolist() == [10_600, 10_100, 11_300]
    # free cash = cash − tax owed (200, 100, 500)
    assert r["free_cash_eur"][0].tolist() == [10_400, 10_000, 10_800]


def test_draw_wanted_before_the_caps():
    def wanted(policy, ni):
        return [founder_draw_wanted_eur(DRAW_KINDS[policy.founder_draw],
                                        float(policy.founder_draw_eur_per_month),
                                        policy.founder_draw_pct_of_profit, x) for x in ni]
    ni = [-100.0, 0.0, 333.33]
    # 15 % of 333.33 = 49.9995 → 50.00 to the cent; nothing on a loss or a zero month
    assert wanted(DistributionPolicy(founder_draw="percent_of_profit",
                                     founder_draw_pct_of_profit=15.0), ni) == [0.0, 0.0, 50.0]
    assert wanted(FLAT_1000, ni) == [1000.0] * 3
    assert wanted(DistributionPolicy(), ni) == [0.0] * 3
    assert not DistributionPolicy().pays and FLAT_1000.pays
    assert DistributionPolicy(dividend_pct=10.0).pays


def test_dividend_of_10000_with_15_pct_withholding():
    # Fiscal year = plan months 1–12; net income 20 000 in month 1 (no tax). Dividend 50 %
    # of the year's profit = 10 000, paid 1 month after the year's last month (month 13).
    # Withholding 15 % = 1500 is remitted by the company: the founder receives 8500, the
    # company's cash falls by the gross 10 000 (20 000 → 10 000).
    policy = DistributionPolicy(dividend_pct=50.0, withholding_pct=15.0, payment_lag_months=1)
    r = _plan(14, revenue=[20_000] + [0] * 13, distribution_policy=policy)
    assert r["dividends_gross_eur"][0].tolist() == [0] * 12 + [10_000, 0]
    assert r["dividend_withholding_eur"][0, 12] == 1500
    assert r["dividends_gross_eur"][0, 12] - r["dividend_withholding_eur"][0, 12] == 8500
    assert r["closing_cash_eur"][0, 11:].tolist() == [20_000, 10_000, 10_000]
    assert r["distributions_eur"][0].sum() == 10_000
    # equity falls with the cash: retained 20 000 − 10 000 = 10 000 = cash (no paid-in capital)
    assert r["bs_retained_earnings_eur"][0, 12] == 10_000
    assert r["bs_total_assets_eur"][0, 12] == r["bs_total_equity_eur"][0, 12] == 10_000
    # not a P&L item: net income is 20 000 in month 1 and 0 afterwards
    assert r["net_income_eur"][0, 12] == 0


def test_the_dividend_is_on_the_years_profit_left_after_the_founder_draws():
    # As above with a flat draw of 500 every month: year 1 draws 12 × 500 = 6000, so the
    # dividend is 50 % × (20 000 − 6000) = 7000, paid in month 13 after that month's draw.
    # Cash: month 12 20 000 − 6000 = 14 000; month 13 14 000 − 500 − 7000 = 6500; month 14
    # 6000. Withholding month 13: 15 % × (500 + 7000) = 1125; month 1: 15 % × 500 = 75.
    policy = DistributionPolicy(founder_draw="flat", founder_draw_eur_per_month=500.0,
                                dividend_pct=50.0, withholding_pct=15.0, payment_lag_months=1)
    r = _plan(14, revenue=[20_000] + [0] * 13, distribution_policy=policy)
    assert r["founder_draw_eur"][0].tolist() == [500.0] * 14
    assert r["dividends_gross_eur"][0, 12] == 7000
    assert r["closing_cash_eur"][0, 11:].tolist() == [14_000, 6500, 6000]
    assert r["dividend_withholding_eur"][0, [0, 12]].tolist() == [75, 1125]
    # retained: 20 000 − 14 × 500 − 7000 = 6000 = the cash
    assert r["bs_retained_earnings_eur"][0, 13] == 6000


def test_each_fiscal_year_declares_on_its_own_profit_and_draws():
    # Plan month 1 is October, the fiscal year starts in January: year 1 is months 1–3.
    # Flat draw 500 a month, dividend 50 % paid 1 month after the year's last month.
    # Year 1: net income 3000 (month 1), draws 3 × 500 = 1500 → dividend 50 % × 1500 = 750,
    # paid in month 4 after that month's draw.
    # Year 2 (months 4–15): net income 10 000 (month 4), draws 12 × 500 = 6000 → dividend
    # 50 % × 4000 = 2000 in month 16 (counting year 1's income or draws again would give
    # 3500 or 1250).
    # Cash: 2500, 2000, 1500; month 4 1500 + 10 000 − 500 − 750 = 10 250; months 5–15 −500
    # each → 4750; month 16 4750 − 500 − 2000 = 2250.
    policy = DistributionPolicy(founder_draw="flat", founder_draw_eur_per_month=500.0,
                                dividend_pct=50.0, payment_lag_months=1)
    r = _plan(16, revenue=[3000, 0, 0, 10_000] + [0] * 12, distribution_policy=policy,
              fiscal_month=fiscal_months(16, start_month=10))
    assert r["dividends_gross_eur"][0].tolist() == [0, 0, 0, 750] + [0] * 11 + [2000]
    assert r["closing_cash_eur"][0, [0, 1, 2, 3, 14, 15]].tolist() == \
        [2500, 2000, 1500, 10_250, 4750, 2250]
    assert r["founder_draw_eur"][0].tolist() == [500.0] * 16


def test_a_draw_and_a_dividend_in_one_month_share_the_room_above_the_floor():
    # Lag 0: the dividend is paid in the year's last month, after that month's draw.
    # Month 12: net income 12 000 (nothing before, so no earlier draw), cash 12 000,
    # floor 9000 → room 3000. Draw 1000; dividend declared 50 % × (12 000 − 1000) = 5500,
    # cut to the 2000 left above the floor. Cash 9000 = the floor; retained 9000.
    policy = DistributionPolicy(founder_draw="flat", founder_draw_eur_per_month=1000.0,
                                dividend_pct=50.0, payment_lag_months=0)
    r = _plan(12, revenue=[0] * 11 + [12_000], distribution_policy=policy,
              reserve_floor_eur=[9000.0] * 12)
    assert r["founder_draw_eur"][0].tolist() == [0] * 11 + [1000]
    assert r["dividends_gross_eur"][0].tolist() == [0] * 11 + [2000]
    assert r["closing_cash_eur"][0, 11] == 9000 and r["bs_retained_earnings_eur"][0, 11] == 9000


def test_the_dividend_is_paid_with_the_corporate_tax_after_it_and_cut_by_the_floor():
    # Year 1 (months 1–12): EBT 1000 a month, tax 20 % → 2400, net income 9600. Dividend
    # 100 % → 9600 declared, due with the tax 5 months after month 12: month 17.
    # Month 17: the tax of 2400 is paid first → bank cash 12 000 − 2400 = 9600, tax owed 0,
    # free cash 9600; floor 3000 → room 6600: the dividend is cut to 6600, and the 3000 cut
    # off is not carried over (month 18 pays nothing). Withholding 15 % × 6600 = 990.
    policy = DistributionPolicy(dividend_pct=100.0, withholding_pct=15.0, payment_lag_months=5)
    r = _plan(18, revenue=[1000] * 12 + [0] * 6, corporate_tax_pct=20.0,
              corporate_tax_payment_lag_months=5, distribution_policy=policy,
              reserve_floor_eur=[3000.0] * 18)
    assert r["tax_paid_eur"][0, 16] == 2400
    assert r["dividends_gross_eur"][0].tolist() == [0] * 16 + [6600, 0]
    assert r["dividend_withholding_eur"][0, 16] == 990
    assert r["closing_cash_eur"][0, 16:].tolist() == [3000, 3000]
    assert r["bs_retained_earnings_eur"][0, 17] == 9600 - 6600


def test_no_dividend_while_a_profit_only_offsets_earlier_losses():
    # Year 1 loses 5000 (nothing declared); year 2 earns 4000 → 50 % = 2000 declared, due in
    # month 25, but retained earnings are −5000 + 4000 = −1000: nothing is distributable.
    policy = DistributionPolicy(dividend_pct=50.0, payment_lag_months=1)
    r = _plan(26, revenue=[0] * 12 + [4000] + [0] * 13, cogs=[5000] + [0] * 25,
              opening_cash_eur=10_000.0, equity_injection_eur=10_000.0,
              distribution_policy=policy)
    assert r["distributions_eur"].sum() == 0
    assert r["bs_retained_earnings_eur"][0, 25] == -1000


def _random_plan_with_distributions(overdraft_rate_pct=12.0):
    public, private, g = random_plan_inputs()
    g = replace(g, overdraft_interest_rate_pct=overdraft_rate_pct,
                distribution_policy=DistributionPolicy(
                    founder_draw="flat", founder_draw_eur_per_month=300.0, dividend_pct=30.0,
                    withholding_pct=15.0, payment_lag_months=5),
                reserve_floor_eur=np.full(36, 2000.0))
    return public, private, g


def test_distributions_leave_ebitda_tax_and_dscr_unchanged_and_lower_cash_by_themselves():
    # CFADS (EBITDA − tax paid) is before distributions. Without overdraft interest (which
    # lower cash would raise), the P&L and the DSCR are the same with and without them, and
    # net cash is lower by exactly the distributions paid to date.
    public, private, g = _random_plan_with_distributions(overdraft_rate_pct=0.0)
    with_d = pnl_and_cashflow(public, private, g)
    without = pnl_and_cashflow(public, private,
                               replace(g, distribution_policy=DistributionPolicy()))
    assert with_d["founder_draw_eur"].any() and with_d["dividends_gross_eur"].any()
    for key in ("ebitda_eur", "ebt_eur", "tax_eur", "tax_paid_eur", "net_income_eur", "dscr",
                "dscr_t12", "icr"):
        np.testing.assert_array_equal(with_d[key], without[key], err_msg=key)
    np.testing.assert_allclose(without["net_cash_eur"] - with_d["net_cash_eur"],
                               np.cumsum(with_d["distributions_eur"], axis=-1), atol=1e-6)
    assert (without["distributions_eur"] == 0).all()


def test_balance_sheet_balances_with_distributions_every_month_of_every_sample():
    public, private, g = _random_plan_with_distributions()
    r = pnl_and_cashflow(public, private, g)
    paid = r["distributions_eur"] > 0
    assert paid.any() and r["dividends_gross_eur"].any() and (r["funding_gap_eur"] > 0).any()
    # never below the floor in a month that pays
    assert (r["free_cash_eur"][paid] >= 2000.0 - 1e-6).all()
    # retained earnings = cumulative net income − cumulative distributions
    np.testing.assert_allclose(r["bs_retained_earnings_eur"],
                               np.cumsum(r["net_income_eur"] - r["distributions_eur"], axis=-1),
                               atol=1e-6)

    def written(name):
        return np.round(r[name] * 100).astype(np.int64)
    assets = sum(written(k) for k in BS_ASSETS)
    liabilities = sum(written(k) for k in BS_LIABILITIES)
    equity = sum(written(k) for k in BS_EQUITY)
    assert (assets == liabilities + equity).all()
    gap = r["bs_total_assets_eur"] - r["bs_total_liabilities_eur"] - r["bs_total_equity_eur"]
    assert np.abs(gap).max() < 0.005
    # cash flow statement: opening + operating − capex − principal − distributions + drawn
    # = closing
    flow = (r["opening_cash_eur"] + r["operating_cash_eur"] - r["capex_eur"]
            - r["principal_eur"] - r["distributions_eur"] + r["overdraft_drawn_eur"]
            + r["funding_gap_drawn_eur"])
    np.testing.assert_allclose(flow, r["closing_cash_eur"], atol=1e-6)


def test_distribution_lines_follow_the_principal_only_when_a_policy_pays():
    on, off = OptionalLines(distributions=True), OptionalLines()
    assert off.cash_series() == CASH_SERIES
    i = CASH_SERIES.index("principal_eur")
    assert on.cash_series()[i + 1: i + 6] == ("founder_draw_eur", "dividends_gross_eur",
                                              "dividend_withholding_eur", "distributions_eur",
                                              "reserve_floor_eur")
    assert set(off.hidden()) >= {"founder_draw_eur", "reserve_floor_eur"}


def test_distribution_policy_not_summing_to_100_exits_2(tmp_path):
    root = copy_minimal(tmp_path / "tree")
    edit_yaml(root / GENERAL, lambda d: d.setdefault("reserves", {}).update(
        distribution_policy={"reinvest_pct": 100, "dividend_pct": 30}))
    result = invoke("validate", "--inputs", str(root / "inputs"))
    assert result.exit_code == 2, result.stdout + result.stderr
    assert f"{GENERAL}:reserves.distribution_policy.reinvest_pct: reinvest_pct 100 + " \
        "dividend_pct 30 = 130, must sum to 100 — remove reinvest_pct (it is then 100 − " \
        "dividend_pct) or set it to 100 − dividend_pct = 70" in result.stderr.splitlines()
    assert '"event": "validate_error"' in result.stdout


def test_a_dividend_share_alone_derives_the_reinvested_share(tmp_path):
    from d3.models.operator import DistributionPolicy

    # dividend 30 % → reinvested 100 − 30 = 70 %; given shares are kept as given.
    assert DistributionPolicy(dividend_pct=30).reinvested_pct == 70.0
    assert DistributionPolicy(reinvest_pct=70, dividend_pct=30).reinvested_pct == 70.0
    assert DistributionPolicy(dividend_pct=30).model_dump(mode="json") == {
        "reinvest_pct": 70.0, "dividend_pct": 30.0}  # validated JSON: as derived
    root = copy_minimal(tmp_path / "tree")
    edit_yaml(root / GENERAL, lambda d: d.setdefault("reserves", {}).update(
        distribution_policy={"dividend_pct": 30}))
    result = invoke("validate", "--inputs", str(root / "inputs"))
    assert result.exit_code == 0, result.stderr


def _csv(path):
    with path.open(encoding="utf-8") as fh:
        return list(csv.DictReader(fh))


def test_a_run_with_salaries_and_distributions_shows_their_lines_and_still_balances(tmp_path):
    # The minimal fixture's salary 2000 moved to salaries with 27.65 % social security
    # (553.00 a month); a flat draw and a dividend policy. The fixture never earns a profit,
    # so nothing is distributable: the lines are there and are 0.
    root = copy_minimal(tmp_path / "tree")

    def change(d):
        d["finance"]["salaries_monthly_eur"] = {
            "founder": d["finance"]["fixed_costs_monthly_eur"].pop("salary")}
        d["tax"].update(social_security_pct=27.65, dividend_withholding_pct=15)
        d["reserves"] = {"founder_draw_policy": "flat", "founder_draw_eur_per_month": 500,
                         "distribution_policy": {"reinvest_pct": 70, "dividend_pct": 30}}
    edit_yaml(root / GENERAL, change)
    out = tmp_path / "out"
    result = invoke("run", "--inputs", str(root / "inputs"), "--out", str(out))
    assert result.exit_code == 0, result.stderr
    pnl = _csv(out / "pnl_by_month.csv")
    columns = list(pnl[0])
    i = columns.index("fixed_costs_eur")
    assert columns[i + 1: i + 3] == ["salaries_eur", "social_security_eur"]
    # accounting 100 stays a fixed cost; 2000 × 27.65 % = 553.00
    assert (pnl[0]["fixed_costs_eur"], pnl[0]["salaries_eur"], pnl[0]["social_security_eur"]) \
        == ("100.00", "2000.00", "553.00")
    assert {"p50_salaries_eur", "p90_social_security_eur"} <= set(columns)
    years = {(r["year"], r["metric"]): r for r in _csv(out / "pnl_by_year.csv")}
    assert years[("1", "social_security_eur")]["reference"] == "6636.00"  # 12 × 553
    cash = _csv(out / "cashflow_by_month.csv")
    assert {"founder_draw_eur", "dividends_gross_eur", "dividend_withholding_eur",
            "distributions_eur", "reserve_floor_eur", "p10_founder_draw_eur"} <= set(cash[0])
    assert all(r["founder_draw_eur"] == "0.00" for r in cash)
    kpis = {(r["grid_index"], r["metric"]): r for r in _csv(out / "consolidated_kpis.csv")}
    assert kpis[("0", "founder_draw_term_eur")]["p50"] == "0.00"  # nothing distributable
    assert ("0", "dividend_withholding_eur") in kpis
    summary = json.loads((out / "consolidated_summary.json").read_text())
    assert all(v["balance_sheet_max_abs_difference_eur"] < 0.005
               for v in summary["grid"].values())
    expected = json.loads((out / "intermediate/consolidated_expected.json").read_text())
    assert "social_security_eur" in expected["grid"]["0"]


def test_a_run_without_them_has_no_salary_or_distribution_columns(tmp_path):
    out = tmp_path / "out"
    assert invoke("run", "--inputs", str(copy_minimal(tmp_path / "tree") / "inputs"), "--out",
                  str(out)).exit_code == 0
    hidden = set(OptionalLines().hidden())
    for name in ("pnl_by_month.csv", "cashflow_by_month.csv"):
        assert not hidden & set(_csv(out / name)[0]), name
    assert not any(r["metric"] in hidden for r in _csv(out / "pnl_by_year.csv"))
    assert not any(r["metric"].startswith(("founder_draw", "dividend", "distributions"))
                   for r in _csv(out / "consolidated_kpis.csv"))
    expected = json.loads((out / "intermediate/consolidated_expected.json").read_text())
    assert not hidden & set(expected["grid"]["0"])
