"""DVC behaviour, checked in a temporary copy of the repository (the working repo is never
touched): the lock is reproduced byte for byte, a second repro reruns nothing, and
`dvc params diff` sees edits in params.yaml and in the operator YAMLs."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from tests.helpers import ROOT, edit_yaml

GIT_ENV = {"GIT_AUTHOR_NAME": "t", "GIT_AUTHOR_EMAIL": "t@t", "GIT_COMMITTER_NAME": "t",
           "GIT_COMMITTER_EMAIL": "t@t"}


def _env() -> dict[str, str]:
    env = dict(os.environ)
    env["PATH"] = str(Path(sys.executable).parent) + os.pathsep + env.get("PATH", "")
    env.update(GIT_ENV)
    return env


def sh(*cmd: str, cwd: Path) -> str:
    proc = subprocess.run(cmd, cwd=cwd, env=_env(), capture_output=True, text=True, check=False)
    assert proc.returncode == 0, f"{' '.join(cmd)}\n{proc.stdout}\n{proc.stderr}"
    return proc.stdout + proc.stderr


@pytest.fixture(scope="module")
def repo(tmp_path_factory) -> Path:
    """The working tree's tracked and unignored files, committed into a fresh git repo."""
    dest = tmp_path_factory.mktemp("repo")
    files = subprocess.run(["git", "ls-files", "-co", "--exclude-standard", "-z"], cwd=ROOT,
                           capture_output=True, text=True, check=True).stdout.split("\0")
    for rel in filter(None, files):
        src = ROOT / rel
        if src.is_file():
            (dest / rel).parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(src, dest / rel)
    sh("git", "init", "-q", cwd=dest)
    sh("git", "add", "-A", cwd=dest)
    sh("git", "commit", "-qm", "copy", cwd=dest)
    return dest


def test_repro_reproduces_the_lock_and_second_repro_reruns_nothing(repo):
    committed = (repo / "dvc.lock").read_text()
    first = sh("dvc", "repro", cwd=repo)
    assert "Running stage 'validate'" in first
    assert (repo / "dvc.lock").read_text() == committed, (
        "dvc.lock differs after dvc repro: run `tools/venv-run dvc repro` and commit dvc.lock")
    second = sh("dvc", "repro", cwd=repo)
    assert "Running stage" not in second
    for stage in ("validate", "variables", "summary"):
        assert f"Stage '{stage}' didn't change, skipping" in second
    with_small_analyses(repo)  # the later tests' repros need not pay the full solver
    sh("dvc", "repro", cwd=repo)
    sh("git", "add", "-A", cwd=repo)
    sh("git", "commit", "-qm", "repro with small analysis budgets", cwd=repo)


def with_small_analyses(repo: Path) -> None:
    """Shrink the solver's and the sensitivity analysis' budgets in ``repo`` and commit, so the
    many repros of these tests (each edit reruns both) cost seconds instead of minutes. What
    is checked here (what reruns, what DVC compares) does not depend on the budgets."""
    edit_yaml(repo / "params.yaml", lambda d: (
        d["solve"].update(trials=6, startup_trials=3, confirm=1, screen_simulations_per_run=40),
        d["sensitivity"].update(replicates=1, simulations_per_evaluation=40,
                                sobol_base_samples=8, sobol_simulations=4)))
    sh("git", "add", "-A", cwd=repo)
    sh("git", "commit", "-qm", "small analysis budgets for the tests", cwd=repo)


def test_params_diff_shows_plan_and_operator_edits(repo):
    sh("git", "add", "-A", cwd=repo)
    sh("git", "commit", "-qm", "repro", "--allow-empty", cwd=repo)
    edit_yaml(repo / "params.yaml", lambda d: d["stochastic"].update(simulations_per_run=20))
    edit_yaml(repo / "inputs/operator/public_tap.yaml",
              lambda d: d["acquisition"].update(budget_month0_eur=1234))
    diff = sh("dvc", "params", "diff", cwd=repo)
    assert "stochastic.simulations_per_run" in diff and "20" in diff
    assert "inputs/operator/public_tap.yaml" in diff
    assert "acquisition.budget_month0_eur" in diff and "1234" in diff


