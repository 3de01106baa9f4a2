"""Stage ``validate``: every input file checked; normalised inputs and the resolved plan out."""

from __future__ import annotations

from d3.core.runner import StageIO
from d3.core.validator import validated_inputs
from d3.core.warning_count import warning_count
from d3.io.loader import read_inputs_tree
from d3.io.normalised import (
    GPU_OFFER_COLUMNS,
    gpu_offer_rows,
    market_document,
    plan_document,
    report_document,
    variable_record,
)
from d3.io.writers import write_csv, write_json
from d3.pipelines.common.catalog import catalog_document, catalog_from_validated


def run(io: StageIO) -> None:
    io.emitter.emit("load_start")
    raw = read_inputs_tree(io.roots.inputs, io.roots.params)
    io.emitter.emit("load_done", files=len(raw.sha256))
    io.emitter.emit("validate_start")
    v = validated_inputs(raw, seed_override=io.options.seed,
                         fail_on_warning=io.options.fail_on_warning)
    for issue in v.issues:
        io.emitter.emit("validate_warning", level="warning", **issue.as_dict())
    io.emitter.emit("validate_done", **warning_count(i.as_dict() for i in v.issues).as_dict())
    # Nothing is written before this point: a failed validation leaves --out untouched.
    write_json(io.out("plan"), plan_document(v))
    for scope in ("general", "public_tap", "private_tap"):
        write_json(io.out(f"operator_{scope}"), v.operator(scope).model_dump(mode="json"))
    write_json(io.out("gpu_catalog"), catalog_document(catalog_from_validated(v)))
    write_json(io.out("market"), market_document(v))
    write_json(io.out("variables"), [variable_record(x) for x in v.variables])
    write_csv(io.out("gpu_offers"), GPU_OFFER_COLUMNS, gpu_offer_rows(v))
    write_json(io.out("validation_report"), report_document(v))


def main() -> None:
    from d3.cli import stage_main

    stage_main("validate")


if __name__ == "__main__":
    main()
