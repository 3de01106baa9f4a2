"""Stage ``solve``: what it takes — the fundable plan nearest to the founder's decisions and
the ``dvc exp run`` command that applies it (issue 17)."""

from __future__ import annotations

from d3.core.runner import StageIO
from d3.io.writers import write_json
from d3.model import model_inputs
from d3.solve.solver import solve


def run(io: StageIO) -> None:
    """Validate the inputs and the plan (``--seed`` applied), search (:func:`solve`) and
    write ``solve_candidates.csv`` and ``solve_best.json``. Emits each WARNING about a
    decision as a ``solve_warning`` event (counted once, by validation: it is in
    ``validation_report.json``), one ``solve_evaluation`` event per evaluation and
    ``solve_done``. Raises :class:`d3.core.errors.ValidationError` (exit 2) when the inputs
    or a decision are invalid, before anything is written."""
    inputs = model_inputs(io.roots.inputs, io.roots.params, seed=io.options.seed)
    result = solve(inputs, max_concurrency=io.options.max_concurrency, emit=io.emitter.emit,
                   progress=lambda done, total: io.emitter.progress(done, total, "solve"))
    io.out("solve_best").parent.mkdir(parents=True, exist_ok=True)  # `d3 solve --out NEW`
    io.write_table("solve_candidates", result.header, result.rows)
    write_json(io.out("solve_best"), result.best)
    io.emitter.emit("solve_done", status=result.best["status"],
                    evaluations=result.best["evaluations"]["total"])


def main() -> None:
    from d3.cli import stage_main

    stage_main("solve")


if __name__ == "__main__":
    main()
