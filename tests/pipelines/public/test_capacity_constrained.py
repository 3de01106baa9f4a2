"""Issue 11 items 1–2: revenue only for tokens the capped fleet serves; one cost basis."""

from __future__ import annotations

import numpy as np
import pytest

from d3.pipelines.public.capacity import (
    CapacityPolicy,
    ModelCapacity,
    capacity,
    planned_utilisation_frac,
    servable_tokens_per_month,
    served_tokens_by_model,
)
from d3.pipelines.public.demand import DemandInputs, demand_series
from d3.pipelines.public.gpu_costs import CostRow
from d3.pipelines.public.pricing import price_card

# One model: 100 tokens/s per instance at a 50 % target → 100 × 3600 × 0.5 = 180 000 tokens in
# the peak hour per instance; peak factor 2 over 720 hours → peak share 2/720. At most 2
# instances serve 2 × 180 000 / (2/720) = 129 600 000 tokens a month.
POLICY = CapacityPolicy(hours_in_month=720, target_utilization_pct=50, min_instances=1,
                        max_instances=2, peak_share=2 / 720)
MODEL = ModelCapacity("m", "g", tps=100.0, instance_eur_hr=1.0, gpu_cost_eur_per_1M=2.777778,
                      mix_frac=1.0, sell_eur_per_1k=0.01, priced_cost_eur_per_1M=4.0)


def test_servable_tokens_at_the_instance_cap():
    assert servable_tokens_per_month([MODEL], POLICY) == pytest.approx([129_600_000])


def test_served_is_the_smaller_of_demand_and_the_capped_fleet_per_model():
    demand = np.array([100e6, 129.6e6, 200e6])
    served = served_tokens_by_model(demand, [MODEL], POLICY)
    assert served[0] == pytest.approx([100e6, 129.6e6, 129.6e6])


def test_unserved_tokens_and_capacity_violation_are_the_same_event():
    # 200M demanded: peak hour 200M × 2/720 = 555 556 tokens → ⌈555 556 / 180 000⌉ = 4 > 2.
    res = capacity(np.array([100e6, 129.6e6, 200e6]), [MODEL], POLICY,
                   infra_overhead_pct_of_gpu=0, base_eur_per_1M=0)
    assert res.unserved[0] == pytest.approx([0, 0, 70.4e6])
    assert res.violation[0].tolist() == [False, False, True]
    assert res.instances[0].tolist() == [2, 2, 2]  # 100M: 277 778/180 000 → 2; then capped
    # The rented fleet: 2 instances × 720 h × 1 EUR/h = 1440 EUR a month, served or not.
    assert res.gpu_cogs_eur == pytest.approx([1440, 1440, 1440])


def _inputs(**kw):
    base = dict(months=3, budget_month0_eur=0, budget_growth_pct_mom=0, customers_per_eur=0,
                churn_frac=0, tokens_per_conversion=1.0, tokens_per_returning_customer_month=0,
                blended_sell_eur_per_1k=0.01,
                consumption_months=1, expiry_months=12, models=(MODEL,),
                capacity_policy=POLICY, infra_overhead_pct_of_gpu=25, base_eur_per_1M=0.5)
    base.update(kw)
    return DemandInputs(**base)


def test_unserved_credits_are_refunded_and_earn_nothing():
    # New customers buy 100M, 129.6M, 200M tokens (1 token per conversion, consumed in the
    # month): credits 1000, 1296, 2000 EUR at 0.01 EUR per 1k.
    new = np.array([[100e6, 129.6e6, 200e6]])
    s = demand_series(_inputs(), np.zeros(3), new, new)
    assert s["credits_sold_eur"][0] == pytest.approx([1000, 1296, 2000])
    assert s["tokens_served"][0] == pytest.approx([100e6, 129.6e6, 129.6e6])
    # Month 3: 70.4M tokens unserved × 0.01 / 1000 = 704 EUR refunded; revenue 1296.
    assert s["refunds_eur"][0] == pytest.approx([0, 0, 704])
    assert s["revenue_eur"][0] == pytest.approx([1000, 1296, 1296])
    # COGS = 1440 GPU × 1.25 (25 % overhead) + served/1M × 0.5: 1800 + 50, 1800 + 64.8, …
    assert s["cogs_eur"][0] == pytest.approx([1850, 1864.8, 1864.8])
    assert s["gross_margin_eur"][0] == pytest.approx([-850, -568.8, -568.8])
    # Priced cost 4 EUR per 1M on the served tokens: 400, 518.4, 518.4.
    assert s["priced_cogs_eur"][0] == pytest.approx([400, 518.4, 518.4])
    assert s["capacity_violations"][0].tolist() == [0, 0, 1]


