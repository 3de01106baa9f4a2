"""Percentiles across samples, numpy's linear definition (SPEC §7: per sample first, then
across samples). The one implementation every stage and the model use."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np


def percentiles(values: np.ndarray, qs: Sequence[int]) -> np.ndarray:
    """Linear-interpolation percentiles ``qs`` (0..100) of the finite values of ``values``
    (NaN and ±inf dropped): shape ``(len(qs),)``, NaN when no value is finite."""
    v = values[np.isfinite(values)]
    if v.size == 0:
        return np.full(len(qs), np.nan)
    return np.percentile(v, list(qs), method="linear")


def monthly_percentiles(values: np.ndarray, qs: Sequence[int], *,
                        finite_only: bool = False) -> np.ndarray:
    """Per-month percentiles ``qs`` across samples of ``values`` ``(samples, months)``:
    shape ``(len(qs), months)``, linear interpolation.

    ``finite_only``: each month over its finite values only (:func:`percentiles`), for finance
    series that are NaN where undefined (a DSCR without debt service). Without it, one
    non-finite value makes its month NaN (numpy's rule); the lines' demand series are always
    finite, and their per-month sort is vectorised (the default)."""
    if not finite_only:
        return np.percentile(values, list(qs), axis=0, method="linear")
    return np.vstack([percentiles(values[:, m], qs) for m in range(values.shape[1])]).T
