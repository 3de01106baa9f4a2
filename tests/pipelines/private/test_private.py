"""Private Tap rules with hand-computed values."""

from __future__ import annotations

from dataclasses import replace

import numpy as np
import pytest

from d3.pipelines.private.clients import (
    ClientInputs,
    billed_hours,
    class_mix,
    client_series,
    expected_clients,
    simulated_paths,
)
from d3.pipelines.private.pricing import base_fee_for, vendor_scores
from d3.pipelines.private.provider_costs import ProviderOffer, median_eur_hr


def simulated_clients(inp, **block):
    """Every client series of one block's random paths."""
    return client_series(inp, *simulated_paths(inp, **block))


def offer(provider, eur, gpu="H100", avail=1.0, rep=1.0):
    return ProviderOffer(gpu, provider, eur, eur, avail, rep)


def test_median_of_odd_and_even_provider_counts():
    offers = [offer("a", 1.0), offer("b", 3.0), offer("c", 2.0)]
    assert median_eur_hr(offers, "H100") == 2.0  # odd: the middle one
    assert median_eur_hr(offers + [offer("d", 10.0)], "H100") == 2.5  # even: mean of 2 and 3


def test_vendor_ties_break_on_price_then_name():
    # Equal scores: cost-only weights and equal prices → name order.
    offers = [offer("zeta", 1.0), offer("alpha", 1.0)]
    w = {"cost": 1.0, "availability": 0.0, "reputation": 0.0}
    assert [v.provider for v in vendor_scores(offers, "H100", w)] == ["alpha", "zeta"]
    # Same score from different mixes (0.5·1 + 0.5·0.6 = 0.8 = 0.5·0.6 + 0.5·1) → cheaper wins.
    offers = [offer("cheap", 1.0, avail=0.6), offer("dear", 1.0 / 0.6, avail=1.0)]
    w = {"cost": 0.5, "availability": 0.5, "reputation": 0.0}
    scores = vendor_scores(offers, "H100", w)
    assert scores[0].score == pytest.approx(scores[1].score)
    assert scores[0].provider == "cheap"


def test_billing_unit_rounds_up():
    # 10.1 h in 15-minute units: 40.4 units → 41 → 10.25 h; exact multiples stay.
    assert billed_hours(np.array([10.1, 10.25, 0.0]), 15).tolist() == [10.25, 10.25, 0.0]
    assert billed_hours(np.array([1.01]), 60).tolist() == [2.0]


def test_class_base_fee_and_mix():
    assert base_fee_for("H100 SXM", base_fee_eur_per_month=10,
                        base_fee_by_gpu_class={"H100 SXM": 100}) == 100
    assert base_fee_for("4090", base_fee_eur_per_month=10, base_fee_by_gpu_class={}) == 10
    assert class_mix({}, ["A", "B"]) == {"A": 0.5, "B": 0.5}
    assert class_mix({"A": 3, "X": 1}, ["A", "B"]) == {"A": 1.0, "B": 0.0}


BASE = ClientInputs(months=4, budget_month0_eur=1000, budget_growth_pct_mom=0,
                    customers_per_eur=0.005, churn_frac=0.1, hours_per_client_month=100,
                    hours_sd=0.0, billing_unit_minutes=60, sell_eur_hr=2.0, cost_eur_hr=1.5,
                    fees_eur_per_client_month=50)


def test_fees_are_part_of_revenue_and_margin():
    e = {k: v[0] for k, v in expected_clients(BASE).items()}
    # month 1: 5 new clients × 100 h = 500 h; usage 500 × 2 = 1000; fees 5 × 50 = 250;
    # COGS 500 × 1.5 = 750; margin 1000 + 250 − 750 = 500.
    assert (e["hours"][0], e["usage_revenue_eur"][0], e["fee_revenue_eur"][0]) == (500, 1000, 250)
    assert (e["revenue_eur"][0], e["cogs_eur"][0], e["gross_margin_eur"][0]) == (1250, 750, 500)
    # month 2: active 5 × 0.9 + 5 = 9.5
    assert e["active_clients"][1] == pytest.approx(9.5)


def test_churn_100_percent_keeps_only_new_clients():
    inp = replace(BASE, churn_frac=1.0)
    sims = simulated_clients(inp, seed=3, grid_index=0, replicate_index=0, simulations=50)
    assert np.array_equal(sims["active_clients"], sims["new_clients"])
    assert expected_clients(inp)["active_clients"][0].tolist() == [5.0] * 4


