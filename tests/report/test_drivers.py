"""The report's "What drives the result" section and the executive summary's "What drives it"
sentence (d3/report/drivers.py) on hand-made sensitivity tables."""

from __future__ import annotations

from d3.report.data import ReportData
from d3.report.drivers import driver_sentence, drivers_section

KEY = "lowest_free_cash_p10_eur"


def tornado_row(rank, name, low, high, at_low, at_high, baseline="-50000.0",
                output=KEY):
    swing = abs(float(at_high) - float(at_low))
    return {"output": output, "unit": "EUR", "rank": str(rank), "input": name,
            "basis": "p10 / p90 of its distribution", "low": low, "high": high,
            "baseline": baseline, "at_low": at_low, "at_high": at_high,
            "swing": f"{swing:.4f}"}


def data(tornado, charts, ranks=(), accepted_grid="1"):
    # Two grid points; grid 1 fails fewer criteria, so it is the one closest to fundable.
    grid = {"0": {"accepted": False, "criteria": [{"ok": False}, {"ok": False}]},
            "1": {"accepted": False, "criteria": [{"ok": False}, {"ok": True}]}}
    return ReportData(
        horizon_months=36, term_months=60, percentiles=[10, 50, 90],
        acceptance={"grid": grid}, summary={"sample_space": {"replicates": 4}}, kpis=[],
        plan={}, validation={}, grid_labels={"0": "pub_target_margin=45%",
                                             "1": "pub_target_margin=55%"},
        sensitivity_tornado=list(tornado), sensitivity_sobol=[], sensitivity_ranks=list(ranks),
        sensitivity_summary={"grid_index": 1, "grid_label": "pub_target_margin=55%",
                             "tornado": {"evaluations": 9, "central": {"a": 1}},
                             "replicates": 4,
                             "replicates_needed_1pct_p10_lowest_free_cash": {"0": 70, "1": 64},
                             "charts": list(charts)})


ROWS = [tornado_row(1, "pub_churn", "4", "8", "-20000.0", "-90000.0"),
        tornado_row(2, "pub_budget_growth", "3", "7", "-70000.0", "-40000.0"),
        tornado_row(3, "priv_churn", "2.6", "7.4", "-45000.0", "-55000.0"),
        tornado_row(4, "priv_hours", "100", "220", "-49000.0", "-51000.0"),
        tornado_row(5, "priv_markup", "25", "40", "-50000.0", "-50000.0")]


def test_the_summary_sentence_quotes_the_top_three_tornado_rows():
    # Swings |−90 000 − (−20 000)| = 70 000, |−40 000 − (−70 000)| = 30 000,
    # |−55 000 − (−45 000)| = 10 000: the first three rows, in rank order; the fourth
    # (2 000) is not quoted.
    text = driver_sentence(data(ROWS, []))
    # (esc keeps an underscore between two letters as it is.)
    assert ("pub_churn (swing EUR 70,000: EUR -20,000 at 4, EUR -90,000 at 8), "
            "pub_budget_growth (swing EUR 30,000: EUR -70,000 at 3, EUR -40,000 at 7), "
            "priv_churn (swing EUR 10,000: EUR -45,000 at 2.6, EUR -55,000 at 7.4)") in text
    assert "priv_hours" not in text and "the baseline is EUR -50,000" in text


def test_the_section_lists_the_tornado_and_links_only_charts_that_were_written():
    listed = ["tornado_lowest_free_cash_p10_eur.png", "convergence_grid_1.png"]
    section = "\n".join(drivers_section(data(ROWS, listed)))
    # The table's swing column: 70,000 / 30,000 / 10,000 in rank order.
    rows = [x for x in section.splitlines() if x.startswith("| 1 |") or x.startswith("| 2 |")
            or x.startswith("| 3 |")]
    assert [r.split("|")[-2].strip() for r in rows] == ["70,000", "30,000", "10,000"]
    assert "at **pub_target_margin=55%**" in section
    assert "every random input at its mean" in section
    assert "treat the inputs as independent" in section
    assert "](sensitivity_charts/tornado_lowest_free_cash_p10_eur.png)" in section
    # Not written → not linked (the funding-need tornado is not in the summary's list).
    assert "tornado_funding_need_p90_eur.png" not in section
    # Convergence: the chart of the grid point closest to fundable (grid 1), replicates
    # needed in numeric grid order.
    assert "](sensitivity_charts/convergence_grid_1.png)" in section
    assert section.index("margin=45%: 70") < section.index("margin=55%: 64")


