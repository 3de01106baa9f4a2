"""Deterministic text of the imported tree: YAML with sorted keys and fixed number formatting,
exact decimal arithmetic for converted numbers."""

from __future__ import annotations

import datetime as dt
import json
import re
from decimal import Decimal, InvalidOperation
from typing import Any

_PLAIN_KEY = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")
_PLAIN_TEXT = re.compile(r"^[A-Za-z_][A-Za-z0-9_\-]*$")
_INDEXED = re.compile(r"^(\w+)\[(\d+)\]$")
_RESERVED = {"true", "false", "null", "yes", "no", "on", "off", "y", "n", "~"}


def decimal(text: Any) -> Decimal | None:
    """The exact decimal of a cell or YAML number (``"9.40"`` → 9.40), else None."""
    if isinstance(text, bool) or text is None:
        return None
    try:
        value = Decimal(str(text).strip())
    except (InvalidOperation, ValueError):
        return None
    return value if value.is_finite() else None


def number_text(value: Decimal | int | float) -> str:
    """Shortest exact text without exponent: 55.00 → ``55``, 0.00500 → ``0.005``."""
    d = value if isinstance(value, Decimal) else Decimal(repr(value))
    text = format(d, "f")
    if "." in text:
        text = text.rstrip("0").rstrip(".")
    return "0" if text in ("", "-0") else text


def yaml_number(value: Decimal) -> int | float:
    """A converted decimal as the YAML number it is written as (int when integral)."""
    return int(value) if value == value.to_integral_value() else float(value)


def _scalar(value: Any) -> str:
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int):
        return str(value)
    if isinstance(value, float):
        text = format(Decimal(repr(value)), "f")
        return text if "." in text else text + ".0"
    if isinstance(value, dt.date):
        value = value.isoformat()
    text = str(value)
    if _PLAIN_TEXT.match(text) and text.lower() not in _RESERVED:
        return text
    return json.dumps(text, ensure_ascii=False)


def _key(key: Any) -> str:
    text = str(key)
    return text if _PLAIN_KEY.match(text) and text.lower() not in _RESERVED else json.dumps(
        text, ensure_ascii=False)


def _lines(value: Any, indent: int) -> list[str]:
    pad = "  " * indent
    out = []
    for key in sorted(value, key=str):
        item = value[key]
        if isinstance(item, dict) and item:
            out.append(f"{pad}{_key(key)}:")
            out += _lines(item, indent + 1)
        elif isinstance(item, list) and item and all(isinstance(i, dict) for i in item):
            out.append(f"{pad}{_key(key)}:")
            for record in item:
                inner = _lines(record, indent + 2)
                inner[0] = f"{pad}  - " + inner[0].lstrip()
                out += inner
        elif isinstance(item, list):
            out.append(f"{pad}{_key(key)}: [{', '.join(_scalar(i) for i in item)}]")
        elif isinstance(item, dict):
            out.append(f"{pad}{_key(key)}: {{}}")
        else:
            out.append(f"{pad}{_key(key)}: {_scalar(item)}")
    return out


def yaml_text(data: dict[str, Any], header: str = "") -> str:
    """Block YAML: keys sorted, two-space indent, strings plain when unambiguous else
    double-quoted, floats without exponent (``1e-05`` → ``0.00001``), lists of scalars in
    flow style; a ``# header`` comment line first when given."""
    head = "".join(f"# {line}\n" for line in header.splitlines())
    return head + "\n".join(_lines(data, 0)) + "\n"


def set_path(tree: dict[str, Any], dotted: str, value: Any) -> None:
    """Set ``tree[a][b][c] = value`` for ``a.b.c``, creating mappings on the way; a segment
    ``name[i]`` is item ``i`` of a list of mappings."""
    parts = dotted.split(".")
    node: Any = tree
    for depth, part in enumerate(parts):
        last = depth == len(parts) - 1
        match = _INDEXED.match(part)
        if match:
            items = node.setdefault(match.group(1), [])
            index = int(match.group(2))
            items.extend({} for _ in range(index + 1 - len(items)))
            if last:
                items[index] = value
            node = items[index]
        elif last:
            node[part] = value
        else:
            node = node.setdefault(part, {})


def get_path(tree: Any, dotted: str) -> tuple[bool, Any]:
    node = tree
    for part in dotted.split("."):
        if not isinstance(node, dict) or part not in node:
            return False, None
        node = node[part]
    return True, node