def test_budget_zero_means_no_clients_and_no_division_by_zero():
    inp = replace(BASE, budget_month0_eur=0)
    sims = simulated_clients(inp, seed=3, grid_index=0, replicate_index=0, simulations=20)
    for key in ("new_clients", "active_clients", "hours", "revenue_eur", "cogs_eur"):
        assert not sims[key].any()
        assert np.isfinite(sims[key]).all()


def test_cac_noise_off_and_on():
    off = simulated_clients(BASE, seed=4, grid_index=0, replicate_index=0, simulations=200)
    again = simulated_clients(BASE, seed=4, grid_index=0, replicate_index=0, simulations=200)
    assert np.array_equal(off["new_clients"], again["new_clients"])
    on = simulated_clients(replace(BASE, cac_noise_sd_frac=0.5), seed=4, grid_index=0,
                           replicate_index=0, simulations=200)
    assert not np.array_equal(off["new_clients"], on["new_clients"])


def test_monte_carlo_mean_of_active_clients_within_1_percent():
    # λ = 1000 × 0.005 = 5 per month over 4 months; 40 000 paths. Month-4 active has variance
    # ≈ 15 → se of the mean ≈ 0.02 on ≈ 17.2 (0.1 %); tolerance 1 %.
    inp = replace(BASE, budget_month0_eur=1000)
    sims = simulated_clients(inp, seed=9, grid_index=0, replicate_index=0, simulations=40_000)
    expected = expected_clients(inp)["active_clients"][0]
    assert np.abs(sims["active_clients"].mean(axis=0) / expected - 1).max() < 0.01


def test_hours_noise_has_mean_one():
    inp = replace(BASE, hours_sd=0.35, billing_unit_minutes=1)
    sims = simulated_clients(inp, seed=2, grid_index=0, replicate_index=0, simulations=40_000)
    per_client = sims["hours"][sims["active_clients"] > 0] / sims["active_clients"][
        sims["active_clients"] > 0]
    assert per_client.mean() == pytest.approx(100.0, rel=0.01)


def test_flat_budget_policy_buys_the_same_clients_every_month():
    inp = replace(BASE, budget_policy="flat", budget_monthly_eur=2000)
    e = expected_clients(inp)
    # 2000 EUR × 0.005 clients per EUR = 10 new clients in every month (budget_month0_eur 1000
    # is not used); active = previous × 0.9 + 10: 10, 19, 27.1, 34.39.
    assert e["budget_eur"][0].tolist() == [2000.0] * 4
    assert e["new_clients"][0].tolist() == [10.0] * 4
    assert e["active_clients"][0] == pytest.approx([10, 19, 27.1, 34.39])
    # Monte Carlo: new ~ Poisson(10) per month; 20 000 paths → se of the mean √(10/20 000)
    # = 0.022 (0.2 %); tolerance 1 %.
    sims = simulated_clients(inp, seed=9, grid_index=0, replicate_index=0, simulations=20_000)
    assert np.abs(sims["new_clients"].mean(axis=0) / 10 - 1).max() < 0.01
    assert sims["budget_eur"][0].tolist() == [2000.0] * 4


def test_an_inflow_funded_budget_follows_each_samples_own_billed_hours():
    from d3.pipelines.private.clients import client_paths, client_sales_eur

    # 10 % of last month's sales, cap 10 000; each sample's sales per client use its own
    # hours factor: billed hours (rounded up to the billing unit) × sell EUR/hr + fees.
    inp = replace(BASE, budget_policy="pct_of_inflow", budget_pct_of_inflow=10.0,
                  budget_cap_monthly_eur=10_000.0, budget_month0_eur=4000.0)
    sims = 500
    gen = np.random.default_rng(3)
    factor = gen.lognormal(-0.02, 0.2, size=(sims, inp.months))
    budget, new, active = client_paths(
        inp, sims, factor, cac_factor=np.ones((sims, inp.months)),
        new_gen=np.random.default_rng(4), churn_gen=np.random.default_rng(5))
    sales = active * client_sales_eur(inp, factor)  # new and returning clients pay alike
    assert budget[:, 0].tolist() == [4000.0] * sims
    assert np.allclose(budget[:, 1:], np.minimum(10_000.0, 0.1 * sales[:, :-1]))
    assert len({tuple(b) for b in budget[:, 1:3]}) > 1  # samples differ through their hours
