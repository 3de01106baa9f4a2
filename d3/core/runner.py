"""Executes the registry's stages in-process (``d3 run``), the same code DVC runs per stage."""

from __future__ import annotations

import importlib
from collections.abc import Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from d3.catalog import path_template, read
from d3.core.progress import Emitter, NullEmitter
from d3.core.variables import grid_label, grid_size
from d3.io.params import declared_params
from d3.io.writers import grid_labelled, write_csv, write_csv_rows_atomic
from d3.registry import STAGES, Roots, Stage

PIPELINES = ("public", "private")


@dataclass(frozen=True)
class RunOptions:
    seed: int | None = None  # --seed: overrides every seed in the inputs
    max_concurrency: int = 1
    fail_on_warning: bool = False
    pipelines: tuple[str, ...] | None = None  # None: run.pipelines from the plan
    chunk_blocks: int | None = None  # None: run.chunk_blocks from the plan
    keep_samples: bool = False  # also write the stages' audit outs (per-sample series)


class ReadParams(Mapping[str, Any]):
    """A stage's declared params; every key looked up is added to ``read`` (a test compares
    it with the registry, so a declared key the stage never reads is caught). An undeclared
    key raises KeyError: a stage cannot read a param DVC does not track."""

    def __init__(self, values: Mapping[str, Any], read: set[str]) -> None:
        self._values, self._read = dict(values), read

    def __getitem__(self, key: str) -> Any:
        value = self._values[key]
        self._read.add(key)
        return value

    def __iter__(self) -> Iterator[str]:
        return iter(self._values)

    def __len__(self) -> int:
        return len(self._values)


@dataclass(frozen=True)
class StageIO:
    """What a stage may touch: its declared deps, outs and params, nothing else."""

    stage: Stage
    roots: Roots
    options: RunOptions = RunOptions()
    emitter: Emitter = field(default_factory=NullEmitter)
    params_read: set[str] = field(default_factory=set, compare=False)  # see ReadParams

    def dep(self, name: str) -> Path:
        """The path of a declared dep (for streaming or copying; :meth:`load` reads it)."""
        if name not in self.stage.deps:
            raise KeyError(f"stage {self.stage.name} does not declare the dep {name!r}")
        return self.roots.resolve(path_template(name))

    def load(self, name: str, *, optional: bool = False) -> Any:
        """The typed object of a declared dep, read by its catalog reader. ``optional``: None
        when the file is absent (a line left out with ``--pipelines``)."""
        path = self.dep(name)
        if optional and not path.exists():
            return None
        return read(name, path)

    def out(self, name: str) -> Path:
        if name not in self.stage.outs and name not in self.stage.outs_no_cache:
            raise KeyError(f"stage {self.stage.name} does not declare the out {name!r}")
        return self.roots.resolve(path_template(name))

    def audit_out(self, name: str) -> Path | None:
        """The path of the audit out ``name`` (:attr:`Stage.audit_outs`) when the run keeps
        per-sample series (``--keep-samples``), else ``None``: nothing is written and a file
        an earlier audit run left there is removed."""
        if name not in self.stage.audit_outs:
            raise KeyError(f"stage {self.stage.name} does not declare the audit out {name!r}")
        path = self.roots.resolve(path_template(name))
        if self.options.keep_samples:
            return path
        # A file an earlier audit run left would no longer describe this run's outputs.
        path.unlink(missing_ok=True)
        return None

    def write_table(self, name: str, header: Sequence[str], rows: Iterable[Sequence[Any]], *,
                    stream: bool = False) -> None:
        """Write the CSV out ``name``; a table keyed by ``grid_index`` also gets the grid
        point's ``grid_label`` (the stage must declare the ``variables`` dep). ``stream``:
        rows are written as they come (a long table)."""
        header, rows = grid_labelled(header, rows, self._grid_labels() if "grid_index" in
                                     header else {})
        (write_csv_rows_atomic if stream else write_csv)(self.out(name), header, rows)

    def _grid_labels(self) -> dict[int, str]:
        variables = self.load("variables")
        return {g: grid_label(variables, g) for g in range(grid_size(variables))}

    def params(self) -> ReadParams:
        """The declared ``params.yaml`` keys (read as DVC reads them; plan defaults filled in)."""
        return ReadParams(declared_params(self.roots.params, self.stage.param_keys()),
                          self.params_read)

    def pipelines(self) -> tuple[str, ...]:
        """The lines this run computes: ``--pipelines``, else the declared ``run.pipelines``."""
        if self.options.pipelines is not None:
            return self.options.pipelines
        return tuple(self.params()["run.pipelines"])


def stage_runner(stage: Stage):
    return importlib.import_module(stage.module).run


def selected_pipelines(roots: Roots, options: RunOptions) -> tuple[str, ...]:
    """``--pipelines`` if given, else ``run.pipelines`` of the plan."""
    if options.pipelines is not None:
        return options.pipelines
    return tuple(declared_params(roots.params, ("run.pipelines",))["run.pipelines"])


def run_stages(roots: Roots, options: RunOptions, emitter: Emitter,
               stages: Sequence[Stage] = STAGES) -> None:
    """Run ``stages`` in order, skipping the lines not selected. The first (``validate``)
    raises before anything is written; ``pipeline_<line>_start/done`` bracket each line."""
    pipelines: tuple[str, ...] | None = None
    for i, stage in enumerate(stages):
        line = stage.pipeline
        if line is not None:
            pipelines = pipelines if pipelines is not None else selected_pipelines(roots, options)
            if line not in pipelines:
                continue
            if i == 0 or stages[i - 1].pipeline != line:
                emitter.emit(f"pipeline_{line}_start")
        # index/of: the bar's "stage 5/13" (stages of a line left out are skipped over).
        emitter.emit("stage_start", stage=stage.name, index=i + 1, of=len(stages))
        stage_runner(stage)(StageIO(stage, roots, options, emitter))
        emitter.emit("stage_done", stage=stage.name, index=i + 1, of=len(stages))
        if line is not None and (i + 1 == len(stages) or stages[i + 1].pipeline != line):
            emitter.emit(f"pipeline_{line}_done")
