"""``d3`` command line: ``d3 run``, ``d3 validate`` and ``d3 import-draft`` (SPEC §10).

This is the only module that turns exceptions into exit codes:
0 OK, 2 invalid input (every problem printed as ``FILE:LOCATION: problem — fix``),
3 internal error or interrupted (Ctrl-C, SIGTERM). Progress is JSONL on stdout. ``d3 run`` is
all-or-nothing: it writes into a staging sibling of ``--out`` and replaces ``--out`` only on
success (:mod:`d3.io.staging`).
"""

from __future__ import annotations

import os
import sys
import tempfile
import traceback
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, replace
from pathlib import Path

import typer

from d3.core.errors import Issue, ValidationError
from d3.core.interrupts import forget_unhandled_interrupt, recorded_interrupts
from d3.core.progress import Emitter
from d3.core.runner import PIPELINES, RunOptions, StageIO, run_stages, stage_runner
from d3.core.validator import validated_inputs
from d3.importer import (
    REPORT_NAME,
    Origins,
    checked_destination,
    draft_import,
    is_draft_tree,
    write_import,
)
from d3.importer.report import warning_lines
from d3.io.loader import read_inputs_tree, resolve_params_path
from d3.io.staging import checked_target, staged_output
from d3.registry import STAGE_BY_NAME, Roots

EXIT_OK, EXIT_INVALID, EXIT_INTERNAL = 0, 2, 3

app = typer.Typer(add_completion=False, no_args_is_help=True,
                  help="Deterministic Monte Carlo financial plan for a GPU-inference business.")


def _report_invalid(exc: ValidationError, emitter: Emitter) -> int:
    for issue in exc.issues:
        if issue.severity == "error":
            emitter.emit("validate_error", level="error", **issue.as_dict())
            sys.stderr.write(issue.line() + "\n")
    for issue in exc.issues:
        if issue.severity == "warning":
            sys.stderr.write(f"warning: {issue.line()}\n")
    return EXIT_INVALID


def guarded(action: Callable[[], None], emitter: Emitter) -> int:
    """Run ``action`` and map its outcome to an exit code."""
    try:
        action()
    except ValidationError as exc:
        return _report_invalid(exc, emitter)
    except KeyboardInterrupt:
        emitter.emit("error", level="error", message="interrupted")
        sys.stderr.write("interrupted\n")
        forget_unhandled_interrupt()
        return EXIT_INTERNAL
    except Exception as exc:  # noqa: BLE001 - every internal failure becomes exit 3
        emitter.emit("error", level="error", message=f"{type(exc).__name__}: {exc}")
        sys.stderr.write(f"internal error: {type(exc).__name__}: {exc}\n")
        if os.environ.get("D3_TRACEBACK"):
            traceback.print_exc()
        return EXIT_INTERNAL
    return EXIT_OK


def _pipelines(text: str | None) -> tuple[str, ...] | None:
    if text is None:
        return None
    names = tuple(p.strip() for p in text.split(",") if p.strip())
    bad = [n for n in names if n not in PIPELINES]
    if bad or not names:
        raise ValidationError([Issue("--pipelines", "value", f"unknown pipeline(s) {bad or text!r}",
                                     "use public, private or public,private")])
    return names


def _import_warnings(result, emitter: Emitter) -> None:
    """Every import WARNING as a JSONL event on stdout (one per key, for tools) and as
    grouped human lines on stderr, then the counts."""
    for issue in result.warnings:
        emitter.emit("import_warning", level="warning", **issue.as_dict())
    for line in warning_lines(result.ledger):
        sys.stderr.write(line + "\n")
    emitter.emit("draft_imported", **result.ledger.counts(), warnings=len(result.warnings))


