"""``d3`` command line: ``d3 run``, ``d3 validate``, ``d3 import-draft`` and ``d3 solve``
(SPEC §10).

This is the only module that turns exceptions into exit codes:
0 OK, 2 invalid input (every problem printed as ``FILE:LOCATION: problem — fix``),
3 internal error or interrupted (Ctrl-C, SIGTERM). Progress is JSONL on stdout with
``--log-format json`` or when stdout is not a terminal; on a terminal a live bar goes to stderr
and the run ends with one line saying where the report is and what it concluded
(:mod:`d3.core.progress`). ``d3 run`` is all-or-nothing: it writes into a staging sibling of
``--out`` and replaces ``--out`` only on success (:mod:`d3.io.staging`). The design's form
without a subcommand, ``python -m d3.cli --inputs DIR --out DIR …``, is ``d3 run``.
"""

from __future__ import annotations

import json
import os
import sys
import tempfile
import tomllib
import traceback
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, replace
from pathlib import Path

import typer
from typer.core import TyperCommand, TyperGroup

from d3.catalog import path_template, read
from d3.core.errors import Issue, ValidationError
from d3.core.executor import (
    ENV_EXECUTOR,
    ENV_SCHEDULER,
    ExecutorChoice,
    ExecutorUnavailable,
    executor_session,
)
from d3.core.interrupts import forget_unhandled_interrupt, recorded_interrupts
from d3.core.progress import (
    LOG_FORMATS,
    Emitter,
    LiveBar,
    is_terminal,
    shows_bar,
    writes_jsonl,
)
from d3.core.runner import PIPELINES, RunOptions, StageIO, run_stages, stage_runner
from d3.core.schema_issues import visible
from d3.core.validator import validated_inputs
from d3.core.warning_count import WarningCount, warning_count
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
from d3.report.run_outcome import run_outcome
from d3.solve.coverage import every_combination_evaluated

EXIT_OK, EXIT_INVALID, EXIT_INTERNAL = 0, 2, 3


def plain_flags(params: list) -> list:
    """``params`` with every flag (``--quiet``, ``--fail-on-warning``, ``--help``, …) given an
    empty metavar, so the help shows it as a plain flag: typer's rich help otherwise prints
    the flag's Python type (``<bool>``) in the type column, as if it took a value. Options
    that take a value keep their type (``<path>``, ``<int>``)."""
    for param in params:
        if getattr(param, "is_flag", False) and param.metavar is None:
            param.metavar = ""
    return params


class Command(TyperCommand):
    """Every ``d3`` command: its flags shown as plain flags (:func:`plain_flags`)."""

    def get_params(self, ctx) -> list:
        return plain_flags(super().get_params(ctx))


class RunByDefault(TyperGroup):
    """``d3 --inputs DIR --out DIR …`` (the design's command form, no subcommand) runs
    ``d3 run --inputs DIR --out DIR …``: arguments that start with an option the group itself
    does not know are given to ``run``. Its flags show as plain flags (:func:`plain_flags`)."""

    def get_params(self, ctx) -> list:
        return plain_flags(super().get_params(ctx))

    def parse_args(self, ctx, args: list[str]) -> list[str]:
        own = {name for param in self.get_params(ctx)
               for name in (*param.opts, *param.secondary_opts)}
        if args and args[0].startswith("-") and args[0] not in own:
            args = ["run", *args]
        return super().parse_args(ctx, args)


app = typer.Typer(cls=RunByDefault, add_completion=False, no_args_is_help=True,
                  help="Deterministic Monte Carlo financial plan for a GPU-inference business. "
                       "Without a command, the options are those of `d3 run`.")


def project_version() -> str:
    """The version in ``pyproject.toml`` beside the package (a source checkout or an editable
    install), else the installed distribution's."""
    pyproject = Path(__file__).resolve().parent.parent / "pyproject.toml"
    if pyproject.is_file():
        project = tomllib.loads(pyproject.read_text(encoding="utf-8")).get("project", {})
        if project.get("name") == "d3":
            return project["version"]
    from importlib.metadata import version

    return version("d3")


