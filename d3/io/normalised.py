"""Normalised inputs as written by the ``validate`` stage and read back by later stages.

The JSON documents are canonical (sorted keys, fixed number formats) so the stage outputs are
byte-stable, and every reader rebuilds the same typed objects the validator produced.
"""

from __future__ import annotations

from dataclasses import asdict, fields
from decimal import Decimal
from pathlib import Path
from typing import Any

from d3.core.validator import ValidatedInputs
from d3.core.variables import Variable
from d3.core.warning_count import warning_count
from d3.io.writers import fmt_float
from d3.io.yaml12 import read_yaml  # noqa: F401  (re-exported for stages reading params)
from d3.models.operator import GeneralOperator, PrivateOperator, PublicOperator

OPERATOR_CLASSES = {"general": GeneralOperator, "public_tap": PublicOperator,
                    "private_tap": PrivateOperator}
GPU_OFFER_COLUMNS = ("gpu", "vram_gb", "provider", "usd_hr", "num_gpus", "availability_frac",
                     "reputation_frac")


# Fields written only when set, so files of variables that do not use them stay byte-identical
# to those written before the field existed (issue 13: ``sd``; issue 16: ``rank_correlations``).
OPTIONAL_VARIABLE_FIELDS = ("sd", "rank_correlations")


def variable_record(var: Variable) -> dict[str, Any]:
    out = asdict(var)
    for key in ("lo", "hi", "step", "default", "sd"):
        if isinstance(out[key], Decimal):
            out[key] = {"decimal": str(out[key])}
    out["values"] = list(var.values)
    out["rank_correlations"] = [list(pair) for pair in var.rank_correlations]
    for key in OPTIONAL_VARIABLE_FIELDS:
        if out[key] in (None, []):
            del out[key]
    return out


def variable_from_record(record: dict[str, Any]) -> Variable:
    kwargs = {}
    for f in fields(Variable):
        if f.name not in record and f.name in OPTIONAL_VARIABLE_FIELDS:
            continue
        value = record[f.name]
        if isinstance(value, dict) and "decimal" in value:
            value = Decimal(value["decimal"])
        if f.name == "values":
            value = tuple(value)
        elif f.name == "rank_correlations":
            value = tuple((str(other), float(rho)) for other, rho in value)
        kwargs[f.name] = value
    return Variable(**kwargs)



def market_document(v: ValidatedInputs) -> dict[str, Any]:
    return {
        "market_env": v.market.model_dump(mode="json"),
        "ads_channels": [c.model_dump(mode="json") for c in v.channels],
        "agency_fees": [a.model_dump(mode="json") for a in v.agency_fees],
        "insurances": [i.model_dump(mode="json") for i in v.insurances],
    }


# Sections read by one analysis stage alone (its own params), and the fixed variables, whose
# effect every stage reads in validated/variables.json: left out of validated/plan.json, so
# changing them reruns only what they change.
PLAN_DOCUMENT_EXCLUDES = frozenset({"sensitivity", "solve", "fixed_variables"})


def plan_document(v: ValidatedInputs) -> dict[str, Any]:
    return {"plan": v.plan.model_dump(mode="json", exclude=set(PLAN_DOCUMENT_EXCLUDES)),
            "seeds": v.seeds, "seed_sources": v.seed_sources}


def report_document(v: ValidatedInputs) -> dict[str, Any]:
    issues = [i.as_dict() for i in v.issues]
    return {
        "issues": issues,
        "warning_count": warning_count(issues).as_dict(),  # the run's is run_summary.json's
        "counts": {"models": len(v.models), "gpu_offers": len(v.offers),
                   "gpu_classes": len({o.gpu for o in v.offers}),
                   "providers": len({o.provider for o in v.offers}),
                   "tps_rows": len(v.tps), "variables": len(v.variables)},
    }


def gpu_offer_rows(v: ValidatedInputs) -> list[list[str]]:
    """Canonical offers ``[gpu, vram_gb, provider, usd_hr]`` (+ SKU size and scores), sorted."""
    rows = []
    for o in sorted(v.offers, key=lambda o: (o.gpu, o.provider, o.num_gpus, o.usd_hr)):
        rows.append([o.gpu, fmt_float(o.vram_gb, 1), o.provider, fmt_float(o.usd_hr, 6),
                     str(o.num_gpus),
                     "" if o.availability_frac is None else fmt_float(o.availability_frac, 4),
                     "" if o.reputation_frac is None else fmt_float(o.reputation_frac, 4)])
    return rows


def read_operator(path: Path, scope: str):
    import json

    return OPERATOR_CLASSES[scope].model_validate(json.loads(path.read_text(encoding="utf-8")))


def read_variables(path: Path) -> tuple[Variable, ...]:
    import json

    return tuple(variable_from_record(r) for r in json.loads(path.read_text(encoding="utf-8")))
