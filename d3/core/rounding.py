"""Rounding up to whole units (replicas, GPUs, billing units, prepaid blocks, price steps),
robust to float noise."""

from __future__ import annotations

import numpy as np

# Absolute slack, in units of the ratio: an exact multiple computed with float noise
# (3 × capacity / capacity = 3.0000000000000004) is not pushed one unit up. Every caller uses
# this one value; the compiled kernels (the autoscaler oracle in
# d3/services/autoscaling_kernel.py, the prepaid ledger in d3/pipelines/private/prepaid_blocks.py)
# receive it as an argument.
CEIL_TOLERANCE = 1e-9


def robust_ceil(ratio: np.ndarray | float, *, tolerance: float = CEIL_TOLERANCE) -> np.ndarray:
    """``max(ceil(ratio − tolerance), 0)`` as float64 (same shape as ``ratio``): ``ceil`` that
    ignores float noise up to ``tolerance`` above an integer (3.0000000000000004 → 3) and
    never goes below 0."""
    return np.ceil(np.asarray(ratio, dtype=np.float64) - tolerance).clip(min=0)
