"""YAML read exactly as DVC reads params (YAML 1.2, ruamel ``typ="safe"``).

PyYAML implements YAML 1.1, where ``1e-3`` is a string and ``yes`` is a boolean; DVC records
params with ruamel's YAML 1.2 loader. Reading with the same loader guarantees that the values a
stage uses are the values ``dvc.lock`` records.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from ruamel.yaml import YAML
from ruamel.yaml.error import YAMLError


class YamlReadError(Exception):
    """The file is not valid YAML; ``line`` is 1-based when known."""

    def __init__(self, message: str, line: int | None):
        super().__init__(message)
        self.line = line


def parse_yaml_text(text: str) -> Any:
    """Parse YAML 1.2 text with DVC's loader; an empty document is ``{}``."""
    try:
        return YAML(typ="safe").load(text) or {}
    except YAMLError as exc:
        mark = getattr(exc, "problem_mark", None) or getattr(exc, "context_mark", None)
        line = mark.line + 1 if mark is not None else None
        problem = getattr(exc, "problem", None) or str(exc).splitlines()[0]
        raise YamlReadError(str(problem), line) from exc


def read_yaml(path: Path) -> Any:
    return parse_yaml_text(path.read_text(encoding="utf-8"))
