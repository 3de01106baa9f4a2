"""Inputs are text, never markup or terminal codes (issue 15): no control characters.

A name from the inputs (a model, GPU, provider, channel, insurer, variable id, a YAML key …)
ends up in Markdown tables, HTML, Excel cells and on the user's terminal. A control character
in it (``\\x00``–``\\x1f``, ``\\x7f``, the C1 range — Unicode category Cc — or a line separator
or bidirectional override) cannot be shown, can break a table row or rewrite what a terminal
shows. The validator refuses every one of them, in every cell, key and value, except tab and
line breaks in free prose (``notes``, ``source``, ``description``), which are harmless there.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from typing import Any

from d3.core.errors import Issue
from d3.core.schema_issues import is_control, key_path, visible

# Multi-line prose: tab and line breaks are text there, not a threat to a name or a table.
FREE_TEXT_KEYS = frozenset({"notes", "source", "description"})
PROSE_WHITESPACE = frozenset("\t\n\r")
HINT = "remove it: names and values in the inputs are plain text"


def controls_in(text: str, *, prose: bool = False) -> list[str]:
    """The distinct control characters of ``text`` as ``U+0007`` codes, in order of first
    appearance; tab and line breaks are allowed in prose."""
    found = [ch for ch in text if is_control(ch) and not (prose and ch in PROSE_WHITESPACE)]
    return [f"U+{ord(ch):04X}" for ch in dict.fromkeys(found)]


def _message(what: str, codes: list[str]) -> str:
    chars = "the control character" if len(codes) == 1 else "the control characters"
    return f"{what} contains {chars} {', '.join(codes)}"


def table_issues(file: str, header: tuple[str, ...], rows, kind: str,
                 row_id) -> list[Issue]:
    """One issue per header cell and per (row, column) cell with a control character.
    ``rows``: ``(number, record)`` pairs; ``row_id(record)``: the row's id as shown."""
    out = [Issue(file, "header", _message(f"column name '{visible(name)}'", codes), HINT)
           for name in header if (codes := controls_in(name))]
    label = "row" if kind == "csv" else "item"
    for number, record in rows:
        for column, value in record.items():
            if not isinstance(value, str):
                continue
            codes = controls_in(value, prose=column in FREE_TEXT_KEYS)
            if codes:
                out.append(Issue(file, f"{label} {number} ({visible(row_id(record))})",
                                 _message(f"{visible(str(column))} '{visible(value)}'", codes),
                                 HINT))
    return out


def document_issues(file: str, data: Any) -> list[Issue]:
    """One issue per YAML key or string value with a control character; the location is the
    key path (escaped)."""
    out = []
    for path, key, value in _strings(data, ()):
        where = key_path(path) or "(file)"
        if key is not None and (codes := controls_in(key)):
            out.append(Issue(file, where, _message(f"the key '{visible(key)}'", codes), HINT))
        if isinstance(value, str):
            prose = isinstance(path[-1], str) and path[-1] in FREE_TEXT_KEYS
            if codes := controls_in(value, prose=prose):
                out.append(Issue(file, where, _message(f"the value '{visible(value)}'", codes),
                                 HINT))
    return out


def _strings(node: Any, path: tuple) -> Iterator[tuple[tuple, str | None, Any]]:
    """``(path, key, value)`` for every mapping entry and list item below ``node``."""
    if isinstance(node, Mapping):
        for key, value in node.items():
            here = (*path, key)
            yield here, key if isinstance(key, str) else None, value
            yield from _strings(value, here)
    elif isinstance(node, list):
        for k, value in enumerate(node):
            here = (*path, k)
            yield here, None, value
            yield from _strings(value, here)


def inputs_issues(raw, id_columns: Mapping[str, tuple[str, ...]]) -> list[Issue]:
    """Every control character in a :class:`d3.io.loader.RawInputs` tree: its tables (CSV or
    YAML lists; a row named by its ``id_columns[table name]``, as the other checks name it),
    its YAML documents and the plan."""
    out: list[Issue] = []
    for name, table in sorted(raw.tables.items()):
        cols = id_columns.get(name, ())
        out += table_issues(table.file, table.header, table.rows, table.kind,
                            lambda r, cols=cols: "/".join(str(r.get(c, "?")) for c in cols))
    for doc in (*raw.docs.values(), *([raw.plan] if raw.plan is not None else [])):
        out += document_issues(doc.file, doc.data)
    return out
