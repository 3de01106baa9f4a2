"""The CLI for people and for tools (issue 15 item 6): help on every option, --version,
--quiet, JSONL only for tools, a live bar on a terminal, a closing line with the verdict, and
the design's command form without a subcommand."""

from __future__ import annotations

import io
import json
import os
import pty
import re
import select
import subprocess
import sys
import tomllib
from pathlib import Path

import pytest
import typer

from d3.cli import app
from d3.core.progress import Emitter, LiveBar, shows_bar, writes_jsonl
from d3.core.sample_run import progress_chunk_blocks
from d3.report.run_outcome import run_outcome
from tests.helpers import MINIMAL, ROOT, copy_minimal, edit_yaml, invoke

VERSION = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]["version"]


def _commands():
    group = typer.main.get_command(app)
    return [("d3", group), *((f"d3 {name}", cmd) for name, cmd in group.commands.items())]


def test_every_option_and_argument_has_help_text():
    seen = []
    for name, command in _commands():
        assert (command.help or "").strip(), name
        for param in command.params:
            assert (getattr(param, "help", None) or "").strip(), f"{name} {param.name}"
            seen.append(f"{name} {param.name}")
    # The commands and options the README documents are all there.
    for expected in ("d3 version", "d3 run inputs", "d3 run out", "d3 run pipelines",
                     "d3 run seed", "d3 run quiet", "d3 run log_format", "d3 validate quiet",
                     "d3 import-draft src", "d3 import-draft to"):
        assert expected in seen


def test_help_shows_the_option_texts():
    result = invoke("run", "--help")
    assert result.exit_code == 0
    assert "Worker processes" in result.stdout and "--log-format" in result.stdout


@pytest.mark.parametrize("command", [(), ("run",), ("solve",), ("validate",),
                                     ("import-draft",)])
def test_flags_show_as_plain_flags_and_options_with_a_value_keep_their_type(command,
                                                                             monkeypatch):
    monkeypatch.setenv("COLUMNS", "200")  # one line per option
    result = invoke(*command, "--help")
    assert result.exit_code == 0
    assert "<bool>" not in result.stdout
    rows = {line.split()[1]: line for line in result.stdout.splitlines()
            if line.startswith("│ --") or line.startswith("│    --")}
    # A flag: its name(s), then straight to its help text.
    assert rows["--help"].split()[2:4] == ["Show", "this"]
    if command in (("run",), ("solve",), ("validate",)):
        assert rows["--quiet"].split()[2:5] == ["-q", "Print", "nothing"]
        assert rows["--seed"].split()[2] == "<int>"  # takes a value: its type stays
    if command == ("run",):
        assert rows["--fail-on-warning"].split()[2:4] == ["Turn", "every"]
    if command == ():
        assert rows["--version"].split()[2:4] == ["Print", "the"]


def test_solve_seed_help_says_what_the_seed_does_for_the_solver(monkeypatch):
    monkeypatch.setenv("COLUMNS", "400")
    text = " ".join(invoke("solve", "--help").stdout.split())
    assert ("Overrides every seed of the inputs and the plan: the random futures every "
            "candidate is evaluated on and, unless solve.seed is set, the search's sampler "
            "(solve_best.json records it under settings.seed). Another seed gives other "
            "candidates.") in text
    assert "run summary" not in text


def test_version_prints_the_pyproject_version():
    result = invoke("--version")
    assert (result.exit_code, result.stdout) == (0, f"d3 {VERSION}\n")


