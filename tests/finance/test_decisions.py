"""Issue 11 items 3–5 and 9: decisions from the samples, break-even by EBITDA, cluster-aware
Monte Carlo error, per-sample yearly tables, DSCR shown as n/m."""

from __future__ import annotations

import math

import numpy as np
import pytest

from d3.acceptance import GridEvidence, decided, grid_criteria, non_decreasing, path_evidence
from d3.consolidate import autoscaler_kpis, public_kpis
from d3.finance.mc_error import between_replicate_se, mean, median
from d3.finance.tables import break_even_rows, year_rows
from d3.report.plan import dscr_text


def test_between_replicate_standard_error_by_hand():
    # Replicate 0: 1, 2, 3 (median 2); replicate 1: 4, 5, 6 (median 5); replicate 2: 10, 11,
    # 12 (median 11). sd(2, 5, 11; ddof 1) = sqrt(((2−6)² + (5−6)² + (11−6)²)/2) = sqrt(21);
    # SE = sqrt(21)/sqrt(3) = sqrt(7) = 2.6458.
    values = np.array([1, 2, 3, 4, 5, 6, 10, 11, 12], dtype=float)
    reps = np.repeat([0, 1, 2], 3)
    assert between_replicate_se(values, reps, median) == pytest.approx(math.sqrt(7))
    # The mean's SE equals it here (each replicate is symmetric around its median).
    assert between_replicate_se(values, reps, mean) == pytest.approx(math.sqrt(7))
    # Treating the 9 values as independent would give sd/√9 = 4.06/3 = 1.35: half as large.
    assert np.std(values, ddof=1) / 3 == pytest.approx(1.354, abs=1e-3)
    # One replicate: no independent draws to compare → undefined.
    assert math.isnan(between_replicate_se(values[:3], reps[:3], median))


def _results(ebitda, revenue, gross_margin, opex, acquisition):
    arr = lambda x: np.array(x, dtype=float)  # noqa: E731
    return {"ebitda_eur": arr(ebitda), "revenue_eur": arr(revenue),
            "gross_margin_eur": arr(gross_margin), "opex_eur": arr(opex),
            "acquisition_eur": arr(acquisition), "revenue_public_eur": arr(revenue),
            "revenue_private_eur": np.zeros_like(arr(revenue))}


def test_break_even_covers_ad_spend_like_the_pnl():
    # Three samples, one month: gross margin 1000 each, fixed overhead 800, ads 300 →
    # opex 1100, EBITDA −100 (gross margin covers the fixed costs but not the ads: not covered).
    # Sample revenues 2000/2500/4000 → gross margin 50 %/40 %/25 % → revenue needed
    # 1100/0.5 = 2200, 1100/0.4 = 2750, 1100/0.25 = 4400 → p50 2750.
    results = _results([[-100], [-100], [-100]], [[2000], [2500], [4000]],
                       [[1000], [1000], [1000]], [[1100], [1100], [1100]],
                       [[300], [300], [300]])
    reference = {"fixed_costs_eur": np.array([700.0]), "insurance_eur": np.array([50.0]),
                 "bizdev_eur": np.array([40.0]), "contingency_eur": np.array([10.0]),
                 "ebitda_eur": np.array([-100.0])}
    row = break_even_rows(0, results, reference, np.array([[10.0], [10.0], [20.0]]), None)[0]
    (month, g, fixed, acq, opex, gm_pct, needed, rev, p10, p50, p90, p_cov, covered, ref_e,
     ref_cov, customers, clients) = row
    assert (fixed, acq, opex, gm_pct, needed) == ("800.00", "300.00", "1100.00", "40.0000",
                                                  "2750.00")
    assert (p50, p_cov, covered, ref_cov) == ("-100.00", "0.0000", "false", "false")
    # Customers needed: 2200/(2000/10) = 11, 2750/(2500/10) = 11, 4400/(4000/20) = 22 → 11.
    assert customers == "11.00" and clients == ""


