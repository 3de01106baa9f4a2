"""`d3 run` / `d3 validate` on an original draft tree: imported into a temporary directory, the
same bytes as a run on the imported tree, the import report recorded in the run summary."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

from d3.importer.report import import_record
from d3.importer.source import is_draft_tree
from d3.report.run_summary import import_lines
from tests.helpers import MINIMAL, edit_csv, edit_yaml, invoke
from tests.importer.conftest import DRAFT_MINI, import_tree


def test_draft_trees_are_recognised():
    assert is_draft_tree(DRAFT_MINI)
    assert not is_draft_tree(MINIMAL / "inputs")  # a D3 tree (facts/gpu_specs.csv)
    assert not is_draft_tree(DRAFT_MINI / "operator")


def test_validate_on_the_draft_says_what_validate_on_its_import_says(imported):
    on_draft = invoke("validate", "--inputs", str(DRAFT_MINI))
    on_import = invoke("validate", "--inputs", str(imported.dest / "inputs"))
    assert on_draft.exit_code == on_import.exit_code
    # The import's WARNINGs first, then the validator's lines, naming the same files.
    assert on_draft.stderr == imported.stderr + on_import.stderr


def _runnable_today(tmp_path: Path) -> Path:
    """The mini draft without what only the finance/variables branches of issue 13 model yet
    (reserves, social security and dividend tax, flat budgets, beta draws)."""
    src = shutil.copytree(DRAFT_MINI, tmp_path / "draft" / "inputs")

    def general(doc: dict) -> None:
        del doc["reserves"]
        del doc["tax"]["social_security_pct"], doc["tax"]["dividend_withholding_pct"]

    def rows(keep):
        def change(header, records):
            records[:] = [r for r in records if keep(r)]
        return change

    edit_yaml(src / "operator/general.yaml", general)
    edit_csv(src / "variables/general.csv",
             rows(lambda r: not (r["path"] or "").startswith("reserves.")))
    edit_csv(src / "variables/public_tap.csv",
             rows(lambda r: "budget_monthly_eur" not in (r["path"] or "")))

    def uniform_churn(header, records):
        for r in records:
            if r["variable_id"] == "churn_pct_mom_public":
                r["treatment"] = "random"
    edit_csv(src / "variables/public_tap.csv", uniform_churn)
    return src


def _files(root: Path) -> dict[str, bytes]:
    return {p.relative_to(root).as_posix(): p.read_bytes()
            for p in sorted(root.rglob("*")) if p.is_file()}


def test_run_on_the_draft_equals_run_on_its_import(tmp_path):
    src = _runnable_today(tmp_path)
    on_draft = invoke("run", "--inputs", str(src), "--out", str(tmp_path / "o_draft"))
    assert on_draft.exit_code == 0, on_draft.stderr
    dest = import_tree(src, tmp_path / "imported").dest
    on_import = invoke("run", "--inputs", str(dest / "inputs"), "--out",
                       str(tmp_path / "o_import"))
    assert on_import.exit_code == 0, on_import.stderr
    a, b = _files(tmp_path / "o_draft"), _files(tmp_path / "o_import")
    assert sorted(a) == sorted(b)
    assert [name for name in a if a[name] != b[name]] == []
    summary = json.loads(a["run_summary.json"])
    assert summary["import_report"] == import_record((dest / "IMPORT_REPORT.md").read_bytes())
    assert summary["import_report"]["counts"]["total"] > 0
    assert "## Imported from the original draft" in a["run_summary.md"].decode()


def test_an_ordinary_run_summary_has_no_import_section():
    assert import_lines(None) == []
    lines = import_lines({"file": "IMPORT_REPORT.md", "sha256": "ab", "counts": {
        "mapped": 3, "converted": 2, "modelled": 1, "dropped": 4, "total": 10}})
    assert "| dropped | 4 |" in lines and "| total | 10 |" in lines
