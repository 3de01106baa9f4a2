"""The validated inputs of an evaluation and knob overrides in ``dvc exp run -S`` syntax."""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from decimal import Decimal
from pathlib import Path
from typing import Any

from d3.core.errors import Issue, ValidationError
from d3.core.validator import validated_inputs
from d3.core.variables import SCOPES, Variable, with_overrides
from d3.io.loader import RawInputs, read_inputs_tree
from d3.io.normalised import (
    PLAN_DOCUMENT_EXCLUDES,
    market_document,
    plan_document,
    variable_from_record,
    variable_record,
)
from d3.io.writers import json_text
from d3.models.plan import Plan
from d3.pipelines.common.catalog import catalog_document, catalog_from_validated

PARAMS_FILE = "params.yaml"
OVERRIDABLE = {PARAMS_FILE: "params", **{f"inputs/operator/{s}.yaml": s for s in SCOPES}}


def _as_written(doc: Any) -> Any:
    """``doc`` as a stage reads it back from its JSON file (same floats, lists, nulls)."""
    return json.loads(json_text(doc))


@dataclass(frozen=True)
class ModelInputs:
    """Everything :func:`d3.model.evaluate` reads: the documents the ``validate`` stage writes
    (operator dumps per scope, catalog, market), the variables, the plan and the seeds — and
    the parsed input files they came from, so overrides are validated like any input."""

    plan: Plan
    seeds: Mapping[str, int]
    operators: Mapping[str, Mapping[str, Any]]  # scope → validated JSON dump
    catalog: Mapping[str, Any]
    market: Mapping[str, Any]
    variables: tuple[Variable, ...]
    raw: RawInputs = field(repr=False, compare=False, default_factory=RawInputs)
    seed_override: int | None = None

    def with_overrides(self, overrides: Mapping[str, Any]) -> ModelInputs:
        """These inputs with ``overrides`` (``FILE:dotted.key`` → value; FILE is
        ``params.yaml`` or ``inputs/operator/<general|public_tap|private_tap>.yaml``, as in
        ``dvc exp run -S``), validated by the same validator as the files (every issue as
        ``FILE:LOCATION: problem — fix``; seeds re-resolved). A variable on the key, or on a
        key below it, is fixed at the overridden value. Raises :class:`ValidationError`."""
        if not overrides:
            return self
        raw, issues, by_scope = _overridden(self.raw, overrides)
        try:  # every problem at once: the files' and the values'
            inputs = _from_raw(raw, self.seed_override)
        except ValidationError as exc:
            raise ValidationError(issues + list(exc.issues)) from None
        variables, more = _fixed_variables(inputs.variables, by_scope)
        if issues or more:
            raise ValidationError(issues + more)
        return replace(inputs, variables=variables)


def _overridden(raw: RawInputs, overrides: Mapping[str, Any]
                ) -> tuple[RawInputs, list[Issue], dict[str, dict[str, Any]]]:
    """A copy of ``raw`` with the overrides written into its parsed documents."""
    docs, plan, issues = dict(raw.docs), raw.plan, []
    by_scope: dict[str, dict[str, Any]] = {}
    for spec, value in sorted(overrides.items()):
        file, sep, key = spec.rpartition(":")
        scope = OVERRIDABLE.get(file) if sep and key else None
        if scope is None:
            issues.append(Issue(file or spec, key if sep else "",
                                "an override names params.yaml or inputs/operator/"
                                "<general|public_tap|private_tap>.yaml and a key",
                                "e.g. inputs/operator/public_tap.yaml:acquisition.churn_pct_mom "
                                "or params.yaml:stochastic.simulations_per_run"))
            continue
        by_scope.setdefault(scope, {})[key] = value
        if scope == "params":
            plan = replace(plan, data=with_overrides(plan.data or {}, {key: value}))
        else:
            docs[scope] = replace(docs[scope], data=with_overrides(docs[scope].data or {},
                                                                    {key: value}))
    return replace(raw, docs=docs, plan=plan), issues, by_scope


def _fixed_variables(variables: tuple[Variable, ...], by_scope: Mapping[str, Mapping[str, Any]]
                     ) -> tuple[tuple[Variable, ...], list[Issue]]:
    """Each variable on an overridden key (or below one) fixed at the overridden value."""
    out, issues = [], []
    for var in variables:
        keys = by_scope.get(var.scope, {})
        hit = next((k for k in sorted(keys) if var.path == k or var.path.startswith(k + ".")),
                   None)
        if hit is None:
            out.append(var)
            continue
        found, value = _below(keys[hit], var.path[len(hit):].lstrip("."))
        if not found:
            issues.append(Issue(var.file, var.location, f"the override of {hit} leaves out "
                                f"{var.path}, which this variable sets",
                                f"include {var.path} in the override, or remove the variable"))
            continue
        out.append(replace(var, treatment="fixed", distribution="uniform",
                           default=Decimal(str(value)) if var.kind == "numeric" else value))
    return tuple(out), issues


def _below(value: Any, rest: str) -> tuple[bool, Any]:
    for part in filter(None, rest.split(".")):
        if not isinstance(value, Mapping) or part not in value:
            return False, None
        value = value[part]
    return True, value


def _from_raw(raw: RawInputs, seed: int | None) -> ModelInputs:
    v = validated_inputs(raw, seed_override=seed)
    plan = _as_written(plan_document(v))
    left_out = _as_written(v.plan.model_dump(mode="json", include=set(PLAN_DOCUMENT_EXCLUDES)))
    return ModelInputs(
        plan=Plan.model_validate({**plan["plan"], **left_out}), seeds=plan["seeds"],
        operators={s: _as_written(v.operator(s).model_dump(mode="json")) for s in SCOPES},
        catalog=_as_written(catalog_document(catalog_from_validated(v))),
        market=_as_written(market_document(v)),
        variables=tuple(variable_from_record(r) for r in _as_written(
            [variable_record(x) for x in v.variables])),
        raw=raw, seed_override=seed)


def model_inputs(inputs_dir: Path, params_path: Path, *, seed: int | None = None) -> ModelInputs:
    """Read and validate an inputs tree and its ``params.yaml`` (the ``validate`` stage's
    work, in memory). Raises :class:`ValidationError` listing every problem."""
    return _from_raw(read_inputs_tree(inputs_dir, params_path), seed)
