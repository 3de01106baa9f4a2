"""Read an inputs tree (SPEC §1) into raw documents and tables, collecting file-level issues.

Nothing here judges values: it finds files, parses YAML 1.2 and CSV, applies the CSV-over-YAML
precedence rule and records each file's sha256. :mod:`d3.core.validator` checks the contents.
CSV comment rows (first non-blank cell starting with ``#``) and blank lines are skipped; record
numbers stay the file's line numbers.
"""

from __future__ import annotations

import csv
import hashlib
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from d3.core.errors import Issue
from d3.io.yaml12 import YamlReadError, parse_yaml_text

# Logical name → path below the inputs dir, without extension.
OPERATOR_DOCS = {
    "general": "operator/general",
    "public_tap": "operator/public_tap",
    "private_tap": "operator/private_tap",
}
FACT_DOCS = {"market_env": "facts/market_env"}
TABLES = {
    "models": "operator/curated_public_tap_models",
    "offers": "operator/curated_gpu",
    "tps": "facts/tps_model_gpu",
    "gpu_specs": "facts/gpu_specs",
    "ads_channels": "facts/ads_channels",
    "agency_fees": "facts/agency_fees",
    "insurances": "facts/insurances",
    "variables_general": "variables/general",
    "variables_public_tap": "variables/public_tap",
    "variables_private_tap": "variables/private_tap",
}
# Read when present, else absent without an issue (issue 16: rank correlations).
OPTIONAL_TABLES = {"correlations": "variables/correlations"}
INPUTS_LABEL = "inputs"  # files are shown as inputs/<rel>, whatever the directory is called


@dataclass(frozen=True)
class RawDoc:
    file: str  # display path, e.g. inputs/operator/general.yaml
    data: Any


@dataclass(frozen=True)
class RawTable:
    file: str
    header: tuple[str, ...]
    rows: tuple[tuple[int, dict[str, Any]], ...]  # (row number as shown to users, record)
    kind: str  # "csv" (row = line number, header is row 1) or "yaml" (row = item number)
    # Rows with more cells than the header: already reported, their cells cannot be trusted
    # (shifted by an unquoted comma), so they are not validated again.
    unreadable: frozenset[int] = frozenset()


@dataclass
class RawInputs:
    docs: dict[str, RawDoc] = field(default_factory=dict)
    tables: dict[str, RawTable] = field(default_factory=dict)
    plan: RawDoc | None = None
    issues: list[Issue] = field(default_factory=list)
    sha256: dict[str, str] = field(default_factory=dict)
    # The plan is DVC's params file (params.yaml beside dvc.yaml): every key dvc.yaml names
    # must then be written in it, since DVC knows no defaults.
    plan_tracked_by_dvc: bool = False


def display_path(path: Path, inputs_dir: Path) -> str:
    """``inputs/<rel>`` for files in the inputs tree, else the file name (no absolute paths)."""
    try:
        return f"{INPUTS_LABEL}/{path.resolve().relative_to(inputs_dir.resolve()).as_posix()}"
    except ValueError:
        return path.name


def _read_bytes(path: Path, shown: str, raw: RawInputs) -> bytes:
    data = path.read_bytes()
    raw.sha256[shown] = hashlib.sha256(data).hexdigest()
    return data


def _yaml_doc(path: Path, shown: str, raw: RawInputs) -> RawDoc | None:
    try:
        text = _read_bytes(path, shown, raw).decode("utf-8")
        data = parse_yaml_text(text)
    except UnicodeDecodeError:
        raw.issues.append(Issue(shown, "(file)", "is not UTF-8 text", "save it as UTF-8"))
        return None
    except YamlReadError as exc:
        where = f"line {exc.line}" if exc.line else "(file)"
        raw.issues.append(Issue(shown, where, f"is not valid YAML: {exc}", "fix the syntax"))
        return None
    if not isinstance(data, dict):
        raw.issues.append(
            Issue(shown, "(file)", "must be a mapping of keys", "start with `key: value` lines")
        )
        return None
    return RawDoc(shown, data)


def skipped_row(cells: list[str]) -> bool:
    """A CSV row that is not data: blank, or a comment (its first non-blank cell starts
    with ``#``, e.g. ``# Growth & churn`` or ``,,# note``)."""
    first = next((c.strip() for c in cells if c.strip()), "")
    return first == "" or first.startswith("#")


