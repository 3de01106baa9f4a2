"""Rank correlation and contribution to variance (Crystal Ball's "sensitivity chart") of the
ordinary run: across a grid point's samples, Spearman's rank correlation between each random
input's drawn value (one per replicate) and each output KPI (one per sample); the contribution
to variance is the squared correlation normalised over the inputs, signed like it. Cheap — no
model evaluation — so it is written on every run; with few replicates it is coarse (say so)."""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

import numpy as np

from d3.core.variables import Variable


@dataclass(frozen=True)
class RankRow:
    grid_index: int
    input: str
    kpi: str
    spearman: float
    contribution_pct: float  # signed: ρ² / Σρ² × 100 with the sign of ρ


def _ranks(x: np.ndarray) -> np.ndarray:
    """Average ranks (ties share their mean rank), as Spearman's definition needs."""
    from scipy.stats import rankdata

    return rankdata(x, method="average")


def spearman(x: np.ndarray, y: np.ndarray) -> float:
    """Spearman's ρ of the finite pairs; NaN when either side is constant or < 3 pairs."""
    keep = np.isfinite(x) & np.isfinite(y)
    x, y = x[keep], y[keep]
    if x.size < 3 or np.ptp(x) == 0 or np.ptp(y) == 0:
        return float("nan")
    return float(np.corrcoef(_ranks(x), _ranks(y))[0, 1])


def sample_blocks(b_grid: np.ndarray, b_rep: np.ndarray, s_grid: np.ndarray,
                  s_rep: np.ndarray) -> np.ndarray:
    """The row of the block table each sample belongs to, ``(samples,)``: the block with the
    sample's ``(grid_index, replicate_index)`` (a sorted-key search, O(n log n)). Raises
    ValueError when a sample's block is missing."""
    width = int(max(b_rep.max(initial=0), s_rep.max(initial=0))) + 1
    b_key = b_grid.astype(np.int64) * width + b_rep
    s_key = s_grid.astype(np.int64) * width + s_rep
    order = np.argsort(b_key, kind="stable")
    pos = np.searchsorted(b_key[order], s_key)
    found = order[np.minimum(pos, order.size - 1)]
    if not np.array_equal(b_key[found], s_key):
        raise ValueError("a sample's (grid_index, replicate_index) has no block")
    return found


def rank_rows(variables: Sequence[Variable], blocks: Mapping[str, np.ndarray],
              samples: Mapping[str, np.ndarray], kpis: Sequence[str]) -> list[RankRow]:
    """Every (grid point, numeric random input, KPI) of the run. ``blocks``: the block table
    (``grid_index``, ``replicate_index`` and one column per variable, ``(blocks,)``);
    ``samples``: the per-sample KPI table (``grid_index``, ``replicate_index`` and the KPIs,
    ``(samples,)``). Rows grid-major, then KPI, then input in file order."""
    inputs = [v.variable_id for v in variables if v.treatment == "random"
              and np.issubdtype(np.asarray(blocks[v.variable_id]).dtype, np.number)]
    b_grid, b_rep = np.asarray(blocks["grid_index"]), np.asarray(blocks["replicate_index"])
    s_grid, s_rep = np.asarray(samples["grid_index"]), np.asarray(samples["replicate_index"])
    out = []
    block_of_sample = sample_blocks(b_grid, b_rep, s_grid, s_rep)
    for g in sorted(set(s_grid.tolist())):
        sel = s_grid == g
        block_of = block_of_sample[sel]
        for kpi in kpis:
            if kpi not in samples:
                continue
            y = np.asarray(samples[kpi], dtype=float)[sel]
            rho = {i: spearman(np.asarray(blocks[i], dtype=float)[block_of], y) for i in inputs}
            # fsum: exactly rounded, so the result does not depend on the Python version's
            # float summation (sum() changed in 3.12).
            total = math.fsum(r * r for r in rho.values() if np.isfinite(r))
            out += [RankRow(int(g), i, kpi, r, float(np.sign(r) * r * r / total * 100.0)
                            if np.isfinite(r) and total > 0 else float("nan"))
                    for i, r in rho.items()]
    return out
