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


def _inflow_terms(cap: float):
    return type("T", (), dict(months=3, budget_month0_eur=100.0, budget_growth_pct_mom=0.0,
                              budget_policy="pct_of_inflow", budget_monthly_eur=0.0,
                              budget_pct_of_inflow=10.0, budget_cap_monthly_eur=cap))


def test_a_budget_funded_by_last_months_inflow_expected_path():
    from d3.services.acquisition import inflow_funded_paths

    # CAC 10 EUR (0.1 customers per EUR), churn 50 %, a new customer buys 50 EUR, a returning
    # one 20 EUR; 10 % of last month's inflow, cap 1000.
    # m1: budget 100 → new 10, active 10, inflow 10 × 50 = 500 → next budget 50
    # m2: budget 50 → new 5, active 10 × 0.5 + 5 = 10, inflow 5 × 50 + 5 × 20 = 350 → 35
    # m3: budget 35 → new 3.5, active 10 × 0.5 + 3.5 = 8.5
    budget, new, active = inflow_funded_paths(_inflow_terms(1000.0), 0.1, 0.5, 50.0, 20.0,
                                              simulations=2)
    assert budget.tolist() == [pytest.approx([100, 50, 35])] * 2
    assert new[0] == pytest.approx([10, 5, 3.5])
    assert active[0] == pytest.approx([10, 10, 8.5])
    # A cap of 40: m2 budget min(40, 50) = 40 → new 4, active 9, inflow 4 × 50 + 5 × 20 = 300
    # → m3 budget min(40, 30) = 30.
    budget, _, active = inflow_funded_paths(_inflow_terms(40.0), 0.1, 0.5, 50.0, 20.0,
                                            simulations=1)
    assert budget[0] == pytest.approx([100, 40, 30])
    assert active[0] == pytest.approx([10, 9, 4.5 + 3])


def test_a_budget_funded_by_inflow_monte_carlo_follows_its_own_draws():
    from d3.services.acquisition import inflow_funded_paths

    terms = _inflow_terms(1000.0)
    sims = 4000
    factor = np.ones((sims, 3))

    def paths(seed):
        return inflow_funded_paths(terms, 0.1, 0.5, 50.0, 20.0, simulations=sims,
                                   cac_factor=factor, new_gen=np.random.default_rng(seed),
                                   churn_gen=np.random.default_rng(seed + 1))

    budget, new, active = paths(7)
    # Each sample's next budget is 10 % of its own inflow, capped: budget_{m+1} =
    # min(1000, 0.1 × (new_m × 50 + (active_m − new_m) × 20)).
    inflow = new * 50.0 + (active - new) * 20.0
    assert np.allclose(budget[:, 1:], np.minimum(1000.0, 0.1 * inflow[:, :-1]))
    assert (new == np.round(new)).all() and (active >= 0).all()
    # The mean of the draws is near the expected path (m1: Poisson(10): mean 10, sd of the
    # mean 10**0.5 / 4000**0.5 = 0.05; the m2 budget's mean is 0.1 × 50 × 10 = 50).
    assert new[:, 0].mean() == pytest.approx(10, abs=0.25)
    assert budget[:, 1].mean() == pytest.approx(50, abs=1.25)
    again = paths(7)
    assert all((a == b).all() for a, b in zip(again, (budget, new, active), strict=True))
