"""CSV inputs may carry comment rows (first non-blank cell starts with ``#``) and blank lines;
both are skipped and every other row keeps its file line number (issue 13)."""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

import pytest

from d3.core.errors import ValidationError
from d3.core.validator import validated_inputs
from d3.io.loader import RawInputs, _csv_table, numbered_rows, skipped_row
from tests.helpers import copy_minimal

VAR_GEN = "inputs/variables/general.csv"
VAR_PUB = "inputs/variables/public_tap.csv"
VAR_PRIV = "inputs/variables/private_tap.csv"


def test_comment_and_blank_rows_are_recognised():
    assert skipped_row([]) and skipped_row(["", "  "])
    assert skipped_row(["# Growth & churn"]) and skipped_row(["", " #note", "x"])
    assert not skipped_row(["pub_churn", "# not a comment: the first cell is data"])
    # Lines 1 (header), 3 and 6 are records; 2 is a comment, 4 and 5 are blank / commas only.
    text = "a,b\n# c,d\n1,2\n\n,,\n3,4\n"
    assert numbered_rows(text) == [(1, ["a", "b"]), (3, ["1", "2"]), (6, ["3", "4"])]


def test_a_leading_comment_and_blank_line_before_the_header(tmp_path: Path):
    path = tmp_path / "t.csv"
    path.write_text("# facts as of 2025-06\n\nx,y\n1,2\n")
    table = _csv_table(path, "inputs/t.csv", RawInputs())
    assert table.header == ("x", "y")
    assert table.rows == ((4, {"x": "1", "y": "2"}),)


def test_a_semicolon_file_behind_a_comment_is_still_diagnosed(tmp_path: Path):
    path = tmp_path / "t.csv"
    path.write_text("# exported from a spreadsheet\nx;y\n0,5;2\n")
    raw = RawInputs()
    assert _csv_table(path, "inputs/t.csv", raw) is None
    assert [i.line() for i in raw.issues] == [
        "inputs/t.csv:header: this file uses ';' as delimiter and ',' as decimal mark, not ',' "
        "— save it as comma-separated CSV (UTF-8) with '.' as decimal point"]


def _commented(path: Path) -> None:
    """The file with a comment row after the header, a blank line and a comment at the end."""
    header, *rows = path.read_text().splitlines()
    lines = [header, "# Growth & churn", "", *rows, "", "# end of file,,,"]
    path.write_text("\n".join(lines) + "\n")


def _variables(root: Path):
    from d3.io.loader import read_inputs_tree

    return validated_inputs(read_inputs_tree(root / "inputs", root / "params.yaml")).variables


def test_variables_files_with_comments_read_like_the_plain_files(tmp_path: Path):
    plain = _variables(copy_minimal(tmp_path / "plain"))
    root = copy_minimal(tmp_path / "commented")
    # general.csv and private_tap.csv have no distribution column, public_tap.csv has one:
    # both layouts.
    for rel in (VAR_GEN, VAR_PUB, VAR_PRIV):
        _commented(root / rel)
    commented = _variables(root)
    # Every variable is the same; only the row numbers moved by the two inserted lines.
    assert [replace(v, row=v.row - 2) for v in commented] == list(plain)
    assert [(v.variable_id, v.row) for v in commented] == [
        ("gen_contingency", 4), ("pub_margin", 4), ("pub_churn", 5), ("priv_markup", 4)]


def test_messages_name_the_file_line_of_a_row_after_comments(tmp_path: Path):
    root = copy_minimal(tmp_path)
    path = root / VAR_PUB
    header, margin, churn = path.read_text().splitlines()
    # Line 1 header, 2 comment, 3 blank, 4 pub_margin, 5 comment, 6 pub_churn with step 0.
    path.write_text("\n".join([header, "# Growth & churn", "", margin, "  # churn ",
                               churn.replace(",0.5,", ",0,")]) + "\n")
    with pytest.raises(ValidationError) as err:
        _variables(root)
    assert [i.line() for i in err.value.issues] == [
        f"{VAR_PUB}:row 6 (pub_churn): step must be > 0, got 0 — use a positive step"]
