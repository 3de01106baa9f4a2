"""Executes the registry's stages in-process (``d3 run``), the same code DVC runs per stage."""

from __future__ import annotations

import importlib
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from d3.core.progress import Emitter, NullEmitter
from d3.io.yaml12 import read_yaml
from d3.models.plan import Plan
from d3.registry import STAGES, Roots, Stage

PIPELINES = ("public", "private")


@dataclass(frozen=True)
class RunOptions:
    seed: int | None = None  # --seed: overrides every seed in the inputs
    max_concurrency: int = 1
    fail_on_warning: bool = False
    pipelines: tuple[str, ...] | None = None  # None: run.pipelines from the plan
    chunk_blocks: int | None = None  # None: run.chunk_blocks from the plan


@dataclass(frozen=True)
class StageIO:
    """What a stage may touch: its declared deps, outs and params, nothing else."""

    stage: Stage
    roots: Roots
    options: RunOptions = RunOptions()
    emitter: Emitter = field(default_factory=NullEmitter)

    def dep(self, name: str) -> Path:
        return self.roots.resolve(self.stage.deps[name])

    def out(self, name: str) -> Path:
        outs = {**self.stage.outs, **self.stage.outs_no_cache}
        return self.roots.resolve(outs[name])

    def params(self) -> dict[str, Any]:
        """The declared ``params.yaml`` keys (read as DVC reads them; plan defaults filled in)."""
        return declared_params(self.roots.params, self.stage.param_keys())


def _lookup(tree: Mapping[str, Any], dotted: str) -> Any:
    node: Any = tree
    for part in dotted.split("."):
        node = node[part]
    return node


def declared_params(params_path: Path, keys: Sequence[str]) -> dict[str, Any]:
    """``{key: value}`` for exactly ``keys`` of the plan file, defaults applied."""
    plan = Plan.model_validate(read_yaml(params_path)).model_dump(mode="json")
    return {key: _lookup(plan, key) for key in keys}


def stage_runner(stage: Stage):
    return importlib.import_module(stage.module).run


def run_stages(roots: Roots, options: RunOptions, emitter: Emitter,
               stages: Sequence[Stage] = STAGES) -> None:
    """Run ``stages`` in order. The first (``validate``) raises before anything is written."""
    for stage in stages:
        emitter.emit("stage_start", stage=stage.name)
        stage_runner(stage)(StageIO(stage, roots, options, emitter))
        emitter.emit("stage_done", stage=stage.name)
