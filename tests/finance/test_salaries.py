"""Salaries and the employer's social security on them, by hand (docs/FINANCE.md, "Operating
costs"): an opex line of their own, inflated like fixed costs, no VAT, contingency applies."""

from __future__ import annotations

import numpy as np
import pytest
from ruamel.yaml import YAML

from d3.consolidate import general_schedules, reserve_floor
from d3.finance.statements import pnl_and_cashflow
from d3.finance.tables import PNL_SERIES, YEAR_SERIES, OptionalLines, break_even_rows
from d3.models.operator import GeneralOperator
from tests.finance._plans import line, schedules
from tests.helpers import ROOT


def _general(**sections) -> GeneralOperator:
    """A general configuration without loan, tax or VAT unless given."""
    doc = {"finance": {"fixed_costs_monthly_eur": {"accounting": 200.0}},
           "loan": {"amount_eur": 0.0, "term_months": 12, "interest_rate_pct_flat": 0.0},
           "tax": {"corporate_tax_pct": 0.0, "vat_pct": 0.0},
           "calendar": {"start_year": 2027, "start_month": 1}}
    for key, value in sections.items():
        doc[key] = {**doc.get(key, {}), **value}
    return GeneralOperator.model_validate(doc)


def test_salary_3000_with_27_65_pct_social_security_is_3829_50_of_opex_a_month():
    # Social security 3000 × 27.65 % = 829.50; opex = 3000 + 829.50 = 3829.50.
    # Revenue 5000 → EBITDA 5000 − 3829.50 = 1170.50.
    g = schedules(2, salaries=[3000.0, 3000.0], social_security_pct=27.65, vat_pct=21.0,
                  vat_lag_months=1)
    r = pnl_and_cashflow(line(1, 2, revenue=5000.0), line(1, 2), g)
    assert r["salaries_eur"][0].tolist() == [3000.0, 3000.0]
    assert r["social_security_eur"][0].tolist() == [829.5, 829.5]
    assert r["opex_eur"][0].tolist() == [3829.5, 3829.5]
    assert r["ebitda_eur"][0].tolist() == [1170.5, 1170.5]
    # Wages carry no VAT: 21 % × 5000 = 1050 collected, nothing recovered.
    assert r["vat_paid_eur"][0].tolist() == [0.0, 0.0]
    # Cash m1: 5000 + 1050 VAT (remitted next month) − 3829.50 = 2220.50;
    # m2: 2220.50 + 5000 + 1050 − 1050 remitted − 3829.50 = 3391.00.
    assert r["closing_cash_eur"][0].tolist() == [2220.5, 3391.0]


def test_contingency_applies_to_salaries_and_social_security_like_to_fixed_costs():
    # Contingency 10 % on fixed 1000 + salaries 3000 + social security 829.50 + insurance 100
    # = 4929.50 → 492.95; opex = 4929.50 + 492.95 = 5422.45.
    g = schedules(1, fixed_costs=[1000.0], salaries=[3000.0], social_security_pct=27.65,
                  insurance=[100.0], contingency_pct=10.0)
    r = pnl_and_cashflow(line(1, 1), line(1, 1), g)
    assert r["contingency_eur"][0].tolist() == [492.95]
    assert r["opex_eur"][0].tolist() == [5422.45]


def test_salaries_inflate_by_role_and_social_security_follows():
    # engineer 3000 at 12 %/yr: month 13 costs 3000 × 1.12 = 3360; founder 2500, no rate.
    # Month 1: 5500 gross, social security 27.65 % = 1520.75;
    # month 13: 5860 gross, 5860 × 27.65 % = 1620.29.
    general = _general(finance={"salaries_monthly_eur": {"engineer": 3000.0, "founder": 2500.0},
                                "inflation_pct_yoy_by_category": {"engineer": 12.0}},
                       tax={"social_security_pct": 27.65})
    g = general_schedules(general, {}, 13)
    assert g.salaries[0] == pytest.approx(5500.0) and g.salaries[12] == pytest.approx(5860.0)
    r = pnl_and_cashflow(line(1, 13), line(1, 13), g)
    assert r["social_security_eur"][0, [0, 12]].tolist() == [1520.75, 1620.29]
    # opex month 13 = accounting 200 + 5860 + 1620.29 = 7680.29 (no contingency)
    assert r["opex_eur"][0, 12] == pytest.approx(7680.29)


