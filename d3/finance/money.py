"""Money as the books hold it: whole cents."""

from __future__ import annotations

import numpy as np


def cents(x):
    """``x`` rounded to the cent: every booked amount is whole cents, so balances built from
    them (and the balance sheet) add up exactly when written with 2 decimals."""
    return np.round(x, 2)
