"""Allocations (channel, vendor-weight, model and GPU mixes) must sum to 1 per sample; when
they do not, they are renormalised and the run summary says so (SPEC §3)."""

from __future__ import annotations

import math
from collections.abc import Mapping
from typing import Any

from d3.core.variables import leaf, with_override

ALLOCATION_PATHS = {
    "general": (),
    "public_tap": ("acquisition.channel_allocation", "model_mix"),
    "private_tap": (
        "acquisition.channel_allocation",
        "acquisition.gpu_class_mix",
        "pricing_policy.private_tap.vendor_weights",
    ),
}
TOLERANCE = 1e-9


def _weights(tree: Mapping[str, Any], path: str) -> Mapping[str, float] | None:
    node: Any = tree
    for part in path.split("."):
        if not isinstance(node, Mapping) or part not in node:
            return None
        node = node[part]
    return node if isinstance(node, Mapping) else None


def normalised_weights(weights: Mapping[str, float]) -> dict[str, float]:
    """Weights divided by their sum (an empty mapping stays empty)."""
    total = math.fsum(weights.values())
    if not weights:
        return {}
    if total <= 0:
        raise ValueError("allocation weights sum to 0; cannot renormalise")
    return {k: float(v) / total for k, v in weights.items()}


def off_allocations(scope: str, tree: Mapping[str, Any]) -> list[str]:
    """Paths of the allocations in ``tree`` whose weights do not sum to 1."""
    out = []
    for path in ALLOCATION_PATHS[scope]:
        weights = _weights(tree, path)
        if weights and abs(math.fsum(weights.values()) - 1.0) > TOLERANCE:
            out.append(path)
    return out


def with_normalised_allocations(scope: str, tree: Mapping[str, Any]) -> dict[str, Any]:
    """A copy of an operator tree with every allocation of its scope summing to 1."""
    out = dict(tree)
    for path in off_allocations(scope, tree):
        out = with_override(out, path, normalised_weights(_weights(tree, path)))
    return out


def touches_allocation(scope: str, path: str) -> bool:
    return any(path.startswith(p + ".") for p in ALLOCATION_PATHS[scope])


__all__ = ["leaf", "normalised_weights", "off_allocations", "with_normalised_allocations",
           "touches_allocation"]
