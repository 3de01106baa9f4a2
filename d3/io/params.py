"""Reading the plan's params the way DVC reads them (YAML 1.2), restricted to declared keys."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

from d3.io.yaml12 import read_yaml
from d3.models.plan import Plan


def _lookup(tree: Mapping[str, Any], dotted: str) -> Any:
    node: Any = tree
    for part in dotted.split("."):
        node = node[part]
    return node


def declared_params(params_path: Path, keys: Sequence[str]) -> dict[str, Any]:
    """``{key: value}`` for exactly ``keys`` of the plan file, defaults applied."""
    plan = Plan.model_validate(read_yaml(params_path)).model_dump(mode="json")
    return {key: _lookup(plan, key) for key in keys}
