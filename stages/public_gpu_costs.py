"""Stage ``public_gpu_costs``: EUR/hr per GPU class, vendor choice, cost per 1M tokens."""

from __future__ import annotations

from dataclasses import asdict

from d3.catalog import operator_dump
from d3.core.runner import StageIO
from d3.io.writers import write_csv, write_json
from d3.pipelines.common.reference import reference_operator
from d3.pipelines.public.catalog import public_cost_rows
from d3.pipelines.public.gpu_costs import vendor_choices
from d3.pipelines.public.tables import (
    COST_COLUMNS,
    VENDOR_CHOICE_COLUMNS,
    cost_table_rows,
    vendor_choice_rows,
)


def run(io: StageIO) -> None:
    catalog = io.load("gpu_catalog")
    public = reference_operator("public_tap", operator_dump(io.load("operator_public_tap")),
                                io.load("variables"))
    fx = io.load("market").eur_usd_fx_rate
    choices = vendor_choices(catalog.offers, fx_buffer_pct=public.meta.fx_buffer_pct,
                             eur_usd_fx_rate=fx)
    rows = public_cost_rows(catalog, public, eur_usd_fx_rate=fx)
    write_csv(io.out("public_vendor_choice"), VENDOR_CHOICE_COLUMNS, vendor_choice_rows(choices))
    write_csv(io.out("public_gpu_costs"), COST_COLUMNS, cost_table_rows(rows))
    write_json(io.out("public_cost_rows"), {
        "eur_usd_fx_rate": fx, "fx_buffer_pct": public.meta.fx_buffer_pct,
        "rows": [asdict(r) for r in rows],
        "heuristics": [
            {"model": r.model, "gpu": r.gpu, "tps_source": r.tps_source, "detail": r.tps_detail,
             "tps": r.tps} for r in rows if r.feasible and r.tps_source != "measured"
        ],
    })
    io.emitter.emit("public_gpu_costs_done", pairs=len(rows),
                    feasible=sum(r.feasible for r in rows))


def main() -> None:
    from d3.cli import stage_main

    stage_main("public_gpu_costs")


if __name__ == "__main__":
    main()