class DraftEmitter(Emitter):
    """An emitter whose validation events name the draft's file, row and key (the run itself
    sees only the temporary imported tree)."""

    def __init__(self, inner: Emitter, origins: Origins):
        self.inner, self.origins = inner, origins

    def emit(self, event: str, level: str = "info", **fields) -> None:
        if {"file", "location", "message", "hint"} <= fields.keys():
            issue = self.origins.issue(Issue(fields["file"], fields["location"],
                                             fields["message"], fields["hint"]))
            fields.update(file=issue.file, location=issue.location, line=issue.line())
        self.inner.emit(event, level, **fields)

    def progress(self, done: int, total: int, label: str) -> None:
        self.inner.progress(done, total, label)

    def __getattr__(self, name: str):
        if name == "inner":  # not set yet (e.g. while a copy is being built): no recursion
            raise AttributeError(name)
        return getattr(self.inner, name)  # stream, level, … of the wrapped emitter


@dataclass(frozen=True)
class RunInputs:
    inputs: Path
    params: Path
    origins: Origins | None = None  # set when imported from a draft tree

    def issue(self, issue: Issue) -> Issue:
        return issue if self.origins is None else self.origins.issue(issue)

    def emitter(self, emitter: Emitter) -> Emitter:
        return emitter if self.origins is None else DraftEmitter(emitter, self.origins)


@contextmanager
def run_inputs(inputs: Path, params: Path | None, emitter: Emitter) -> Iterator[RunInputs]:
    """The inputs dir and params file to use. An original draft tree (``simulation.yaml`` and
    the draft's facts, no ``facts/gpu_specs.csv``) is first imported into a temporary directory,
    exactly as ``d3 import-draft`` would, and its import report lies beside the inputs there.
    Issues raised inside the block are pointed at the draft's own files and rows."""
    if not is_draft_tree(inputs):
        yield RunInputs(inputs, resolve_params_path(inputs, params))
        return
    result = draft_import(inputs)
    _import_warnings(result, emitter)
    with tempfile.TemporaryDirectory(prefix="d3-draft-") as tmp:
        write_import(result, Path(tmp))
        used = RunInputs(Path(tmp) / "inputs", params or Path(tmp) / "params.yaml",
                         result.origins)
        try:
            yield used
        except ValidationError as exc:
            raise ValidationError([used.issue(i) for i in exc.issues]) from None


def staged_import_report(inputs_dir: Path, staged: Path) -> None:
    """Copy the import report beside ``inputs_dir`` (a draft imported by this run, or a
    ``d3 import-draft`` DEST) into the run's outputs, before the summary stage lists and hashes
    every artefact: the report explains the inputs the numbers came from."""
    report = inputs_dir.parent / REPORT_NAME
    if report.is_file():
        (staged / REPORT_NAME).write_bytes(report.read_bytes())


@app.command()
def run(
    inputs: Path = typer.Option(Path("inputs"), "--inputs", help="Inputs tree (operator/, "
                                "variables/, facts/)."),
    out: Path = typer.Option(Path("outputs"), "--out", help="Output directory."),
    params: Path | None = typer.Option(None, "--params", help="Plan file (default: "
                                       "<inputs>/simulation.yaml, else params.yaml)."),
    pipelines: str | None = typer.Option(None, "--pipelines", help="public,private"),
    seed: int | None = typer.Option(None, "--seed", help="Overrides every seed."),
    fail_on_warning: bool = typer.Option(False, "--fail-on-warning"),
    max_concurrency: int = typer.Option(1, "--max-concurrency", min=1),
    chunk_blocks: int | None = typer.Option(None, "--chunk-blocks", min=1, help="Blocks per "
                                            "work chunk (results never depend on it)."),
) -> None:
    """Run the whole pipeline in-process: the same stages, bytes and outputs as `dvc repro`."""
    emitter = Emitter()

    def action() -> None:
        options = RunOptions(seed=seed, max_concurrency=max_concurrency,
                             fail_on_warning=fail_on_warning, pipelines=_pipelines(pipelines),
                             chunk_blocks=chunk_blocks)
        checked_target(out)  # a bad --out is refused before the import prints anything
        with run_inputs(inputs, params, emitter) as used:
            roots = Roots(used.inputs, out, used.params)
            emitter.emit("run_start", inputs=str(inputs), out=str(out), params=str(roots.params))
            with staged_output(out) as staged:
                staged_import_report(used.inputs, staged)
                run_stages(replace(roots, out=staged), options, used.emitter(emitter))
                if interrupts:  # raised, but swallowed inside some library: do not commit
                    raise KeyboardInterrupt
        emitter.emit("run_done")

    with recorded_interrupts() as interrupts:
        code = guarded(action, emitter)
    raise typer.Exit(code)


