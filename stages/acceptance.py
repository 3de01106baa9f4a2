"""Stage ``acceptance``: SPEC §8 criteria per grid point; fail-on-warning → exit 2 after
every output is written."""

from __future__ import annotations

import csv
import json

import numpy as np
import pyarrow.parquet as pq

from d3.acceptance import ClassMargin, acceptance_document, grid_criteria
from d3.core.errors import Issue, ValidationError
from d3.core.runner import StageIO, selected_pipelines
from d3.io.parquet_stream import read_series
from d3.io.writers import write_json


def run(io: StageIO) -> None:
    p = io.params()
    lines = selected_pipelines(io.roots, io.options)
    targets = dict(p["targets"])
    public_op = json.loads(io.dep("public_tap").read_text(encoding="utf-8"))
    targets["_target_util"] = public_op["autoscaling"]["target_utilization_pct"]
    expected_doc = json.loads(io.dep("expected").read_text(encoding="utf-8"))
    horizon = expected_doc["horizon_months"]
    kpis = pq.read_table(io.dep("sample_kpis")).to_pydict()
    kpi_grid = np.array(kpis["grid_index"])
    public = read_series(io.dep("public_samples"), ["active_customers", "capacity_violations"]) \
        if "public" in lines else None
    private = read_series(io.dep("private_samples"), ["active_clients"]) \
        if "private" in lines else None
    margins = None
    if "private" in lines:
        classes = json.loads(io.dep("private_pricing").read_text(encoding="utf-8"))["classes"]
        margins = {g: ClassMargin(c["margin_vendor_pct"], c["margin_pct_vs_median"])
                   for g, c in classes.items()}
    general = json.loads(io.dep("general").read_text(encoding="utf-8"))
    buffer = float(general.get("reserves", {}).get("cash_buffer_eur", 0.0))
    scaler_rows = None
    if "public" in lines:
        with io.dep("autoscaling_kpis").open(encoding="utf-8") as fh:
            scaler_rows = list(csv.DictReader(fh))
    per_grid = {}
    for key, expected in expected_doc["grid"].items():
        g = int(key)
        sel = kpi_grid == g
        per_grid[g] = grid_criteria(
            horizon=horizon, targets=targets, cash_buffer_eur=buffer,
            replicate_ids=np.array(kpis["replicate_index"])[sel],
            reference={k: np.array(v, dtype=float) for k, v in expected.items()},
            kpi_samples={m: np.array(v, dtype=float)[sel] for m, v in kpis.items()},
            public_active=public["active_customers"][public["grid_index"] == g]
            if public else None,
            private_active=private["active_clients"][private["grid_index"] == g]
            if private else None,
            private_margins=margins,
            capacity_violations=public["capacity_violations"][public["grid_index"] == g]
            if public else None,
            autoscaler_rows=[r for r in scaler_rows if r["grid_index"] == key]
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
