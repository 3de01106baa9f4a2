"""The reference configuration of a tap: operator constants with every variable at its
default, allocations normalised. The price card and base-case paths use it."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from d3.core.allocations import with_normalised_allocations
from d3.core.variables import Variable, reference_overrides, with_overrides
from d3.models.operator import PrivateOperator, PublicOperator

MODELS = {"public_tap": PublicOperator, "private_tap": PrivateOperator}


def configured(scope: str, operator_dump: Mapping[str, Any], overrides: Mapping[str, Any]):
    """The typed operator of ``scope`` with ``overrides`` applied and allocations summing to 1."""
    tree = with_normalised_allocations(scope, with_overrides(operator_dump, overrides))
    return MODELS[scope].model_validate(tree)


def reference_operator(scope: str, operator_dump: Mapping[str, Any],
                       variables: Sequence[Variable], grid_index: int | None = None):
    """The tap's reference operator; at grid point ``grid_index`` when given (its
    ``low_to_high`` variables at that point), else at their defaults."""
    return configured(scope, operator_dump, reference_overrides(variables, scope, grid_index))