def numbered_rows(text: str) -> list[tuple[int, list[str]]]:
    """``(line number, cells)`` of every CSV record of ``text`` that is not blank or a comment;
    the number is the file line the record starts on (a quoted cell may span lines)."""
    reader = csv.reader(text.splitlines())
    out, consumed = [], 0
    for cells in reader:
        if not skipped_row(cells):
            out.append((consumed + 1, cells))
        consumed = reader.line_num
    return out


def _csv_table(path: Path, shown: str, raw: RawInputs) -> RawTable | None:
    try:
        text = _read_bytes(path, shown, raw).decode("utf-8-sig")
    except UnicodeDecodeError:
        raw.issues.append(Issue(shown, "(file)", "is not UTF-8 text", "save it as UTF-8 CSV"))
        return None
    lines = numbered_rows(text)
    if not lines:
        raw.issues.append(Issue(shown, "header", "file is empty", "add a header row"))
        return None
    layout = csv_layout_issue(text, shown)
    if layout is not None:
        # One diagnosis instead of a "row N has K cells" line per row: the rows cannot be read.
        raw.issues.append(layout)
        return None
    header = tuple(c.strip() for c in lines[0][1])
    repeated = repeated_columns(header)
    if repeated:
        raw.issues.extend(Issue(shown, "header", f"column {name!r} appears {len(cols)} times "
                                f"(columns {', '.join(map(str, cols))})", "keep one column "
                                "of that name; a repeated column is never silently overridden")
                          for name, cols in repeated.items())
        return None
    rows, unreadable = [], set()
    for number, cells in lines[1:]:
        record = {}
        for name, cell in zip(header, cells, strict=False):
            value = cell.strip()
            if value != "" and name:
                record[name] = value
        if len(cells) > len(header):
            unreadable.add(number)
            raw.issues.append(
                Issue(shown, f"row {number}", f"has {len(cells)} cells but the header has "
                      f"{len(header)}", extra_cells_hint(cells)))
        rows.append((number, record))
    return RawTable(shown, header, tuple(rows), "csv", frozenset(unreadable))


def extra_cells_hint(cells: list[str]) -> str:
    """The fix for a row with too many cells; mentions a decimal comma (``0,69`` read as the
    two cells ``0`` and ``69``) when two neighbouring cells are whole numbers."""
    texts = [c.strip() for c in cells]
    if any(re.fullmatch(r"-?\d+", a) and re.fullmatch(r"\d+", b)
           for a, b in zip(texts, texts[1:], strict=False)):
        return ("quote values that contain commas; a decimal comma splits a number in two "
                "cells (write 0.69, not 0,69)")
    return "remove the extra cells or quote values with commas"


OTHER_DELIMITERS = {";": "';'", "\t": "tab", "|": "'|'"}
_DECIMAL_COMMA = re.compile(r"^-?\d+,\d+$")


def csv_layout_issue(text: str, shown: str) -> Issue | None:
    """The file-level reason a CSV cannot be read as comma-separated, or ``None``.

    A spreadsheet saved with a regional setting (e.g. German Excel) separates cells with ';'
    and writes decimals as ``0,69``: every row then looks like one cell. The header tells: it
    holds no comma but splits into several names on another delimiter."""
    content = [line for line in text.splitlines() if not _skipped_line(line)]
    if not content or "," in content[0]:
        return None
    first = content[0]
    for delimiter, name in OTHER_DELIMITERS.items():
        if len(first.split(delimiter)) < 2:
            continue
        cells = [c.strip() for line in content[1:] for c in line.split(delimiter)]
        decimal_comma = any(_DECIMAL_COMMA.match(c) for c in cells)
        extra = " and ',' as decimal mark" if decimal_comma else ""
        fix = " with '.' as decimal point" if decimal_comma else ""
        return Issue(shown, "header", f"this file uses {name} as delimiter{extra}, not ','",
                     f"save it as comma-separated CSV (UTF-8){fix}")
    return None


def _skipped_line(line: str) -> bool:
    """A raw line that is blank or a comment whatever the delimiter (``# …``, ``;;# …``)."""
    return line.strip(" \t,;|").startswith("#") or not line.strip(" \t,;|")


def repeated_columns(header: tuple[str, ...]) -> dict[str, list[int]]:
    """``{name: [1-based column numbers]}`` for every header name that occurs more than once."""
    where: dict[str, list[int]] = {}
    for number, name in enumerate(header, start=1):
        if name:
            where.setdefault(name, []).append(number)
    return {name: cols for name, cols in where.items() if len(cols) > 1}


