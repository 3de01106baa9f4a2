"""Count draws by inversion: ``k = F⁻¹(u)``, one uniform per draw.

Why not ``Generator.poisson`` / ``Generator.binomial``: their samplers (PTRS, BTPE) consume a
variable number of uniforms per draw, depending on the parameter. Two evaluations that differ
only in a decision that moves an intensity (an ads budget, a churn rate) then fall out of step
after the first draw, and their difference is mostly noise (measured on the minimal fixture: the
per-sample net income of public budgets 1000 and 1001 EUR correlated at 0.10). By inversion,
each draw uses its own uniform, fixed by its position whatever the parameter, and ``F⁻¹(u)``
is monotone in λ (and in n and p): a larger budget gives at least as many customers on every
path — common random numbers in the strict sense (Glasserman, *Monte Carlo Methods in Financial
Engineering*, 2003, §4.2; Devroye, *Non-Uniform Random Variate Generation*, 1986, §X.3 for the
sequential-search inversion used here).

The distribution is exact up to double rounding: ``k`` is the smallest integer with
``F(k) ≥ u``, with ``F`` summed from the probability mass function by its recurrence in double
precision. The error of ``F`` grows with the parameter — the starting term
``exp(k log λ − λ − lgamma(k + 1))`` loses about ``λ log λ`` ulps to cancellation — so a draw
can differ from exact arithmetic only when ``u`` lies within ≈1e-15 (λ ≈ 10) to ≈1e-10
(λ = 1e5) of a step of ``F``, and for ``u`` above the largest representable ``F`` (probability
of the same order) the draw is the last step the sum reaches, a far-tail value, not a runaway.
Where ``P(0)`` would underflow (λ or n·p large) the sum starts 15 standard deviations below the
mean, where the mass left out is below 1e-40. Parameters must be finite (the callers' inputs
are validated); ``u`` in [0, 1).
``tests/core/test_inverse_sampling.py`` checks every draw against ``scipy.stats`` ``ppf``.

Uniforms come from :func:`month_major_uniforms`: the draws of month ``m`` do not depend on how
many months the run has, so a longer loan term leaves the earlier months' paths unchanged.
"""

from __future__ import annotations

import math

import numba
import numpy as np
from scipy import special

# exp(-700) ≈ 1e-304 is still a normal double; below it P(0) would underflow.
_LOG_UNDERFLOW = 700.0
_START_SDS = 15.0
# Above this mean the search (≈ 15√λ steps from its start) hands over to scipy's O(1) inversion.
SEARCH_MAX_MEAN = 10_000.0


@numba.vectorize(["int64(float64, float64)"], cache=True)
def _poisson_search(u: float, lam: float) -> int:  # pragma: no cover - compiled
    """Smallest ``k`` with ``P(X ≤ k) ≥ u`` for ``X ~ Poisson(lam)`` (``lam ≤ 0`` → 0).
    Broadcasts like a ufunc; ``u`` in [0, 1)."""
    if lam <= 0.0:
        return 0
    k = 0
    if lam > _LOG_UNDERFLOW:
        k = int(max(0.0, math.floor(lam - _START_SDS * math.sqrt(lam))))
    p = math.exp(k * math.log(lam) - lam - math.lgamma(k + 1.0))
    cdf = p
    while cdf < u:
        k += 1
        p *= lam / k
        grown = cdf + p
        if grown == cdf and k > lam:  # the sum has saturated below u: the tail is beyond
            break                     # double precision, so k is the last representable step
        cdf = grown
    return k


@numba.njit(cache=True)
def _binomial_ppf_low(u: float, n: int, p: float) -> int:  # pragma: no cover - compiled
    """Inversion for ``p ≤ 0.5`` (the lower tail is then the light one)."""
    q = 1.0 - p
    k = 0
    if -n * math.log1p(-p) > _LOG_UNDERFLOW:
        k = int(max(0.0, math.floor(n * p - _START_SDS * math.sqrt(n * p * q))))
    pk = math.exp(math.lgamma(n + 1.0) - math.lgamma(k + 1.0) - math.lgamma(n - k + 1.0)
                  + k * math.log(p) + (n - k) * math.log1p(-p))
    cdf = pk
    ratio = p / q
    while cdf < u and k < n:
        pk *= (n - k) / (k + 1.0) * ratio
        k += 1
        grown = cdf + pk
        if grown == cdf and k > n * p:  # saturated below u (see poisson_ppf)
            break
        cdf = grown
    return k