def test_log_format_selection():
    # auto: JSONL for a pipe or file, text for a terminal; json/text force it.
    assert writes_jsonl("auto", stdout_is_terminal=False) is True
    assert writes_jsonl("auto", stdout_is_terminal=True) is False
    assert writes_jsonl("json", stdout_is_terminal=True) is True
    assert writes_jsonl("text", stdout_is_terminal=False) is False
    with pytest.raises(ValueError, match="log format must be one of auto, json, text"):
        writes_jsonl("xml", stdout_is_terminal=False)
    # The bar: on a terminal stderr, unless quiet or JSONL goes to the same terminal.
    assert shows_bar(quiet=False, jsonl=False, stdout_is_terminal=True, stderr_is_terminal=True)
    assert shows_bar(quiet=False, jsonl=True, stdout_is_terminal=False, stderr_is_terminal=True)
    assert not shows_bar(quiet=True, jsonl=False, stdout_is_terminal=True,
                         stderr_is_terminal=True)
    assert not shows_bar(quiet=False, jsonl=True, stdout_is_terminal=True,
                         stderr_is_terminal=True)
    assert not shows_bar(quiet=False, jsonl=False, stdout_is_terminal=True,
                         stderr_is_terminal=False)


def test_a_small_run_still_reports_progress_block_by_block():
    # Why the bar used to appear only when a stage was done: 12 blocks (3 grid points × 4
    # replicates) fit one chunk of run.chunk_blocks = 64, so progress went 0/1 → 1/1.
    assert progress_chunk_blocks(12, 64) == 1  # ⌈12 / 20⌉ = 1 → 12 steps
    assert progress_chunk_blocks(100, 64) == 5  # ⌈100 / 20⌉ = 5 → 20 steps
    assert progress_chunk_blocks(20_000, 64) == 64  # large runs keep run.chunk_blocks


def test_the_live_bar_follows_the_events():
    bar = LiveBar(io.StringIO(), force_terminal=True)
    emitter = Emitter(io.StringIO(), jsonl=False, bar=bar)
    emitter.emit("stage_start", stage="public_demand", index=5, of=13)
    assert bar.task("stages") == {"description": "stage public_demand", "completed": 4,
                                  "total": 13, "visible": True}
    emitter.progress(7, 12, "public demand")
    assert bar.task("work") == {"description": "public demand", "completed": 7, "total": 12,
                                "visible": True}
    emitter.emit("stage_done", stage="public_demand", index=5, of=13)
    emitter.emit("stage_start", stage="public_capacity", index=6, of=13)
    assert bar.task("work")["visible"] is False  # the next stage starts with no work line
    emitter.emit("autoscaler_done", grid_index=1, model="m")
    emitter.emit("autoscaler_done", grid_index=1, model="n")
    # Two autoscaler runs of a count nobody announced: 2 of unknown, not 2 of the last 12.
    assert bar.task("work") == {"description": "autoscaler, grid point 1", "completed": 2,
                                "total": None, "visible": True}
    assert emitter.stream.getvalue() == ""  # text mode: no JSONL


def _criteria(*oks: bool) -> list[dict]:
    return [{"name": f"c{i}", "ok": ok} for i, ok in enumerate(oks)]


def _kpi(g: str, p90: str) -> dict[str, str]:
    return {"grid_index": g, "metric": "funding_need_eur", "p90": p90}


def test_the_closing_line_states_the_verdict_and_the_funding_need():
    one = run_outcome("out/financial_plan_v3.md",
                      {"accepted": False, "horizon_months": 24,
                       "grid": {"0": {"accepted": False, "criteria": _criteria(1, 0, 0, 1)}}},
                      [_kpi("0", "104940.8")])
    assert one.line() == ("Report: out/financial_plan_v3.md — not accepted (2 of 4 criteria "
                          "fail); funding need EUR 104,941 at 90 % over the first 24 months")
    grid = {"0": {"accepted": False, "criteria": _criteria(0, 0, 1)},
            "1": {"accepted": False, "criteria": _criteria(0, 1, 1)}}
    two = run_outcome("o/r.md", {"accepted": False, "grid": grid},
                      [_kpi("0", "104940.8"), _kpi("1", "34293.45")])
    assert two.line() == ("Report: o/r.md — not accepted at any of the 2 grid points (1–2 of 3 "
                          "criteria fail); funding need EUR 34,293–104,941 at 90 %")
    grid["1"] = {"accepted": True, "criteria": _criteria(1, 1, 1)}
    some = run_outcome("o/r.md", {"accepted": False, "grid": grid},
                       [{**_kpi("1", "0"), "grid_label": "margin=65%"}, _kpi("0", "10")])
    assert some.line() == ("Report: o/r.md — not accepted: 1 of 2 grid points pass "
                           "(margin=65%); 2 of 3 criteria fail at the others; funding need "
                           "EUR 0–10 at 90 %")
    grid["0"] = {"accepted": True, "criteria": _criteria(1, 1, 1)}
    assert run_outcome("o/r.md", {"accepted": True, "grid": grid}, []).line() == (
        "Report: o/r.md — accepted (all 3 criteria hold at each of the 2 grid points)")