def _print_version(value: bool) -> None:
    if value:
        typer.echo(f"d3 {project_version()}")
        raise typer.Exit(EXIT_OK)


@app.callback()
def main_options(
    version: bool = typer.Option(False, "--version", is_eager=True, callback=_print_version,
                                 help="Print the version (from pyproject.toml) and exit."),
) -> None:
    """Deterministic Monte Carlo financial plan for a GPU-inference business."""


# Shared by every command: what goes to the terminal.
QUIET = typer.Option(False, "--quiet", "-q", help="Print nothing but errors (no progress bar, "
                     "no warnings, no closing line; JSONL only for errors).")
LOG_FORMAT = typer.Option("auto", "--log-format", metavar="|".join(LOG_FORMATS),
                          help="Progress on stdout: `json` = one JSON object per line (ts, "
                          "level, event); `text` = for people (a live bar on stderr, a closing "
                          "line); `auto` = text on a terminal, json when stdout is a pipe or "
                          "file.", case_sensitive=False)


def at_least_one(value: int | None) -> int | None:
    """A count option's check (``--max-concurrency``, ``--chunk-blocks``): at least 1. Not
    typer's ``min=1``, which prints the option's type as ``<int range> [x>=1]``; with this
    check the help shows the plain metavar ``N``. A bad value is a usage error (exit 2)."""
    if value is not None and value < 1:
        raise typer.BadParameter(f"{value} is below 1 — use 1 or more")
    return value


@dataclass(frozen=True)
class Terminal:
    """What the user asked to see: JSONL or text, quiet or not."""

    jsonl: bool
    quiet: bool

    def emitter(self) -> Emitter:
        """The run's emitter: JSONL when asked (errors only when quiet), the live bar on a
        terminal stderr unless quiet."""
        bar = shows_bar(quiet=self.quiet, jsonl=self.jsonl,
                        stdout_is_terminal=is_terminal(sys.stdout),
                        stderr_is_terminal=is_terminal(sys.stderr))
        return Emitter(jsonl=self.jsonl, level="error" if self.quiet else "info",
                       bar=LiveBar(sys.stderr) if bar else None)

    def say(self, line: str) -> None:
        """A closing line for people on stdout (not in JSONL mode, not when quiet)."""
        if not self.jsonl and not self.quiet:
            sys.stdout.write(line + "\n")

    def note(self, line: str) -> None:
        """A warning or note for people on stderr (not when quiet)."""
        if not self.quiet:
            sys.stderr.write(line + "\n")


def terminal(log_format: str, quiet: bool) -> Terminal:
    """``--log-format`` and ``--quiet`` resolved against the real stdout."""
    fmt = log_format.lower()
    if fmt not in LOG_FORMATS:
        raise typer.BadParameter(f"use one of {', '.join(LOG_FORMATS)}", param_hint="--log-format")
    return Terminal(jsonl=writes_jsonl(fmt, stdout_is_terminal=is_terminal(sys.stdout)),
                    quiet=quiet)


def _report_invalid(exc: ValidationError, emitter: Emitter, quiet: bool) -> int:
    for issue in exc.issues:
        if issue.severity == "error":
            emitter.emit("validate_error", level="error", **issue.as_dict())
            sys.stderr.write(printable(issue) + "\n")
    for issue in exc.issues if not quiet else ():
        if issue.severity != "error":
            sys.stderr.write(f"{_prefix(issue.severity)}: {printable(issue)}\n")
    return EXIT_INVALID


def printable(issue: Issue) -> str:
    """The issue's line with any control character from the inputs escaped (``\\x1b``): a
    name is never allowed to drive the user's terminal (JSONL escapes them by itself)."""
    return visible(issue.line())


def _prefix(severity: str) -> str:
    return "note" if severity == "info" else severity


