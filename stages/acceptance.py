"""Stage ``acceptance``: SPEC §8 criteria per grid point; fail-on-warning → exit 2 after
every output is written."""

from __future__ import annotations

import numpy as np

from d3.acceptance import acceptance_document, grid_criteria
from d3.core.errors import Issue, ValidationError
from d3.core.runner import StageIO, selected_pipelines
from d3.io.writers import write_json


def run(io: StageIO) -> None:
    p = io.params()
    lines = selected_pipelines(io.roots, io.options)
    targets = dict(p["targets"])
    targets["_target_util"] = io.load("operator_public_tap").autoscaling.target_utilization_pct
    expected_paths = io.load("consolidated_expected")
    horizon = expected_paths.horizon_months
    kpis = io.load("consolidated_sample_kpis")
    kpi_grid = np.array(kpis["grid_index"])
    public = io.load("public_demand_samples").series(
        ["active_customers", "capacity_violations"]) if "public" in lines else None
    private = io.load("private_clients_samples").series(["active_clients"]) \
        if "private" in lines else None
    pricing = io.load("private_pricing") if "private" in lines else None
    # The grid point's own buffer (a variable may set it per grid point), as its KPIs used.
    buffers = io.load("consolidated_summary").cash_buffer_eur
    scaler_rows = io.load("public_autoscaling_kpis") if "public" in lines else None
    per_grid = {}
    for g, expected in expected_paths.grid.items():
        sel = kpi_grid == g
        per_grid[g] = grid_criteria(
            horizon=horizon, targets=targets, cash_buffer_eur=float(buffers[g]),
            replicate_ids=np.array(kpis["replicate_index"])[sel],
            reference=expected,
            kpi_samples={m: np.array(v, dtype=float)[sel] for m, v in kpis.items()},
            public_active=public["active_customers"][public["grid_index"] == g]
            if public else None,
            private_active=private["active_clients"][private["grid_index"] == g]
            if private else None,
            private_margins=pricing.grid_margins[g] if pricing else None,
            capacity_violations=public["capacity_violations"][public["grid_index"] == g]
            if public else None,
            autoscaler_rows=[r for r in scaler_rows if r["grid_index"] == str(g)]
            if scaler_rows else None)
    doc = acceptance_document(per_grid, horizon, targets["min_acceptance_probability"])
    write_json(io.out("acceptance"), doc)
    io.emitter.emit("acceptance_checked", accepted=doc["accepted"],
                    failed=sorted({c["name"] for v in doc["grid"].values()
                                   for c in v["criteria"] if not c["ok"]}))
    if not doc["accepted"] and (io.options.fail_on_warning or p["run.fail_on_warning"]):
        raise ValidationError([
            Issue("acceptance.json", f"grid {g}.{c['name']}", f"criterion failed: {c['detail']}",
                  "see the report's acceptance section", "error", "acceptance_failed")
            for g, v in doc["grid"].items() for c in v["criteria"] if not c["ok"]])


def main() -> None:
    from d3.cli import stage_main

    stage_main("acceptance")


if __name__ == "__main__":
    main()