def _events(stdout: str) -> list[dict]:
    return [json.loads(line) for line in stdout.splitlines()]


def test_jsonl_run_ends_with_the_verdict_event(tmp_path):
    out = tmp_path / "out"
    result = invoke("run", "--inputs", str(MINIMAL / "inputs"), "--out", str(out))
    assert result.exit_code == 0, result.stderr
    last = _events(result.stdout)[-1]  # CliRunner's stdout is no terminal: JSONL
    acceptance = json.loads((out / "acceptance.json").read_text())
    failing = {g: sum(not c["ok"] for c in v["criteria"]) for g, v in acceptance["grid"].items()}
    assert last["event"] == "run_done" and last["criteria_failing"] == failing
    assert last["report"] == str(out / "financial_plan_v3.md")
    assert last["message"].startswith(f"Report: {out / 'financial_plan_v3.md'} — ")
    assert result.stderr.splitlines()[-1].startswith("Warnings: 2 warnings (1 cap_below_target, "
                                                     "1 tps_heuristic)")


def test_text_format_prints_no_jsonl_and_ends_with_the_report_line(tmp_path):
    out = tmp_path / "out"
    result = invoke("run", "--inputs", str(MINIMAL / "inputs"), "--out", str(out),
                    "--log-format", "text")
    assert result.exit_code == 0, result.stderr
    assert not any(line.startswith("{") for line in result.stdout.splitlines())
    assert result.stdout.splitlines()[-1].startswith(f"Report: {out / 'financial_plan_v3.md'} — ")


def test_quiet_prints_nothing_on_success_and_only_errors_on_failure(tmp_path):
    result = invoke("run", "--inputs", str(MINIMAL / "inputs"), "--out", str(tmp_path / "o"),
                    "--quiet")
    assert (result.exit_code, result.stdout, result.stderr) == (0, "", "")
    result = invoke("validate", "--inputs", str(MINIMAL / "inputs"), "-q", "--log-format", "text")
    assert (result.exit_code, result.stdout, result.stderr) == (0, "", "")
    root = copy_minimal(tmp_path / "tree")
    edit_yaml(root / "inputs/operator/general.yaml",
              lambda d: d["finance"].update(contingency_pct_of_costs=-1))
    result = invoke("validate", "--inputs", str(root / "inputs"), "--quiet")
    assert result.exit_code == 2
    assert result.stderr.splitlines() == [
        "inputs/operator/general.yaml:finance.contingency_pct_of_costs: must be ≥ 0, got -1 — "
        "use a value ≥ 0"]  # the minimal fixture's tps_heuristic warning is not printed
    assert [e["level"] for e in _events(result.stdout)] == ["error"]