def guarded(action: Callable[[], None], emitter: Emitter, quiet: bool = False) -> int:
    """Run ``action`` and map its outcome to an exit code; the live bar (if any) is drawn
    while it runs and erased before any message is printed."""
    try:
        with emitter:
            action()
    except ValidationError as exc:
        return _report_invalid(exc, emitter, quiet)
    except KeyboardInterrupt:
        emitter.emit("error", level="error", message="interrupted")
        sys.stderr.write("interrupted\n")
        forget_unhandled_interrupt()
        return EXIT_INTERNAL
    except ExecutorUnavailable as exc:  # the cluster, not D3: say what to do, no class name
        emitter.emit("error", level="error", message=str(exc))
        sys.stderr.write(f"error: {exc}\n")
        if os.environ.get("D3_TRACEBACK"):
            traceback.print_exc()
        return EXIT_INTERNAL
    except Exception as exc:  # noqa: BLE001 - every internal failure becomes exit 3
        emitter.emit("error", level="error", message=f"{type(exc).__name__}: {exc}")
        sys.stderr.write(f"internal error: {type(exc).__name__}: {exc}\n")
        if os.environ.get("D3_TRACEBACK"):
            traceback.print_exc()
        return EXIT_INTERNAL
    return EXIT_OK


EXECUTOR_HELP = (f"Where the Monte Carlo chunks run: local (this machine's worker processes, "
                 f"--max-concurrency) or dask (a Dask cluster: --scheduler, else a LocalCluster "
                 f"of one worker per core). Default: ${ENV_EXECUTOR}, else dask when a "
                 f"scheduler is given, else local. Results never depend on it.")
SCHEDULER_HELP = (f"Dask scheduler address, e.g. tcp://10.0.0.5:8786 (default: "
                  f"${ENV_SCHEDULER}); unreachable → exit 3, nothing written.")


def executor_choice(kind: str | None, scheduler: str | None) -> ExecutorChoice:
    """The executor from the flags and the environment; an unknown kind is a usage error."""
    try:
        return ExecutorChoice.of(kind, scheduler)
    except ValueError as exc:
        raise ValidationError([Issue("--executor", "value", str(exc),
                                     "use --executor local or --executor dask")]) from exc


def _pipelines(text: str | None) -> tuple[str, ...] | None:
    if text is None:
        return None
    names = tuple(p.strip() for p in text.split(",") if p.strip())
    bad = [n for n in names if n not in PIPELINES]
    if bad or not names:
        raise ValidationError([Issue("--pipelines", "value", f"unknown pipeline(s) {bad or text!r}",
                                     "use public, private or public,private")])
    return names


def _import_warnings(result, emitter: Emitter, quiet: bool) -> None:
    """Every import WARNING as a JSONL event on stdout (one per key, for tools) and as
    grouped human lines on stderr (not when quiet), then the counts."""
    for issue in result.warnings:
        emitter.emit("import_warning", level="warning", **issue.as_dict())
    for line in warning_lines(result.ledger) if not quiet else ():
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

    def __enter__(self) -> DraftEmitter:
        self.inner.__enter__()
        return self

    def __exit__(self, *exc: object) -> None:
        self.inner.__exit__(*exc)

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
def run_inputs(inputs: Path, params: Path | None, emitter: Emitter,
               quiet: bool = False) -> Iterator[RunInputs]:
    """The inputs dir and params file to use. An original draft tree (``simulation.yaml`` and
    the draft's facts, no ``facts/gpu_specs.csv``) is first imported into a temporary directory,
    exactly as ``d3 import-draft`` would, and its import report lies beside the inputs there.
    Issues raised inside the block are pointed at the draft's own files and rows."""
    if not is_draft_tree(inputs):
        yield RunInputs(inputs, resolve_params_path(inputs, params))
        return
    result = draft_import(inputs)
    _import_warnings(result, emitter, quiet)
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


INPUTS_HELP = ("Inputs tree (operator/, variables/, facts/), or an original draft tree, "
               "imported into a temporary directory first.")
PARAMS_HELP = ("Plan file (default: <inputs>/simulation.yaml, else params.yaml beside the inputs "
               "directory, else ./params.yaml).")
