"""Private Tap margin on the vendor actually paid (SPEC §6.2, §8), hand-computed."""

from __future__ import annotations

import pytest

from d3.acceptance import ClassMargin, private_margin_criterion
from d3.models.operator import PrivatePricing
from d3.pipelines.private.pricing import class_economics, margin_pct
from d3.pipelines.private.provider_costs import ProviderOffer
from d3.pipelines.private.tables import class_summary, economics_row

WEIGHTS = {"cost": 0.6, "availability": 0.2, "reputation": 0.2}


def offer(provider, eur, gpu="4090", avail=1.0, rep=1.0):
    return ProviderOffer(gpu, provider, eur, eur, avail, rep)


def test_margin_on_the_vendor_paid_beside_the_median_margin():
    # The minimal fixture's 4090: alpha €0.42 (avail 0.9, rep 0.8), beta €0.462 (0.8, 0.9).
    offers = [offer("alpha", 0.42, avail=0.9, rep=0.8), offer("beta", 0.462, avail=0.8, rep=0.9)]
    e = class_economics(offers, "4090", PrivatePricing(markup_pct=30), WEIGHTS)
    # median (0.42 + 0.462)/2 = 0.441; sell 0.441 × 1.3 = 0.5733
    assert e.provider_eur_hr_med == pytest.approx(0.441)
    assert e.sell_eur_hr == pytest.approx(0.5733)
    # vs median: 0.5733 − 0.441 = 0.1323; 0.1323 / 0.5733 = 23.0769 % (= 0.3/1.3)
    assert e.margin_eur_hr_vs_median == pytest.approx(0.1323)
    assert e.margin_pct_vs_median == pytest.approx(23.076923, abs=1e-6)
    # score alpha 0.6 × 1 + 0.2 × 0.9 + 0.2 × 0.8 = 0.94 > beta 0.6 × 0.42/0.462 + 0.2 × 0.8
    # + 0.2 × 0.9 = 0.8855 → alpha is paid €0.42; 0.5733 − 0.42 = 0.1533;
    # 0.1533 / 0.5733 = 26.7399 %
    assert (e.vendor_provider, e.vendor_paid_eur_hr) == ("alpha", 0.42)
    assert e.margin_vendor_eur_hr == pytest.approx(0.1533)
    assert e.margin_vendor_pct == pytest.approx(26.739927, abs=1e-6)
    assert economics_row(e, 2) == ["4090", "0.441000", "30.00", "0.573300", "0.132300",
                                   "23.0769", "0.00", "0.00", "2", "alpha", "0.420000",
                                   "0.153300", "26.7399"]
    assert class_summary(e)["margin_vendor_pct"] == e.margin_vendor_pct


def test_a_dearer_vendor_chosen_for_reputation_lowers_the_margin_actually_earned():
    # alpha €1.0 (avail 0.2, rep 0.2), beta €1.2 (1, 1); weights 0.2/0.4/0.4:
    # alpha 0.2 × 1 + 0.4 × 0.2 + 0.4 × 0.2 = 0.36; beta 0.2 × 1/1.2 + 0.8 = 0.9667 → beta.
    offers = [offer("alpha", 1.0, "H100", 0.2, 0.2), offer("beta", 1.2, "H100")]
    w = {"cost": 0.2, "availability": 0.4, "reputation": 0.4}
    e = class_economics(offers, "H100", PrivatePricing(markup_pct=10), w)
    # median 1.1; sell 1.21; vs median 0.11/1.21 = 9.0909 %; vendor paid 1.2 → 0.01/1.21
    # = 0.8264 %
    assert e.margin_pct_vs_median == pytest.approx(9.090909, abs=1e-6)
    assert (e.vendor_provider, e.margin_vendor_pct) == ("beta", pytest.approx(0.826446,
                                                                              abs=1e-6))
    c = private_margin_criterion({"H100": ClassMargin(e.margin_vendor_pct,
                                                      e.margin_pct_vs_median)}, 5.0)
    assert not c.ok  # 0.83 % < 5 % although the median margin 9.09 % ≥ 5 %
    assert c.detail == ("threshold 5 % on the vendor actually paid; H100 0.8 % vendor-paid "
                        "(9.1 % vs median); below: H100")


def test_criterion_passes_when_every_vendor_margin_clears_the_threshold():
    c = private_margin_criterion({"B": ClassMargin(27.98, 23.08), "A": ClassMargin(26.74, 23.08)},
                                 25.0)
    assert c.ok and c.name == "private_margin_per_class" and c.probability is None
    assert c.detail.endswith("A 26.7 % vendor-paid (23.1 % vs median); B 28.0 % vendor-paid "
                             "(23.1 % vs median); below: none")


def test_margin_pct_of_a_zero_sell_price_is_zero():
    assert margin_pct(0.0, 1.0) == 0.0
    assert margin_pct(2.0, 1.5) == 25.0  # (2 − 1.5) / 2 × 100
