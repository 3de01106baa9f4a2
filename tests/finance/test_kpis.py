"""Per-sample KPIs: runway, funding need, trailing-12 DSCR, first breach, covenants."""

from __future__ import annotations

from dataclasses import fields, replace

import numpy as np
import pytest

from d3.finance.kpis import covenant_probabilities, runway_months, sample_kpis
from d3.finance.statements import pnl_and_cashflow
from tests.finance._plans import line, schedules
from tests.finance.test_cash_and_financing import random_plan_inputs


def test_runway_is_the_months_before_free_cash_first_goes_negative():
    free = np.array([[5.0, 3.0, 0.0, -1.0, 2.0],   # first negative in month 4 → 3 months
                     [-1.0, 5.0, 5.0, 5.0, 5.0],   # negative at once → 0 months
                     [1.0, 0.0, 0.0, 0.0, 9.0]])   # never negative (0 is not negative)
    runway, never = runway_months(free)
    assert runway[:2].tolist() == [3.0, 0.0] and np.isnan(runway[2])
    assert never.tolist() == [0.0, 0.0, 1.0]


def _overdraft_plan(buffer=0.0):
    # Opening 1000, limit 2000 at 12 %: free cash −2000, −3020, −1550.20, +1434.30
    # (test_cash_and_financing); without overdraft interest −2000, −3000, −1500, +1500.
    g = schedules(4, opening_cash_eur=1000.0, equity_injection_eur=1000.0,
                  overdraft_limit_eur=2000.0, overdraft_interest_rate_pct=12.0)
    return pnl_and_cashflow(line(1, 4, revenue=[0, 0, 1500, 3000], cogs=[3000, 1000, 0, 0]),
                            line(1, 4), g), g


def test_overdraft_plan_kpis_by_hand():
    r, _ = _overdraft_plan()
    k = sample_kpis(r, 4, min_dscr=1.2, cash_buffer_eur=500.0)
    assert k["runway_months"][1].tolist() == [0.0]  # free cash negative in month 1
    assert k["runway_never_ends"][1].tolist() == [0.0]
    assert k["min_free_cash_eur"][1].tolist() == [-3020.0]
    assert k["min_free_cash_less_buffer_eur"][1].tolist() == [-3520.0]
    assert k["min_cash_eur"][1].tolist() == [-3020.0]  # lowest net cash (bank − facility)
    assert k["max_funding_gap_eur"][1].tolist() == pytest.approx([1020.0])
    assert k["months_with_funding_gap"][1].tolist() == [1.0]
    # buffer 500 − lowest free cash without overdraft interest (−3000) = 3500; the path with
    # interest (−3020) would overstate it: with 3500 more equity no overdraft is ever drawn
    assert k["funding_need_eur"][1].tolist() == [3500.0]
    assert sample_kpis(r, 1, min_dscr=1.2, cash_buffer_eur=500.0)["funding_need_eur"][1] \
        .tolist() == [2500.0]  # horizon 1: 500 − (−2000)
    assert k["first_breach_month"][1].tolist() == [1.0]
    p = covenant_probabilities(k, min_dscr=1.2)
    assert p["p_free_cash_below_buffer_any_month"] == 1.0 and p["p_funding_gap_any_month"] == 1.0
    assert p["p_cash_negative_any_month"] == 1.0 and p["p_any_breach"] == 1.0


def test_funding_need_equals_a_brute_force_bisection_on_equity():
    public, private, g = random_plan_inputs()
    r = pnl_and_cashflow(public, private, g)
    horizon, buffer = 30, 4000.0
    need = sample_kpis(r, horizon, min_dscr=1.2, cash_buffer_eur=buffer)["funding_need_eur"][1]
    assert (need > 0).all()
    # the path that pays overdraft interest would overstate the need (by ≈ 2.5 k here)
    assert (buffer - r["free_cash_eur"][:, :horizon].min(axis=1) > need + 100).all()

    def enough(extra):  # free cash ≥ buffer in months 1..horizon, per sample
        out = np.zeros(len(extra), dtype=bool)
        for i, e in enumerate(extra):  # one sample at a time: the equity differs per sample
            g2 = replace(g, opening_cash_eur=g.opening_cash_eur + e,
                         equity_injection_eur=g.equity_injection_eur + e)
            one = pnl_and_cashflow(_row(public, i), _row(private, i), g2)
            out[i] = one["free_cash_eur"][0, :horizon].min() >= buffer
        return out

    lo, hi = np.zeros(len(need)), np.full(len(need), 1e6)
    assert not enough(lo).any() and enough(hi).all()
    for _ in range(60):
        mid = (lo + hi) / 2
        ok = enough(mid)
        lo, hi = np.where(ok, lo, mid), np.where(ok, mid, hi)
    assert hi == pytest.approx(need, abs=0.011)  # bookings are in whole cents


