"""What a new user met on the original draft (issue 13, second round): issues named at the
draft's own rows and keys, rows that would only fail later reported at import, keys carried
without effect, the distribution policy's derived share, the --to and SRC checks, the report's
"Check these" list, the report in a run's outputs, comments quoted as written."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

from d3.core.errors import Issue
from d3.importer.origins import GENERATED, Origins
from d3.importer.report import import_record
from d3.importer.source import parse_table
from tests.helpers import invoke
from tests.importer.conftest import DRAFT_MINI, import_tree

WARN = "warning: "


def _draft(tmp_path: Path) -> Path:
    return shutil.copytree(DRAFT_MINI, tmp_path / "draft" / "inputs")


def _replace(path: Path, old: str, new: str) -> None:
    text = path.read_text(encoding="utf-8")
    assert old in text
    path.write_text(text.replace(old, new), encoding="utf-8")


def _append(path: Path, line: str) -> None:
    path.write_text(path.read_text(encoding="utf-8") + line + "\n", encoding="utf-8")


# --- 1. issues point at the draft's file, row and key ------------------------------------------

def _broken_draft(tmp_path: Path) -> Path:
    """min > max on public_tap.csv line 13, after two comment rows and two blank lines (row 7
    of the imported file), and a corporate tax of 190 % under its draft name."""
    src = _draft(tmp_path)
    _replace(src / "variables/public_tap.csv", "scale_down_threshold_pct,numeric,percent,0.3,0.5",
             "scale_down_threshold_pct,numeric,percent,0.6,0.5")
    _replace(src / "operator/general.yaml", "corporate_income_pct: 19.0",
             "corporate_income_pct: 190.0")
    return src


EXPECTED_ERRORS = [
    "inputs/operator/general.yaml:tax.corporate_income_pct: must be ≤ 100, got 190 — use a "
    "value ≤ 100",
    "inputs/variables/public_tap.csv:row 13 (autoscale_scale_down): min 0.6 is greater than "
    "max 0.5 — swap min and max",
]


def test_validate_on_a_draft_names_the_users_row_and_key(tmp_path):
    src = _broken_draft(tmp_path)
    result = invoke("validate", "--inputs", str(src))
    assert result.exit_code == 2
    errors = [line for line in result.stderr.splitlines() if not line.startswith(WARN)]
    assert errors == EXPECTED_ERRORS
    # The imported tree itself numbers the row 7 and names the D3 key.
    dest = import_tree(src, tmp_path / "imported").dest
    on_import = invoke("validate", "--inputs", str(dest / "inputs"))
    assert "inputs/variables/public_tap.csv:row 7 (autoscale_scale_down): min 0.6 is greater " \
        "than max 0.5 — swap min and max" in on_import.stderr
    assert "inputs/operator/general.yaml:tax.corporate_tax_pct: must be ≤ 100" in on_import.stderr


def test_run_on_a_draft_names_the_users_row_and_key(tmp_path):
    src = _broken_draft(tmp_path)
    result = invoke("run", "--inputs", str(src), "--out", str(tmp_path / "out"))
    assert result.exit_code == 2
    assert [line for line in result.stderr.splitlines() if not line.startswith(WARN)] == (
        EXPECTED_ERRORS)
    events = [json.loads(line) for line in result.stdout.splitlines()]
    assert [e["line"] for e in events if e["event"] == "validate_error"] == EXPECTED_ERRORS
    assert not (tmp_path / "out").exists()


def test_origins_translate_rows_keys_and_generated_files():
    origins = Origins(
        files={"inputs/variables/public_tap.csv": "inputs/variables/public_tap.csv",
               "params.yaml": "inputs/simulation.yaml", "inputs/facts/gpu_specs.csv": None},
        rows={("inputs/variables/public_tap.csv", 7): ("inputs/variables/public_tap.csv",
                                                       "row 13 (autoscale_scale_down)")},
        keys={("params.yaml", "targets.horizon_months"): ("inputs/simulation.yaml",
                                                          "targets.horizon_months")})

    def moved(file: str, location: str) -> str:
        return origins.issue(Issue(file, location, "m", "h")).line()

    assert moved("inputs/variables/public_tap.csv", "row 7 (x), column min") == (
        "inputs/variables/public_tap.csv:row 13 (autoscale_scale_down), column min: m — h")
    assert moved("inputs/variables/public_tap.csv", "row 9 (y)") == (
        f"inputs/variables/public_tap.csv:row 9 (y) {GENERATED}: m — h")
    assert moved("params.yaml", "targets.horizon_months") == (
        "inputs/simulation.yaml:targets.horizon_months: m — h")
    assert moved("params.yaml", "run.random_seed") == (
        f"inputs/simulation.yaml:run.random_seed {GENERATED}: m — h")
    assert moved("inputs/facts/gpu_specs.csv", "row 2 (L4)") == (
        f"inputs/facts/gpu_specs.csv:row 2 (L4) {GENERATED}: m — h")
    assert moved("--out", "(--out)") == "--out:(--out): m — h"  # not a file of the import


# --- 2., 3. rows that would fail validation later are reported at import ------------------------

def test_a_lognormal_row_with_min_0_is_kept_with_a_warning(tmp_path):
    src = _draft(tmp_path)
    _replace(src / "variables/public_tap.csv",
             "acquisition.tokens_per_conversion_mean,numeric,tokens,1000",
             "acquisition.tokens_per_conversion_mean,numeric,tokens,0")
    imported = import_tree(src, tmp_path / "imported")
    line = ("inputs/variables/public_tap.csv:row 5 (tokens_per_conv_mean): random_lognormal "
            "with min 0: D3's lognormal needs min > 0, so validation rejects this row as "
            "imported — raise min above 0 (e.g. to its step) or use random_uniform / "
            "random_normal")
    assert WARN + line in imported.stderr.splitlines()
    assert f"- {line}" in imported.report.split("## Counts")[0]  # in "Check these"
    row = next(r for r in imported.rows("inputs/variables/public_tap.csv")
               if r["variable_id"] == "tokens_per_conv_mean")
    assert (row["min"], row["distribution"]) == ("0", "lognormal")  # the user's number kept


def test_a_row_with_too_few_cells_is_dropped_naming_what_is_missing(tmp_path):
    src = _draft(tmp_path)
    _append(src / "variables/public_tap.csv", "short_row,public_tap,acquisition.cac_base_eur,"
            "numeric")
    imported = import_tree(src, tmp_path / "imported")
    assert imported.outcome("variables/public_tap.csv", "row 14 (short_row)") == (
        "dropped: has 4 of 11 cells; unit, min, max, step, default, treatment are missing — "
        "complete the row")
    assert "short_row" not in [r["variable_id"]
                               for r in imported.rows("inputs/variables/public_tap.csv")]


def test_a_row_missing_only_its_notes_cell_is_kept(tmp_path):
    src = _draft(tmp_path)
    _append(src / "variables/public_tap.csv", "cac,public_tap,acquisition.cac_base_eur,numeric,"
            "EUR,10,100,10,50,fixed")  # 10 of 11 cells: no notes
    imported = import_tree(src, tmp_path / "imported")
    assert imported.outcome("variables/public_tap.csv", "row 14 (cac)") == (
        "mapped to `acquisition.cac_base_eur`")


# --- 4. keys carried without effect -------------------------------------------------------------

def test_keys_without_effect_in_the_imported_tree_say_so(imported):
    assert imported.outcome("operator/general.yaml", "tax.social_security_pct") == (
        "modelled by employer social security on salaries (`tax.social_security_pct`): carried, "
        "no effect until finance.salaries_monthly_eur has a salary line (the imported tree has "
        "none: the draft's fixed costs are not salaries)")
    assert imported.outcome("variables/public_tap.csv", "row 3 (acq_budget)").endswith(
        "(`acquisition.budget_monthly_eur`): carried, no effect until "
        "acquisition.budget_policy is flat")
    check = imported.report.split("## Check these", 1)[1].split("## Counts", 1)[0]
    assert ("- inputs/operator/general.yaml:tax.social_security_pct: modelled by employer "
            "social security on salaries") in check
    assert "- inputs/variables/public_tap.csv:row 3 (acq_budget): modelled by" in check


# --- 5. the distribution policy -------------------------------------------------------------------

def test_a_reinvest_row_alone_becomes_the_dividend_row(tmp_path):
    src = _draft(tmp_path)
    _append(src / "variables/general.csv", "payout_reinvest,general,"
            "reserves.distribution_policy.reinvest_pct,numeric,percent,40,90,5,70,low_to_high,"
            "reinvested")
    imported = import_tree(src, tmp_path / "imported")
    row = next(r for r in imported.rows("inputs/variables/general.csv")
               if r["variable_id"] == "payout_reinvest")
    # dividend = 100 − reinvest: min 100 − 90 = 10, max 100 − 40 = 60, default 100 − 70 = 30.
    assert (row["path"], row["min"], row["max"], row["step"], row["default"]) == (
        "reserves.distribution_policy.dividend_pct", "10", "60", "5", "30")
    assert imported.outcome("variables/general.csv", "row 9 (payout_reinvest)") == (
        "converted from reinvest_pct to dividend_pct = 100 − reinvest_pct (min 10, max 60, "
        "default 30: min and max swapped) (`reserves.distribution_policy.dividend_pct`)")


def test_a_reinvest_row_beside_a_dividend_row_is_dropped(tmp_path):
    src = _draft(tmp_path)
    _append(src / "variables/general.csv", "payout_reinvest,general,"
            "reserves.distribution_policy.reinvest_pct,numeric,percent,0,100,5,50,fixed,x")
    _append(src / "variables/general.csv", "payout_dividend,general,"
            "reserves.distribution_policy.dividend_pct,numeric,percent,0,100,5,50,low_to_high,x")
    imported = import_tree(src, tmp_path / "imported")
    assert imported.outcome("variables/general.csv", "row 9 (payout_reinvest)") == (
        "dropped: a variable on reinvest_pct beside the dividend_pct row 10 (payout_dividend): "
        "D3 derives reinvest_pct = 100 − dividend_pct, so only the dividend row is kept")
    paths = [r["path"] for r in imported.rows("inputs/variables/general.csv")]
    assert "reserves.distribution_policy.reinvest_pct" not in paths
    assert "reserves.distribution_policy.dividend_pct" in paths


def test_a_reinvest_share_that_is_not_the_rest_is_written_with_a_warning(tmp_path):
    src = _draft(tmp_path)
    _replace(src / "operator/general.yaml", "reinvest_pct: 50", "reinvest_pct: 60")
    imported = import_tree(src, tmp_path / "imported")
    assert imported.yaml("inputs/operator/general.yaml")["reserves"]["distribution_policy"] == {
        "reinvest_pct": 60, "dividend_pct": 50}
    assert ("warning: inputs/operator/general.yaml:reserves.distribution_policy.reinvest_pct: "
            "reinvest_pct 60 + dividend_pct 50 ≠ 100, which D3 rejects — leave reinvest_pct out "
            "(it is then 100 − dividend_pct) or make the two sum to 100"
            ) in imported.stderr.splitlines()


# --- 6. --to and SRC are checked first ----------------------------------------------------------

def test_an_unrelated_destination_is_refused_before_any_work(tmp_path):
    (tmp_path / "dest" / "inputs").mkdir(parents=True)
    result = invoke("import-draft", str(DRAFT_MINI), "--to", str(tmp_path / "dest"))
    assert result.exit_code == 2
    assert result.stderr == (f"{tmp_path / 'dest' / 'inputs'}:(--to): exists and is not from an "
                             "earlier import (no IMPORT_REPORT.md beside it) — choose an empty "
                             "--to directory\n")
    assert '"draft_imported"' not in result.stdout  # nothing was imported


def test_a_file_as_src_is_named_as_such(tmp_path):
    src = tmp_path / "simulation.yaml"
    src.write_text("run: {}\n")
    result = invoke("import-draft", str(src), "--to", str(tmp_path / "out"))
    assert result.exit_code == 2
    assert result.stderr == (f"{src}:(dir): SRC is a file — give the draft's inputs directory "
                             "(the one holding simulation.yaml)\n")


# --- 7. what changes numbers comes first ----------------------------------------------------------

def test_warnings_that_change_numbers_come_first_and_drops_are_grouped(imported):
    lines = imported.stderr.splitlines()
    assert lines[0].startswith("warning: inputs/operator/general.yaml:tax.social_security_pct: "
                               "27.65 % looks like the employee-side")
    first_drop = next(i for i, line in enumerate(lines) if ": dropped — " in line)
    assert all(": dropped — " not in line for line in lines[:first_drop])
    # The 15 columns of ads_channels.csv, dropped for one reason: one line.
    assert ("warning: inputs/facts/ads_channels.csv:column channel_id, column platform, column "
            "region, … (15 in all, each in IMPORT_REPORT.md): dropped — the draft gives cost per "
            "click/impression but no click-to-customer conversion rate") in imported.stderr
    report = imported.report
    assert report.index("## Check these") < report.index("## Counts")
    check = report.split("## Check these", 1)[1].split("## Counts", 1)[0]
    assert check.index("tax.social_security_pct: 27.65 %") < check.index(
        "tax.social_security_pct: modelled by")
    assert "## Warnings other than drops" not in report


# --- 8. the report is an artefact of a run on a draft ---------------------------------------------

def test_a_run_on_a_draft_writes_the_import_report_into_its_outputs(tmp_path):
    from tests.importer.test_run_on_draft import _runnable_today

    src = _runnable_today(tmp_path)
    out = tmp_path / "out"
    result = invoke("run", "--inputs", str(src), "--out", str(out))
    assert result.exit_code == 0, result.stderr
    dest = import_tree(src, tmp_path / "imported").dest
    report = (dest / "IMPORT_REPORT.md").read_bytes()
    assert (out / "IMPORT_REPORT.md").read_bytes() == report
    sums = (out / "SHA256SUMS").read_text().splitlines()
    assert f"{import_record(report)['sha256']}  IMPORT_REPORT.md" in sums
    summary = json.loads((out / "run_summary.json").read_text())
    assert "IMPORT_REPORT.md" in summary["artefacts"]
    # A second run into the same --out: the report is d3's own artefact, not a foreign file.
    again = invoke("run", "--inputs", str(src), "--out", str(out))
    assert again.exit_code == 0, again.stderr


# --- 9. comments quoted as written; blank lines counted ------------------------------------------

def test_comment_rows_are_quoted_as_written_and_blank_lines_counted():
    table = parse_table("variables/general.csv", 'a,b\n\n# Reserves, payouts and such,,\n'
                        '1,2\n"x\ny",3\n4,5\n')
    assert table.comments == ((3, "# Reserves, payouts and such"),)
    assert table.blank_lines == 1
    # Rows numbered by the line they start on (a quoted cell spans lines 5–6).
    assert [line for line, _ in table.rows] == [4, 5, 7]