SEED_HELP = "Overrides every seed of the inputs and the plan (the run summary records it)."
SOLVE_SEED_HELP = ("Overrides every seed of the inputs and the plan: the random futures every "
                   "candidate is evaluated on and, unless solve.seed is set, the search's "
                   "sampler (solve_best.json records it under settings.seed). Another seed "
                   "gives other candidates.")
KEEP_SAMPLES_HELP = ("Also write each line's per-sample monthly series "
                     "(samples/public_demand.parquet, samples/private_clients.parquet) for an "
                     "audit: ≈ 6 KB per sample at 60 months; the run summary and SHA256SUMS "
                     "list them, no other output changes. Under dvc: D3_KEEP_SAMPLES=1 dvc "
                     "repro --force -s public_demand -s private_clients -s summary.")
FAIL_ON_WARNING_HELP = ("Turn every WARNING (and a failed acceptance criterion) into an error: "
                        "exit 2.")


@app.command(cls=Command)
def run(
    inputs: Path = typer.Option(Path("inputs"), "--inputs", help=INPUTS_HELP),
    out: Path = typer.Option(Path("outputs"), "--out", help="Output directory; replaced whole, "
                             "and only when the run succeeds."),
    params: Path | None = typer.Option(None, "--params", help=PARAMS_HELP),
    pipelines: str | None = typer.Option(None, "--pipelines", help="Product lines to run, "
                                         "comma-separated: public, private or public,private "
                                         "(default: run.pipelines of the plan)."),
    seed: int | None = typer.Option(None, "--seed", help=SEED_HELP),
    fail_on_warning: bool = typer.Option(False, "--fail-on-warning", help=FAIL_ON_WARNING_HELP),
    max_concurrency: int = typer.Option(1, "--max-concurrency", metavar="N",
                                        callback=at_least_one, help="Worker processes "
                                        "for the Monte Carlo blocks (results never depend on "
                                        "it)."),
    chunk_blocks: int | None = typer.Option(None, "--chunk-blocks", metavar="N",
                                            callback=at_least_one, help="Blocks per "
                                            "work chunk, at least: small blocks are grouped to "
                                            "≥ 2 000 samples (results never depend on it; "
                                            "default: run.chunk_blocks of the plan)."),
    executor: str | None = typer.Option(None, "--executor", metavar="local|dask",
                                        help=EXECUTOR_HELP),
    scheduler: str | None = typer.Option(None, "--scheduler", metavar="ADDRESS",
                                         help=SCHEDULER_HELP),
    keep_samples: bool = typer.Option(False, "--keep-samples", help=KEEP_SAMPLES_HELP),
    quiet: bool = QUIET,
    log_format: str = LOG_FORMAT,
) -> None:
    """Run the whole pipeline in-process: the same stages, bytes and outputs as `dvc repro`."""
    term = terminal(log_format, quiet)
    emitter = term.emitter()

    def action() -> None:
        options = RunOptions(seed=seed, max_concurrency=max_concurrency,
                             fail_on_warning=fail_on_warning, pipelines=_pipelines(pipelines),
                             chunk_blocks=chunk_blocks, keep_samples=keep_samples)
        checked_target(out)  # a bad --out is refused before the import prints anything
        choice = executor_choice(executor, scheduler)
        with run_inputs(inputs, params, emitter, quiet) as used, executor_session(choice):
            roots = Roots(used.inputs, out, used.params)
            emitter.emit("run_start", inputs=str(inputs), out=str(out), params=str(roots.params))
            with staged_output(out) as staged:
                staged_import_report(used.inputs, staged)
                run_stages(replace(roots, out=staged), options, used.emitter(emitter))
                if interrupts:  # raised, but swallowed inside some library: do not commit
                    raise KeyboardInterrupt

    with recorded_interrupts() as interrupts:
        code = guarded(action, emitter, quiet)
    if code == EXIT_OK:
        _closing_lines(out, emitter, term)
    raise typer.Exit(code)