def test_metrics_and_plots_diff_between_two_commits(repo):
    sh("dvc", "repro", cwd=repo)
    sh("git", "add", "-A", cwd=repo)
    sh("git", "commit", "-qm", "baseline", "--allow-empty", cwd=repo)
    edit_yaml(repo / "params.yaml", lambda d: d["scenarios"]["base"].update(
        budget_multiplier=1.0))  # no-op edit first: metrics must not change
    edit_yaml(repo / "params.yaml", lambda d: d["stochastic"].update(simulations_per_run=100))
    sh("dvc", "repro", cwd=repo)
    sh("git", "add", "-A", cwd=repo)
    sh("git", "commit", "-qm", "fewer Monte Carlo iterations", cwd=repo)
    metrics = sh("dvc", "metrics", "diff", "HEAD~1", "HEAD", cwd=repo)
    assert "outputs/metrics.json" in metrics and "revenue_total_eur_p50" in metrics
    plots = sh("dvc", "plots", "diff", "HEAD~1", "HEAD", "--json", cwd=repo)
    assert "outputs/plots/revenue.csv" in plots and "HEAD~1" in plots


def test_run_summary_md5_equal_dvc_lock_and_sums_verify(repo):
    import json

    from d3.io.yaml12 import read_yaml

    sh("dvc", "repro", cwd=repo)
    lock = read_yaml(repo / "dvc.lock")["stages"]
    recorded = json.loads((repo / "outputs/run_summary.json").read_text())["dvc_md5"]
    checked = 0
    for stage, kinds in recorded.items():
        locked = {e["path"]: e["md5"] for e in lock[stage].get("deps", [])
                  + lock[stage].get("outs", [])}
        for entries in kinds.values():
            for path, md5 in entries.items():
                assert locked[path] == md5, (stage, path)
                checked += 1
    assert checked > 100
    sh("sha256sum", "-c", "--quiet", "SHA256SUMS", cwd=repo / "outputs")


def _md5_event(out: str) -> dict:
    import json

    (event,) = [json.loads(line) for line in out.splitlines() if '"dvc_md5_recorded"' in line]
    return event


def test_the_summary_takes_lock_entries_only_while_they_describe_the_files(repo):
    """Under DVC the summary records dvc.lock's md5s without hashing; an upstream out edited
    by hand (same size) that a single-item repro does not reproduce is hashed instead."""
    import hashlib
    import json

    sh("dvc", "repro", cwd=repo)
    event = _md5_event(sh("dvc", "repro", "--force", "--single-item", "summary", cwd=repo))
    recorded = json.loads((repo / "outputs/run_summary.json").read_text())["dvc_md5"]
    entries = sum(len(k["deps"]) + len(k["outs"]) for k in recorded.values())
    assert (event["from_lock"], event["hashed"]) == (entries, 0)
    path = repo / "outputs/public_vendor_choice.csv"
    original = path.read_bytes()
    at = max(original.rfind(d) for d in b"0123456789")  # the last digit, made another digit
    edited = original[:at] + (b"1" if original[at:at + 1] != b"1" else b"2") + original[at + 1:]
    try:
        path.write_bytes(edited)
        event = _md5_event(sh("dvc", "repro", "--force", "--single-item", "summary", cwd=repo))
        assert (event["from_lock"], event["hashed"]) == (entries - 1 - 2, 1)  # 1 out, 2 deps
        recorded = json.loads((repo / "outputs/run_summary.json").read_text())["dvc_md5"]
        seen = {st: {**k["deps"], **k["outs"]}["outputs/public_vendor_choice.csv"]
                for st, k in recorded.items()
                if "outputs/public_vendor_choice.csv" in {**k["deps"], **k["outs"]}}
        assert seen == dict.fromkeys(("public_gpu_costs", "report", "report_exports"),
                                     hashlib.md5(edited).hexdigest())
        assert hashlib.md5(edited).digest() != hashlib.md5(original).digest()
    finally:
        path.write_bytes(original)
        sh("dvc", "repro", cwd=repo)


def test_d3_run_gives_the_same_bytes_as_dvc_repro(repo):
    sh("dvc", "repro", cwd=repo)
    sh(sys.executable, "-m", "d3", "run", "--inputs", "inputs", "--out", "d3_out", cwd=repo)

    def files(root: Path) -> dict[str, bytes]:
        return {p.relative_to(root).as_posix(): p.read_bytes() for p in sorted(root.rglob("*"))
                if p.is_file() and not any(s.startswith(".") for s in p.relative_to(root).parts)}

    dvc_files, run_files = files(repo / "outputs"), files(repo / "d3_out")
    assert dvc_files.keys() == run_files.keys()
    different = [k for k in dvc_files if dvc_files[k] != run_files[k]]
    assert different == []


