"""The ``sensitivity`` stage's work in one call: tornado, Sobol indices, rank correlations
and convergence → the tables, the summary and the charts (no file I/O)."""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from d3.core.variables import grid_label
from d3.io.writers import fmt_float
from d3.model import ModelInputs
from d3.sensitivity import charts
from d3.sensitivity.convergence import convergence, replicates_needed
from d3.sensitivity.outputs import OUTPUTS, kpi_label
from d3.sensitivity.ranks import rank_rows
from d3.sensitivity.sobol import sobol_indices, sobol_kpis
from d3.sensitivity.swings import (
    central_grid_index,
    central_overrides,
    end_text,
    extra_swings,
    grid_axes_central,
    variable_swings,
)
from d3.sensitivity.tornado import TornadoRow, tornado

TORNADO_COLUMNS = ("output", "unit", "rank", "input", "basis", "low", "high", "baseline",
                   "at_low", "at_high", "swing")
SOBOL_COLUMNS = ("kpi", "input", "first_order", "first_order_conf", "total", "total_conf")
RANK_COLUMNS = ("grid_index", "kpi", "input", "spearman", "contribution_pct")
PLOT_COLUMNS = ("rank", "input", "at_low", "at_high", "swing")
PLOT_OUTPUT = "lowest_free_cash_p10_eur"  # the tornado `dvc plots diff` compares
CONVERGENCE_COLUMNS = ("grid_index", "kpi", "samples", "p10", "p50", "p90", "mean", "se_p10",
                       "se_p50", "se_mean")
MAX_CONVERGENCE_CHARTS = 6  # grid points charted (lowest indices); the CSV has them all
BASELINE = ("every random input at its mean, every grid axis at its middle value; only the "
            "outcome noise varies")
INDEPENDENCE = ("independent inputs: the tornado and the Sobol indices draw every random "
                "input on its own; correlations.csv and latin_hypercube apply to the ordinary "
                "run only")
CONVERGENCE_KPIS = (("min_free_cash_eur", "EUR"), ("funding_need_eur", "EUR"),
                    ("net_income_eur", "EUR"))


@dataclass
class Sensitivity:
    """Everything the stage writes: CSV rows (text), the summary document, PNG charts."""

    tornado: list[list[str]] = field(default_factory=list)
    sobol: list[list[str]] = field(default_factory=list)
    ranks: list[list[str]] = field(default_factory=list)
    convergence: list[list[str]] = field(default_factory=list)
    plot: list[list[str]] = field(default_factory=list)  # outputs/plots/tornado.csv
    summary: dict[str, Any] = field(default_factory=dict)
    charts: dict[str, bytes] = field(default_factory=dict)


def _num(x: float, decimals: int) -> str:
    return fmt_float(float(x), decimals) if np.isfinite(x) else ""


def labelled_months(inputs: ModelInputs) -> tuple[int, int]:
    """The horizon and every month the plan models (max(horizon, loan term)), for labels."""
    h = inputs.plan.targets.horizon_months
    return h, max(h, int(inputs.operators["general"]["loan"]["term_months"]))


def _text(x: Any) -> str:
    return end_text(x)


def ranked_tornado(rows: Sequence[TornadoRow]) -> dict[str, list[TornadoRow]]:
    """Per output, its rows largest swing first (undefined swings last, then by input)."""
    out: dict[str, list[TornadoRow]] = {}
    for o in OUTPUTS:
        mine = [r for r in rows if r.output == o.name]
        out[o.name] = sorted(mine, key=lambda r: (not np.isfinite(r.swing),
                                                  -np.nan_to_num(r.swing), r.input))
    return out


def tornado_plot_rows(ranked: Sequence[TornadoRow]) -> list[list[str]]:
    """``outputs/plots/tornado.csv`` rows (:data:`PLOT_COLUMNS`, EUR to 2 decimals): one
    output's inputs with a defined swing, largest first (``ranked`` from
    :func:`ranked_tornado`)."""
    return [[str(k + 1), r.input, _num(r.at_low, 2), _num(r.at_high, 2), _num(r.swing, 2)]
            for k, r in enumerate(x for x in ranked if np.isfinite(x.swing))]