def test_break_even_share_of_samples_covered():
    results = _results([[-10], [0], [25], [40]], [[100]] * 4, [[60]] * 4, [[70]] * 4,
                       [[0]] * 4)
    reference = {k: np.zeros(1) for k in ("fixed_costs_eur", "insurance_eur", "bizdev_eur",
                                          "contingency_eur", "ebitda_eur")}
    row = break_even_rows(0, results, reference, None, np.array([[2.0]] * 4))[0]
    # EBITDA ≥ 0 in 3 of 4 samples; the median of −10, 0, 25, 40 is 12.5 → covered.
    assert row[11:13] == ["0.7500", "true"]
    assert row[9] == "12.50"
    # p10 = −10 + 0.3 × 10 = −7; p90 = 25 + 0.7 × 15 = 35.5.
    assert (row[8], row[10]) == ("-7.00", "35.50")
    # Private clients needed: opex 70 / gross margin 60 % = 116.67 revenue needed; the private
    # line earns nothing per client here (revenue_private 0 / 2 clients) → no finite answer.
    assert row[16] == ""


def test_year_rows_are_percentiles_of_per_sample_sums():
    series = ("revenue_public_eur", "revenue_private_eur", "revenue_eur", "cogs_eur",
              "gross_margin_eur", "acquisition_eur", "opex_eur", "ebitda_eur",
              "depreciation_eur", "interest_eur", "tax_eur", "net_income_eur")
    # Sample A earns 10 in month 1 and 0 in month 2; sample B 0 then 10; sample C 3 and 3.
    # Month medians are 3 and 3 (sum 6); the median of the per-sample sums (10, 10, 6) is 10.
    rev = np.array([[10.0, 0.0], [0.0, 10.0], [3.0, 3.0]])
    results = {s: rev for s in series}
    reference = {s: np.array([1.0, 2.0]) for s in series}
    rows = [r for r in year_rows(0, results, reference, [10, 50, 90])
            if r[3] == "revenue_eur"]
    year1, total = rows
    assert year1[:5] == ["0", "1", "2", "revenue_eur", "3.00"]
    assert total[1] == "total" and total[6] == "10.00"  # p50 of (10, 10, 6)
    assert total[5] == "6.80"  # p10: 6 + 0.2 × (10 − 6)


def test_decisions_are_probabilities_and_the_reference_path_does_not_decide():
    # 9 of 10 samples meet it: P = 0.9 ≥ 0.9 holds, even though the reference path fails.
    c = decided("x", np.array([True] * 9 + [False]), False, 0.9, "d")
    assert (c.ok, c.probability, c.reference) == (True, 0.9, False)
    c = decided("x", np.array([True] * 8 + [False] * 2), True, 0.9, "d")
    assert (c.ok, c.probability, c.reference) == (False, 0.8, True)


def test_a_probability_is_written_as_the_report_writes_it():
    # 3730 of 4000 samples: P = 0.9325, stored as the double just below it, so Python's
    # f"{0.9325:.1%}" wrote 93.2 % while the report's column (half away from zero on the
    # decimal) wrote 93.3 %. The detail now uses the report's formatter. Two replicates of
    # 2000: shares 1899/2000 = 0.9495 and 1831/2000 = 0.9155, between-replicate SE =
    # |0.9495 − 0.9155| / 2 = 0.017 → 1.7 %; |0.9325 − 0.9| = 0.0325 < 2 × 0.017: a close
    # call. A threshold of 0.975 is 97.5 %, not the "98%" of :.0%.
    flags = np.array([True] * 1899 + [False] * 101 + [True] * 1831 + [False] * 169)
    replicates = np.repeat([0, 1], 2000)
    c = decided("x", flags, True, 0.9, "d", replicates)
    assert c.probability == 0.9325 and c.probability_se == pytest.approx(0.017)
    assert c.detail == ("d; P = 93.3 % ± 1.7 % (between-replicate SE), a close call: raise "
                        "run.random_runs_per_simulation to settle it; required 90 %")
    assert decided("x", flags, True, 0.975, "d").detail == "d; P = 93.3 %; required 97.5 %"


def test_non_decreasing_per_sample_with_growth():
    paths = np.array([[1.0, 2.0, 2.0], [1.0, 0.9, 2.0], [10.0, 11.0, 12.1]])
    assert non_decreasing(paths).tolist() == [True, False, True]
    # 10 % month-on-month: 10 → 11 → 12.1 holds; 1 → 2 → 2 does not.
    assert non_decreasing(paths, 10).tolist() == [False, False, True]


