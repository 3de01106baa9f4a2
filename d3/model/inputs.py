"""The validated inputs of an evaluation and knob overrides in ``dvc exp run -S`` syntax."""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass, replace
from decimal import Decimal
from pathlib import Path
from typing import Any

import pydantic

from d3.core.errors import Issue, ValidationError
from d3.core.validator import validated_inputs
from d3.core.variables import SCOPES, Variable, with_overrides
from d3.io.loader import read_inputs_tree
from d3.io.normalised import (
    market_document,
    plan_document,
    variable_from_record,
    variable_record,
)
from d3.io.writers import json_text
from d3.models.operator import GeneralOperator, PrivateOperator, PublicOperator
from d3.models.plan import Plan
from d3.pipelines.common.catalog import catalog_document, catalog_from_validated

OPERATOR_MODELS = {"general": GeneralOperator, "public_tap": PublicOperator,
                   "private_tap": PrivateOperator}
PARAMS_FILE = "params.yaml"


def _as_written(doc: Any) -> Any:
    """``doc`` as a stage reads it back from its JSON file (same floats, lists, nulls)."""
    return json.loads(json_text(doc))


@dataclass(frozen=True)
class ModelInputs:
    """Everything :func:`d3.model.evaluate` reads: the documents the ``validate`` stage writes
    (operator dumps per scope, catalog, market), the variables, the plan and the seeds."""

    plan: Plan
    seeds: Mapping[str, int]
    operators: Mapping[str, Mapping[str, Any]]  # scope → validated JSON dump
    catalog: Mapping[str, Any]
    market: Mapping[str, Any]
    variables: tuple[Variable, ...]

    def with_overrides(self, overrides: Mapping[str, Any]) -> ModelInputs:
        """These inputs with ``overrides`` (``FILE:dotted.key`` → value; FILE is
        ``params.yaml`` or an operator YAML such as ``inputs/operator/public_tap.yaml``, as in
        ``dvc exp run -S``). A key a variable controls fixes that variable at the value.
        Raises :class:`ValidationError` (``FILE:key: problem — fix``) on an unknown file or
        key or a value the schema refuses."""
        if not overrides:
            return self
        by_file: dict[str, dict[str, Any]] = {}
        issues: list[Issue] = []
        for spec, value in sorted(overrides.items()):
            file, sep, key = spec.rpartition(":")
            scope = _scope_of(file) if sep else None
            if scope is None:
                issues.append(Issue(file or spec, key if sep else "",
                                    "an override names params.yaml or an operator YAML "
                                    "(general, public_tap, private_tap) and a key",
                                    "e.g. inputs/operator/public_tap.yaml:acquisition."
                                    "churn_pct_mom or params.yaml:stochastic.simulations_per_run"))
                continue
            by_file.setdefault(scope, {})[key] = value
        plan, operators = self.plan, dict(self.operators)
        for scope, keys in sorted(by_file.items()):
            if scope == "params":
                plan = _validated(Plan, self.plan.model_dump(mode="json"), keys, PARAMS_FILE,
                                  issues) or plan
            else:
                checked = _validated(OPERATOR_MODELS[scope], self.operators[scope], keys,
                                     f"inputs/operator/{scope}.yaml", issues)
                if checked is not None:
                    operators[scope] = _as_written(checked.model_dump(mode="json"))
        if issues:
            raise ValidationError(issues)
        variables = tuple(_fixed_at(v, by_file.get(v.scope, {})) for v in self.variables)
        return replace(self, plan=plan, operators=operators, variables=variables)


def _scope_of(file: str) -> str | None:
    name = Path(file).name
    if name == PARAMS_FILE:
        return "params"
    scope = name.removesuffix(".yaml")
    return scope if scope in SCOPES and name.endswith(".yaml") else None


def _validated(model: type[pydantic.BaseModel], dump: Mapping[str, Any],
               keys: Mapping[str, Any], file: str, issues: list[Issue]):
    """``model`` of ``dump`` with ``keys`` set, or ``None`` with the schema's complaints added
    to ``issues``."""
    try:
        return model.model_validate(with_overrides(dump, dict(keys)))
    except pydantic.ValidationError as exc:
        for err in exc.errors():
            where = ".".join(str(p) for p in err["loc"])
            issues.append(Issue(file, where, f"override refused: {err['msg']}",
                                "use a value the key's schema allows (docs/INPUTS.md)"))
        return None


def _fixed_at(var: Variable, keys: Mapping[str, Any]) -> Variable:
    """``var`` fixed at the overridden value of its key (it would otherwise override it)."""
    if var.path not in keys:
        return var
    value = keys[var.path]
    return replace(var, treatment="fixed", distribution="uniform",
                   default=Decimal(str(value)) if var.kind == "numeric" else value)


def model_inputs(inputs_dir: Path, params_path: Path, *, seed: int | None = None) -> ModelInputs:
    """Read and validate an inputs tree and its ``params.yaml`` (the ``validate`` stage's
    work, in memory). Raises :class:`ValidationError` listing every problem."""
    v = validated_inputs(read_inputs_tree(inputs_dir, params_path), seed_override=seed)
    plan = _as_written(plan_document(v))
    return ModelInputs(
        plan=Plan.model_validate(plan["plan"]), seeds=plan["seeds"],
        operators={s: _as_written(v.operator(s).model_dump(mode="json")) for s in SCOPES},
        catalog=_as_written(catalog_document(catalog_from_validated(v))),
        market=_as_written(market_document(v)),
        variables=tuple(variable_from_record(r) for r in _as_written(
            [variable_record(x) for x in v.variables])))
