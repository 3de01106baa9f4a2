"""Percentiles are taken per sample first, then across samples (SPEC §7)."""

import numpy as np
import pytest

from d3.core.percentiles import percentiles
from d3.finance.kpis import sample_kpis
from d3.finance.statements import GeneralSchedules, LineResults, pnl_and_cashflow


def _line(revenue):
    r = np.asarray(revenue, dtype=float)
    z = np.zeros_like(r)
    return LineResults(r, z, z, r, z, z, z)


def _general(t):
    z = np.zeros(t)
    return GeneralSchedules(z, z, z, z, z, z, z, z, 0, 0, True, 0, 0, "none", 0, 0, 0.0)


def _totals(public, private, q):
    r = pnl_and_cashflow(_line(public), _line(private), _general(3))
    k = sample_kpis(r, 3, min_dscr=1.2)
    total = percentiles(k["revenue_total_eur"][1], [q])[0]
    lines = percentiles(k["revenue_public_eur"][1], [q])[0] + \
        percentiles(k["revenue_private_eur"][1], [q])[0]
    return total, lines


def test_two_samples_three_months_total_is_not_the_sum_of_line_percentiles():
    # Sample A: public 100/month, private 0 → total 300; sample B: public 0, private 30, 30,
    # 40 → total 100 (whole cents: the statements book cents). With two samples the linear
    # median is their mean (additive), so the difference shows in the tails:
    # p90 = 0.1 × low + 0.9 × high.
    public = [[100, 100, 100], [0, 0, 0]]
    private = [[0, 0, 0], [30, 30, 40]]
    total, lines = _totals(public, private, 90)
    assert total == pytest.approx(0.1 * 100 + 0.9 * 300)  # 280: p90 of per-sample totals
    assert lines == pytest.approx((0.1 * 0 + 0.9 * 300) + (0.1 * 0 + 0.9 * 100))  # 360
    assert total != pytest.approx(lines)


def test_p50_of_total_is_not_the_sum_of_line_p50s():
    # Three samples, 3-month totals (public, private): (300, 0), (0, 300), (100, 100).
    public = [[100, 100, 100], [0, 0, 0], [30, 30, 40]]
    private = [[0, 0, 0], [100, 100, 100], [30, 30, 40]]
    total, lines = _totals(public, private, 50)
    assert total == pytest.approx(300.0)  # totals 300, 300, 200 → median 300
    assert lines == pytest.approx(100.0 + 100.0)