@numba.njit(cache=True, nogil=True)
def _binomial_one(u: float, n: int, p: float) -> int:  # pragma: no cover - compiled
    """Smallest ``k`` with ``P(X ≤ k) ≥ u`` for ``X ~ Binomial(n, p)`` (``n ≤ 0`` or ``p ≤ 0``
    → 0; ``p ≥ 1`` → n). For ``p > 0.5`` it inverts ``n − Binomial(n, 1 − p)`` at ``1 − u``
    (the same distribution, summed from its light tail)."""
    if n <= 0 or p <= 0.0:
        return 0
    if p >= 1.0:
        return n
    if p <= 0.5:
        return _binomial_ppf_low(u, n, p)
    # X ≤ k ⇔ Y ≥ n − k with Y = n − X ~ Binomial(n, 1 − p): F_X(k) = 1 − F_Y(n − k − 1).
    # The smallest k with F_X(k) ≥ u is n − j, j the smallest with F_Y(j) ≥ 1 − u when no
    # step of F_Y sits exactly at 1 − u (probability zero for a continuous u).
    return n - _binomial_ppf_low(1.0 - u, n, 1.0 - p)


@numba.vectorize(["int64(float64, int64, float64)"], cache=True)
def _binomial_search(u: float, n: int, p: float) -> int:  # pragma: no cover - compiled
    """:func:`_binomial_one` elementwise (broadcasts like a ufunc)."""
    return _binomial_one(u, n, p)


@numba.njit(cache=True, nogil=True)
def _churned_active(u: np.ndarray, new: np.ndarray,
                    churn_frac: float) -> np.ndarray:  # pragma: no cover - compiled
    """``active[i, m] = active[i, m−1] − Binomial⁻¹(u[i, m]; active[i, m−1], churn_frac) +
    new[i, m]`` (``active[i, −1] = 0``), one sample at a time: the month loop of
    :func:`active_after_churn` in one compiled pass."""
    sims, months = new.shape
    active = np.empty((sims, months))
    for i in range(sims):
        previous = 0
        for m in range(months):
            previous = previous - _binomial_one(u[i, m], previous, churn_frac) + new[i, m]
            active[i, m] = previous
    return active


def active_after_churn(u: np.ndarray, new: np.ndarray, churn_frac: float) -> np.ndarray:
    """Active customers ``(simulations, months)`` (float64 counts) from new customers ``new``
    (counts, any numeric dtype, truncated to int64) and one churn uniform per sample and month
    ``u``: ``churned_m = binomial_ppf(u_m, active_{m−1}, churn_frac)``, ``active_m =
    active_{m−1} − churned_m + new_m``, ``active_{−1} = 0``. The same numbers as that month loop
    over :func:`binomial_ppf`; compiled in one pass when no draw can reach the bisection
    (``active_{m−1} ≤`` the running total of new customers, so the largest running total ×
    ``min(p, 1 − p) ≤ SEARCH_MAX_MEAN`` bounds every draw), else by the loop itself. Raises
    ``ValueError`` when ``u`` and ``new`` differ in shape."""
    new = np.asarray(new).astype(np.int64)
    if np.shape(u) != new.shape:
        raise ValueError(f"uniforms {np.shape(u)} and new customers {new.shape} differ in shape")
    running = np.cumsum(new, axis=1).max(initial=0) if new.size else 0
    if float(running) * min(churn_frac, 1.0 - churn_frac) <= SEARCH_MAX_MEAN:
        return _churned_active(np.ascontiguousarray(u, dtype=np.float64), new,
                               float(churn_frac))
    active = np.empty(new.shape)
    previous = np.zeros(new.shape[0], dtype=np.int64)
    for m in range(new.shape[1]):
        previous = previous - binomial_ppf(u[:, m], previous, churn_frac) + new[:, m]
        active[:, m] = previous
    return active