def _criteria(**over):
    h = 3
    reference = {"public_active_customers": np.array([1.0, 2.0, 3.0]),
                 "expected_violations": np.zeros(h), "dscr_t12": np.full(12, np.nan),
                 "closing_cash_eur": np.full(h, 100.0), "free_cash_eur": np.full(h, 100.0),
                 "revenue_public_eur": np.full(h, 100.0), "cogs_public_eur": np.full(h, 150.0)}
    targets = {"min_acceptance_probability": 0.9, "public_growth_min_mom_pct": 0,
               "private_growth_required": False, "private_margin_threshold_pct": 20,
               "min_dscr": 1.2, "min_cash_eur": 0, "autoscaling_util_tolerance_pct": 15,
               "public_realised_margin_min_pct": None, **over}
    kpis = {"min_dscr_t12": np.array([2.0] * 10), "min_free_cash_eur": np.arange(10) * 1000.0,
            "capacity_violation_model_months": np.zeros(10),
            "public_realised_margin_pct": np.array([-50.0] * 5 + [10.0] * 5)}
    rows = [{"model": "A", "trace": "p50", "p95_within_tolerance": "true",
             "sla_violations": "0", "planner_max_sufficient": "true"},
            {"model": "B", "trace": "p50", "p95_within_tolerance": "true",
             "sla_violations": "42", "planner_max_sufficient": "false"}]
    evidence = GridEvidence(reference=reference, kpis=kpis, cash_buffer_eur=5000,
                            autoscaler_rows=rows, **path_evidence(
                                np.tile([1.0, 2.0, 3.0], (10, 1)), None, horizon=h,
                                public_growth_min_mom_pct=0))
    return {c.name: c for c in grid_criteria(evidence, targets=targets, target_util_pct=70,
                                             horizon=h)}


def test_cash_criterion_counts_the_buffer_and_sla_is_judged_on_every_model():
    c = _criteria()
    # Free cash ≥ 0 + 5000 buffer: samples with 5000..9000 → 5 of 10 = 50 % < 90 %.
    assert (c["min_cash"].ok, c["min_cash"].probability) == (False, 0.5)
    # Model B's planner maximum is insufficient; its 42 violation ticks still fail the SLA.
    assert not c["autoscaler_no_sla_violations"].ok
    assert "B (42 ticks)" in c["autoscaler_no_sla_violations"].detail
    assert "public_realised_margin" not in c  # only when the target is set


def test_realised_margin_criterion_when_a_floor_is_set():
    c = _criteria(public_realised_margin_min_pct=0)["public_realised_margin"]
    # Half the samples realise −50 %, half +10 %: P = 0.5; the reference path realises
    # (300 − 450)/300 = −50 % < 0.
    assert (c.ok, c.probability, c.reference) == (False, 0.5, False)


def test_public_kpis_priced_vs_realised_margin_and_unserved_share():
    d = {k: np.array([[v, v]]) for k, v in {
        "served_eur": 100.0, "priced_cogs_eur": 45.0, "unserved_tokens": 1.0,
        "tokens_demanded": 4.0, "refunds_eur": 7.0, "capacity_violations": 1.0}.items()}
    r = {"revenue_public_eur": np.array([[100.0, 100.0]]),
         "cogs_public_eur": np.array([[250.0, 250.0]])}
    k = public_kpis(d, r, 2)
    # Priced: (200 − 90)/200 = 55 %; realised (200 − 500)/200 = −150 %; unserved 2/8 = 25 %.
    assert k["public_priced_margin_pct"][1] == pytest.approx([55.0])
    assert k["public_realised_margin_pct"][1] == pytest.approx([-150.0])
    assert k["unserved_tokens_share_pct"][1] == pytest.approx([25.0])
    assert k["public_refunds_eur"][1].tolist() == [14.0]


