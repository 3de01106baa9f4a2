"""One-at-a-time sensitivity (tornado): each input to its low and its high end, everything
else central, on common random numbers — the change in each key output is that input's effect,
exactly (an input without effect gives a swing of exactly zero)."""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from d3.model import ModelInputs, evaluate
from d3.sensitivity.outputs import OUTPUTS, output_values
from d3.sensitivity.swings import Swing, central_overrides, swung


@dataclass(frozen=True)
class TornadoRow:
    """One input × one output: the output at the central values, with the input at its low
    and at its high end, and the swing ``|at_high − at_low|`` (NaN when undefined)."""

    input: str
    basis: str
    low: Any
    high: Any
    output: str
    unit: str
    baseline: float
    at_low: float
    at_high: float

    @property
    def swing(self) -> float:
        return abs(self.at_high - self.at_low)


def tornado_plan(inputs: ModelInputs) -> dict[str, Any]:
    """The plan overrides of a tornado evaluation: ``sensitivity.replicates`` ×
    ``sensitivity.simulations_per_evaluation`` outcome-noise paths."""
    s = inputs.plan.sensitivity
    return {"params.yaml:run.random_runs_per_simulation": s.replicates,
            "params.yaml:stochastic.simulations_per_run": s.simulations_per_evaluation}


def tornado(inputs: ModelInputs, swings: Sequence[Swing], *, max_concurrency: int = 1,
            on_evaluation: Callable[[str], None] | None = None) -> list[TornadoRow]:
    """Every swing's effect on every :data:`~d3.sensitivity.outputs.OUTPUTS` value: ``1 + 2 ×
    len(swings)`` evaluations of one grid point (every grid axis at its central value).
    Rows: input-major, in ``swings`` order, outputs in :data:`OUTPUTS` order. Raises
    :class:`d3.core.errors.ValidationError` when a swing's value is not valid for its key."""
    central = {**tornado_plan(inputs), **central_overrides(swings)}

    def outputs_at(overrides: Mapping[str, Any], label: str) -> dict[str, float]:
        ev = evaluate(inputs, overrides=overrides, max_concurrency=max_concurrency)
        if on_evaluation is not None:
            on_evaluation(label)
        (grid,) = ev.grid.values()
        return output_values(grid.kpis, grid.criteria)

    base = outputs_at(central, "baseline")
    rows = []
    for s in swings:
        low = outputs_at(swung(central, s, s.low), f"{s.name}=low")
        high = outputs_at(swung(central, s, s.high), f"{s.name}=high")
        rows += [TornadoRow(s.name, s.basis, s.low, s.high, o.name, o.unit, base[o.name],
                            low[o.name], high[o.name]) for o in OUTPUTS]
    return rows