def test_planned_utilisation_and_the_planned_cost_basis():
    # 100M tokens a month for 2 months on 2 instances: capacity at full throughput
    # 2 × 100 × 3600 × 720 = 518.4M tokens a month → utilisation 100 / 518.4 = 19.29 %.
    res = capacity(np.array([100e6, 100e6]), [MODEL], POLICY, infra_overhead_pct_of_gpu=0,
                   base_eur_per_1M=0)
    util = planned_utilisation_frac(res, [MODEL], 720)
    assert util["m"] == pytest.approx(100 / 518.4)
    row = CostRow("m", "g", 1, True, "", tps=100.0, instance_eur_hr=1.0,
                  gpu_cost_eur_per_1M=1.0 / 0.36, cost_eur_per_1M=1.0 / 0.36, best=True)

    class Public:  # the price card reads only these operator fields
        class pricing_policy:  # noqa: N801
            class public_tap:  # noqa: N801
                target_margin_pct = 50.0
                round_increment_eur_per_1k = 1e-6
                min_floor_eur_per_1k = 0.0
                max_cap_eur_per_1k = None

                class non_gpu_costs:  # noqa: N801
                    @staticmethod
                    def model_dump():
                        return {"infra_overhead_pct_of_gpu": 0.0, "base_eur_per_1M": 0.0}
        model_mix: dict = {}

    full = price_card({"m": row}, Public)
    planned = price_card({"m": row}, Public, utilisation_frac=util)
    # Full throughput: 1 EUR/h ÷ 0.36M tokens/h = 2.7778 EUR per 1M → ÷ 0.5 / 1000 = 0.005556
    # → up to 0.000001: 0.005556. Planned: 2.7778 ÷ 0.19290 = 14.4 EUR per 1M → 0.0288.
    assert full.prices["m"].sell_eur_per_1k == pytest.approx(0.005556)
    assert planned.costs_eur_per_1M["m"] == pytest.approx(14.4)
    assert planned.prices["m"].sell_eur_per_1k == pytest.approx(0.0288)


def test_flat_budget_policy_on_the_public_tap_and_its_scenarios():
    from d3.pipelines.public.demand import expected_demand

    inp = _inputs(budget_month0_eur=1000, budget_growth_pct_mom=5, customers_per_eur=0.01,
                  tokens_per_conversion=1e6, budget_policy="flat", budget_monthly_eur=3000)
    e = expected_demand(inp)
    # 3000 EUR a month × 0.01 customers per EUR = 30 new customers, each buying 1M tokens at
    # 0.01 EUR per 1k: 30 × 1e6 / 1000 × 0.01 = 300 EUR of credits every month.
    assert e["budget_eur"][0].tolist() == [3000.0] * 3
    assert e["new_customers"][0].tolist() == [30.0] * 3
    assert e["credits_sold_eur"][0] == pytest.approx([300, 300, 300])
    # A scenario's budget multiplier scales the flat budget too: 0.8 × 3000 = 2400.
    worst = expected_demand(inp.scenario(budget=0.8))
    assert worst["budget_eur"][0] == pytest.approx([2400, 2400, 2400])


def test_a_minimum_top_up_raises_the_first_purchase_and_its_excess_expires():
    from d3.pipelines.public.demand import credits_per_customer_eur, top_up_eur

    # A new customer wants 1M tokens (10 EUR at 0.01 EUR/1k), a returning one 0.5M (5 EUR);
    # the minimum top-up is 12 EUR: the first top-up is max(10, 12) = 12 (2 unused); returning
    # customers pay for what they use (5), their balance carrying the minimum over.
    inp = _inputs(tokens_per_conversion=1e6, tokens_per_returning_customer_month=0.5e6,
                  min_topup_eur=12.0, expiry_months=1)
    assert top_up_eur(inp) == type(top_up_eur(inp))(12.0, 5.0, 2.0)
    assert credits_per_customer_eur(inp) == (12.0, 5.0)
    # 1 new customer in month 1 who stays: credits 12, 5, 5; used 10, 5, 5; the unused 2
    # expire one month later (expiry 1): breakage 0, 2, 0; revenue = used + breakage.
    s = demand_series(inp, np.zeros(3), np.array([[1.0, 0, 0]]), np.array([[1.0, 1, 1]]))
    assert s["credits_sold_eur"][0] == pytest.approx([12, 5, 5])
    assert s["consumed_eur"][0] == pytest.approx([10, 5, 5])
    assert s["expired_eur"][0] == pytest.approx([0, 2, 0])
    assert s["revenue_eur"][0] == pytest.approx([10, 7, 5])
    assert s["deferred_eur"][0] == pytest.approx([2, 0, 0])


def test_a_scenario_scales_an_inflow_funded_budget_path_once():
    from d3.pipelines.public.demand import expected_demand

    # CAC 10 (0.1 per EUR), churn 50 %, a new customer buys 5M tokens (50 EUR at 0.01/1k), a
    # returning one 2M (20 EUR); 10 % of last month's sales, cap 1000. Base budgets: 100, then
    # 10 % × 10 × 50 = 50, then 10 % × (5 × 50 + 5 × 20) = 35. A budget multiplier of 1.2
    # scales month 1 and the cap, so the whole path scales once: 120, 60, 42 (not compounding).
    inp = _inputs(budget_month0_eur=100, customers_per_eur=0.1, churn_frac=0.5,
                  tokens_per_conversion=5e6, tokens_per_returning_customer_month=2e6,
                  budget_policy="pct_of_inflow", budget_pct_of_inflow=10,
                  budget_cap_monthly_eur=1000)
    assert expected_demand(inp)["budget_eur"][0] == pytest.approx([100, 50, 35])
    assert expected_demand(inp.scenario(budget=1.2))["budget_eur"][0] == pytest.approx(
        [120, 60, 42])
