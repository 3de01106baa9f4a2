"""Inversion samplers (d3/core/inverse_sampling.py): every draw equals scipy's ppf, the draws
are monotone in the parameter (common random numbers), and months never shift."""

from __future__ import annotations

import numpy as np
import pytest
from scipy import stats

from d3.core.inverse_sampling import (
    SEARCH_MAX_MEAN,
    active_after_churn,
    binomial_ppf,
    month_major_uniforms,
    poisson_ppf,
)


@pytest.mark.parametrize("lam", [0.0, 1e-9, 0.3, 4.0, 37.5, 699.0, 701.0, 2_500.0, 1e5])
def test_poisson_draws_equal_scipys_ppf(lam):
    u = np.random.default_rng(7).random(20_000)
    expected = stats.poisson.ppf(u, lam) if lam > 0 else np.zeros_like(u)
    assert np.array_equal(poisson_ppf(u, lam), expected.astype(np.int64))


@pytest.mark.parametrize(("n", "p"), [(0, 0.3), (5, 0.0), (5, 1.0), (1, 0.5), (40, 0.05),
                                      (3_000, 0.02), (100_000, 0.05), (200, 0.93),
                                      (50_000, 0.7)])
def test_binomial_draws_equal_scipys_ppf(n, p):
    u = np.random.default_rng(11).random(20_000)
    expected = stats.binom.ppf(u, n, p)
    assert np.array_equal(binomial_ppf(u, n, p), expected.astype(np.int64))


def test_known_quantiles_by_hand():
    # Poisson(2): P(0) = e^-2 = 0.135335, P(≤1) = 3e^-2 = 0.406006, P(≤2) = 5e^-2 = 0.676676.
    assert poisson_ppf(np.array([0.0, 0.1353, 0.1354, 0.406, 0.4061, 0.6766, 0.6767]),
                       2.0).tolist() == [0, 0, 1, 1, 2, 2, 3]
    # Binomial(2, 0.5): P(0) = 0.25, P(≤1) = 0.75.
    assert binomial_ppf(np.array([0.2, 0.25, 0.26, 0.75, 0.76]), 2, 0.5).tolist() == [
        0, 0, 1, 1, 2]


def test_more_intensity_never_gives_fewer_customers_on_the_same_uniforms():
    # The coupling the solver and the tornado rely on: the same uniform, a larger λ (a larger
    # budget) or n, never a smaller draw.
    u = np.random.default_rng(3).random(50_000)
    assert np.all(poisson_ppf(u, 10.01) >= poisson_ppf(u, 10.0))
    assert np.all(binomial_ppf(u, 101, 0.05) >= binomial_ppf(u, 100, 0.05))
    assert np.all(binomial_ppf(u, 100, 0.051) >= binomial_ppf(u, 100, 0.05))
    # and nearly always the same draw: dF(k; λ)/dλ = −P(X = k), so λ + 0.01 moves a share
    # Σ_k P(X = k) × 0.01 = 0.01 of the draws (one step up each); 50 000 draws: 1 % ± 0.05 %.
    changed = np.mean(poisson_ppf(u, 10.01) != poisson_ppf(u, 10.0))
    assert 0.008 < changed < 0.012


def test_a_longer_horizon_appends_uniforms_and_moves_none():
    short = month_major_uniforms(np.random.default_rng(5), 4, 24)
    long = month_major_uniforms(np.random.default_rng(5), 4, 60)
    assert short.shape == (4, 24) and long.shape == (4, 60)
    assert np.array_equal(long[:, :24], short)
    assert short.flags.c_contiguous


@pytest.mark.parametrize("lam", [17.0, 699.0, 2_500.0, 1e5])
def test_a_uniform_next_to_one_gives_a_far_tail_value_not_a_runaway(lam):
    # The summed F saturates just below 1 (rounding); a u above it used to run on until the
    # pmf underflowed (Poisson(2500) gave 5000, scipy 2920). Now the draw is the last step the
    # sum reaches: between 5 and 12 standard deviations above the mean.
    for u in (1.0 - 2.0**-53, 1.0 - 1e-12):
        k = int(poisson_ppf(u, lam))
        assert lam + 5 * lam**0.5 <= k <= lam + 12 * lam**0.5, (u, k)


@pytest.mark.parametrize(("n", "p"), [(100_000, 0.05), (100_000, 0.5), (100_000, 0.95)])
def test_binomial_tails_next_to_zero_and_one_stay_within_twelve_deviations(n, p):
    sd = (n * p * (1 - p)) ** 0.5
    for u in (1.0 - 2.0**-53, 2.0**-53):
        k = int(binomial_ppf(u, n, p))
        assert abs(k - n * p) <= 12 * sd, (u, k)