def sensitivity(inputs: ModelInputs, *, blocks: Mapping[str, np.ndarray],
                samples: Mapping[str, np.ndarray], max_concurrency: int = 1,
                emit: Callable[..., None] | None = None) -> Sensitivity:
    """The plan's sensitivity analysis (``params.yaml`` ``sensitivity``): ``blocks`` and
    ``samples`` are the ordinary run's block table and per-sample KPI table (columns)."""
    s = inputs.plan.sensitivity
    swings = [*variable_swings(inputs.variables), *extra_swings(s.extra_keys)]
    out = Sensitivity()
    evaluations = 0
    months = labelled_months(inputs)

    def counted(label: str) -> None:
        nonlocal evaluations
        evaluations += 1
        if emit is not None:
            emit("sensitivity_evaluation", evaluation=evaluations, what=label)

    top: dict[str, list[dict[str, Any]]] = {}
    if s.tornado:
        by_output = ranked_tornado(tornado(inputs, swings, max_concurrency=max_concurrency,
                                           on_evaluation=counted))
        for o in OUTPUTS:
            rows = by_output[o.name]
            out.tornado += [[o.name, o.unit, str(k + 1), r.input, r.basis, _text(r.low),
                             _text(r.high), _num(r.baseline, 4), _num(r.at_low, 4),
                             _num(r.at_high, 4), _num(r.swing, 4)] for k, r in enumerate(rows)]
            if o.name == PLOT_OUTPUT:
                out.plot = tornado_plot_rows(rows)
            top[o.name] = [{"input": r.input, "swing": r.swing if np.isfinite(r.swing) else None,
                            "at_low": r.at_low, "at_high": r.at_high}
                           for r in rows[:3] if np.isfinite(r.swing) and r.swing > 0]
            if any(np.isfinite(r.swing) and r.swing > 0 for r in rows):
                out.charts[f"tornado_{o.name}.png"] = charts.tornado_chart(
                    rows, label=o.label_for(*months))
    sobol = []
    if s.sobol:
        sobol = sobol_indices(inputs, grid_axes_central(inputs.variables),
                              seed=int(inputs.seeds["general"]),
                              max_concurrency=max_concurrency)
        counted("sobol")
        out.sobol = [[r.kpi, r.input, _num(r.first_order, 4), _num(r.first_order_conf, 4),
                      _num(r.total, 4), _num(r.total_conf, 4)] for r in sobol]
        for kpi in dict.fromkeys(r.kpi for r in sobol):
            out.charts[f"sobol_{kpi}.png"] = charts.sobol_chart(
                [r for r in sobol if r.kpi == kpi], kpi=kpi, label=kpi_label(kpi, *months))
    ranks = rank_rows(inputs.variables, blocks, samples, sobol_kpis())
    out.ranks = [[str(r.grid_index), r.kpi, r.input, _num(r.spearman, 4),
                  _num(r.contribution_pct, 2)] for r in ranks]
    needed = _convergence(out, inputs, samples)
    g = central_grid_index(inputs.variables)
    out.summary = {
        "evaluations": evaluations,
        "grid_index": g,
        "grid_label": grid_label(inputs.variables, g),
        "baseline": BASELINE,
        "assumes": INDEPENDENCE,
        "tornado": {"evaluations": 1 + 2 * len(swings) if s.tornado else 0,
                    "swings": [{"input": w.name, "key": w.key, "low": _text(w.low),
                                "high": _text(w.high), "central": _text(w.central),
                                "basis": w.basis} for w in swings] if s.tornado else [],
                    "central": {k: _text(v) for k, v in central_overrides(swings).items()},
                    "top_drivers": top},
        "sobol": {"base_samples": s.sobol_base_samples, "rows": len(sobol),
                  "parameter_sets": s.sobol_base_samples * (
                      sum(v.treatment == "random" for v in inputs.variables) + 2)
                  if s.sobol else 0,
                  "simulations_per_set": s.sobol_simulations},
        "replicates": int(inputs.plan.run.random_runs_per_simulation),
        "replicates_needed_1pct_p10_lowest_free_cash": needed,
        "settings": s.model_dump(mode="json"),
        "charts": sorted(out.charts),
        # each output's words with the months it covers: the charts' titles, the report's
        # captions (one source)
        "output_labels": {o.name: o.label_for(*months) for o in OUTPUTS},
    }
    return out


def _convergence(out: Sensitivity, inputs: ModelInputs,
                 samples: Mapping[str, np.ndarray]) -> dict[str, float | None]:
    """Convergence rows per grid point and charts of the first :data:`MAX_CONVERGENCE_CHARTS`
    grid points; returns, per grid point, the replicates
    that a ±1 % standard error on the p10 of the lowest free cash needs."""
    grid = np.asarray(samples["grid_index"])
    reps = np.asarray(samples["replicate_index"])
    needed = {}
    for g in sorted(set(grid.tolist())):  # ints: numeric order
        sel = grid == g
        for kpi, unit in CONVERGENCE_KPIS:
            if kpi not in samples:
                continue
            points = convergence(np.asarray(samples[kpi], dtype=float)[sel], reps[sel],
                                 seed=int(inputs.seeds["general"]), name=kpi, grid_index=g)
            out.convergence += [[str(g), kpi, str(p.samples), *(_num(x, 2) for x in (
                p.p10, p.p50, p.p90, p.mean, p.se_p10, p.se_p50, p.se_mean))] for p in points]
            if kpi == "min_free_cash_eur":
                last = points[-1]
                n = replicates_needed(int(np.unique(reps[sel]).size), last.p10, last.se_p10)
                needed[str(g)] = round(n) if np.isfinite(n) else None
                if len(needed) <= MAX_CONVERGENCE_CHARTS:
                    out.charts[f"convergence_grid_{g}.png"] = charts.convergence_chart(
                        points, kpi=kpi, unit=unit, grid_label=grid_label(inputs.variables, g))
    return needed
