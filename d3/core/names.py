"""The one place where GPU and model names are normalised.

"RTX 4090", "rtx-4090", "NVIDIA GeForce RTX 4090" and "4090" are the same GPU class; every file
(offers, specs, throughput facts, mixes) goes through :func:`gpu_class` so the normalised name is
used everywhere.
"""

from __future__ import annotations

import re

# Marketing words that do not identify the chip; memory size and form factor tokens are kept
# ("A100 80GB", "H100 SXM") because they change price and throughput.
_VENDOR_TOKENS = {"NVIDIA", "GEFORCE", "RTX", "TESLA", "AMD", "RADEON", "INSTINCT"}


def gpu_class(name: str) -> str:
    """Canonical GPU class: upper case, vendor words dropped ("RTX 4090" → "4090")."""
    tokens = re.split(r"[\s_\-/]+", str(name).strip().upper())
    kept = [t for t in tokens if t and t not in _VENDOR_TOKENS]
    return " ".join(kept) if kept else " ".join(t for t in tokens if t)


def model_key(model: str, variant: str) -> str:
    """A model is identified by ``Model`` + ``Variant`` ("Gemma 3" + "12B" → "Gemma 3 12B")."""
    return " ".join(f"{model} {variant}".split())


def model_match_key(name: str) -> str:
    """Case- and spacing-insensitive key for matching throughput rows to curated models."""
    return re.sub(r"[\s_\-]+", " ", str(name).strip().lower())
