"""``robust_ceil``: ceil that ignores float noise just above an integer, never below 0."""

import numpy as np

from d3.core.rounding import robust_ceil


def test_float_noise_above_an_integer_is_ignored():
    assert 3 * 0.1 / 0.1 == 3.0000000000000004
    assert robust_ceil(3 * 0.1 / 0.1) == 3.0
    assert robust_ceil(np.array([2.5, 3.000001, 0.0, -2.0])).tolist() == [3.0, 4.0, 0.0, 0.0]


def test_tolerance_is_a_parameter():
    assert robust_ceil(3.01, tolerance=0.02) == 3.0
    assert robust_ceil(3.01) == 4.0
