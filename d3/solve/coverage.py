"""How much of the decisions' space a search covered, read from ``solve_best.json``'s
``evaluations`` — one place for the CLI's closing line and the report (a module without the
model's imports: every stage's code deps include the CLI)."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any


def every_combination_evaluated(counts: Mapping[str, Any]) -> bool:
    """Did the search evaluate every combination the decisions allow (``counts``: the
    ``evaluations`` of ``solve_best.json``; ``candidates`` distinct, else ``total``)? Then
    more trials cannot help; only wider ranges or other keys can."""
    combinations = counts.get("combinations")
    return bool(combinations) and counts.get("candidates", counts["total"]) >= combinations
