"""``d3 run`` is all-or-nothing (issue 12): it writes into a staging sibling of ``--out`` and
replaces ``--out`` whole only on success; failures, Ctrl-C and SIGTERM leave ``--out`` as it was;
a lock refuses a second run into the same ``--out``; bad ``--out`` paths are exit 2."""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import signal
import subprocess
import sys
from pathlib import Path

import pytest

import stages.consolidate
from d3.io.staging import lock_path, out_lock
from tests.helpers import MINIMAL, ROOT, copy_minimal, edit_csv, invoke

GPU_CSV = "inputs/operator/curated_gpu.csv"


def _run(out: Path, *extra: str, inputs: Path = MINIMAL / "inputs"):
    return invoke("run", "--inputs", str(inputs), "--out", str(out), *extra)


def _tree(directory: Path) -> dict[str, bytes]:
    """Every file below ``directory`` (hidden ones too) → its bytes."""
    return {p.relative_to(directory).as_posix(): p.read_bytes()
            for p in sorted(directory.rglob("*")) if p.is_file()}


def _leftovers(out: Path) -> list[str]:
    """Staging directories, set-aside copies and lock files of ``out`` in its parent."""
    return sorted(p.name for p in out.parent.iterdir()
                  if p.name.startswith(f".{out.name}.d3-") or p.name == f"{out.name}.d3-lock")


@pytest.fixture(scope="module")
def full_run(tmp_path_factory) -> Path:
    """A complete run of the minimal fixture (both lines), to be copied, never changed."""
    out = tmp_path_factory.mktemp("full") / "out"
    result = _run(out)
    assert result.exit_code == 0, result.stderr
    return out


@pytest.fixture
def previous(full_run, tmp_path) -> Path:
    """``tmp_path/out`` holding a copy of a complete earlier run."""
    return Path(shutil.copytree(full_run, tmp_path / "out"))


def test_rerun_with_fewer_pipelines_keeps_no_stale_file(previous):
    assert any(p.name.startswith("private_") for p in previous.rglob("*"))
    result = _run(previous, "--pipelines", "public")
    assert result.exit_code == 0, result.stderr
    assert not [p for p in previous.rglob("*") if p.name.startswith("private_")]
    listed = {}
    for line in (previous / "SHA256SUMS").read_text().splitlines():
        digest, name = line.split("  ", 1)
        listed[name] = digest
    present = {name: hashlib.sha256(data).hexdigest()
               for name, data in _tree(previous).items() if name != "SHA256SUMS"}
    assert listed == present
    assert _leftovers(previous) == []


def test_second_seed_replaces_the_first_byte_for_byte(tmp_path):
    out = tmp_path / "out"
    assert _run(out, "--seed", "1").exit_code == 0
    assert _run(out, "--seed", "2").exit_code == 0
    fresh = tmp_path / "missing" / "parents" / "fresh"  # missing parents are created
    assert _run(fresh, "--seed", "2").exit_code == 0
    assert _tree(out) == _tree(fresh)
    assert _tree(out) != {}
    assert _leftovers(out) == []


def test_validation_error_leaves_the_previous_run_untouched(previous, tmp_path):
    before = _tree(previous)
    root = copy_minimal(tmp_path / "tree")
    edit_csv(root / GPU_CSV, lambda header, rows: rows[1].update(num_gpus="0"))
    result = _run(previous, inputs=root / "inputs")
    assert result.exit_code == 2
    assert result.stderr.startswith("inputs/operator/curated_gpu.csv:row 3")
    assert _tree(previous) == before
    assert _leftovers(previous) == []


def test_internal_error_leaves_the_previous_run_untouched(previous, monkeypatch):
    def broken(io):
        raise RuntimeError("disk on fire")

    monkeypatch.setattr(stages.consolidate, "run", broken)
    before = _tree(previous)
    result = _run(previous)
    assert result.exit_code == 3
    assert "internal error: RuntimeError: disk on fire" in result.stderr
    assert _tree(previous) == before
    assert _leftovers(previous) == []