def _row(lr, i):
    return type(lr)(*(getattr(lr, f.name)[i:i + 1] for f in fields(lr)))


def test_trailing_12_dscr_after_month_12_by_hand():
    # EBITDA 100 × m in month m (revenue only), debt service 1000 a month (principal), no tax.
    # T12 DSCR in month 14 = Σ EBITDA months 3..14 / 12 000 = 100 × 102 / 12 000 = 0.85
    # (an 11-month window would give 100 × 99 / 11 000 = 0.90).
    t = 14
    g = schedules(t, principal=[1000.0] * t, opening_cash_eur=100_000.0)
    r = pnl_and_cashflow(line(1, t, revenue=100.0 * np.arange(1, t + 1)), line(1, t), g)
    assert r["dscr_t12"][0, 13] == pytest.approx(0.85)
    assert r["dscr_t12"][0, 11] == pytest.approx(100 * 78 / 12_000)  # months 1..12: 0.65
    k = sample_kpis(r, t, min_dscr=0.5)
    assert k["min_dscr_t12"][1].tolist() == pytest.approx([0.65])  # from month 12 on


def test_first_breach_is_month_12_when_t12_dscr_is_below_target_from_the_start():
    # Revenue 1000 and debt service 1000 a month: T12 DSCR = 1.0 < 1.2 in every month, but the
    # covenant is tested from month 12, so the first breach is month 12 (not 1, not 13).
    # Cash stays ample, so runway never ends.
    t = 15
    g = schedules(t, principal=[1000.0] * t, opening_cash_eur=50_000.0)
    r = pnl_and_cashflow(line(1, t, revenue=1000.0), line(1, t), g)
    k = sample_kpis(r, t, min_dscr=1.2)
    assert k["first_breach_month"][1].tolist() == [12.0]
    assert np.isnan(k["runway_months"][1]).all() and k["runway_never_ends"][1].tolist() == [1.0]
    assert k["funding_need_eur"][1].tolist() == [0.0]
    p = covenant_probabilities(k, min_dscr=1.2)
    assert p["p_any_breach"] == 1.0 and p["p_min_dscr_t12_below_target"] == 1.0
    assert p["p_free_cash_below_buffer_any_month"] == 0.0 and p["p_funding_gap_any_month"] == 0.0


