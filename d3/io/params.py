"""Reading the plan's params the way DVC reads them (YAML 1.2), restricted to declared keys."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Any

from d3.core.variables import node_at
from d3.io.yaml12 import read_yaml
from d3.models.plan import Plan


def declared_params(params_path: Path, keys: Sequence[str]) -> dict[str, Any]:
    """``{key: value}`` for exactly ``keys`` of the plan file, defaults applied."""
    plan = Plan.model_validate(read_yaml(params_path)).model_dump(mode="json")
    return {key: node_at(plan, key)[1] for key in keys}