def test_autoscaler_kpis_per_model_and_all_models():
    rows = [{"model": m, "trace": "p50", "scale_events": e, "avg_util_pct": u,
             "p95_util_pct": p, "sla_violations": v, "instance_hours": h}
            for m, e, u, p, v, h in (("A", "4", "50", "80", "0", "100"),
                                     ("B", "6", "80", "95", "3", "300"))]
    k = autoscaler_kpis(rows)
    # Utilisation weighted by instance-hours: (50 × 100 + 80 × 300)/400 = 72.5.
    assert k["all models"]["p50"] == {"scale_events": 10.0, "avg_util_pct": 72.5,
                                      "p95_util_pct": 95.0, "sla_violations": 3.0,
                                      "instance_hours": 400.0}
    assert list(k) == ["all models", "A", "B"]


def test_dscr_of_a_month_with_negative_ebitda_is_not_meaningful():
    assert dscr_text("-13.3010") == "n/m"
    assert dscr_text("1.2500") == "1.2500"
    assert dscr_text("") == "—"


# --- the reference path's finance ---------------------------------------------------------------


def _reference_docs():
    pub = {"revenue_eur": [100.0, 200.0], "cogs_eur": [30.0, 60.0], "budget_eur": [10.0, 10.0],
           "credits_sold_eur": [150.0, 150.0], "refunds_eur": [5.0, 0.0],
           "deferred_eur": [45.0, 0.0], "active_customers": [1.0, 2.0],
           "capacity_violations": [0.0, 1.0], "tokens_served": [1000.0, 3000.0],
           "instances_total": [1.0, 2.0]}
    pri = {"revenue_eur": [40.0, 40.0], "cogs_eur": [20.0, 20.0], "budget_eur": [5.0, 5.0],
           "hours": [10.0, 30.0], "active_clients": [1.0, 1.0],
           "block_purchases_eur": [0.0, 0.0], "deferred_eur": [0.0, 0.0],
           "invoiced_eur": [40.0, 40.0]}
    return {"grid": {"0": {"expected": pub}}}, {"grid": {"0": {"expected": pri}}}


def test_reference_finance_consolidates_the_lines_expected_paths():
    from d3.consolidate import reference_finance
    from tests.finance.test_hand_derived import _general

    demand_doc, private_doc = _reference_docs()
    r = reference_finance(0, _general(amount_eur=0.0), {}, 2, demand_doc, private_doc,
                          "gpu_hours", 720)
    # Revenue 100 + 40, 200 + 40; COGS 30 + 20, 60 + 20; ads 10 + 5 in each month.
    assert r["revenue_public_eur"].tolist() == [100.0, 200.0]
    assert r["revenue_eur"].tolist() == [140.0, 240.0]
    assert r["cogs_eur"].tolist() == [50.0, 80.0]
    assert r["gross_margin_eur"].tolist() == [90.0, 160.0]
    assert r["acquisition_eur"].tolist() == [15.0, 15.0]
    # No fixed costs, no loan, no tax: EBITDA = gross margin − ads = 75, 145.
    assert r["ebitda_eur"].tolist() == [75.0, 145.0]
    assert r["public_active_customers"].tolist() == [1.0, 2.0]
    assert r["expected_violations"].tolist() == [0.0, 1.0]
    assert r["private_active_clients"].tolist() == [1.0, 1.0]
    # Cash in month 1: public credits 150 − refund 5 = 145 received, private invoices 40 on
    # 30 AR days arrive next month; so deferred 45 and receivables 40 are on the balance sheet.
    assert r["deferred_revenue_eur"].tolist() == [45.0, 0.0]
    # GPU-hour driver: public 1 × 720 = 720 vs private 10 h → overhead share 720 / 730; the
    # overhead (opex less ads) is 0 here, so both allocated columns are 0.
    assert r["overhead_public_eur"].tolist() == [0.0, 0.0]


def test_reference_finance_of_one_line():
    from d3.consolidate import reference_finance
    from tests.finance.test_hand_derived import _general

    demand_doc, _ = _reference_docs()
    r = reference_finance(0, _general(amount_eur=0.0), {}, 2, demand_doc, None, "tokens", 720)
    assert r["revenue_eur"].tolist() == [100.0, 200.0]
    assert r["revenue_private_eur"].tolist() == [0.0, 0.0]
    assert "private_active_clients" not in r


