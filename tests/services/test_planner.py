"""Planner (AUTOSCALER.md): robust ceiling, clamps, violations, tps = 0."""

import numpy as np
import pytest

from d3.core.errors import ValidationError
from d3.pipelines.public.capacity import hourly_weights, peak_share
from d3.services.autoscaling import instances_needed, planner_instances_needed


def test_exactly_three_capacities_need_three_replicas():
    # tps 0.1 → cap = 0.1 × 3600 × 70 % = 252 tokens/h (0.1·3600·0.7 is 251.99999999999997
    # in floats, a naive ceil of 3·cap/cap could give 4).
    cap = 0.1 * 3600 * 70 / 100
    r = planner_instances_needed(3 * cap, 0.1, 70, 1, 10)
    assert (r.instances_needed, r.unclamped, r.capacity_violation) == (3, 3, False)


def test_clamps_and_violation():
    # cap = 1000 × 3600 × 50 % = 1.8M/h; peak 20M → 11.1 → 12 unclamped, max 8 → violation.
    r = planner_instances_needed(20e6, 1000, 50, 1, 8)
    assert (r.instances_needed, r.unclamped, r.capacity_violation) == (8, 12, True)
    assert r.cap_tokens_per_hour_per_instance == 1.8e6
    r = planner_instances_needed(0.0, 1000, 50, 2, 8)
    assert (r.instances_needed, r.unclamped) == (2, 0)


def test_tps_zero_is_an_error():
    with pytest.raises(ValidationError):
        planner_instances_needed(100, 0, 70, 1, 4)


def test_vectorised_planner_matches_scalar():
    peaks = np.array([0, 1, 252, 253, 5000.0])
    inst, viol = instances_needed(peaks, 252.0, 1, 10)
    assert inst.tolist() == [1, 1, 1, 2, 10] and viol.tolist() == [False] * 4 + [True]


def test_hourly_shares_of_a_month_sum_to_one():
    weights = [1.0] * 12 + [3.0] * 12
    shares = hourly_weights("diurnal", weights, 720)
    assert shares.sum() == pytest.approx(1.0, rel=1e-15)
    # 30 days; a day's 24 weights sum to 48, so an hour of weight 3 holds 3/(48·30) of the month.
    assert shares[12] == pytest.approx(3 / 1440)
    assert hourly_weights("uniform", None, 720).tolist() == [1 / 720] * 720


def test_peak_share_by_factor_or_percentile():
    shares = hourly_weights("diurnal", [1.0] * 12 + [3.0] * 12, 720)
    assert peak_share(shares, peak_factor=2.0, peak_percentile=None) == 2.0 / 720
    assert peak_share(shares, peak_factor=2.0, peak_percentile=90) == pytest.approx(3 / 1440)
