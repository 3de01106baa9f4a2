"""Prepaid credit ledger (SPEC §5.3): purchases are consumed evenly over
``consumption_months`` starting in the purchase month; whatever is still unconsumed
``expiry_months`` after the purchase expires (breakage). Credits bought only to reach the
minimum top-up (``unused``) are never consumed and all expire. Revenue = consumed + expired;
cash in = purchases. Works on the last axis of any array of monthly purchases (EUR)."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np


@dataclass(frozen=True)
class Ledger:
    consumed: np.ndarray  # EUR of credits used per month
    expired: np.ndarray  # EUR of credits expired per month (breakage revenue)
    balance: np.ndarray  # EUR of live credits at month end (deferred revenue), ≥ 0

    @property
    def revenue(self) -> np.ndarray:
        return self.consumed + self.expired


def _shifted(x: np.ndarray, by: int) -> np.ndarray:
    """``x`` delayed by ``by`` months along the last axis (zeros shifted in)."""
    out = np.zeros_like(x)
    if by < x.shape[-1]:
        out[..., by:] = x[..., : x.shape[-1] - by]
    return out


def credit_ledger(purchases: np.ndarray, *, consumption_months: int,
                  expiry_months: int, unused: np.ndarray | None = None) -> Ledger:
    """Consumption, breakage and balance of monthly credit purchases (EUR, any shape; months
    on the last axis). ``unused`` (same shape, part of ``purchases``) is the EUR bought only to
    reach ``min_topup_eur``: it is never consumed and expires ``expiry_months`` later."""
    c, e = consumption_months, expiry_months
    unused = np.zeros_like(purchases) if unused is None else unused
    used = purchases - unused
    used_months = min(c, e)  # a purchase is used during this many months
    cum = np.cumsum(used, axis=-1)
    consumed = (cum - _shifted(cum, used_months)) / c
    expired = _shifted(used, e) * (max(c - e, 0) / c) + _shifted(unused, e)
    # Clip float noise only (values like −1e−13); by construction the balance is ≥ 0.
    balance = np.maximum(np.cumsum(purchases - consumed - expired, axis=-1), 0.0)
    return Ledger(consumed, expired, balance)