def test_internal_error_leaves_a_new_out_absent(tmp_path, monkeypatch):
    monkeypatch.setattr(stages.consolidate, "run", lambda io: 1 / 0)
    out = tmp_path / "out"
    assert _run(out).exit_code == 3
    assert not out.exists()
    assert _leftovers(out) == []


def _start_run(out: Path) -> subprocess.Popen:
    """``python -m d3 run`` in its own session (so its workers can be found and cleaned up),
    with Ctrl-C handled even if this test runner was started ignoring SIGINT."""
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    return subprocess.Popen(
        [sys.executable, "-m", "d3", "run", "--inputs", str(MINIMAL / "inputs"), "--out",
         str(out), "--max-concurrency", "2", "--chunk-blocks", "1"],
        cwd=ROOT, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
        start_new_session=True,
        preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_DFL))


def _wait_for_stage(proc: subprocess.Popen, stage: str) -> None:
    for line in proc.stdout:
        event = json.loads(line)
        if event["event"] == "stage_start" and event.get("stage") == stage:
            return
    pytest.fail(f"the run ended before stage {stage}: {proc.stderr.read()}")


def _live_processes_in_group(pgid: int) -> list[int]:
    """Pids (not zombies) in process group ``pgid``, read from /proc."""
    pids = []
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = stat.read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        if int(fields[2]) == pgid and fields[0] != "Z":
            pids.append(int(stat.parent.name))
    return pids


@pytest.mark.parametrize("sig", [signal.SIGINT, signal.SIGTERM], ids=["SIGINT", "SIGTERM"])
def test_interrupt_mid_run_leaves_out_untouched(previous, sig):
    before = _tree(previous)
    proc = _start_run(previous)
    try:
        _wait_for_stage(proc, "public_demand")
        proc.send_signal(sig)
        _, stderr = proc.communicate(timeout=60)
    finally:
        if proc.poll() is None:
            os.killpg(proc.pid, signal.SIGKILL)
    assert proc.returncode == 3
    assert stderr == "interrupted\n"
    assert "Traceback" not in stderr
    assert _tree(previous) == before
    assert _leftovers(previous) == []
    if Path("/proc/self/stat").exists():  # the pool's workers were stopped with the run
        assert _live_processes_in_group(proc.pid) == []


def test_a_second_run_into_a_locked_out_is_refused(previous):
    before = _tree(previous)
    with out_lock(previous, previous):
        result = _run(previous)
    assert result.exit_code == 2
    assert result.stderr == (
        f"{previous}:(--out): another d3 run is writing here (lock {previous}.d3-lock held by "
        f"pid {os.getpid()}) — wait for it or choose another --out\n")
    assert _tree(previous) == before
    assert not lock_path(previous).exists()  # the holder removed it on release


def test_a_killed_run_leaves_no_stale_lock(previous):
    before = _tree(previous)
    proc = _start_run(previous)
    try:
        _wait_for_stage(proc, "public_demand")
        proc.kill()
        proc.wait(timeout=60)
    finally:
        proc.stdout.close()  # orphaned workers may hold the pipe for a moment: do not read it
        proc.stderr.close()
    assert proc.returncode == -signal.SIGKILL
    assert _tree(previous) == before
    assert lock_path(previous).exists()  # left behind, but no longer locked
    assert _leftovers(previous) != []  # and the killed run's staging directory

    result = _run(previous)
    assert result.exit_code == 0, result.stderr
    assert _leftovers(previous) == []


def test_leftovers_of_a_swap_cut_short_are_recovered(full_run, tmp_path):
    out = tmp_path / "out"
    shutil.copytree(full_run, tmp_path / ".out.d3-old-0badc0de")  # --out renamed aside, then…
    (tmp_path / ".out.d3-tmp-0badc0de").mkdir()  # …killed before the new one moved in
    result = invoke("run", "--inputs", str(tmp_path / "nope"), "--out", str(out))
    assert result.exit_code == 2
    assert _tree(out) == _tree(full_run)
    assert _leftovers(out) == []


