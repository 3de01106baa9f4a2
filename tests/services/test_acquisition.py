"""Budget, CAC and customer paths."""

import numpy as np
import pytest

from d3.core.rng import sim_stream
from d3.services.acquisition import (
    budget_path,
    channel_cac_eur,
    customers_per_eur,
    expected_active,
    mc_active,
    mc_new,
)

CHANNELS = {
    "search": {"billing": "cpc", "currency": "EUR", "cost_per_click": 2.0,
               "cvr_click_to_customer_frac": 0.02},
    "social": {"billing": "cpm", "currency": "USD", "cpm": 5.0, "ctr_frac": 0.005,
               "cvr_click_to_customer_frac": 0.01},
}


def test_budget_grows_geometrically():
    assert budget_path(1000, 5, 3) == pytest.approx([1000, 1050, 1102.5])
    assert budget_path(1000, -100, 3).tolist() == [1000, 0, 0]


def test_flat_budget_is_the_monthly_amount_every_month():
    # flat: 2500 EUR in months 1..3, whatever budget_0 (1000) and growth (5 %) say.
    assert budget_path(1000, 5, 3, policy="flat", budget_monthly_eur=2500).tolist() == [
        2500.0, 2500.0, 2500.0]
    # growth is the default and ignores budget_monthly_eur: 1000, 1000 × 1.05 = 1050,
    # 1050 × 1.05 = 1102.5 — the same floats as without it.
    assert budget_path(1000, 5, 3, budget_monthly_eur=2500).tolist() == \
        budget_path(1000, 5, 3).tolist() == pytest.approx([1000, 1050, 1102.5])
    with pytest.raises(ValueError, match="unknown budget policy 'pct'"):
        budget_path(1000, 5, 3, policy="pct")


def test_both_taps_take_their_budget_from_one_function():
    from d3.pipelines.private.clients import ClientInputs
    from d3.pipelines.public.demand import DemandInputs
    from d3.services.acquisition import monthly_budget_eur

    for terms in (DemandInputs, ClientInputs):
        names = {"months", "budget_month0_eur", "budget_growth_pct_mom", "budget_policy",
                 "budget_monthly_eur"}
        assert names <= set(terms.__dataclass_fields__), terms
    terms = type("T", (), dict(months=2, budget_month0_eur=100.0, budget_growth_pct_mom=10.0,
                               budget_policy="flat", budget_monthly_eur=40.0))
    assert monthly_budget_eur(terms).tolist() == [40.0, 40.0]
    terms.budget_policy = "growth"
    assert monthly_budget_eur(terms) == pytest.approx([100.0, 110.0])


def test_channel_cac():
    assert channel_cac_eur(CHANNELS["search"], eur_usd_fx_rate=1.25) == pytest.approx(2.0 / 0.02)
    # cpm: $5 / 1000 impressions / (0.5 % ctr × 1 % cvr) = $100 per customer; / 1.25 = €80.
    assert channel_cac_eur(CHANNELS["social"], eur_usd_fx_rate=1.25) == pytest.approx(80.0)


def test_customers_per_eur_blends_channels_or_uses_the_base_cac():
    rate = customers_per_eur({"search": 0.6, "social": 0.4}, CHANNELS, cac_base_eur=None,
                             eur_usd_fx_rate=1.25)
    assert rate == pytest.approx(0.6 / 100 + 0.4 / 80)
    assert customers_per_eur({}, CHANNELS, cac_base_eur=50, eur_usd_fx_rate=1.25) == 0.02


def test_expected_active_recursion():
    # active = previous × (1 − 0.1) + new: 10, 19, 27.1
    assert expected_active(np.array([10.0, 10, 10]), 0.1) == pytest.approx([10, 19, 27.1])


def test_churn_100_percent_means_active_equals_new():
    new = np.array([[3.0, 5.0, 7.0]])
    assert expected_active(new, 1.0).tolist() == new.tolist()
    gen = sim_stream(1, "public_tap", "churn", 0, 0)
    assert mc_active(gen, new, 1.0).tolist() == new.tolist()


def test_monte_carlo_means_match_the_expected_path_within_1_percent():
    # λ = 40 per month over 12 months, churn 5 %; 20 000 paths, fixed seed.
    # Poisson mean 40 with sd √40 ≈ 6.3 → se of the mean ≈ 0.045 (0.1 %); 1 % ≈ 9 se.
    lam = np.full((20_000, 12), 40.0)
    new = mc_new(sim_stream(5, "public_tap", "new", 0, 0), lam)
    active = mc_active(sim_stream(5, "public_tap", "churn", 0, 0), new, 0.05)
    assert np.abs(new.mean(axis=0) / 40.0 - 1).max() < 0.01
    expected = expected_active(np.full(12, 40.0), 0.05)
    assert np.abs(active.mean(axis=0) / expected - 1).max() < 0.01
