"""Stages stay thin (issue 14: load → one d3 call → save): no stage function over 60 lines."""

from __future__ import annotations

import ast

from tests.helpers import ROOT

MAX_LINES = 60


def test_no_stage_function_is_longer_than_60_lines():
    long = []
    for path in sorted((ROOT / "stages").glob("*.py")):
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef):
                lines = node.end_lineno - node.lineno + 1
                if lines > MAX_LINES:
                    long.append(f"stages/{path.name}:{node.name} has {lines} lines")
    assert long == []