def test_huge_means_are_inverted_by_bisection_on_the_exact_cdf():
    # A mistyped budget gives λ = 1e12 new customers a month: the search would take ≈ 15e6
    # steps per draw (minutes); above a mean of 1e4 the draw is a bisection on the exact CDF
    # (O(log λ) evaluations). scipy's own ppf returns NaN there, so the check is the spread:
    # 1 000 draws stay within 5 standard deviations (sd = 1e6; P(|Z| > 5) ≈ 6e-7 per draw).
    u = np.random.default_rng(2).random(1_000)
    k = poisson_ppf(u, 1e12)
    assert np.all(np.abs(k - 1e12) <= 5 * 1e6)
    b = binomial_ppf(u, 10**12, 0.05)
    assert np.all(np.abs(b - 5e10) <= 5 * (1e12 * 0.05 * 0.95) ** 0.5)
    # The two methods give the same draws on both sides of the hand-over at a mean of 1e4.
    for lam in (9_999.0, 10_001.0, 5e4):
        assert np.array_equal(poisson_ppf(u, lam), stats.poisson.ppf(u, lam).astype(np.int64))
    for n, p in ((199_999, 0.05), (300_000, 0.05), (50_000, 0.7)):
        assert np.array_equal(binomial_ppf(u, n, p), stats.binom.ppf(u, n, p).astype(np.int64))


def _active_by_month_loop(u, new, churn_frac):
    """The reference: the month loop over binomial_ppf that active_after_churn replaces."""
    active, previous = np.empty(new.shape), np.zeros(new.shape[0], dtype=np.int64)
    for m in range(new.shape[1]):
        previous = previous - binomial_ppf(u[:, m], previous, churn_frac) + \
            new[:, m].astype(np.int64)
        active[:, m] = previous
    return active


def test_active_after_churn_by_hand():
    # One sample, churn 0.5, new = [2, 0, 1]. Month 1: active_0 = 0, nobody churns → 2.
    # Month 2: Binomial(2, 0.5) has P(0) = 0.25, P(≤1) = 0.75; u = 0.8 → 2 churn → 0.
    # Month 3: active 0 → none churn, + 1 new → 1.
    u = np.array([[0.3, 0.8, 0.1]])
    assert active_after_churn(u, np.array([[2.0, 0.0, 1.0]]), 0.5).tolist() == [[2.0, 0.0, 1.0]]
    # u = 0.5 in month 2: 1 churns → 1; month 3: Binomial(1, 0.5), u = 0.1 ≤ 0.5 → 0 churn → 2.
    u = np.array([[0.3, 0.5, 0.1]])
    assert active_after_churn(u, np.array([[2.0, 0.0, 1.0]]), 0.5).tolist() == [[2.0, 1.0, 2.0]]


@pytest.mark.parametrize("churn_frac", [0.0, 1e-6, 0.04, 0.5, 0.7, 1.0])
def test_active_after_churn_equals_the_month_loop(churn_frac):
    # The compiled pass draws exactly what the per-month loop does, for either tail (p ≤ 0.5
    # and p > 0.5) and for the degenerate rates.
    rng = np.random.default_rng(5)
    new = rng.poisson(rng.uniform(0, 40, size=(300, 1)), size=(300, 60)).astype(np.float64)
    u = rng.random((300, 60))
    assert np.array_equal(active_after_churn(u, new, churn_frac),
                          _active_by_month_loop(u, new, churn_frac))


def test_active_after_churn_hands_large_counts_to_the_bisection_loop(monkeypatch):
    # 250 000 new customers a month at churn 0.3: by month 2 the churn draw's mean passes
    # SEARCH_MAX_MEAN, where only binomial_ppf's bisection is used; the loop runs instead
    # (the compiled pass would raise here).
    import d3.core.inverse_sampling as inv

    def not_compiled(*_):
        raise AssertionError("the compiled pass must not run")

    monkeypatch.setattr(inv, "_churned_active", not_compiled)
    rng = np.random.default_rng(6)
    new = np.full((4, 6), 250_000.0)
    u = rng.random((4, 6))
    assert SEARCH_MAX_MEAN < 250_000 * 0.3
    assert np.array_equal(active_after_churn(u, new, 0.3), _active_by_month_loop(u, new, 0.3))


def test_active_after_churn_refuses_uniforms_of_another_shape():
    with pytest.raises(ValueError, match="differ in shape"):
        active_after_churn(np.zeros((2, 3)), np.ones((2, 4)), 0.1)