def _closing_lines(out: Path, emitter: Emitter, term: Terminal) -> None:
    """The warning count and the verdict, read back from the run's own outputs: for people
    two lines (the last one says where the report is and what it concluded), for tools the
    ``run_done`` event carrying the same."""
    def path(name: str) -> Path:
        return Path(path_template(name).format(out=out))

    summary = json.loads(path("run_summary").read_text(encoding="utf-8"))
    count = WarningCount.of(summary["warning_count"])
    term.note(f"Warnings: {count.text()} — listed in {path('run_summary_md')}")
    outcome = run_outcome(str(path("financial_plan")), read("acceptance", path("acceptance")),
                          read("consolidated_kpis", path("consolidated_kpis")))
    emitter.emit("run_done", **outcome.as_dict(), warnings=count.as_dict(), message=outcome.line())
    term.say(outcome.line())


@app.command(cls=Command)
def validate(
    inputs: Path = typer.Option(Path("inputs"), "--inputs", help=INPUTS_HELP),
    params: Path | None = typer.Option(None, "--params", help=PARAMS_HELP),
    seed: int | None = typer.Option(None, "--seed", help=SEED_HELP),
    fail_on_warning: bool = typer.Option(False, "--fail-on-warning", help=FAIL_ON_WARNING_HELP),
    quiet: bool = QUIET,
    log_format: str = LOG_FORMAT,
) -> None:
    """Check the inputs only; writes nothing. Warnings and notes go to stderr."""
    term = terminal(log_format, quiet)
    emitter = term.emitter()
    count: list[WarningCount] = []

    def action() -> None:
        emitter.emit("load_start")
        with run_inputs(inputs, params, emitter, quiet) as used:
            raw = read_inputs_tree(used.inputs, used.params)
            emitter.emit("load_done", files=len(raw.sha256))
            emitter.emit("validate_start")
            v = validated_inputs(raw, seed_override=seed, fail_on_warning=fail_on_warning)
            for issue in map(used.issue, v.issues):
                emitter.emit("validate_warning", level="warning", **issue.as_dict())
                term.note(f"{_prefix(issue.severity)}: {printable(issue)}")
        count.append(warning_count(i.as_dict() for i in v.issues))
        emitter.emit("validate_done", **count[0].as_dict())

    code = guarded(action, emitter, quiet)
    if code == EXIT_OK:
        term.say(f"Inputs valid: {count[0].text()}.")
    raise typer.Exit(code)


@app.command("import-draft", cls=Command)
def import_draft(
    src: Path = typer.Argument(..., help="The original draft's inputs/ directory."),
    to: Path = typer.Option(..., "--to", help="Directory for inputs/, params.yaml and "
                            "IMPORT_REPORT.md."),
    quiet: bool = QUIET,
    log_format: str = LOG_FORMAT,
) -> None:
    """Convert the original draft's input tree into a D3 inputs tree (docs/INPUTS.md)."""
    term = terminal(log_format, quiet)
    emitter = term.emitter()
    written: list[str] = []

    def action() -> None:
        checked_destination(to)  # refused before any work or output
        result = draft_import(src)
        _import_warnings(result, emitter, quiet)
        write_import(result, to)
        emitter.emit("import_written", files=len(result.files))
        written.append(f"Imported {len(result.files)} files into {to} "
                       f"({len(result.warnings)} warnings) — see {to / REPORT_NAME}")

    code = guarded(action, emitter, quiet)
    if code == EXIT_OK:
        term.say(written[0])
    raise typer.Exit(code)


