"""Convergence of the Monte Carlo estimates: the running p10 / p50 / p90 and mean of a KPI as
the sample count grows, with cluster-aware standard errors, and the replicates a target
precision needs.

The samples of one replicate share its parameter draws, so only the replicates are independent:
the standard error of a pooled percentile comes from a replicate-cluster bootstrap (resample
whole replicates with replacement, recompute the pooled percentile; Davison & Hinkley,
*Bootstrap Methods*, §3.8), that of the mean from the spread of the replicate means. Since the
error shrinks with the number of replicates, not of paths, the precision target is met by
adding replicates (``run.random_runs_per_simulation``).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from d3.core.percentiles import multiset_percentile, percentiles
from d3.core.rng import bootstrap_stream
from d3.finance.mc_error import between_replicate_se, mean

POINTS = 12  # sample counts per curve, geometrically spaced
RESAMPLES = 200  # bootstrap resamples per standard error


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


def cluster_bootstrap_se(values: np.ndarray, replicate: np.ndarray, q: float,
                         rng: np.random.Generator, resamples: int = RESAMPLES) -> float:
    """Standard error of the pooled ``q``-th percentile (0..100) of ``values`` ``(samples,)``
    whose samples are clustered by ``replicate``: the standard deviation (ddof = 1) of the
    percentile over ``resamples`` resamples of whole replicates with replacement, drawn from
    ``rng``. NaN with fewer than 2 replicates or no finite value.

    A resample is a multiset: each replicate's samples taken as many times as it was drawn.
    Its percentile is read off the finite values sorted once, weighted by those counts
    (:func:`multiset_percentile`), instead of concatenating and partitioning the copies: the
    same number, bit for bit (numpy's linear definition), in O(samples) per resample without
    the copies (docs/BENCHMARKS.md)."""
    values = np.asarray(values, dtype=float)
    ok = np.isfinite(values)
    ids, at = np.unique(np.asarray(replicate)[ok], return_inverse=True)
    if ids.size < 2:
        return float("nan")
    order = np.argsort(values[ok], kind="stable")
    ordered, cluster = values[ok][order], at[order]
    picks = rng.integers(0, ids.size, size=(resamples, ids.size))
    stats = [multiset_percentile(ordered, np.bincount(row, minlength=ids.size)[cluster], q)
             for row in picks]
    return float(np.std(stats, ddof=1))


def convergence(values: np.ndarray, replicate: np.ndarray, *, seed: int, name: str,
                grid_index: int = 0) -> list[ConvergencePoint]:
    """The running estimates of one grid point's KPI ``values`` ``(samples,)`` (its
    ``replicate`` ids alongside), at :func:`sample_counts` in :func:`interleaved` order; the
    percentiles' standard errors by :func:`cluster_bootstrap_se` on the keyed stream
    ``(bootstrap, sensitivity, name|q|n, grid_index)`` of master ``seed``."""
    order = interleaved(replicate)
    v, r = np.asarray(values, dtype=float)[order], replicate[order]
    out = []

    def se(head: np.ndarray, reps: np.ndarray, q: int) -> float:
        rng = bootstrap_stream(seed, "sensitivity", f"{name}|p{q}|{head.size}", grid_index)
        return cluster_bootstrap_se(head, reps, q, rng)

    for n in sample_counts(v.size, int(np.unique(replicate).size)):
        head, reps = v[:n], r[:n]
        p10, p50, p90 = percentiles(head, [10, 50, 90])
        out.append(ConvergencePoint(
            n, float(p10), float(p50), float(p90), float(np.nanmean(head))
            if np.isfinite(head).any() else float("nan"),
            se(head, reps, 10), se(head, reps, 50),
            between_replicate_se(head[np.isfinite(head)], reps[np.isfinite(head)], mean)))
    return out


def replicates_needed(replicates: int, estimate: float, se: float,
                      rel_precision: float = 0.01) -> float:
    """Replicates (independent parameter draws) for a standard error of ``rel_precision`` ×
    |estimate| (SE ∝ 1/√replicates): ``replicates × (se / (rel_precision × |estimate|))²``;
    NaN when undefined."""
    if not (np.isfinite(se) and np.isfinite(estimate)) or estimate == 0:
        return float("nan")
    return float(replicates * (se / (rel_precision * abs(estimate))) ** 2)