def test_every_sample_kpi_by_hand_on_two_samples():
    from d3.finance.kpis import covenant_probabilities, sample_kpis

    nan = float("nan")
    # Two samples, 4 months, horizon 3, DSCR tested from month 2, buffer 100.
    a = np.array
    r = {
        "revenue_eur": a([[10.0, 20.0, 30.0, 1000.0], [1.0, 1.0, 1.0, 1.0]]),
        "revenue_public_eur": a([[6.0, 12.0, 18.0, 600.0], [1.0, 1.0, 1.0, 1.0]]),
        "revenue_private_eur": a([[4.0, 8.0, 12.0, 400.0], [0.0, 0.0, 0.0, 0.0]]),
        "gross_margin_eur": a([[5.0, 5.0, 5.0, 500.0], [0.5, 0.5, 0.5, 0.5]]),
        "opex_eur": a([[3.0, 3.0, 3.0, 300.0], [2.0, 2.0, 2.0, 2.0]]),
        "ebitda_eur": a([[-5.0, 2.0, 4.0, 100.0], [-1.0, -1.0, -1.0, -1.0]]),
        "net_income_eur": a([[-6.0, 1.0, 3.0, 90.0], [-2.0, -2.0, -2.0, -2.0]]),
        "net_cash_eur": a([[50.0, -10.0, 40.0, 60.0], [5.0, 4.0, 3.0, 2.0]]),
        "free_cash_eur": a([[150.0, 90.0, -5.0, 300.0], [500.0, 400.0, 300.0, 200.0]]),
        "free_cash_without_overdraft_interest_eur": a([[150.0, 95.0, 20.0, 300.0],
                                                       [500.0, 400.0, 300.0, 200.0]]),
        "funding_gap_eur": a([[0.0, 7.0, 0.0, 3.0], [0.0, 0.0, 0.0, 0.0]]),
        "dscr": a([[nan, 0.5, 2.0, 3.0], [nan, nan, nan, nan]]),
        "dscr_t12": a([[nan, 1.5, 1.1, 2.0], [nan, nan, nan, nan]]),
    }
    k = sample_kpis(r, 3, min_dscr=1.2, dscr_from_month=2, cash_buffer_eur=100.0)
    v = {m: values.tolist() for m, (_, values) in k.items()}
    # Flows over months 1–3 only (month 4 is past the horizon).
    assert v["revenue_total_eur"] == [60.0, 3.0]
    assert v["revenue_public_eur"] == [36.0, 3.0] and v["revenue_private_eur"] == [24.0, 0.0]
    assert v["gross_margin_eur"] == [15.0, 1.5] and v["opex_eur"] == [9.0, 6.0]
    assert v["ebitda_eur"] == [1.0, -3.0] and v["net_income_eur"] == [-2.0, -6.0]
    # Net cash at the horizon (month 3) and its lowest over the term.
    assert v["closing_cash_horizon_eur"] == [40.0, 3.0] and v["min_cash_eur"] == [-10.0, 2.0]
    assert v["min_free_cash_eur"] == [-5.0, 200.0]
    assert v["min_free_cash_less_buffer_eur"] == [-105.0, 100.0]
    # Monthly DSCR minimum ignores NaN; T12 from month 2: min(1.5, 1.1, 2.0) = 1.1.
    assert v["min_dscr_monthly"][0] == 0.5 and np.isnan(v["min_dscr_monthly"][1])
    assert v["min_dscr_t12"][0] == 1.1 and np.isnan(v["min_dscr_t12"][1])
    # EBITDA ≥ 0 first in month 2; cumulative −5, −3, 1 → month 3; sample 2 never (NaN, flag).
    assert v["months_to_ebitda_break_even"][0] == 2.0 and np.isnan(
        v["months_to_ebitda_break_even"][1])
    assert v["ebitda_break_even_never"] == [0.0, 1.0]
    assert v["months_to_cumulative_break_even"][0] == 3.0
    assert v["cumulative_break_even_never"] == [0.0, 1.0]
    # Free cash first < 0 in month 3 → runway 2; sample 2 never runs out.
    assert v["runway_months"][0] == 2.0 and np.isnan(v["runway_months"][1])
    assert v["runway_never_ends"] == [0.0, 1.0]
    # Funding need over the horizon: 100 − min(150, 95, 20) = 80; sample 2: 100 − 300 < 0 → 0.
    # Over the term: 100 − 20 = 80; sample 2: 100 − 200 → 0.
    assert v["funding_need_eur"] == [80.0, 0.0] and v["funding_need_term_eur"] == [80.0, 0.0]
    assert v["max_funding_gap_eur"] == [7.0, 0.0] and v["months_with_funding_gap"] == [2.0, 0.0]
    # First breach: DSCR 1.1 < 1.2 in month 3 and free cash < 0 in month 3 → 3; sample 2 none.
    assert v["first_breach_month"] == [3.0, 0.0]
    units = {m: u for m, (u, _) in k.items()}
    assert {m for m, u in units.items() if u == "ratio"} == {"min_dscr_monthly", "min_dscr_t12"}
    assert {m for m, u in units.items() if u == "flag"} == {
        "ebitda_break_even_never", "cumulative_break_even_never", "runway_never_ends"}
    assert {m for m, u in units.items() if u == "months"} == {
        "months_to_ebitda_break_even", "months_to_cumulative_break_even", "runway_months",
        "months_with_funding_gap", "first_breach_month"}
    assert {u for m, u in units.items() if m.endswith("_eur")} == {"EUR"}
    assert all(values.dtype == np.float64 for _, values in k.values())
    p = covenant_probabilities(k, min_dscr=1.2)
    # DSCR below target: sample 1 (1.1); net cash < 0: sample 1; free cash below the buffer:
    # sample 1 (−105); a funding gap: sample 1; a breach: sample 1 → each 1/2.
    assert p == {"p_min_dscr_t12_below_target": 0.5, "p_cash_negative_any_month": 0.5,
                 "p_free_cash_below_buffer_any_month": 0.5, "p_funding_gap_any_month": 0.5,
                 "p_any_breach": 0.5}


