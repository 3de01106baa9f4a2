"""Reading the original draft's input tree: YAML documents and CSV tables with blank lines and
``# section`` comment rows (comments are recorded, never taken as data)."""

from __future__ import annotations

import csv
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from d3.core.errors import Issue, ValidationError
from d3.io.loader import INPUTS_LABEL
from d3.io.yaml12 import YamlReadError, parse_yaml_text

REQUIRED = (
    "simulation.yaml", "operator/general.yaml", "operator/public_tap.yaml",
    "operator/private_tap.yaml", "operator/curated_gpu.csv",
    "operator/curated_public_tap_models.csv", "facts/market_env.yaml",
)
OPTIONAL = (
    "variables/general.csv", "variables/public_tap.csv", "variables/private_tap.csv",
    "facts/tps_model_gpu.csv", "facts/tps_sources.yaml", "facts/gpu_baselines.yaml",
    "facts/ads_channels.csv", "facts/agency_fees.csv", "facts/insurances.csv",
)
DRAFT_MARKERS = ("facts/gpu_baselines.yaml", "facts/tps_sources.yaml")


def shown(rel: str) -> str:
    """How a source file is named in messages and the report (no absolute paths)."""
    return f"{INPUTS_LABEL}/{rel}"


@dataclass(frozen=True)
class SourceTable:
    rel: str
    header: tuple[str, ...]
    rows: tuple[tuple[int, tuple[str, ...]], ...]  # (line number, stripped cells)
    comments: tuple[tuple[int, str], ...] = ()
    blank_lines: int = 0

    @property
    def file(self) -> str:
        return shown(self.rel)

    def records(self) -> Iterator[tuple[int, dict[str, str], tuple[str, ...]]]:
        """``(line, {column: non-empty cell}, cells)`` per data row."""
        for line, cells in self.rows:
            record = {h: c for h, c in zip(self.header, cells, strict=False) if c != "" and h}
            yield line, record, cells


@dataclass
class DraftTree:
    docs: dict[str, Any] = field(default_factory=dict)  # rel → parsed YAML
    tables: dict[str, SourceTable] = field(default_factory=dict)  # rel → table
    missing: tuple[str, ...] = ()  # optional files the tree does not have


def is_draft_tree(path: Path) -> bool:
    """An original draft tree: ``simulation.yaml``, a draft marker (``facts/gpu_baselines.yaml``
    or ``facts/tps_sources.yaml``) and no D3 ``facts/gpu_specs.csv``."""
    return ((path / "simulation.yaml").is_file()
            and any((path / m).is_file() for m in DRAFT_MARKERS)
            and not (path / "facts" / "gpu_specs.csv").exists())


def parse_table(rel: str, text: str) -> SourceTable:
    """A draft CSV: the first non-blank, non-comment line is the header; blank lines and rows
    whose first cell starts with ``#`` are skipped and recorded. Rows are numbered by the file
    line they start on (a quoted cell may span lines), as D3's own reader numbers them; a
    comment is kept as written on its line (its trailing empty cells left out), since joining
    its cells again would lose the commas inside it."""
    header: tuple[str, ...] | None = None
    rows, comments, blanks = [], [], 0
    lines = text.splitlines()
    reader = csv.reader(lines)
    consumed = 0
    for cells in reader:
        line, consumed = consumed + 1, reader.line_num
        stripped = tuple(c.strip() for c in cells)
        if not any(stripped):
            blanks += 1
        elif stripped[0].startswith("#"):
            written = "\n".join(lines[line - 1:consumed]).rstrip().rstrip(",").rstrip()
            comments.append((line, written))
        elif header is None:
            header = stripped
        else:
            rows.append((line, stripped))
    return SourceTable(rel, header or (), tuple(rows), tuple(comments), blanks)


def _not_a_draft(src: Path) -> list[Issue]:
    if src.is_file():
        return [Issue(str(src), "(dir)", "SRC is a file",
                      "give the draft's inputs directory (the one holding simulation.yaml)")]
    if not src.is_dir():
        return [Issue(str(src), "(dir)", "draft inputs directory not found",
                      "pass the draft's inputs/ directory (simulation.yaml, operator/, "
                      "variables/, facts/)")]
    if (src / "inputs" / "simulation.yaml").is_file():
        return [Issue(str(src), "(dir)", "is the draft's project directory, not its inputs",
                      f"pass {src / 'inputs'}")]
    if (src / "facts" / "gpu_specs.csv").exists():
        return [Issue(shown("facts/gpu_specs.csv"), "(file)", "this is a D3 inputs tree, not "
                      "an original draft", "run d3 on it directly")]
    return []


def read_draft(src: Path) -> DraftTree:
    """Every file of the draft tree, parsed; a ValidationError lists every missing or unreadable
    required file (``FILE:LOCATION: problem — fix``)."""
    issues = _not_a_draft(src)
    if issues:
        raise ValidationError(issues)
    tree, missing = DraftTree(), []
    for rel in (*REQUIRED, *OPTIONAL):
        path = src / rel
        if not path.is_file():
            if rel in REQUIRED:
                issues.append(Issue(shown(rel), "(file)", "file not found", "an original "
                                    "draft tree has it (docs/INPUTS.md, Importing the original "
                                    "draft)"))
            else:
                missing.append(rel)
            continue
        try:
            text = path.read_bytes().decode("utf-8-sig")
            if rel.endswith(".csv"):
                tree.tables[rel] = parse_table(rel, text)
            else:
                data = parse_yaml_text(text)
                if not isinstance(data, dict):
                    raise YamlReadError("must be a mapping of keys", None)
                tree.docs[rel] = data
        except UnicodeDecodeError:
            issues.append(Issue(shown(rel), "(file)", "is not UTF-8 text", "save it as UTF-8"))
        except YamlReadError as exc:
            where = f"line {exc.line}" if exc.line else "(file)"
            issues.append(Issue(shown(rel), where, f"is not valid YAML: {exc}", "fix the syntax"))
    if issues:
        raise ValidationError(issues)
    tree.missing = tuple(missing)
    return tree


def leaves(data: Any, prefix: str = "") -> Iterator[tuple[str, Any]]:
    """``(dotted key, value)`` of every leaf in file order; list items of mappings are written
    ``key[i].sub``, lists of scalars and empty mappings are leaves."""
    if isinstance(data, dict) and data:
        for key, value in data.items():
            yield from leaves(value, f"{prefix}.{key}" if prefix else str(key))
    elif isinstance(data, list) and data and all(isinstance(v, dict) for v in data):
        for i, item in enumerate(data):
            yield from leaves(item, f"{prefix}[{i}]")
    else:
        yield prefix, data