@app.command(cls=Command)
def solve(
    inputs: Path = typer.Option(Path("inputs"), "--inputs", help=INPUTS_HELP),
    out: Path = typer.Option(Path("outputs"), "--out", help="Directory for "
                             "solve_candidates.csv and solve_best.json (other files stay)."),
    params: Path | None = typer.Option(None, "--params", help=PARAMS_HELP + " Its solve "
                                       "section lists the decisions."),
    seed: int | None = typer.Option(None, "--seed", help=SOLVE_SEED_HELP),
    max_concurrency: int = typer.Option(1, "--max-concurrency", metavar="N",
                                        callback=at_least_one, help="Worker processes "
                                        "for the Monte Carlo blocks of each evaluation "
                                        "(results never depend on it)."),
    executor: str | None = typer.Option(None, "--executor", metavar="local|dask",
                                        help=EXECUTOR_HELP),
    scheduler: str | None = typer.Option(None, "--scheduler", metavar="ADDRESS",
                                         help=SCHEDULER_HELP),
    quiet: bool = QUIET,
    log_format: str = LOG_FORMAT,
) -> None:
    """Find the fundable plan nearest to yours and the command that applies it.

    What it takes: the solve stage alone, over the decisions of params.yaml's solve section;
    writes solve_candidates.csv and solve_best.json and ends with the dvc exp run command."""
    term = terminal(log_format, quiet)
    emitter = term.emitter()

    def action() -> None:
        choice = executor_choice(executor, scheduler)
        with run_inputs(inputs, params, emitter, quiet) as used, executor_session(choice):
            stage = STAGE_BY_NAME["solve"]
            io = StageIO(stage, Roots(used.inputs, out, used.params),
                         RunOptions(seed=seed, max_concurrency=max_concurrency),
                         used.emitter(emitter))
            emitter.emit("stage_start", stage="solve", index=1, of=1)
            stage_runner(stage)(io)
            emitter.emit("stage_done", stage="solve", index=1, of=1)

    code = guarded(action, emitter, quiet)
    if code == EXIT_OK:
        best = read("solve_best", Path(path_template("solve_best").format(out=out)))
        term.say(solve_line(best, out))
    raise typer.Exit(code)


def solve_line(best: dict, out: Path) -> str:
    """The closing line of ``d3 solve``: the status and the command (or where to look)."""
    where = out / "solve_best.json"
    return {"fundable": f"Fundable with: {best['command']} ({where})",
            "already_fundable": f"Already fundable: no change needed ({where})",
            "not_found": f"No fundable plan among the {_candidates(best)} candidates "
                         f"evaluated (solve.trials={best['settings']['trials']}); "
                         f"{_further(best)}. The closest candidate and what blocks it: "
                         f"{where}",
            }.get(best["status"], f"No decisions declared (solve.decisions); {where}")


def _candidates(best: dict) -> int:
    counts = best["evaluations"]
    return counts.get("candidates", counts["total"])


def _further(best: dict) -> str:
    """How to search further: more trials, unless every combination was evaluated."""
    if every_combination_evaluated(best["evaluations"]):
        return "they are every combination the ranges allow: widen the decisions' ranges"
    return "raise solve.trials or widen the decisions' ranges to search further"


def stage_main(name: str) -> None:
    """Entry point of ``python -m stages.<name>`` under DVC (paths from the registry); the log
    format follows ``D3_LOG_FORMAT`` (default ``auto``), the executor ``D3_EXECUTOR`` and
    ``D3_DASK_SCHEDULER`` (default local); ``D3_KEEP_SAMPLES=1`` writes the audit outs."""
    fmt = os.environ.get("D3_LOG_FORMAT", "auto").lower()
    emitter = terminal(fmt if fmt in LOG_FORMATS else "json", False).emitter()
    stage = STAGE_BY_NAME[name]
    options = RunOptions(max_concurrency=int(os.environ.get("D3_MAX_CONCURRENCY", "1")),
                         keep_samples=os.environ.get("D3_KEEP_SAMPLES", "") == "1")
    io = StageIO(stage, Roots.dvc(), options, emitter)

    def action() -> None:
        # D3_EXECUTOR / D3_DASK_SCHEDULER: a runtime choice, not a param (reruns nothing).
        with executor_session(executor_choice(None, None)):
            stage_runner(stage)(io)

    sys.exit(guarded(action, emitter))


def main() -> None:
    app()


if __name__ == "__main__":  # python -m d3.cli …
    main()
