"""Stage ``sensitivity``: what drives the result — tornado, Sobol indices, rank correlations
and convergence (issue 16), on the in-process model with common random numbers."""

from __future__ import annotations

import numpy as np

from d3.core.runner import StageIO
from d3.io.writers import write_bytes_atomic, write_json
from d3.model import model_inputs
from d3.sensitivity.analysis import (
    CONVERGENCE_COLUMNS,
    PLOT_COLUMNS,
    RANK_COLUMNS,
    SOBOL_COLUMNS,
    TORNADO_COLUMNS,
    sensitivity,
)


def run(io: StageIO) -> None:
    inputs = model_inputs(io.roots.inputs, io.roots.params, seed=io.options.seed)
    blocks = io.load("blocks")
    result = sensitivity(
        inputs, blocks={k: np.array([b[k] for b in blocks]) for k in blocks[0]},
        samples=io.load("consolidated_sample_kpis"),
        max_concurrency=io.options.max_concurrency, emit=io.emitter.emit)
    io.write_table("sensitivity_tornado", TORNADO_COLUMNS, result.tornado)
    io.write_table("sensitivity_sobol", SOBOL_COLUMNS, result.sobol)
    io.write_table("sensitivity_ranks", RANK_COLUMNS, result.ranks)
    io.write_table("sensitivity_convergence", CONVERGENCE_COLUMNS, result.convergence)
    io.write_table("plot_tornado", PLOT_COLUMNS, result.plot)
    write_json(io.out("sensitivity_summary"), result.summary)
    charts = io.out("sensitivity_charts")
    charts.mkdir(parents=True, exist_ok=True)
    for name, png in sorted(result.charts.items()):
        write_bytes_atomic(charts / name, png)
    io.emitter.emit("sensitivity_done", evaluations=result.summary["evaluations"])


def main() -> None:
    from d3.cli import stage_main

    stage_main("sensitivity")


if __name__ == "__main__":
    main()
