"""numpy's elementwise ``maximum`` / ``minimum`` for one pair of floats inside compiled (numba)
kernels, so a kernel that replaces a numpy loop gives the same bytes: NaN propagates from
either argument, and on a tie the second argument is returned (``np.maximum(-0.0, 0.0)`` is
``0.0``, ``np.maximum(0.0, -0.0)`` is ``-0.0``); ``np.clip(x, lo, hi)`` on arrays is
``smaller(larger(x, lo), hi)``."""

from __future__ import annotations

import numba


@numba.njit(cache=True, nogil=True)
def larger(a: float, b: float) -> float:  # pragma: no cover - compiled
    """``np.maximum(a, b)``."""
    if a != a:
        return a
    return a if a > b else b


@numba.njit(cache=True, nogil=True)
def smaller(a: float, b: float) -> float:  # pragma: no cover - compiled
    """``np.minimum(a, b)``."""
    if a != a:
        return a
    return a if a < b else b