def test_monthly_rows_write_ratios_at_4_decimals_and_money_at_2():
    from d3.finance.tables import monthly_rows

    ref = {"dscr": np.array([1.234567]), "revenue_eur": np.array([10.005001])}
    pct = {"dscr": np.array([[0.5], [1.25], [2.0]])}
    row = monthly_rows(3, ref, ("dscr", "revenue_eur"), pct, ("dscr",), (10, 50, 90),
                       (2027, 12))[0]
    # month, grid, calendar month (plan month 1 = Dec 2027), DSCR 1.2346, revenue 10.01,
    # then the DSCR percentiles at 4 decimals.
    assert row == ["1", "3", "2027-12", "1.2346", "10.01", "0.5000", "1.2500", "2.0000"]


def test_column_layouts_of_the_consolidated_csvs():
    from d3.finance.tables import _decimals, kpi_columns, monthly_columns

    assert kpi_columns([10, 50, 90]) == ("grid_index", "metric", "unit", "p10", "p50", "p90",
                                         "mean", "se_p50", "se_mean", "reference")
    assert monthly_columns(("a_eur", "b_eur"), ("b_eur",), (5, 95)) == (
        "month", "grid_index", "calendar_month", "a_eur", "b_eur", "p5_b_eur", "p95_b_eur")
    # Ratios at 4 decimals, everything else (EUR) at 2.
    assert [_decimals(n) for n in ("dscr", "dscr_t12", "icr", "revenue_eur", "dscr_eur")] == \
        [4, 4, 4, 2, 2]


def test_balance_sheet_difference_is_the_largest_absolute_gap():
    from d3.finance.tables import balance_sheet_difference_eur

    # Sample 1: 10 − 3 − 6 = 1; sample 2: 5 − 4 − 3.5 = −2.5 → the largest |gap| is 2.5.
    r = {"bs_total_assets_eur": np.array([[10.0, 7.0], [5.0, 1.0]]),
         "bs_total_liabilities_eur": np.array([[3.0, 2.0], [4.0, 0.5]]),
         "bs_total_equity_eur": np.array([[6.0, 5.0], [3.5, 0.5]])}
    assert balance_sheet_difference_eur(r) == 2.5
    empty = {k: np.zeros((0, 3)) for k in r}
    assert balance_sheet_difference_eur(empty) == 0.0


def test_autoscaler_kpis_without_instance_hours_and_without_rows():
    rows = [{"model": "A", "trace": t, "scale_events": "0", "avg_util_pct": "0",
             "p95_util_pct": "0", "sla_violations": "0", "instance_hours": "0"}
            for t in ("p90", "p50")]
    k = autoscaler_kpis(rows)
    # No instance-hours: utilisation 0 (not a division by zero); traces in sorted order.
    assert list(k["all models"]) == ["p50", "p90"]
    assert k["all models"]["p50"]["avg_util_pct"] == 0.0
    assert k["A"]["p90"]["instance_hours"] == 0.0
    assert autoscaler_kpis([]) == {}


