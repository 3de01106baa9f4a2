"""The report's tables as one Excel workbook (issue 15 items 4 and 8).

One sheet per CSV table the report uses, cell for cell: a number written as a number (``int``
when the CSV's text is an integer, else ``float``), an empty cell left empty, and every other
text written as a string, never as a formula, whatever it starts with (``=``, ``+``, ``-``,
``@``). An "Assumptions" sheet lists every market fact with its source, and "Operator settings"
the operator's validated policy. Header rows bold and frozen, columns sized to their text.

``workbook_bytes`` is deterministic: the document properties carry a fixed date and the zip is
re-packed with its entries in name order and a fixed timestamp, so the same tables always give
the same bytes.
"""

from __future__ import annotations

import csv
import datetime
import io
import math
import re
import zipfile
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from openpyxl import Workbook
from openpyxl.cell.cell import ILLEGAL_CHARACTERS_RE
from openpyxl.styles import Font
from openpyxl.utils import get_column_letter
from openpyxl.writer.excel import ExcelWriter

Cell = int | float | str | None
# Excel's limits: 31 characters in a sheet name, none of these characters.
SHEET_NAME_MAX = 31
_SHEET_NAME_FORBIDDEN = re.compile(r"[\[\]:*?/\\]")
_INT = re.compile(r"^-?(?:0|[1-9]\d*)$")
_DECIMAL = re.compile(r"^-?(?:(?:0|[1-9]\d*)(?:\.\d*)?|\.\d+)(?:[eE][-+]?\d+)?$")
# Text Excel would turn into a formula when someone edits the cell: written with a quote prefix.
FORMULA_TRIGGERS = ("=", "+", "-", "@")
# Excel keeps 15 significant digits: a longer integer would come back altered, so stays text.
EXCEL_INT_DIGITS = 15
FIXED_TIMESTAMP = datetime.datetime(2000, 1, 1)  # document properties (created/modified)
ZIP_DATE_TIME = (1980, 1, 1, 0, 0, 0)  # the earliest date a zip entry can hold
COLUMN_WIDTH_MIN, COLUMN_WIDTH_MAX = 8, 60
EXCEL_MAX_ROWS = 1_048_576


@dataclass(frozen=True)
class SheetTable:
    """One sheet: a header row and data rows of typed cells (``None`` = empty cell)."""

    name: str
    header: tuple[str, ...]
    rows: tuple[tuple[Cell, ...], ...]


def cell_value(text: str) -> Cell:
    """A CSV cell as Excel should hold it: ``""`` → None, integer text (no sign other than
    ``-``, no leading zero, ≤ 15 digits) → int, decimal text → float, anything else (``nan``,
    ``n/m``, ``=1+1``, ``007``) → the text itself."""
    if text == "":
        return None
    if _INT.match(text):
        return int(text) if len(text.lstrip("-")) <= EXCEL_INT_DIGITS else text
    if _DECIMAL.match(text) and math.isfinite(float(text)):  # Excel holds no inf
        return float(text)
    return text


def sheet_table(name: str, csv_text: str) -> SheetTable:
    """The sheet of a CSV file's text (first row = header); ValueError if it has no header."""
    rows = list(csv.reader(io.StringIO(csv_text, newline="")))
    if not rows:
        raise ValueError(f"{name}: the CSV is empty (no header row)")
    return SheetTable(name, tuple(rows[0]),
                      tuple(tuple(cell_value(c) for c in row) for row in rows[1:]))


def sheet_names(names: Sequence[str]) -> tuple[str, ...]:
    """Valid, unique sheet names in the same order: forbidden characters become ``_``, names
    are cut to 31 characters, and a repeat gets ``~2``, ``~3``… (cut to make room)."""
    taken: set[str] = set()
    out = []
    for name in names:
        base = _SHEET_NAME_FORBIDDEN.sub("_", name)[:SHEET_NAME_MAX] or "Sheet"
        candidate, n = base, 1
        while candidate.lower() in taken:  # Excel compares sheet names case-insensitively
            n += 1
            suffix = f"~{n}"
            candidate = base[:SHEET_NAME_MAX - len(suffix)] + suffix
        taken.add(candidate.lower())
        out.append(candidate)
    return tuple(out)


def _flattened(value: Any, path: str = "") -> Iterator[tuple[str, Any]]:
    if isinstance(value, Mapping):
        for key, item in value.items():
            yield from _flattened(item, f"{path}.{key}" if path else str(key))
    elif isinstance(value, list):
        for i, item in enumerate(value):
            yield from _flattened(item, f"{path}[{i}]")
    else:
        yield path, value


def _json_cell(value: Any) -> Cell:
    """A JSON scalar as a cell: booleans as text (Excel has no JSON null/bool distinction)."""
    if isinstance(value, bool):
        return "true" if value else "false"
    return value


ASSUMPTIONS_HEADER = ("fact_file", "item", "field", "value", "unit", "source", "as_of")
# facts/<file> → (validated document, its key, the fields naming one record).
FACT_TABLES = (
    ("facts/ads_channels", "market", "ads_channels", ("channel_id",)),
    ("facts/agency_fees", "market", "agency_fees", ("agency_id",)),
    ("facts/insurances", "market", "insurances", ("insurer_id",)),
    ("facts/gpu_specs", "catalog", "gpu_specs", ("gpu",)),
    ("facts/tps_model_gpu", "catalog", "tps", ("model", "gpu", "gpu_count")),
)
_PRICED_IN_RECORD_CURRENCY = frozenset({"cost_per_click", "cpm"})


