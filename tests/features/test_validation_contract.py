"""Steps of validation_contract.feature: break one file of a copy of the minimal fixture, then
``d3 validate`` and ``d3 run`` (in-process, through the real CLI) must exit 2 with the exact
``FILE:LOCATION: message — hint`` line, and ``d3 run`` must not create its --out directory."""

from __future__ import annotations

import io
from pathlib import Path

from pytest_bdd import given, parsers, scenarios, then, when
from ruamel.yaml import YAML

from tests.helpers import copy_minimal, edit_csv, edit_yaml, invoke

scenarios("validation_contract.feature")


def error_lines(stderr: str) -> list[str]:
    return [line for line in stderr.splitlines() if not line.startswith(("warning:", "note:"))]


@given("a writable copy of the minimal fixture", target_fixture="root")
def _copy(tmp_path) -> Path:
    return copy_minimal(tmp_path / "tree")


@given(parsers.parse('row {row:d} of "{file}" has {column} = {value}'))
def _csv_cell(root, row, file, column, value):
    """CSV row numbers count the header as row 1, so row 3 is the second data row."""
    def change(header, rows):
        assert column in header
        rows[row - 2][column] = value
    edit_csv(root / file, change)


@given(parsers.parse('"{file}" has the key {key} = {value}'))
def _yaml_key(root, file, key, value):
    scalar = YAML(typ="safe", pure=True).load(io.StringIO(value))  # "70" → 70, as YAML reads it

    def change(data: dict) -> None:
        *parents, last = key.split(".")
        node = data
        for part in parents:
            node = node.setdefault(part, {})
        node[last] = scalar
    edit_yaml(root / file, change)


@given(parsers.parse('"{file}" is missing'))
def _missing(root, file):
    (root / file).unlink()


@when('"d3 validate" checks the copy', target_fixture="result")
def _validate(root):
    return invoke("validate", "--inputs", str(root / "inputs"))


@when('"d3 run" runs the copy into a fresh --out directory', target_fixture="result")
def _run(root, tmp_path):
    return invoke("run", "--inputs", str(root / "inputs"), "--out", str(tmp_path / "out"))


@then(parsers.parse("it exits with code {code:d}"))
def _exit_code(result, code):
    assert result.exit_code == code, result.stderr


@then(parsers.parse('stderr has exactly one error line: "{line}"'))
def _one_error(result, line):
    assert error_lines(result.stderr) == [line]


@then("stderr has no error line")
def _no_error(result):
    assert error_lines(result.stderr) == []


@then("the --out directory does not exist")
def _nothing_written(tmp_path):
    assert not (tmp_path / "out").exists()