def test_a_salary_moved_from_fixed_costs_to_salaries_changes_only_those_two_lines():
    # The shipped general.yaml books founder_salary 2500 as a fixed cost. Moved to salaries
    # with 0 % social security, it costs the same, carries no VAT either way (its name marks
    # it VAT-exempt) and takes the same contingency: every other number is equal. (Inflation
    # is left out: each line is booked in cents on its own, so splitting an inflated sum in
    # two may move a cent.)
    doc = YAML(typ="safe", pure=True).load(
        (ROOT / "inputs/operator/general.yaml").read_text(encoding="utf-8"))
    doc["finance"] = {**doc["finance"], "inflation_pct_yoy_by_category": {}}
    moved = {**doc, "finance": {**doc["finance"]}}
    fixed = dict(doc["finance"]["fixed_costs_monthly_eur"])
    moved["finance"]["salaries_monthly_eur"] = {"founder_salary": fixed.pop("founder_salary")}
    moved["finance"]["fixed_costs_monthly_eur"] = fixed
    premiums = {"hiscox_pi": 1200.0, "axa_cyber": 900.0}
    rng = np.random.default_rng(3)
    revenue = rng.uniform(0, 9000, (3, 24))
    public = line(3, 24, revenue=revenue, cogs=revenue * 0.4, acquisition=500.0)
    before = pnl_and_cashflow(public, line(3, 24), general_schedules(
        GeneralOperator.model_validate(doc), premiums, 24))
    after = pnl_and_cashflow(public, line(3, 24), general_schedules(
        GeneralOperator.model_validate(moved), premiums, 24))
    # fixed costs 2500 + 200 + 75 + 150 + 300 + 60 = 3285 before; 785 + salary 2500 after
    assert before["fixed_costs_eur"][0, 0] == 3285.0 and after["fixed_costs_eur"][0, 0] == 785.0
    assert after["salaries_eur"][0].tolist() == [2500.0] * 24
    assert (after["social_security_eur"] == 0).all()
    for key in before:
        if key not in ("fixed_costs_eur", "salaries_eur"):
            np.testing.assert_array_equal(after[key], before[key], err_msg=key)


def test_break_even_overhead_counts_salaries_and_social_security():
    # Fixed overhead = fixed 700 + salaries 3000 + social security 829.50 + insurance 50
    # + bizdev 40 + contingency 10 = 4629.50.
    ones = np.ones((1, 1))
    results = {k: ones * v for k, v in (("ebitda_eur", -100.0), ("revenue_eur", 2000.0),
                                        ("gross_margin_eur", 1000.0), ("opex_eur", 1100.0),
                                        ("acquisition_eur", 0.0), ("revenue_public_eur", 2000.0),
                                        ("revenue_private_eur", 0.0))}
    reference = {"fixed_costs_eur": np.array([700.0]), "salaries_eur": np.array([3000.0]),
                 "social_security_eur": np.array([829.5]), "insurance_eur": np.array([50.0]),
                 "bizdev_eur": np.array([40.0]), "contingency_eur": np.array([10.0]),
                 "ebitda_eur": np.array([-100.0])}
    assert break_even_rows(0, results, reference, None, None)[0][2] == "4629.50"


def test_the_reserve_floor_counts_salaries_with_social_security():
    # 3 months × (fixed 200 + salary 3000 + social security 829.50 = 4029.50) = 12 088.50,
    # above the emergency fund 10 000; + cash buffer 5000 = 17 088.50.
    general = _general(finance={"salaries_monthly_eur": {"engineer": 3000.0}},
                       tax={"social_security_pct": 27.65},
                       reserves={"reserve_months_target": 3.0, "emergency_fund_eur": 10_000.0,
                                 "cash_buffer_eur": 5000.0})
    g = general_schedules(general, {}, 2)
    assert g.reserve_floor_eur.tolist() == [17_088.5, 17_088.5]
    # An emergency fund of 20 000 is above 12 088.50: the floor is 20 000 + 5000.
    richer = _general(finance={"salaries_monthly_eur": {"engineer": 3000.0}},
                      tax={"social_security_pct": 27.65},
                      reserves={"reserve_months_target": 3.0, "emergency_fund_eur": 20_000.0,
                                "cash_buffer_eur": 5000.0})
    assert reserve_floor(richer, np.array([200.0]), np.array([3000.0])).tolist() == [25_000.0]


def test_salary_lines_are_shown_after_the_fixed_costs_only_when_used():
    on, off = OptionalLines(salaries=True), OptionalLines()
    assert off.pnl_series() == PNL_SERIES and off.year_series() == YEAR_SERIES
    i = PNL_SERIES.index("fixed_costs_eur")
    assert on.pnl_series()[i + 1: i + 3] == ("salaries_eur", "social_security_eur")
    assert len(on.pnl_series()) == len(PNL_SERIES) + 2
    j = YEAR_SERIES.index("acquisition_eur")
    assert on.year_series()[j + 1: j + 3] == ("salaries_eur", "social_security_eur")
    assert "salaries_eur" in off.hidden() and "salaries_eur" not in on.hidden()


def test_personal_costs_and_buffers_carry_no_input_vat():
    # The imported draft's fixed costs: personal 2 500 (the founder's own costs) and
    # misc_buffer 300 have no supplier invoice; office 400 does → input-VAT base 400 / month.
    import numpy as np

    from d3.finance.statements import vatable_fixed_costs
    costs = {"personal": np.full(3, 2500.0), "misc_buffer": np.full(3, 300.0),
             "office": np.full(3, 400.0), "insurance_admin": np.full(3, 75.0)}
    assert vatable_fixed_costs(costs, 3).tolist() == [400.0, 400.0, 400.0]