def poisson_ppf(u, lam) -> np.ndarray:
    """Smallest ``k`` with ``P(X ≤ k) ≥ u`` for ``X ~ Poisson(lam)``, elementwise (int64,
    broadcast like a ufunc). Up to a mean of ``SEARCH_MAX_MEAN`` the compiled sequential
    search; above it (its O(√λ) steps would take minutes for a mistyped budget of 1e12 EUR) a
    bisection on the exact CDF (``scipy.special.pdtr``, the regularized incomplete gamma):
    the same smallest ``k``, in O(log λ) CDF evaluations."""
    u, lam = np.broadcast_arrays(np.asarray(u, dtype=np.float64),
                                 np.asarray(lam, dtype=np.float64))
    big = lam > SEARCH_MAX_MEAN
    out = np.array(_poisson_search(u, np.where(big, 0.0, lam)), dtype=np.int64, ndmin=1)
    if big.any():
        ub, lb = u[big], lam[big]
        out[big.reshape(out.shape)] = _bisected(
            lambda k, i: special.pdtr(k, lb[i]), ub, lb, np.sqrt(lb))
    return out.reshape(u.shape)


def binomial_ppf(u, n, p) -> np.ndarray:
    """Smallest ``k`` with ``P(X ≤ k) ≥ u`` for ``X ~ Binomial(n, p)``, elementwise (int64).
    Up to a mean of ``SEARCH_MAX_MEAN`` (of ``n·p`` or ``n·(1−p)``, whichever tail is
    searched) the compiled search; above it a bisection on the exact CDF
    ``P(X ≤ k) = I_{1−p}(n − k, k + 1)`` (``scipy.special.betainc``)."""
    u, n, p = np.broadcast_arrays(np.asarray(u, dtype=np.float64),
                                  np.asarray(n, dtype=np.int64), np.asarray(p, dtype=np.float64))
    big = n * np.minimum(p, 1.0 - p) > SEARCH_MAX_MEAN
    out = np.array(_binomial_search(u, np.where(big, 0, n), p), dtype=np.int64, ndmin=1)
    if big.any():
        ub, nb, pb = u[big], n[big].astype(np.float64), p[big]

        def cdf(k, i):
            return np.where(k >= nb[i], 1.0, special.betainc(
                np.maximum(nb[i] - k, 1e-300), k + 1.0, 1.0 - pb[i]))
        out[big.reshape(out.shape)] = np.minimum(
            _bisected(cdf, ub, nb * pb, np.sqrt(nb * pb * (1.0 - pb))), nb).astype(np.int64)
    return out.reshape(u.shape)


def _bisected(cdf, u: np.ndarray, mean: np.ndarray, sd: np.ndarray) -> np.ndarray:
    """Per element the smallest integer ``k`` in ``[mean − 40 sd, mean + 40 sd]`` with
    ``cdf(k) ≥ u`` (``cdf(k, index)`` vectorised over the still-open elements); the bracket's
    upper end when even it falls short (``u`` beyond the CDF's rounding: a far-tail value)."""
    lo = np.maximum(np.floor(mean - 40.0 * sd), 0.0)
    hi = np.ceil(mean + 40.0 * sd + 40.0)
    open_ = np.flatnonzero(hi > lo)
    while open_.size:
        mid = np.floor((lo[open_] + hi[open_]) / 2.0)
        reached = cdf(mid, open_) >= u[open_]
        hi[open_] = np.where(reached, mid, hi[open_])
        lo[open_] = np.where(reached, lo[open_], mid + 1.0)
        open_ = open_[hi[open_] > lo[open_]]
    return hi.astype(np.int64)


def month_major_uniforms(gen: np.random.Generator, simulations: int,
                         months: int) -> np.ndarray:
    """Uniforms on [0, 1), ``(simulations, months)``, drawn month by month: month ``m``'s
    column is the generator's ``m``-th block of ``simulations`` values, whatever ``months``
    is (a longer horizon appends draws; it never moves earlier ones)."""
    return np.ascontiguousarray(gen.random((months, simulations)).T)