def test_the_design_command_form_without_a_subcommand_is_run(tmp_path):
    args = ["--inputs", str(MINIMAL / "inputs"), "--out", "{out}", "--pipelines",
            "public,private", "--seed", "7"]
    a, b = tmp_path / "a", tmp_path / "b"
    assert invoke(*(x.replace("{out}", str(a)) for x in args)).exit_code == 0
    proc = subprocess.run([sys.executable, "-m", "d3.cli", *(x.replace("{out}", str(b))
                                                              for x in args)],
                          capture_output=True, text=True, cwd=ROOT, check=False,
                          env={**os.environ, "PYTHONPATH": str(ROOT)})
    assert proc.returncode == 0, proc.stderr
    assert json.loads(proc.stdout.splitlines()[-1])["event"] == "run_done"
    assert (a / "run_summary.json").read_bytes() == (b / "run_summary.json").read_bytes()
    assert (a / "SHA256SUMS").read_bytes() == (b / "SHA256SUMS").read_bytes()
    # The subcommands stay as they were.
    assert invoke("validate", "--inputs", str(MINIMAL / "inputs")).exit_code == 0


ANSI = re.compile(r"\x1b\[[0-9;?]*[A-Za-z]|\r")


def _on_a_terminal(args: list[str], cwd: Path) -> tuple[int, str]:
    """Run ``python -m d3 ARGS`` with stdout and stderr on a pseudo-terminal; (exit, screen)."""
    leader, follower = pty.openpty()
    proc = subprocess.Popen([sys.executable, "-m", "d3", *args], stdout=follower,
                            stderr=follower, stdin=subprocess.DEVNULL, cwd=cwd,
                            env={**os.environ, "PYTHONPATH": str(ROOT), "COLUMNS": "100"})
    os.close(follower)
    chunks = []
    while True:
        ready, _, _ = select.select([leader], [], [], 120)
        if not ready:
            proc.kill()
            break
        try:
            data = os.read(leader, 65536)
        except OSError:  # the child closed the terminal
            break
        if not data:
            break
        chunks.append(data)
    os.close(leader)
    return proc.wait(timeout=60), b"".join(chunks).decode("utf-8", "replace")


def test_on_a_terminal_a_bar_runs_and_the_last_line_is_the_report(tmp_path):
    out = tmp_path / "out"
    code, screen = _on_a_terminal(["run", "--inputs", str(MINIMAL / "inputs"), "--out",
                                   str(out)], ROOT)
    assert code == 0, screen
    assert "stage public_demand" in screen  # the live bar was drawn while the run went on
    lines = [line for line in ANSI.sub("\n", screen).splitlines() if line.strip()]
    assert not any(line.startswith('{"ts"') for line in lines)  # no JSONL on a terminal
    assert lines[-2].startswith("Warnings: 2 warnings")
    assert lines[-1].startswith(f"Report: {out / 'financial_plan_v3.md'} — ")
    assert "funding need EUR " in lines[-1]


def test_help_shows_plain_metavars_and_each_command_in_one_complete_sentence(monkeypatch):
    monkeypatch.setenv("COLUMNS", "200")  # one line per option and per command
    for command in ("run", "solve"):
        rows = {line.split()[1]: line for line in invoke(command, "--help").stdout.splitlines()
                if line.startswith("│ --")}
        # The values of --log-format as its metavar; a count as N, not `<int range> [x>=1]`.
        assert rows["--log-format"].split()[2] == "auto|json|text"
        assert rows["--max-concurrency"].split()[2] == "N"
        assert "range" not in rows["--max-concurrency"] and "x>=1" not in rows[
            "--max-concurrency"]
    assert invoke("run", "--max-concurrency", "0").exit_code == 2  # the bound still holds
    # The first paragraph of each command's docstring is what `d3 --help` lists: one line,
    # one sentence.
    for name, command in _commands()[1:]:
        first = command.help.split("\n\n")[0]
        assert "\n" not in first.strip() and first.strip().endswith("."), name
    lines = invoke("--help").stdout.splitlines()
    at = next(i for i, line in enumerate(lines) if line.startswith("│ solve"))
    # The whole sentence on its line, and no continuation line after it (the box closes).
    assert lines[at].strip("│ ") == ("solve         Find the fundable plan nearest to yours "
                                     "and the command that applies it.")
    assert lines[at + 1].startswith("╰")
