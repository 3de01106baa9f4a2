"""Currency conversion: the one formula for provider prices in EUR (SPEC §5.1)."""

from __future__ import annotations


def eur_per_hour(usd_hr: float, *, fx_buffer_pct: float, eur_usd_fx_rate: float) -> float:
    """EUR per hour = USD per hour × (1 + buffer/100) / (USD per EUR).

    The buffer protects against the euro weakening between quote and payment.
    """
    return usd_hr * (1.0 + fx_buffer_pct / 100.0) / eur_usd_fx_rate
