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
    series that are NaN where undefined (a DSCR without debt service); months without a
    non-finite value are still sorted together. Without it, one non-finite value makes its
    month NaN (numpy's rule); the lines' demand series are always finite."""
    if not finite_only:
        return np.percentile(values, list(qs), axis=0, method="linear")
    # Months without a non-finite value in one vectorised sort (numpy's per-column arithmetic
    # is the 1-D one, so the numbers are the same); the others one by one.
    whole = np.isfinite(values).all(axis=0) & (values.shape[0] > 0)  # no samples: NaN below
    out = np.empty((len(qs), values.shape[1]))
    if whole.any():
        out[:, whole] = np.percentile(values[:, whole], list(qs), axis=0, method="linear")
    for m in np.flatnonzero(~whole):
        out[:, m] = percentiles(values[:, m], qs)
    return out


def multiset_percentile(ordered: np.ndarray, copies: np.ndarray, q: float) -> float:
    """``np.percentile(x, q, method="linear")`` of the multiset ``x`` holding ``copies[i]`` copies
    of ``ordered[i]`` (``ordered`` ascending, ties allowed, ``(n,)``; ``copies`` ≥ 0 integers,
    ``(n,)``), without building ``x``: numpy's virtual index ``(m − 1) × q / 100`` over the
    multiset's size ``m``, its two neighbours found by the running count of copies, and numpy's
    interpolation (``_lerp``: from the upper neighbour when the fraction is ≥ ½), so the result
    equals numpy's (the sign of a zero aside: numpy gives −0.0 for a multiset of −0.0 alone).
    ``ordered`` must be finite (the caller drops NaN and ±inf, as
    :func:`d3.core.percentiles.percentiles` does). NaN when the multiset is empty."""
    running = np.cumsum(copies)
    m = int(running[-1]) if running.size else 0
    if m == 0:
        return float("nan")
    virtual = (m - 1) * (np.float64(q) / 100)
    below = np.floor(virtual)
    if virtual >= m - 1:
        below = above = float(m - 1)
    else:
        above = below + 1
    a, b = ordered[np.searchsorted(running, [below, above], side="right")]
    gamma = virtual - below
    diff = b - a
    return float(b - diff * (1 - gamma) if gamma >= 0.5 else a + diff * gamma)