def test_public_kpis_per_sample_over_the_horizon_and_the_term():
    # Two samples, three months, horizon 2. Sample 1: revenue 100/month, COGS 50; sample 2:
    # revenue 100, COGS 150. Month 3 (past the horizon) is different on purpose.
    served = np.array([[100.0, 100.0, 900.0], [100.0, 100.0, 900.0]])
    d = {"served_eur": served, "priced_cogs_eur": served * 0.4,
         "unserved_tokens": np.array([[0.0, 1.0, 5.0], [2.0, 2.0, 5.0]]),
         "tokens_demanded": np.full((2, 3), 10.0),
         "refunds_eur": np.array([[1.0, 2.0, 4.0], [0.0, 0.0, 8.0]]),
         "capacity_violations": np.array([[0.0, 1.0, 1.0], [0.0, 0.0, 1.0]])}
    r = {"revenue_public_eur": served, "cogs_public_eur": np.array([[50.0, 50.0, 0.0],
                                                                     [150.0, 150.0, 0.0]])}
    k = public_kpis(d, r, 2)
    # Horizon: realised (200 − 100)/200 = 50 %, (200 − 300)/200 = −50 %; priced 60 % each.
    assert k["public_realised_margin_pct"][1] == pytest.approx([50.0, -50.0])
    assert k["public_priced_margin_pct"][1] == pytest.approx([60.0, 60.0])
    # Unserved over the horizon 1/20 = 5 %, 4/20 = 20 %; over the term 6/30 = 20 %, 9/30 = 30 %.
    assert k["unserved_tokens_share_pct"][1] == pytest.approx([5.0, 20.0])
    assert k["unserved_tokens_share_term_pct"][1] == pytest.approx([20.0, 30.0])
    assert k["public_refunds_eur"][1].tolist() == [3.0, 0.0]
    assert k["public_refunds_term_eur"][1].tolist() == [7.0, 8.0]
    assert k["capacity_violation_model_months"][1].tolist() == [1.0, 0.0]
    assert {m: unit for m, (unit, _) in k.items()} == {
        "public_priced_margin_pct": "pct", "public_realised_margin_pct": "pct",
        "unserved_tokens": "tokens", "unserved_tokens_share_pct": "pct",
        "public_refunds_eur": "EUR", "unserved_tokens_share_term_pct": "pct",
        "public_refunds_term_eur": "EUR", "capacity_violation_model_months": "model-months"}
    assert k["unserved_tokens"][1].tolist() == [1.0, 4.0]


def test_autoscaler_utilisation_weights_fractional_instance_hours():
    rows = [{"model": "A", "trace": "p50", "scale_events": "1", "avg_util_pct": "40",
             "p95_util_pct": "50", "sla_violations": "0", "instance_hours": "0.5"}]
    # 0.5 instance-hours at 40 %: weighted mean 40 × 0.5 / 0.5 = 40.
    assert autoscaler_kpis(rows)["all models"]["p50"]["avg_util_pct"] == 40.0


def test_general_schedules_carry_every_operator_term():
    from ruamel.yaml import YAML

    from d3.consolidate import general_schedules
    from d3.models.operator import GeneralOperator
    from tests.helpers import ROOT

    data = YAML(typ="safe", pure=True).load((ROOT / "inputs/operator/general.yaml").read_text())
    data["finance"].update(fixed_costs_monthly_eur={}, inflation_pct_yoy_by_category={},
                           equity_injection_eur=2000)
    data["loan"].update(amount_eur=1200, term_months=3, interest_rate_pct_flat=12.0,
                        grace_period_months=1, repayment="bullet")
    data["tax"].update(loss_carry_forward=False, vat_buffer_policy="set_aside_collected",
                       fiscal_year_start_month=4, corporate_tax_payment_lag_months=2)
    data["calendar"].update(start_month=11)
    data["financing"] = {"overdraft_limit_eur": 500, "overdraft_interest_rate_pct": 6}
    data["working_capital"] = {"ar_days": 45, "ap_days": 10}
    g = general_schedules(GeneralOperator.model_validate(data), {"hiscox_pi": 1200.0,
                                                                  "axa_cyber": 0.0}, 4)
    # No fixed-cost categories: zeros, not a failure.
    assert g.fixed_costs.tolist() == [0.0] * 4
    # Bullet after a 1-month grace at 1 %/month: interest 12 each month, all principal in month 3.
    assert g.interest.tolist() == [12.0, 12.0, 12.0, 0.0]
    assert g.principal.tolist() == [0.0, 0.0, 1200.0, 0.0]
    assert g.loan_closing_principal.tolist() == [1200.0, 1200.0, 0.0, 0.0]
    assert g.opening_cash_eur == 1200 + 2000 and g.equity_injection_eur == 2000
    assert (g.loss_carry_forward, g.vat_policy) == (False, "set_aside_collected")
    assert (g.ar_days, g.ap_days) == (45, 10)
    # Plan month 1 = November; fiscal year from April: fiscal months 8, 9, 10, 11.
    assert g.fiscal_month.tolist() == [8, 9, 10, 11]
    assert g.corporate_tax_payment_lag_months == 2
    assert (g.overdraft_limit_eur, g.overdraft_interest_rate_pct) == (500, 6)
    # Insurance: (1200 + 0) / 12 × (1 + 10 % buffer) = 110 a month.
    assert g.insurance.tolist() == pytest.approx([110.0] * 4)


