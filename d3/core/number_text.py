"""How a number is written in text — one rounding and one formatter for every percentage the
engine and the report write (an acceptance criterion's detail, the report's tables, the
solver's section), so the same probability never reads 93.2 % in one place and 93.3 % in
another.

Every value is rounded **half away from zero on its decimal** (``Decimal(cell).quantize(...,
ROUND_HALF_UP)``: 0.5 → 1, 93.25 → 93.3), the commercial rounding of a set of accounts;
floats go through their shortest ``repr`` first, so ``0.9325`` is the decimal 0.9325 (Python's
``f"{0.9325:.1%}"`` rounds the binary double just below it and writes ``93.2%``). A rounded
zero is written ``0``, never ``-0``.
"""

from __future__ import annotations

import math
from decimal import ROUND_HALF_UP, Decimal, InvalidOperation

Number = str | float | int | Decimal | None

MISSING = "—"  # no value (a metric the run did not compute)


def decimal_of(x: Number) -> Decimal | None:
    """A CSV cell or number as an exact decimal; ``None`` for an empty cell, ``None``, NaN or
    infinity (no value)."""
    if x is None or isinstance(x, bool):
        return None
    if isinstance(x, float):
        if not math.isfinite(x):
            return None
        x = repr(x)
    try:
        d = Decimal(str(x).strip())
    except InvalidOperation:
        return None
    return d if d.is_finite() else None


def rounded(x: Decimal, decimals: int) -> Decimal:
    """``x`` rounded half away from zero to ``decimals`` places; a rounded zero is +0."""
    q = x.quantize(Decimal(1).scaleb(-decimals), rounding=ROUND_HALF_UP)
    return q if q != 0 else abs(q)


def pct_text(x: Number) -> str:
    """A percentage (0..100) to 1 decimal with ``%``: ``56.2887`` → ``56.3 %``."""
    d = decimal_of(x)
    return MISSING if d is None else f"{rounded(d, 1):.1f} %"


def frac_pct_text(x: Number) -> str:
    """A fraction (0..1, e.g. a probability) as a percentage to 1 decimal: ``0.0015`` →
    ``0.2 %``, ``0.9325`` → ``93.3 %``."""
    d = decimal_of(x)
    return MISSING if d is None else pct_text(d.scaleb(2))


def share_text(x: Number) -> str:
    """A threshold share (0..1) as a percentage without trailing zeros: ``0.9`` → ``90 %``,
    ``0.975`` → ``97.5 %``."""
    d = decimal_of(x)
    return MISSING if d is None else f"{format(d.scaleb(2).normalize(), 'f')} %"
