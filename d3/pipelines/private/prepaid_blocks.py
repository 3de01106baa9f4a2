"""Prepaid GPU-hour blocks of the Private Tap (``prepaid_policy.private_tap``; method in
docs/PRIVATE_TAP.md).

Clients buy GPU-hours in whole blocks of ``block_hours`` before they use them. The ledger runs on
each sample's aggregate client base as one pooled balance, month by month:

1. blocks bought ``expiry_months`` ago expire (what is left of them is breakage);
2. if the balance does not cover the month's hours, every active client buys the whole number
   of blocks that covers its equal share of the shortfall:
   ``blocks per client = ceil(max(hours − balance, 0) / active / block_hours)``;
3. the month's hours are drawn from the balance, oldest blocks first (FIFO).

Arrays are ``(samples, months)``, hours; the months loop is sequential (a balance depends on the
previous one): one compiled pass per sample over its months and live vintages.
"""

from __future__ import annotations

from dataclasses import dataclass

import numba
import numpy as np

from d3.core.rounding import CEIL_TOLERANCE
from d3.core.scalar_math import larger, smaller


@dataclass(frozen=True)
class BlockLedger:
    """Hours per sample and month, shape ``(samples, months)``."""

    purchased_hours: np.ndarray  # whole blocks bought in the month × block_hours
    expired_hours: np.ndarray  # unused hours of blocks that expired in the month (breakage)
    balance_hours: np.ndarray  # unused, unexpired hours at month end (deferred), ≥ 0


@numba.njit(cache=True, nogil=True)
def _blocks_per_client(shortfall_hours: float, active: float, block_hours: float,
                       tolerance: float) -> float:  # pragma: no cover - compiled
    """Whole blocks each active client buys to cover its equal share of ``shortfall_hours``:
    ``ceil(shortfall / active / block_hours)`` (:func:`d3.core.rounding.robust_ceil`: a
    shortfall exactly k blocks wide, float noise aside, buys k blocks); 0 without clients."""
    share = shortfall_hours / active if active > 0 else 0.0
    return larger(np.ceil(share / block_hours - tolerance), 0.0)


@numba.njit(cache=True, nogil=True)
def _live_hours(vintages: np.ndarray, first: int, last: int, s: int) -> float:  # pragma: no cover
    """Unused hours of sample ``s`` in vintages ``first..last``, summed oldest first."""
    total = vintages[first, s]
    for j in range(first + 1, last + 1):
        total += vintages[j, s]
    return total


@numba.njit(cache=True, nogil=True)
def _fifo_draw(vintages: np.ndarray, first: int, last: int, s: int,
               hours: float) -> None:  # pragma: no cover - compiled
    """Draw ``hours`` from sample ``s``'s vintages ``first..last``, oldest first, each down to
    0 at most: what came before a vintage is the running total of the older ones."""
    running = 0.0
    for j in range(first, last + 1):
        v = vintages[j, s]
        running = v if j == first else running + v
        vintages[j, s] = v - smaller(larger(hours - (running - v), 0.0), v)  # np.clip


@numba.njit(cache=True, nogil=True)
def _ledger(hours: np.ndarray, active: np.ndarray, block_hours: float, expiry_months: int,
            tolerance: float):  # pragma: no cover - compiled
    """The ledger of the module docstring on months-major ``(months, samples)`` arrays:
    (purchased, expired, balance)."""
    months, samples = hours.shape
    vintages = np.zeros((months, samples))  # row j: unused hours of the blocks bought in month j
    purchased, expired, balance = (np.zeros((months, samples)), np.zeros((months, samples)),
                                   np.zeros((months, samples)))
    for m in range(months):
        first = max(0, m - expiry_months + 1)
        for s in range(samples):
            if m >= expiry_months:
                expired[m, s] = vintages[m - expiry_months, s]
                vintages[m - expiry_months, s] = 0.0
            gap = larger(hours[m, s] - _live_hours(vintages, first, m, s), 0.0)
            bought = active[m, s] * block_hours * _blocks_per_client(
                gap, active[m, s], block_hours, tolerance)
            purchased[m, s] = bought
            vintages[m, s] = bought
            _fifo_draw(vintages, first, m, s, hours[m, s])
            balance[m, s] = _live_hours(vintages, first, m, s)
    return purchased, expired, balance


def block_ledger(hours: np.ndarray, active: np.ndarray, *, block_hours: float,
                 expiry_months: int) -> BlockLedger:
    """Purchases, breakage and balance of prepaid blocks (module docstring). ``hours`` and
    ``active`` ``(samples, months)`` (broadcast together); a block bought in month j is usable
    in months j..j+expiry_months−1 and its remainder expires in month j+expiry_months.
    Computed months-major (each month's samples contiguous), returned ``(samples, months)``.
    Raises ``ValueError`` when ``expiry_months`` < 1 (the operator schema refuses it first)."""
    if expiry_months < 1:
        raise ValueError(f"expiry_months must be ≥ 1, got {expiry_months}")
    hours, active = np.broadcast_arrays(np.asarray(hours, float), np.asarray(active, float))
    purchased, expired, balance = _ledger(
        np.ascontiguousarray(hours.T), np.ascontiguousarray(active.T), float(block_hours),
        int(expiry_months), CEIL_TOLERANCE)
    return BlockLedger(purchased.T.copy(), expired.T.copy(), balance.T.copy())
