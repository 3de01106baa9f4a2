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
previous one), every step is vectorised over samples and over the ``expiry_months`` live
vintages.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from d3.core.rounding import robust_ceil


@dataclass(frozen=True)
class BlockLedger:
    """Hours per sample and month, shape ``(samples, months)``."""

    purchased_hours: np.ndarray  # whole blocks bought in the month × block_hours
    expired_hours: np.ndarray  # unused hours of blocks that expired in the month (breakage)
    balance_hours: np.ndarray  # unused, unexpired hours at month end (deferred), ≥ 0


def blocks_per_client(shortfall_hours: np.ndarray, active: np.ndarray,
                      block_hours: float) -> np.ndarray:
    """Whole blocks each active client buys to cover its equal share of ``shortfall_hours``:
    ``ceil(shortfall / active / block_hours)``; 0 without a shortfall or without clients.
    Shapes ``(samples,)``."""
    share = np.divide(shortfall_hours, active, out=np.zeros_like(shortfall_hours),
                      where=active > 0)
    # robust_ceil: a shortfall exactly k blocks wide (with float noise) buys k blocks.
    return robust_ceil(share / block_hours)


def fifo_draw(vintages: np.ndarray, hours: np.ndarray) -> np.ndarray:
    """Hours drawn from each vintage, oldest first. ``vintages`` ``(k, samples)``: unused hours
    by purchase month, oldest row first; ``hours`` ``(samples,)`` to draw. The draw stops at
    the balance, so a vintage never goes below 0."""
    before = np.cumsum(vintages, axis=0) - vintages
    return np.clip(hours - before, 0.0, vintages)


def block_ledger(hours: np.ndarray, active: np.ndarray, *, block_hours: float,
                 expiry_months: int) -> BlockLedger:
    """Purchases, breakage and balance of prepaid blocks (module docstring). ``hours`` and
    ``active`` ``(samples, months)`` (broadcast together); a block bought in month j is usable
    in months j..j+expiry_months−1 and its remainder expires in month j+expiry_months.
    Computed months-major (each month's samples contiguous), returned ``(samples, months)``."""
    hours, active = np.broadcast_arrays(np.asarray(hours, float), np.asarray(active, float))
    h, a = np.ascontiguousarray(hours.T), np.ascontiguousarray(active.T)
    vintages = np.zeros_like(h)  # row j: unused hours of the blocks bought in month j
    purchased, expired, balance = (np.zeros_like(h) for _ in range(3))
    for m in range(h.shape[0]):
        if m >= expiry_months:
            expired[m] = vintages[m - expiry_months]
            vintages[m - expiry_months] = 0.0
        live = vintages[max(0, m - expiry_months + 1): m + 1]  # a view: edits land in vintages
        shortfall = np.maximum(h[m] - live.sum(axis=0), 0.0)
        purchased[m] = a[m] * block_hours * blocks_per_client(shortfall, a[m], block_hours)
        vintages[m] = purchased[m]
        live -= fifo_draw(live, h[m])
        balance[m] = live.sum(axis=0)
    return BlockLedger(purchased.T.copy(), expired.T.copy(), balance.T.copy())
