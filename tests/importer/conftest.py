"""The mini draft tree (tests/fixtures/draft_mini, the original draft's format) imported once."""

from __future__ import annotations

import csv
import io
from dataclasses import dataclass
from pathlib import Path

import pytest

from d3.io.yaml12 import read_yaml
from tests.helpers import ROOT, invoke

DRAFT_MINI = ROOT / "tests" / "fixtures" / "draft_mini" / "inputs"


@dataclass(frozen=True)
class Imported:
    dest: Path
    stderr: str
    stdout: str

    def yaml(self, rel: str) -> dict:
        return read_yaml(self.dest / rel)

    def rows(self, rel: str) -> list[dict[str, str]]:
        return list(csv.DictReader(io.StringIO((self.dest / rel).read_text(encoding="utf-8"))))

    @property
    def report(self) -> str:
        return (self.dest / "IMPORT_REPORT.md").read_text(encoding="utf-8")

    def outcome(self, file: str, location: str) -> str:
        """The report's outcome cell for ``location`` in the section of ``file``."""
        section = self.report.split(f"\n## inputs/{file}\n", 1)[1].split("\n## ", 1)[0]
        for line in section.splitlines():
            cells = line.split(" | ")
            if cells[0].strip("| `") == location:
                return cells[1].rstrip(" |")
        raise AssertionError(f"{location} not in the report section of {file}")


def import_tree(src: Path, dest: Path) -> Imported:
    result = invoke("import-draft", str(src), "--to", str(dest))
    assert result.exit_code == 0, result.stderr
    return Imported(dest, result.stderr, result.stdout)


@pytest.fixture(scope="module")
def imported(tmp_path_factory) -> Imported:
    return import_tree(DRAFT_MINI, tmp_path_factory.mktemp("imported"))
