"""Pricing rules with hand-computed values."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from d3.pipelines.public.pricing import (
    PricingPolicy,
    blended_sell_eur_per_1k,
    ceil_to_increment,
    model_price,
    normalised_mix,
)


def test_ceil_to_increment_rounds_up_but_keeps_exact_multiples():
    assert ceil_to_increment(0.00012963, 0.00001) == 0.00013
    assert ceil_to_increment(0.00055, 0.00001) == 0.00055  # 0.00055/0.00001 = 55.00000000000001
    assert ceil_to_increment(3 * 0.1, 0.1) == 0.3  # 0.30000000000000004 is not 0.4


@settings(max_examples=300, deadline=None)
@given(cost=st.floats(0.001, 50.0), margin=st.floats(0.0, 95.0),
       inc_exp=st.integers(2, 6))
def test_rounding_up_never_lowers_the_margin_below_target(cost, margin, inc_exp):
    policy = PricingPolicy(margin, 10.0 ** -inc_exp)
    price = model_price(cost, policy)
    assert price.sell_eur_per_1k >= price.unrounded_eur_per_1k - 1e-15
    assert price.margin_pct >= margin - 1e-7


def test_cap_below_target_gives_the_capped_margin():
    # cost €0.20/1M → target 60 % needs 0.2/0.4/1000 = 0.0005 per 1k; cap 0.0004 →
    # margin (0.0004 − 0.0002)/0.0004 = 50 %.
    price = model_price(0.20, PricingPolicy(60, 0.00001, 0.0, 0.0004))
    assert price.sell_eur_per_1k == 0.0004
    assert price.margin_pct == pytest.approx(50.0)
    assert price.capped_below_target and price.status == "public"


def test_no_positive_margin_makes_the_model_private_only():
    # cost €0.50/1M = 0.0005 per 1k; cap 0.0004 < cost → margin −25 %.
    price = model_price(0.50, PricingPolicy(50, 0.00001, 0.0, 0.0004))
    assert price.status == "private_only"
    assert price.margin_pct == pytest.approx(-25.0)
    assert "no positive margin" in price.reason


def test_floor_raises_cheap_models():
    # cost €0.01/1M, margin 50 % → 0.00002 per 1k; floor 0.00005 → margin 80 %.
    price = model_price(0.01, PricingPolicy(50, 0.00001, 0.00005))
    assert price.sell_eur_per_1k == 0.00005 and price.floored
    assert price.margin_pct == pytest.approx(80.0)


def test_mix_is_renormalised_over_public_models_and_defaults_to_uniform():
    assert normalised_mix({"a": 0.5, "b": 0.3, "gone": 0.2}, ["a", "b"]) == pytest.approx(
        {"a": 0.625, "b": 0.375})
    assert normalised_mix({}, ["a", "b", "c", "d"]) == {m: 0.25 for m in "abcd"}
    assert blended_sell_eur_per_1k({"a": 0.0002, "b": 0.0006}, {"a": 0.75, "b": 0.25}) == \
        pytest.approx(0.75 * 0.0002 + 0.25 * 0.0006)


def test_a_minimum_top_up_above_a_first_top_ups_tokens_is_a_warning():
    from types import SimpleNamespace

    from d3.pipelines.public.pricing import min_topup_warnings

    # 1M tokens at 0.004 EUR/1k = 4.00 EUR wanted; a 10 EUR minimum leaves 6.00 unused.
    public = SimpleNamespace(prepaid_policy=SimpleNamespace(credits=SimpleNamespace(
        min_topup_eur=10.0)), acquisition=SimpleNamespace(tokens_per_conversion=1e6))
    card = SimpleNamespace(blended_sell_eur_per_1k=0.004)
    assert [w["line"] for w in min_topup_warnings(public, card)] == [
        "inputs/operator/public_tap.yaml:prepaid_policy.credits.min_topup_eur: min_topup_eur 10 "
        "is above a first top-up's tokens (tokens_per_conversion 1e+06 × 0.004 EUR/1k = 4.00 "
        "EUR): 6.00 EUR of every first purchase is never used and counts as breakage — check "
        "the minimum against tokens_per_conversion and the prices"]
    public.prepaid_policy.credits.min_topup_eur = 4.0  # equal: no warning
    assert min_topup_warnings(public, card) == []
