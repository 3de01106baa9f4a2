"""Per-month percentiles: numpy's linear definition, one column at a time (oracle)."""

import numpy as np

from d3.core.percentiles import monthly_percentiles, percentiles


def test_percentiles_drop_non_finite_values():
    # Finite values 1, 2, 3, 4: p50 = 2.5, p90 = 3 + 0.7 × (4 − 3) = 3.7.
    v = np.array([1.0, np.nan, 2.0, np.inf, 3.0, -np.inf, 4.0])
    assert percentiles(v, [50, 90]).tolist() == [2.5, 3.7]
    assert np.isnan(percentiles(np.array([np.nan]), [50])).all()


def test_monthly_percentiles_equal_numpy_month_by_month():
    rng = np.random.default_rng(7)
    v = rng.lognormal(size=(101, 5))
    qs = (10, 50, 90)
    oracle = np.array([[np.percentile(v[:, m], q, method="linear") for m in range(5)]
                       for q in qs])
    assert np.array_equal(monthly_percentiles(v, qs), oracle)
    assert np.array_equal(monthly_percentiles(v, qs, finite_only=True), oracle)


def test_nan_months_propagate_unless_finite_only():
    # Month 1: 1, 2, NaN → NaN by numpy's rule, p50 = 1.5 over the finite values.
    v = np.array([[1.0, 10.0], [2.0, 20.0], [np.nan, 30.0]])
    plain = monthly_percentiles(v, [50])
    assert np.isnan(plain[0, 0]) and plain[0, 1] == 20.0
    assert monthly_percentiles(v, [50], finite_only=True).tolist() == [[1.5, 20.0]]


def test_finite_only_mixes_the_vectorised_and_the_column_paths_exactly():
    # Months 0 and 2 hold NaN / inf (their percentiles over the finite values, one by one);
    # months 1 and 3 are whole (one vectorised sort): every number equals the 1-D oracle.
    rng = np.random.default_rng(8)
    v = np.round(rng.normal(size=(257, 4)), 1)  # rounded: many ties
    v[[3, 90], 0] = np.nan
    v[17, 2] = np.inf
    qs = (10, 50, 90)
    oracle = np.array([[np.percentile(v[np.isfinite(v[:, m]), m], q, method="linear")
                        for m in range(4)] for q in qs])
    assert np.array_equal(monthly_percentiles(v, qs, finite_only=True), oracle)
    # A month with no finite value at all is NaN.
    v[:, 3] = np.nan
    assert np.isnan(monthly_percentiles(v, qs, finite_only=True)[:, 3]).all()


def test_no_samples_gives_nan_months():
    out = monthly_percentiles(np.zeros((0, 3)), (10, 50), finite_only=True)
    assert out.shape == (2, 3) and np.isnan(out).all()