def test_out_naming_a_file_is_exit_2(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    Path("out.txt").write_text("keep me\n")
    result = invoke("run", "--inputs", str(MINIMAL / "inputs"), "--out", "out.txt")
    assert result.exit_code == 2
    assert result.stderr == ("out.txt:(--out): is a file, not a directory — pass a directory "
                             "path (it is created if missing)\n")
    assert Path("out.txt").read_text() == "keep me\n"


def test_out_whose_parent_cannot_be_created_is_exit_2(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    Path("afile").write_text("")
    result = invoke("run", "--inputs", str(MINIMAL / "inputs"), "--out", "afile/sub/out")
    assert result.exit_code == 2
    assert result.stderr == ("afile/sub/out:(--out): cannot create its parent directory "
                             "afile/sub (afile is a file) — choose a --out whose parent exists "
                             "or can be created\n")


@pytest.mark.skipif(os.geteuid() == 0, reason="root ignores directory permissions")
def test_out_in_a_read_only_directory_is_exit_2(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    Path("ro").mkdir()
    Path("ro").chmod(0o555)
    try:
        result = invoke("run", "--inputs", str(MINIMAL / "inputs"), "--out", "ro/out")
    finally:
        Path("ro").chmod(0o755)
    assert result.exit_code == 2
    assert result.stderr == ("ro/out:(--out): cannot write in its parent directory ro — choose "
                             "a --out in a directory you can write to\n")


def test_out_holding_other_files_is_not_replaced(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    Path("notes").mkdir()
    Path("notes/todo.txt").write_text("keep me\n")
    Path("notes/metrics.json").write_text("{}\n")  # a d3 name: not what makes it foreign
    result = invoke("run", "--inputs", str(MINIMAL / "inputs"), "--out", "notes")
    assert result.exit_code == 2
    assert result.stderr == ("notes:(--out): holds an entry d3 does not write (todo.txt) — a "
                             "run replaces --out whole; move them away or choose another "
                             "--out\n")
    assert Path("notes/todo.txt").read_text() == "keep me\n"


def test_a_user_file_inside_a_d3_named_directory_is_not_replaced(tmp_path, monkeypatch):
    # logs/ and charts/ are d3 names, but logs/diary.txt is no d3 log: replacing --out whole
    # would delete it (found by a review).
    monkeypatch.chdir(tmp_path)
    Path("site/logs").mkdir(parents=True)
    Path("site/logs/diary.txt").write_text("keep me\n")
    Path("site/charts").mkdir()
    Path("site/charts/cash_fan.png").write_bytes(b"png")  # inside a d3 chart directory: known
    result = invoke("run", "--inputs", str(MINIMAL / "inputs"), "--out", "site")
    assert result.exit_code == 2
    assert result.stderr == ("site:(--out): holds an entry d3 does not write (logs/diary.txt) "
                             "— a run replaces --out whole; move them away or choose another "
                             "--out\n")
    assert Path("site/logs/diary.txt").read_text() == "keep me\n"


def test_out_containing_the_current_directory_is_exit_2(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    result = invoke("run", "--inputs", str(MINIMAL / "inputs"), "--out", ".")
    assert result.exit_code == 2
    assert result.stderr == (".:(--out): is the current directory or contains it — a run "
                             "replaces --out whole; pass a directory below the current one\n")


def test_missing_inputs_dir_is_one_error_line(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    result = invoke("run", "--inputs", "nope", "--out", "out")
    assert result.exit_code == 2
    assert result.stderr == ("nope:(dir): inputs directory not found — pass --inputs DIR "
                             "pointing at operator/, variables/, facts/\n")
    assert not Path("out").exists()
    assert _leftovers(tmp_path / "out") == []


def test_missing_params_file_is_one_error_line(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    result = invoke("run", "--inputs", str(MINIMAL / "inputs"), "--out", "out", "--params",
                    "nope.yaml")
    assert result.exit_code == 2
    assert result.stderr == ("nope.yaml:(file): params file not found — create params.yaml or "
                             "pass --params FILE\n")
    assert not Path("out").exists()
