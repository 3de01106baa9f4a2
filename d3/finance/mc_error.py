"""Monte Carlo error that respects the sample space's blocks (SPEC §7).

The samples of one ``(grid_index, replicate_index)`` block share their parameter draws, so they
are not independent: only the replicates are. The standard error of a statistic is estimated by
the method of independent replications (Law & Kelton, *Simulation Modeling and Analysis*, §9.4):
compute the statistic within each replicate, then ``SE = sd(stat_r) / √R`` with the sample
standard deviation (ddof = 1) over the R replicates. With R < 2 it is undefined (NaN).
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np


def replicate_statistics(values: np.ndarray, replicate_ids: np.ndarray,
                         statistic: Callable[[np.ndarray], float]) -> np.ndarray:
    """``statistic`` of the finite values of each replicate, in replicate order, ``(R,)``."""
    out = []
    for r in np.unique(replicate_ids):
        v = values[(replicate_ids == r) & np.isfinite(values)]
        out.append(statistic(v) if v.size else np.nan)
    return np.array(out, dtype=float)


def between_replicate_se(values: np.ndarray, replicate_ids: np.ndarray,
                         statistic: Callable[[np.ndarray], float]) -> float:
    """Standard error of ``statistic`` over all samples of one grid point, from the spread of
    the per-replicate statistics: ``sd(stat_r, ddof=1) / √R`` (NaN when R < 2)."""
    stats = replicate_statistics(values, replicate_ids, statistic)
    stats = stats[np.isfinite(stats)]
    if stats.size < 2:
        return float("nan")
    return float(np.std(stats, ddof=1) / np.sqrt(stats.size))


def median(v: np.ndarray) -> float:
    return float(np.percentile(v, 50, method="linear"))


def mean(v: np.ndarray) -> float:
    return float(np.mean(v))