@app.command()
def validate(
    inputs: Path = typer.Option(Path("inputs"), "--inputs"),
    params: Path | None = typer.Option(None, "--params"),
    seed: int | None = typer.Option(None, "--seed"),
    fail_on_warning: bool = typer.Option(False, "--fail-on-warning"),
) -> None:
    """Check the inputs only; writes nothing."""
    emitter = Emitter()

    def action() -> None:
        emitter.emit("load_start")
        with run_inputs(inputs, params, emitter) as used:
            raw = read_inputs_tree(used.inputs, used.params)
            emitter.emit("load_done", files=len(raw.sha256))
            emitter.emit("validate_start")
            v = validated_inputs(raw, seed_override=seed, fail_on_warning=fail_on_warning)
            for issue in map(used.issue, v.issues):
                emitter.emit("validate_warning", level="warning", **issue.as_dict())
                sys.stderr.write(f"warning: {issue.line()}\n")
        emitter.emit("validate_done", warnings=len(v.issues))

    raise typer.Exit(guarded(action, emitter))


@app.command("import-draft")
def import_draft(
    src: Path = typer.Argument(..., help="The original draft's inputs/ directory."),
    to: Path = typer.Option(..., "--to", help="Directory for inputs/, params.yaml and "
                            "IMPORT_REPORT.md."),
) -> None:
    """Convert the original draft's input tree into a D3 inputs tree (docs/INPUTS.md)."""
    emitter = Emitter()

    def action() -> None:
        checked_destination(to)  # refused before any work or output
        result = draft_import(src)
        _import_warnings(result, emitter)
        write_import(result, to)
        emitter.emit("import_written", files=len(result.files))

    raise typer.Exit(guarded(action, emitter))


@app.command()
def solve(
    inputs: Path = typer.Option(Path("inputs"), "--inputs", help="Inputs tree."),
    out: Path = typer.Option(Path("outputs"), "--out", help="Directory for "
                             "solve_candidates.csv and solve_best.json (other files stay)."),
    params: Path | None = typer.Option(None, "--params", help="Plan file with the solve "
                                       "section (default as for d3 run)."),
    seed: int | None = typer.Option(None, "--seed", help="Overrides every seed."),
    max_concurrency: int = typer.Option(1, "--max-concurrency", min=1),
) -> None:
    """What it takes: the fundable plan nearest to your decisions (params.yaml solve) and the
    dvc exp run command that applies it (the solve stage, alone)."""
    emitter = Emitter()

    def action() -> None:
        with run_inputs(inputs, params, emitter) as used:
            stage = STAGE_BY_NAME["solve"]
            io = StageIO(stage, Roots(used.inputs, out, used.params),
                         RunOptions(seed=seed, max_concurrency=max_concurrency),
                         used.emitter(emitter))
            stage_runner(stage)(io)

    raise typer.Exit(guarded(action, emitter))


def stage_main(name: str) -> None:
    """Entry point of ``python -m stages.<name>`` under DVC (paths from the registry)."""
    emitter = Emitter()
    stage = STAGE_BY_NAME[name]
    options = RunOptions(max_concurrency=int(os.environ.get("D3_MAX_CONCURRENCY", "1")))
    io = StageIO(stage, Roots.dvc(), options, emitter)
    sys.exit(guarded(lambda: stage_runner(stage)(io), emitter))


def main() -> None:
    app()