def test_a_key_dvc_tracks_missing_from_params_stops_repro_at_validate(repo):
    """Issue 12 case 5: `dvc repro` without `run.chunk_blocks` used to fail after rewriting
    dvc.lock; now the validate stage refuses it (exit 2) and dvc.lock is untouched."""
    params = (repo / "params.yaml").read_text()
    lock = (repo / "dvc.lock").read_text()
    try:
        (repo / "params.yaml").write_text("\n".join(
            line for line in params.splitlines() if "chunk_blocks" not in line) + "\n")
        proc = subprocess.run(["dvc", "repro"], cwd=repo, env=_env(), capture_output=True,
                              text=True, check=False)
        assert proc.returncode != 0
        assert ("params.yaml:run.chunk_blocks: required key is missing (dvc.yaml tracks it and "
                "DVC has no defaults) — add it, e.g. `run: {chunk_blocks: 64}` (the default)"
                in proc.stdout + proc.stderr)
        assert (repo / "dvc.lock").read_text() == lock
    finally:
        (repo / "params.yaml").write_text(params)


def test_a_comment_only_edit_reruns_only_validate(repo):
    sh("dvc", "repro", cwd=repo)  # up to date first (the module's copy may be fresh)
    general = repo / "inputs" / "operator" / "general.yaml"
    original = general.read_text(encoding="utf-8")
    try:
        general.write_text(original + "# a note for the lender\n", encoding="utf-8")
        out = sh("dvc", "repro", cwd=repo)
        ran = sorted(line.split("'")[1] for line in out.splitlines()
                     if line.startswith("Running stage"))
        # validate reruns (its input changed) and writes the same normalised inputs, so DVC
        # reruns nothing downstream (issue 14); the summary records the validated inputs.
        assert ran == ["validate"], out
        assert "Stage 'summary' didn't change, skipping" in out
    finally:
        general.write_text(original, encoding="utf-8")
        sh("dvc", "repro", cwd=repo)


def _stages_to_rerun(repo: Path) -> list[str]:
    import json

    return sorted(json.loads(sh("dvc", "status", "--json", cwd=repo)))


def _ran(out: str) -> list[str]:
    return sorted(line.split("'")[1] for line in out.splitlines()
                  if line.startswith("Running stage"))


@pytest.mark.parametrize(("library_file", "stages"), [
    # The report's own modules: only the report stage (and the summary, which records the md5
    # of every stage's code in run_summary.json).
    ("d3/report/plan.py", ["report", "summary"]),
    # A module of the private line only: its stage, the consolidation (which draws the lines
    # again where it consolidates them), the sensitivity analysis and the solver (which
    # re-evaluate the whole model); a comment leaves their outputs unchanged, so nothing
    # downstream reruns. (tests/test_registry.py checks more files without running DVC.)
    ("d3/pipelines/private/clients.py", ["consolidate", "private_clients", "sensitivity",
                                         "solve", "summary"]),
])
def test_a_library_edit_reruns_only_the_stages_that_import_it(repo, library_file, stages):
    sh("dvc", "repro", cwd=repo)  # up to date first (the module's copy may be fresh)
    path = repo / library_file
    original = path.read_text(encoding="utf-8")
    try:
        path.write_text(original + "# a comment\n", encoding="utf-8")
        assert _stages_to_rerun(repo) == stages
        assert _ran(sh("dvc", "repro", cwd=repo)) == stages
    finally:
        path.write_text(original, encoding="utf-8")
        sh("dvc", "repro", cwd=repo)


def test_a_stale_file_in_outputs_is_not_an_artefact(repo):
    """An out a previous version declared (DVC leaves it in the workspace) or a file copied into
    outputs/ by hand is not in SHA256SUMS or the run summary's artefacts: both list what this
    pipeline's stages declare, so the same inputs give the same sums whatever lies around."""
    import json

    sh("dvc", "repro", cwd=repo)
    sums = (repo / "outputs" / "SHA256SUMS").read_text()
    stale = repo / "outputs" / "validated" / "inputs_sha256.json"
    stale.write_text("{}\n")
    try:
        sh("dvc", "repro", "--force", "--single-item", "summary", cwd=repo)
        assert (repo / "outputs" / "SHA256SUMS").read_text() == sums
        summary = json.loads((repo / "outputs" / "run_summary.json").read_text())
        assert "validated/inputs_sha256.json" not in summary["artefacts"]
        assert {"financial_plan_v3.md", "SHA256SUMS", "validated/plan.json"} <= set(
            summary["artefacts"])
    finally:
        stale.unlink()