def fact_rows(file: str, records: Sequence[Mapping[str, Any]],
              id_fields: Sequence[str]) -> list[tuple[Cell, ...]]:
    """One row per stated field of each record (nulls are "not applicable" and skipped), with
    the record's source; the unit is the record's currency for prices, else the field's name
    carries it (``_eur``, ``_frac``, ``_gb``)."""
    rows = []
    for record in records:
        item = " / ".join(str(record[f]) for f in id_fields)
        for key, value in record.items():
            if key in (*id_fields, "source") or value is None:
                continue
            unit = record.get("currency") if key in _PRICED_IN_RECORD_CURRENCY else None
            rows.append((file, item, key, _json_cell(value), unit, record.get("source"), None))
    return rows


def assumptions_table(market: Mapping[str, Any], catalog: Mapping[str, Any]) -> SheetTable:
    """Every fact of ``inputs/facts/`` with its source, from the validated documents
    (``validated/market.json`` and ``validated/catalog.json`` as dicts)."""
    rows: list[tuple[Cell, ...]] = [
        ("facts/market_env", name, "value", _json_cell(fact["value"]), fact.get("unit"),
         fact.get("source"), fact.get("as_of"))
        for name, fact in market["market_env"]["finance"].items()
        if fact is not None]  # an optional fact the inputs do not state
    docs = {"market": market, "catalog": catalog}
    for file, doc, key, id_fields in FACT_TABLES:
        rows += fact_rows(file, docs[doc][key], id_fields)
    return SheetTable("Assumptions", ASSUMPTIONS_HEADER, tuple(rows))


def operator_settings_table(operators: Mapping[str, Mapping[str, Any]]) -> SheetTable:
    """The operator's validated settings, one row per leaf (``acquisition.cac_base_eur``);
    ``operators`` maps the operator file (``operator/general``) to its validated dict."""
    rows = tuple((file, path, _json_cell(value))
                 for file, doc in operators.items() for path, value in _flattened(doc))
    return SheetTable("Operator settings", ("operator_file", "setting", "value"), rows)


def _text(value: str) -> str:
    # openpyxl refuses the control characters XML 1.0 cannot hold; show them as U+FFFD.
    return ILLEGAL_CHARACTERS_RE.sub("\ufffd", value)


def _written_cell(ws, row: int, column: int, value: Cell):
    cell = ws.cell(row=row, column=column)
    if isinstance(value, str):
        cell.value = _text(value)
        cell.data_type = "s"  # text even when it starts with "=": never a formula
        if value.startswith(FORMULA_TRIGGERS):
            cell.quotePrefix = True  # …and it stays text after an edit in Excel
    elif value is not None:
        cell.value = value
    return cell


def _written_sheet(wb: Workbook, table: SheetTable) -> None:
    if len(table.rows) + 1 > EXCEL_MAX_ROWS:
        raise ValueError(f"{table.name}: {len(table.rows)} rows do not fit in a sheet "
                         f"({EXCEL_MAX_ROWS} rows at most) — leave this table out")
    ws = wb.create_sheet(table.name)
    for c, header in enumerate(table.header, start=1):
        _written_cell(ws, 1, c, header).font = Font(bold=True)
    for r, row in enumerate(table.rows, start=2):
        for c, value in enumerate(row, start=1):
            _written_cell(ws, r, c, value)
    ws.freeze_panes = "A2"
    for c, width in enumerate(column_widths(table), start=1):
        ws.column_dimensions[get_column_letter(c)].width = width


def column_widths(table: SheetTable) -> list[int]:
    """Characters per column: the longest header or cell text, within 8..60."""
    widths = [len(h) for h in table.header]
    for row in table.rows:
        for c, value in enumerate(row[:len(widths)]):
            widths[c] = max(widths[c], len("" if value is None else str(value)))
    return [min(max(w + 2, COLUMN_WIDTH_MIN), COLUMN_WIDTH_MAX) for w in widths]


def repacked_zip(data: bytes) -> bytes:
    """The same zip with its entries in name order and a fixed date, so that equal contents
    give equal bytes (openpyxl stamps every entry with the current time)."""
    out = io.BytesIO()
    with zipfile.ZipFile(io.BytesIO(data)) as src, \
            zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as dst:
        for name in sorted(src.namelist()):
            info = zipfile.ZipInfo(name, date_time=ZIP_DATE_TIME)
            info.compress_type = zipfile.ZIP_DEFLATED
            info.create_system = 3  # Unix, whatever machine writes it
            info.external_attr = 0o644 << 16
            dst.writestr(info, src.read(name))
    return out.getvalue()


def workbook_bytes(tables: Sequence[SheetTable]) -> bytes:
    """The ``.xlsx`` bytes of ``tables``, one sheet each in order (names must be valid and
    unique: see :func:`sheet_names`; ValueError otherwise). Deterministic."""
    names = [t.name for t in tables]
    if list(sheet_names(names)) != names:
        raise ValueError(f"invalid or repeated sheet names: {names} — pass them through "
                         "sheet_names()")
    wb = Workbook()
    wb.remove(wb.active)
    for table in tables:
        _written_sheet(wb, table)
    wb.properties.created = wb.properties.modified = FIXED_TIMESTAMP
    wb.properties.creator = "d3"
    buffer = io.BytesIO()
    # ExcelWriter, not openpyxl.save_workbook: the latter stamps "modified" with the clock.
    ExcelWriter(wb, zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED)).save()
    return repacked_zip(buffer.getvalue())