def test_a_plan_where_no_input_moves_an_output_links_no_chart():
    flat = [tornado_row(k + 1, n, "1", "2", "-50000.0", "-50000.0")
            for k, n in enumerate(("a", "b"))]
    section = "\n".join(drivers_section(data(flat, [])))
    assert "![" not in section
    assert driver_sentence(data(flat, [])) == ""


def test_the_contribution_table_is_the_focus_grid_points():
    ranks = [{"grid_index": g, "kpi": "funding_need_eur", "input": "pub_churn",
              "spearman": rho, "contribution_pct": share}
             for g, rho, share in (("0", "0.5000", "100.00"), ("1", "-0.9000", "-100.00"))]
    section = "\n".join(drivers_section(data(ROWS, [], ranks=ranks)))
    assert "| pub_churn | -0.90 | -100.0 % |" in section
    assert "| 0.50 |" not in section


def test_the_contribution_table_needs_two_replicates_per_random_input():
    # 4 replicates, 3 random inputs: 4 < 2 × 3 = 6 → no table, a sentence that says why.
    ranks = [{"grid_index": "1", "kpi": "funding_need_eur", "input": name,
              "spearman": "0.5000", "contribution_pct": "33.33"}
             for name in ("pub_churn", "pub_budget_growth", "priv_churn")]
    section = "\n".join(drivers_section(data(ROWS, [], ranks=ranks)))
    assert "is not shown: it would rest on 4 parameter draws per grid point for 3 random " \
        "inputs" in section
    assert "at least 6" in section and "| 0.50 |" not in section


def test_every_tornado_caption_is_the_charts_title_with_its_months():
    # The captions are the sensitivity stage's labels (sensitivity_summary.json
    # output_labels, which titled the charts): horizon 24, term 60 here.
    from d3.sensitivity.outputs import OUTPUTS

    listed = ["tornado_lowest_free_cash_p10_eur.png", "tornado_funding_need_p90_eur.png",
              "tornado_net_income_p50_eur.png"]
    d = data(ROWS, listed)
    d.sensitivity_summary["output_labels"] = {o.name: o.label_for(24, 60) for o in OUTPUTS}
    section = "\n".join(drivers_section(d))
    assert "*Tornado: Funding need at 90 % confidence over the first 24 months*" in section
    assert "*Tornado: Net income over the first 24 months, p50*" in section
    assert "*Tornado: Lowest free cash over the 60-month term, p10*" in section
    # the tornado table's heading: the data's term is 60 months
    assert "p10 of the lowest free cash over the 60-month term (EUR), at the central" in section
    # The Sobol and rank paragraphs name the data's horizon (36 months)
    assert "funding need over the first 36 months" in "\n".join(drivers_section(
        data(ROWS, [], ranks=[{"grid_index": "1", "kpi": "funding_need_eur", "input": "a",
                               "spearman": "0.5", "contribution_pct": "100"}])))


def test_the_tornado_charts_titles_carry_the_plans_horizon():
    from d3.sensitivity.outputs import OUTPUTS

    # horizon 24 months, loan term 36: the plan models max(24, 36) = 36 months
    labels = {o.name: o.label_for(24, 36) for o in OUTPUTS}
    assert labels["funding_need_p90_eur"] == ("Funding need at 90 % confidence over the "
                                              "first 24 months")
    assert labels["net_income_p50_eur"] == "Net income over the first 24 months, p50"
    assert labels["lowest_free_cash_p10_eur"] == "Lowest free cash over the 36-month term, p10"
