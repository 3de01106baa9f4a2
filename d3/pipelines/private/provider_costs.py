"""Private Tap provider costs (SPEC §6.1): EUR per GPU-hour per provider with the private FX
buffer, each provider's cheapest offer per class, and the median over providers."""

from __future__ import annotations

import statistics
from collections.abc import Sequence
from dataclasses import dataclass

from d3.pipelines.common.catalog import Offer
from d3.services.fx import eur_per_hour


@dataclass(frozen=True)
class ProviderOffer:
    """A provider's cheapest offer for a GPU class (per GPU-hour)."""

    gpu: str
    provider: str
    usd_hr: float
    eur_hr: float
    availability_frac: float  # 1.0 when the offer does not say
    reputation_frac: float


def provider_offers(offers: Sequence[Offer], *, fx_buffer_pct: float,
                    eur_usd_fx_rate: float) -> list[ProviderOffer]:
    """Each (GPU class, provider) once, at its cheapest per-GPU price (ties → smaller SKU);
    availability and reputation from that offer, 1.0 when it does not say."""
    out = []
    for gpu, provider in sorted({(o.gpu, o.provider) for o in offers}):
        cheapest = min((o for o in offers if o.gpu == gpu and o.provider == provider),
                       key=lambda o: (o.usd_hr, o.num_gpus))
        avail, rep = cheapest.availability_frac, cheapest.reputation_frac
        out.append(ProviderOffer(gpu, provider, cheapest.usd_hr,
                                 eur_per_hour(cheapest.usd_hr, fx_buffer_pct=fx_buffer_pct,
                                              eur_usd_fx_rate=eur_usd_fx_rate),
                                 1.0 if avail is None else avail, 1.0 if rep is None else rep))
    return out


def median_eur_hr(offers: Sequence[ProviderOffer], gpu: str) -> float:
    """Median over providers of their cheapest EUR/hr for ``gpu`` (even count: mean of the two
    middle values)."""
    return statistics.median(o.eur_hr for o in offers if o.gpu == gpu)


def gpu_classes(offers: Sequence[ProviderOffer]) -> list[str]:
    return sorted({o.gpu for o in offers})
