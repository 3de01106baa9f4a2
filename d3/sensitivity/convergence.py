"""Convergence of the Monte Carlo estimates: the running p10 / p50 / p90 and mean of a KPI as
the sample count grows, with the between-replicate (cluster-aware) standard error, and the
sample count a target precision needs."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from d3.core.percentiles import percentiles
from d3.finance.mc_error import between_replicate_se, mean

POINTS = 12  # sample counts per curve, geometrically spaced


@dataclass(frozen=True)
class ConvergencePoint:
    samples: int
    p10: float
    p50: float
    p90: float
    mean: float
    se_p10: float
    se_p50: float
    se_mean: float


def interleaved(replicate: np.ndarray) -> np.ndarray:
    """Sample order that takes every replicate's k-th path before any (k+1)-th, so that the
    first n samples span all replicates (the parameter draws) rather than the first few:
    positions sorted by (index within the replicate, replicate)."""
    within = np.zeros(replicate.size, dtype=np.int64)
    for r in np.unique(replicate):
        at = np.flatnonzero(replicate == r)
        within[at] = np.arange(at.size)
    return np.lexsort((replicate, within))


def sample_counts(n: int, replicates: int, points: int = POINTS) -> list[int]:
    """Geometric sample counts from ``2 × replicates`` (at least 10) to ``n``, ``n`` last."""
    lo = min(n, max(10, 2 * replicates))
    grid = np.unique(np.round(np.geomspace(lo, n, points)).astype(int))
    return [int(x) for x in grid]


def _q(q: int):
    return lambda v: float(percentiles(v, [q])[0])


def convergence(values: np.ndarray, replicate: np.ndarray) -> list[ConvergencePoint]:
    """The running estimates of one grid point's KPI ``values`` ``(samples,)`` (its
    ``replicate`` ids alongside), at :func:`sample_counts` in :func:`interleaved` order."""
    order = interleaved(replicate)
    v, r = np.asarray(values, dtype=float)[order], replicate[order]
    out = []
    for n in sample_counts(v.size, int(np.unique(replicate).size)):
        head, reps = v[:n], r[:n]
        p10, p50, p90 = percentiles(head, [10, 50, 90])
        out.append(ConvergencePoint(
            n, float(p10), float(p50), float(p90), float(np.nanmean(head))
            if np.isfinite(head).any() else float("nan"),
            between_replicate_se(head, reps, _q(10)), between_replicate_se(head, reps, _q(50)),
            between_replicate_se(head[np.isfinite(head)], reps[np.isfinite(head)], mean)))
    return out


def samples_needed(n: int, estimate: float, se: float, rel_precision: float = 0.01) -> float:
    """Samples for a standard error of ``rel_precision`` × |estimate| (SE ∝ 1/√n):
    ``n × (se / (rel_precision × |estimate|))²``; NaN when undefined."""
    if not (np.isfinite(se) and np.isfinite(estimate)) or estimate == 0:
        return float("nan")
    return float(n * (se / (rel_precision * abs(estimate))) ** 2)


def convergence_rows(points: Sequence[ConvergencePoint]) -> list[list[float]]:
    return [[p.samples, p.p10, p.p50, p.p90, p.mean, p.se_p10, p.se_p50, p.se_mean]
            for p in points]
