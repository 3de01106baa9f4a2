"""Helpers for tests: copy the minimal fixture, edit its files, invoke the CLI."""

from __future__ import annotations

import csv
import io
import shutil
from collections.abc import Callable
from pathlib import Path

from ruamel.yaml import YAML
from typer.testing import CliRunner

from d3.cli import app

ROOT = Path(__file__).resolve().parents[1]
MINIMAL = ROOT / "tests" / "fixtures" / "minimal"


def copy_minimal(dest: Path) -> Path:
    """A writable copy of tests/fixtures/minimal (``dest/inputs`` + ``dest/params.yaml``)."""
    shutil.copytree(MINIMAL, dest, dirs_exist_ok=True)
    return dest


def edit_yaml(path: Path, change: Callable[[dict], None]) -> None:
    yaml = YAML(typ="safe", pure=True)
    data = yaml.load(path.read_text()) or {}
    change(data)
    buf = io.StringIO()
    yaml.default_flow_style = False
    yaml.dump(data, buf)
    path.write_text(buf.getvalue())


def read_csv(path: Path) -> tuple[list[str], list[dict[str, str]]]:
    with path.open(newline="") as fh:
        reader = csv.DictReader(fh)
        return list(reader.fieldnames or []), list(reader)


def write_csv(path: Path, header: list[str], rows: list[dict[str, str]]) -> None:
    with path.open("w", newline="") as fh:
        writer = csv.DictWriter(fh, header, lineterminator="\n", extrasaction="ignore")
        writer.writeheader()
        writer.writerows(rows)


def edit_csv(path: Path, change: Callable[[list[str], list[dict[str, str]]], None]) -> None:
    header, rows = read_csv(path)
    change(header, rows)
    write_csv(path, header, rows)


def invoke(*args: str):
    """Run the d3 CLI in-process; result has exit_code, stdout, stderr."""
    return CliRunner().invoke(app, list(args))


def run_minimal(out: Path) -> Path:
    """``d3 run`` of the minimal fixture into ``out``; fails the test on a non-zero exit."""
    result = invoke("run", "--inputs", str(MINIMAL / "inputs"), "--out", str(out))
    assert result.exit_code == 0, result.stderr
    return out