def test_year_rows_split_25_months_into_three_years_and_the_total():
    series = ("revenue_public_eur", "revenue_private_eur", "revenue_eur", "cogs_eur",
              "gross_margin_eur", "acquisition_eur", "opex_eur", "ebitda_eur",
              "depreciation_eur", "interest_eur", "tax_eur", "net_income_eur")
    # Three samples earning 1, 2 and 3 a month for 25 months; the reference earns 10 a month.
    base = np.array([[1.0], [2.0], [3.0]]) * np.ones((3, 25))
    results = {s: base * (i + 1) for i, s in enumerate(series)}
    reference = {s: np.full(25, 10.0) for s in series}
    rows = [r for r in year_rows(7, results, reference, [10, 50, 90])
            if r[3] == "revenue_public_eur"]
    # Years of 12, 12 and 1 months, then the total of 25.
    assert [(r[1], r[2]) for r in rows] == [("1", "12"), ("2", "12"), ("3", "1"),
                                          ("total", "25")]
    y1 = rows[0]
    # Year 1 sums 12, 24, 36: reference 120, p10 = 12 + 0.2 × 12 = 14.4, p50 24,
    # p90 = 24 + 0.8 × 12 = 33.6, mean 24.
    assert y1 == ["7", "1", "12", "revenue_public_eur", "120.00", "14.40", "24.00", "33.60",
                  "24.00"]
    assert rows[2][4:] == ["10.00", "1.20", "2.00", "2.80", "2.00"]
    assert rows[3][4:6] == ["250.00", "30.00"]
    # The first series decides the number of months (every series has the same shape).
    assert [r for r in year_rows(7, results, reference, [50]) if r[3] == "net_income_eur"][0][
        5] == "288.00"  # 24 × 12 = 288: net income is the 12th series (× 12)


def test_public_line_cash_is_credits_sold_less_refunds():
    from d3.consolidate import public_line

    d = {k: np.array([[v]]) for k, v in {
        "revenue_eur": 80.0, "cogs_eur": 30.0, "budget_eur": 5.0, "credits_sold_eur": 100.0,
        "refunds_eur": 15.0, "deferred_eur": 5.0}.items()}
    line = public_line(d)
    # 100 sold − 15 refunded = 85 received (the VAT base too); prepaid: no receivables.
    assert line.cash_sales.tolist() == [[85.0]]
    assert (line.revenue.tolist(), line.cogs.tolist(), line.acquisition.tolist(),
            line.deferred_revenue.tolist()) == ([[80.0]], [[30.0]], [[5.0]], [[5.0]])
    assert line.receivable_base.tolist() == line.payable_base.tolist() == [[0.0]]


def test_reference_finance_allocates_the_overhead_by_the_driver():
    from d3.consolidate import reference_finance
    from tests.finance.test_hand_derived import _general

    demand_doc, private_doc = _reference_docs()
    general = _general(amount_eur=0.0)
    general = general.model_copy(update={"finance": general.finance.model_copy(
        update={"fixed_costs_monthly_eur": {"rent": 730.0}})})
    r = reference_finance(0, general, {}, 2, demand_doc, private_doc, "gpu_hours", 720)
    # Overhead = opex − ads = 730 rent. GPU-hours: public instances × 720 h = 720 and 1440;
    # private hours 10 and 30 → public shares 720/730 and 1440/1470.
    assert r["overhead_public_eur"] == pytest.approx([720.0, 730 * 1440 / 1470])
    assert r["overhead_private_eur"] == pytest.approx([10.0, 730 * 30 / 1470])
    r = reference_finance(0, general, {}, 2, demand_doc, private_doc, "revenue", 720)
    # Revenue driver: 100 vs 40, 200 vs 40 → 730 × 100/140, 730 × 200/240.
    assert r["overhead_public_eur"] == pytest.approx([730 * 100 / 140, 730 * 200 / 240])