def _yaml_table(path: Path, shown: str, raw: RawInputs) -> RawTable | None:
    doc = None
    try:
        data = parse_yaml_text(_read_bytes(path, shown, raw).decode("utf-8"))
    except YamlReadError as exc:
        where = f"line {exc.line}" if exc.line else "(file)"
        raw.issues.append(Issue(shown, where, f"is not valid YAML: {exc}", "fix the syntax"))
        return None
    doc = data.get("rows") if isinstance(data, dict) else data
    if not isinstance(doc, list) or not all(isinstance(r, dict) for r in doc):
        raw.issues.append(
            Issue(shown, "(file)", "must be a list of records", "write `- key: value` items")
        )
        return None
    header: list[str] = []
    for record in doc:
        header += [k for k in record if k not in header]
    rows = tuple(
        (i, {str(k): v for k, v in r.items() if v is not None}) for i, r in enumerate(doc, 1)
    )
    return RawTable(shown, tuple(str(h) for h in header), rows, "yaml")


def _table(inputs_dir: Path, stem: str, raw: RawInputs) -> RawTable | None:
    csv_path = inputs_dir / f"{stem}.csv"
    yaml_path = next(
        (p for p in (inputs_dir / f"{stem}.yaml", inputs_dir / f"{stem}.yml") if p.exists()), None
    )
    if csv_path.exists():
        shown = display_path(csv_path, inputs_dir)
        if yaml_path is not None:
            raw.issues.append(
                Issue(shown, "(file)",
                      f"shadows {display_path(yaml_path, inputs_dir)}; the CSV is used",
                      "delete one of the two files", "warning", "shadowed_input")
            )
        return _csv_table(csv_path, shown, raw)
    if yaml_path is not None:
        return _yaml_table(yaml_path, display_path(yaml_path, inputs_dir), raw)
    shown = f"{INPUTS_LABEL}/{stem}.csv"
    raw.issues.append(Issue(shown, "(file)", "file not found",
                            "create it (docs/INPUTS.md describes its columns)"))
    return None


def _doc(inputs_dir: Path, stem: str, raw: RawInputs) -> RawDoc | None:
    for ext in (".yaml", ".yml"):
        path = inputs_dir / f"{stem}{ext}"
        if path.exists():
            return _yaml_doc(path, display_path(path, inputs_dir), raw)
    raw.issues.append(Issue(f"{INPUTS_LABEL}/{stem}.yaml", "(file)", "file not found",
                            "create it (docs/INPUTS.md describes its keys)"))
    return None


def resolve_params_path(inputs_dir: Path, params: Path | None) -> Path:
    """``--params`` if given; else an older tree's ``<inputs>/simulation.yaml``; else
    ``params.yaml`` beside the inputs dir; else ``./params.yaml``."""
    if params is not None:
        return params
    for candidate in (inputs_dir / "simulation.yaml", inputs_dir.parent / "params.yaml"):
        if candidate.exists():
            return candidate
    return Path("params.yaml")


def read_inputs_tree(inputs_dir: Path, params_path: Path) -> RawInputs:
    """Every input file parsed, plus the issues that stop a file from being read at all."""
    raw = RawInputs()
    if not inputs_dir.is_dir():
        raw.issues.append(Issue(str(inputs_dir), "(dir)", "inputs directory not found",
                                "pass --inputs DIR pointing at operator/, variables/, facts/"))
        return raw
    for name, stem in {**OPERATOR_DOCS, **FACT_DOCS}.items():
        doc = _doc(inputs_dir, stem, raw)
        if doc is not None:
            raw.docs[name] = doc
    for name, stem in TABLES.items():
        table = _table(inputs_dir, stem, raw)
        if table is not None:
            raw.tables[name] = table
    for name, stem in OPTIONAL_TABLES.items():
        if any((inputs_dir / f"{stem}{ext}").exists() for ext in (".csv", ".yaml", ".yml")):
            table = _table(inputs_dir, stem, raw)
            if table is not None:
                raw.tables[name] = table
    shown = display_path(params_path, inputs_dir)
    if params_path.is_dir():
        raw.issues.append(Issue(str(params_path), "(file)", "is a directory, not a params file",
                                "pass --params FILE (a YAML plan such as params.yaml)"))
    elif params_path.exists():
        raw.plan = _yaml_doc(params_path, shown, raw)
        raw.plan_tracked_by_dvc = (params_path.name == "params.yaml"
                                   and (params_path.parent / "dvc.yaml").is_file())
    else:
        raw.issues.append(Issue(shown, "(file)", "params file not found",
                                "create params.yaml or pass --params FILE"))
    return raw
