"""Stage ``variables``: run grid × replicates, random draws, transcript and sample table."""

from __future__ import annotations

from d3.catalog import operator_dump
from d3.core.correlation import rank_correlation_log
from d3.core.runner import StageIO
from d3.core.samples import (
    TRANSCRIPT_HEADER,
    SampleSpace,
    all_blocks_values,
    allocation_warnings,
    block_table,
    grid_size_of,
    transcript_rows,
)
from d3.core.validator import resolved_seeds
from d3.core.variables import Variable
from d3.io.writers import write_json, write_parquet
from d3.models.plan import Plan

SCOPES = ("general", "public_tap", "private_tap")


def override_entry(v: Variable) -> dict:
    """One variable as the log and the run summary list it; ``sd`` and ``rank_correlations``
    only when set (files of variables without them keep their bytes)."""
    return {"variable_id": v.variable_id, "scope": v.scope, "path": v.path,
            "treatment": v.treatment, "distribution": v.distribution,
            "default": v.text(v.default), **({} if v.sd is None else {"sd": str(v.sd)}),
            **({"rank_correlations": [list(p) for p in v.rank_correlations]}
               if v.rank_correlations else {})}


def run(io: StageIO) -> None:
    p = io.params()
    variables = io.load("variables")
    operators = {s: io.load(f"operator_{s}") for s in SCOPES}
    plan = Plan.model_validate({
        "run": {"random_seed": p["run.random_seed"]},
        "stochastic": {"random_seed": p["stochastic.random_seed"]},
    })
    seeds, _ = resolved_seeds(plan, {s: operators[s].meta.seed for s in SCOPES}, io.options.seed)
    space = SampleSpace(grid_size_of(variables), p["run.random_runs_per_simulation"],
                        p["stochastic.simulations_per_run"], p["stochastic.sampling"])
    io.emitter.emit("grid_built", size=space.grid_size, replicates=space.replicates,
                    simulations_per_run=space.simulations_per_run, samples=space.samples)
    chunk = io.options.chunk_blocks or p["run.chunk_blocks"]
    values = all_blocks_values(
        variables, seeds, space, chunk_blocks=chunk, max_concurrency=io.options.max_concurrency,
        on_done=lambda n: io.emitter.progress(n, -(-space.blocks // chunk), "variables"),
    )
    for v in variables:  # every variable, even a fixed one, overrides its operator constant
        io.emitter.emit("variable_override", variable_id=v.variable_id, scope=v.scope,
                        path=v.path, treatment=v.treatment)
    dumps = {s: operator_dump(operators[s]) for s in SCOPES}
    renormalised = allocation_warnings(variables, dumps, values)
    transcript = transcript_rows(variables, space, values)
    io.write_table("variable_draws", TRANSCRIPT_HEADER, transcript)
    write_parquet(io.out("blocks"), block_table(variables, space, values))
    write_json(io.out("variables_report"), {
        "grid_size": space.grid_size,
        "replicates": space.replicates,
        "simulations_per_run": space.simulations_per_run,
        "blocks": space.blocks,
        "samples": space.samples,
        "seeds": seeds,
        "sampling": space.sampling,
        "rank_correlations": rank_correlation_log(variables),
        "overrides": [override_entry(v) for v in variables],
        "allocation_renormalised": renormalised,
    })


def main() -> None:
    from d3.cli import stage_main

    stage_main("variables")


if __name__ == "__main__":
    main()
