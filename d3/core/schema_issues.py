"""Turn pydantic validation errors into D3 issues with a location, a message and a fix."""

from __future__ import annotations

import difflib
import re
import typing
import unicodedata
from collections.abc import Sequence
from typing import Any

from pydantic import BaseModel
from pydantic import ValidationError as PydanticValidationError

from d3.core.errors import Issue
from d3.models.common import types_in


def key_path(loc: Sequence[Any]) -> str:
    """``('a', 'b', 0, 'c')`` → ``a.b[0].c``; control characters in a key are shown escaped
    (``\\x07``), never printed."""
    out = ""
    for part in loc:
        if isinstance(part, int):
            out += f"[{part}]"
        else:
            out += f".{visible(str(part))}" if out else visible(str(part))
    return out


def visible(text: str) -> str:
    """``text`` with every control character (Unicode Cc, line separators, bidi controls)
    written as an escape such as ``\\x07``, so that a message naming it prints safely."""
    return "".join(_escape(ch) if is_control(ch) else ch for ch in text)


def is_control(ch: str) -> bool:
    """A character no name may contain: category Cc (``\\x00``–``\\x1f``, ``\\x7f``, C1),
    the line and paragraph separators and the bidirectional controls."""
    return unicodedata.category(ch) == "Cc" or ch in OTHER_CONTROLS


# Not in category Cc, but they break lines (U+2028/9) or reorder what is shown (bidi controls).
OTHER_CONTROLS = frozenset("\u2028\u2029\u202a\u202b\u202c\u202d\u202e\u2066\u2067\u2068\u2069")


def _escape(ch: str) -> str:
    code = ord(ch)
    return f"\\x{code:02x}" if code < 0x100 else f"\\u{code:04x}"


def _child(annotation: Any, part: Any) -> Any | None:
    for candidate in types_in(annotation):
        origin = typing.get_origin(candidate)
        if isinstance(candidate, type) and issubclass(candidate, BaseModel):
            field = candidate.model_fields.get(part)
            if field is not None:
                return field.annotation
        elif origin is list and isinstance(part, int):
            return typing.get_args(candidate)[0]
        elif origin is dict and isinstance(part, str):
            return typing.get_args(candidate)[1]
    return None


def allowed_keys(model: type[BaseModel], parent_loc: Sequence[Any]) -> list[str]:
    """Field names of the sub-model at ``parent_loc`` (empty if it is not a model)."""
    annotation: Any = model
    for part in parent_loc:
        annotation = _child(annotation, part)
        if annotation is None:
            return []
    for candidate in types_in(annotation):
        if isinstance(candidate, type) and issubclass(candidate, BaseModel):
            return list(candidate.model_fields)
    return []


def nearest_key_hint(key: str, valid: Sequence[str]) -> str:
    match = difflib.get_close_matches(key, list(valid), n=1, cutoff=0.6)
    if match:
        return f"did you mean `{match[0]}`?"
    if valid:
        return f"remove it; allowed keys here: {', '.join(sorted(valid))}"
    return "remove it"


def _num(value: Any) -> str:
    if isinstance(value, float) and value.is_integer() and abs(value) < 1e15:
        return str(int(value))
    if isinstance(value, float):
        return f"{value:g}"
    return str(value)


DECIMAL_COMMA = re.compile(r"^\s*-?\d+,\d+\s*$")


def number_hint(got: Any) -> str:
    """How to write a number; names the decimal comma when that is the mistake (``0,69``)."""
    if isinstance(got, str) and DECIMAL_COMMA.match(got):
        return f"use '.' as decimal point: {got.strip().replace(',', '.')}"
    return "write a plain number such as 12.5"


def describe(err: dict[str, Any], model: type[BaseModel]) -> tuple[str, str]:
    """(message, hint) for one pydantic error dict."""
    kind = err["type"]
    ctx = err.get("ctx") or {}
    got = err.get("input")
    bounds = {
        "greater_than_equal": ("≥", "ge"),
        "greater_than": (">", "gt"),
        "less_than_equal": ("≤", "le"),
        "less_than": ("<", "lt"),
    }
    if kind == "missing":
        return "required key is missing", "add it (docs/INPUTS.md lists every key with its unit)"
    if kind == "extra_forbidden":
        loc = err["loc"]
        return "unknown key", nearest_key_hint(str(loc[-1]), allowed_keys(model, loc[:-1]))
    if kind in bounds:
        sign, name = bounds[kind]
        limit = _num(ctx.get(name))
        return f"must be {sign} {limit}, got {_num(got)}", f"use a value {sign} {limit}"
    if kind == "finite_number":
        return f"must be a finite number, got {got}", "replace NaN/inf with a real value"
    if kind in ("int_parsing", "int_type", "int_from_float"):
        return f"must be a whole number, got {got!r}", "write an integer such as 12"
    if kind in ("float_parsing", "float_type"):
        return f"must be a number, got {got!r}", number_hint(got)
    if kind in ("bool_parsing", "bool_type"):
        return f"must be true or false, got {got!r}", "write true or false"
    if kind == "literal_error":
        expected = ctx.get("expected", "")
        return f"must be one of {expected}, got {got!r}", f"use one of {expected}"
    if kind in ("dict_type", "model_type", "model_attributes_type"):
        return f"must be a mapping of keys, got {got!r}", "indent its keys below it"
    if kind == "list_type":
        return f"must be a list, got {got!r}", "write it as a list: [a, b, c]"
    if kind == "string_type":
        return f"must be text, got {got!r}", "quote the value"
    if kind == "too_short":
        return "must not be empty", "list at least one item"
    if kind == "string_too_short":
        return "must not be empty", "fill it in"
    if kind == "value_error":
        text = str(ctx.get("error", err.get("msg", "")))
        message, _, hint = text.partition(" — ")
        return message, hint or "see docs/INPUTS.md"
    return str(err.get("msg", kind)), "see docs/INPUTS.md"


def issues_from_pydantic(
    exc: PydanticValidationError,
    *,
    file: str,
    model: type[BaseModel],
    location: str | None = None,
) -> list[Issue]:
    """One issue per pydantic error. YAML files use the key path as location; CSV rows pass
    ``location`` (``row N (id)``) and get the column name in front of the message."""
    issues = []
    for err in exc.errors():
        message, hint = describe(err, model)
        path = key_path(err["loc"])
        if location is None:
            issues.append(Issue(file, path or "(file)", message, hint))
        else:
            text = f"{path} {message}" if path else message
            issues.append(Issue(file, location, text, hint))
    return issues