def test_break_even_at_exactly_zero_and_small_funding_gaps():
    from d3.finance.kpis import sample_kpis

    nan = float("nan")
    a = np.array
    # EBITDA exactly 0 in month 2 counts as break-even (≥ 0), cumulative −1, −1, 1 → month 3.
    # A funding gap of 0.50 EUR is still a month with a gap. Default buffer 0.
    r = {k: a([[1.0, 1.0, 1.0]]) for k in (
        "revenue_eur", "revenue_public_eur", "revenue_private_eur", "gross_margin_eur",
        "opex_eur", "net_income_eur", "net_cash_eur", "free_cash_eur",
        "free_cash_without_overdraft_interest_eur")}
    r.update(ebitda_eur=a([[-1.0, 0.0, 2.0]]), funding_gap_eur=a([[0.0, 0.5, 0.0]]),
             dscr=a([[nan, nan, nan]]), dscr_t12=a([[0.5, 2.0, 3.0]]))
    v = {m: x.tolist() for m, (_, x) in sample_kpis(r, 3, min_dscr=1.2,
                                                    dscr_from_month=3).items()}
    assert v["months_to_ebitda_break_even"] == [2.0] and v["ebitda_break_even_never"] == [0.0]
    assert v["months_to_cumulative_break_even"] == [3.0]
    assert v["months_with_funding_gap"] == [1.0]
    assert v["min_free_cash_less_buffer_eur"] == v["min_free_cash_eur"] == [1.0]
    # A 3-month plan with the covenant from month 3: only month 3's T12 DSCR (3.0) counts.
    assert v["min_dscr_t12"] == [3.0]


def test_distribution_kpis_sum_each_sample_over_the_horizon_and_the_term():
    from d3.finance.kpis import distribution_kpis

    # Two samples, four months, horizon 2. Sample 0: a flat draw of 500 in every month and a
    # dividend of 10 000 in month 4, 15 % withheld from both; sample 1 pays nothing.
    draw = np.array([[500.0, 500.0, 500.0, 500.0], [0.0, 0.0, 0.0, 0.0]])
    dividend = np.array([[0.0, 0.0, 0.0, 10_000.0], [0.0, 0.0, 0.0, 0.0]])
    r = {"founder_draw_eur": draw, "dividends_gross_eur": dividend,
         "dividend_withholding_eur": 0.15 * (draw + dividend),
         "distributions_eur": draw + dividend}
    k = distribution_kpis(r, 2)
    assert k["founder_draw_eur"][1].tolist() == [1000.0, 0.0]            # 2 × 500
    assert k["dividends_gross_eur"][1].tolist() == [0.0, 0.0]            # month 4 > horizon
    assert k["dividend_withholding_eur"][1].tolist() == [150.0, 0.0]     # 15 % × 1000
    assert k["founder_draw_term_eur"][1].tolist() == [2000.0, 0.0]       # 4 × 500
    assert k["dividends_gross_term_eur"][1].tolist() == [10_000.0, 0.0]
    assert k["dividend_withholding_term_eur"][1].tolist() == [1800.0, 0.0]  # 15 % × 12 000
    assert k["distributions_term_eur"][1].tolist() == [12_000.0, 0.0]    # 2000 + 10 000
    assert {unit for unit, _ in k.values()} == {"EUR"}
