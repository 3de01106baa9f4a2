"""Stage ``acceptance``: SPEC §8 criteria per grid point; fail-on-warning → exit 2 after
every output is written."""

from __future__ import annotations

import numpy as np

from d3.acceptance import PATH_EVIDENCE, GridEvidence, plan_acceptance
from d3.core.errors import Issue, ValidationError
from d3.core.runner import StageIO
from d3.io.writers import write_json


def run(io: StageIO) -> None:
    p = io.params()
    expected_paths = io.load("consolidated_expected")
    horizon = expected_paths.horizon_months
    doc = plan_acceptance(
        dict(_evidence(io, expected_paths.grid)), p["targets"],
        target_util_pct=io.load("operator_public_tap").autoscaling.target_utilization_pct,
        horizon=horizon)
    write_json(io.out("acceptance"), doc)
    io.emitter.emit("acceptance_checked", accepted=doc["accepted"],
                    failed=sorted({c["name"] for v in doc["grid"].values()
                                   for c in v["criteria"] if not c["ok"]}))
    if not doc["accepted"] and (io.options.fail_on_warning or p["run.fail_on_warning"]):
        raise ValidationError([
            Issue("acceptance.json", f"grid {g}.{c['name']}", f"criterion failed: {c['detail']}",
                  "see the report's acceptance section", "error", "acceptance_failed")
            for g, v in doc["grid"].items() for c in v["criteria"] if not c["ok"]])


def _evidence(io: StageIO, references):
    """(grid point, :class:`GridEvidence`) from the per-sample KPI table (the KPIs and the
    growth criteria's per-sample flags the workers computed), the autoscaler's KPIs, the
    private class margins and the grid point's own cash buffer."""
    lines = io.pipelines()
    kpis = io.load("consolidated_sample_kpis")
    kpi_grid = np.array(kpis["grid_index"])
    pricing = io.load("private_pricing") if "private" in lines else None
    buffers = io.load("consolidated_summary").cash_buffer_eur
    scaler_rows = io.load("public_autoscaling_kpis") if "public" in lines else None
    for g, reference in references.items():
        sel = kpi_grid == g
        columns = {m: np.array(v, dtype=float)[sel] for m, v in kpis.items()
                   if m not in ("grid_index", "replicate_index")}
        flags = {k: columns.pop(k) > 0.5 if k in columns else None for k in PATH_EVIDENCE}
        yield g, GridEvidence(
            reference=reference, cash_buffer_eur=float(buffers[g]), kpis=columns,
            replicate_ids=np.array(kpis["replicate_index"])[sel],
            autoscaler_rows=[r for r in scaler_rows if r["grid_index"] == str(g)]
            if scaler_rows else None,
            private_margins=pricing.grid_margins[g] if pricing else None, **flags)


def main() -> None:
    from d3.cli import stage_main

    stage_main("acceptance")


if __name__ == "__main__":
    main()
