"""Variance-based global sensitivity: first-order and total Sobol indices of the random
variables, with SALib (Saltelli's sampling scheme with Sobol' sequences, Jansen's estimators,
bootstrap confidence intervals).

Each SALib row is one replicate of the plan with the random variables at the row's values
(:func:`d3.model.evaluate` with explicit blocks) and ``sensitivity.sobol_simulations``
outcome-noise paths — the **same** paths for every row (common random numbers: every row draws
the noise of replicate 0), so two rows differ only by their inputs and an input without effect
gets indices of exactly 0. The model output of a row is the **mean** of a KPI over its paths,
so the indices decompose the variance of E[KPI | inputs] — the part of the uncertainty the
assumptions explain; the rest is outcome noise, which no input controls.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from d3.core.variables import quantile_value
from d3.model import ModelInputs, evaluate
from d3.sensitivity.outputs import OUTPUTS

CONF_LEVEL = 0.95
RESAMPLES = 200


@dataclass(frozen=True)
class SobolRow:
    """Indices of one input for one KPI's conditional mean (``*_conf``: half-width of the
    95 % bootstrap interval)."""

    input: str
    kpi: str
    first_order: float
    first_order_conf: float
    total: float
    total_conf: float


def sobol_kpis() -> tuple[str, ...]:
    """The KPIs whose conditional mean is decomposed (those of the reported outputs)."""
    return tuple(dict.fromkeys(o.kpi for o in OUTPUTS if o.kpi is not None))


def saltelli_design(names: Sequence[str], base_samples: int, seed: int
                    ) -> tuple[dict[str, Any], np.ndarray]:
    """SALib's problem over ``names`` on the unit cube and its Saltelli design: ``base_samples
    × (len(names) + 2)`` rows of cumulative probabilities (first-order and total indices)."""
    from SALib.sample import sobol as sample

    problem = {"num_vars": len(names), "names": list(names), "bounds": [[0.0, 1.0]] * len(names)}
    return problem, sample.sample(problem, base_samples, calc_second_order=False, seed=seed)


def analysed(problem: Mapping[str, Any], y: np.ndarray, kpi: str, seed: int) -> list[SobolRow]:
    """Sobol indices of the model outputs ``y`` (one per design row) with their 95 % bootstrap
    intervals (:data:`RESAMPLES` resamples, seeded)."""
    from SALib.analyze import sobol as analyze

    si = analyze.analyze(dict(problem), y, calc_second_order=False, num_resamples=RESAMPLES,
                         conf_level=CONF_LEVEL, seed=seed)
    return [SobolRow(name, kpi, float(si["S1"][k]), float(si["S1_conf"][k]),
                     float(si["ST"][k]), float(si["ST_conf"][k]))
            for k, name in enumerate(problem["names"])]


def sobol_indices(inputs: ModelInputs, central: dict[str, Any], *, seed: int,
                  max_concurrency: int = 1) -> list[SobolRow]:
    """First-order and total indices of every ``random`` variable for each of
    :func:`sobol_kpis` (rows input-major per KPI), from ``sensitivity.sobol_base_samples`` ×
    (variables + 2) rows; ``central`` fixes the grid axes (one grid point). Deterministic for a
    given ``seed`` (the Sobol' scrambling and the bootstrap). A KPI undefined on some row (a
    DSCR without debt service) is left out. Empty when the plan has no random variable."""
    s = inputs.plan.sensitivity
    rv = [v for v in inputs.variables if v.treatment == "random"]
    if not rv:
        return []
    problem, u = saltelli_design([v.variable_id for v in rv], s.sobol_base_samples, seed)
    rows = [{v.variable_id: quantile_value(v, float(x)) for v, x in zip(rv, row, strict=True)}
            for row in u]
    ev = evaluate(inputs, overrides={**central, "params.yaml:stochastic.simulations_per_run":
                                     s.sobol_simulations},
                  blocks=rows, criteria=False, max_concurrency=max_concurrency)
    (grid,) = ev.grid.values()
    out = []
    for kpi in sobol_kpis():
        y = _row_means(grid.kpis.get(kpi, ("", np.array([])))[1], grid.replicate_index,
                       len(rows))
        if y is not None:
            out += analysed(problem, y, kpi, seed)
    return out


def _row_means(values: np.ndarray, replicate: np.ndarray, rows: int) -> np.ndarray | None:
    """Mean of each row's (replicate's) paths; None when a row has no finite value or the
    output does not vary (the indices are then undefined)."""
    if values.size == 0:
        return None
    finite = np.isfinite(values)
    sums = np.bincount(replicate, weights=np.where(finite, values, 0.0), minlength=rows)
    counts = np.bincount(replicate, weights=finite.astype(float), minlength=rows)
    if (counts == 0).any():
        return None
    y = sums / counts
    return None if np.ptp(y) == 0 else y

