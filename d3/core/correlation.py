"""Rank correlation between ``random`` variables (issue 16): the optional
``inputs/variables/correlations.csv``, its validation, and the Iman–Conover method that imposes
it on a grid point's replicate draws.

Iman & Conover (1982), "A distribution-free approach to inducing rank correlation among input
variables": give each of the k columns of an (n, k) sample a random order of the van der
Waerden scores Φ⁻¹(i/(n+1)), transform the score matrix so its correlation is the target, and
reorder every sample column to the rank order of its transformed score column. The values of
each column are only permuted, so every marginal stays exactly what it was.
"""

from __future__ import annotations

import difflib
import math
from collections.abc import Mapping, Sequence
from dataclasses import replace

import numpy as np

from d3.core.errors import Issue
from d3.core.schema_issues import number_hint
from d3.core.variables import Variable
from d3.io.loader import RawTable

CORRELATION_COLUMNS = ("variable_a", "variable_b", "rank_correlation")
PSD_TOLERANCE = 1e-9  # smallest eigenvalue still accepted as ≥ 0 (float noise of eigvalsh)
HINT_DECIMALS = 2

Pair = tuple[str, str]


# --- Iman–Conover ---------------------------------------------------------------------------


def van_der_waerden_scores(n: int) -> np.ndarray:
    """``Φ⁻¹(i/(n+1))`` for i = 1..n, ascending, shape (n,)."""
    from scipy.stats import norm

    return norm.ppf(np.arange(1, n + 1) / (n + 1))


def normal_score_correlation(rank_correlation: np.ndarray) -> np.ndarray:
    """The Pearson correlation of normal scores whose Spearman rank correlation is
    ``rank_correlation``: ρ = 2·sin(π·ρ_s/6) elementwise (for a bivariate normal,
    ρ_s = (6/π)·arcsin(ρ/2)); 1 stays 1, 0 stays 0."""
    return 2 * np.sin(np.pi * np.asarray(rank_correlation, dtype=float) / 6)


def _lower_factor(matrix: np.ndarray) -> np.ndarray:
    """L with L·Lᵀ = ``matrix``: Cholesky, or for a singular (ρ = ±1) or slightly indefinite
    matrix the eigen square root with negative eigenvalues clipped, rows rescaled to unit
    length (unit diagonal)."""
    try:
        return np.linalg.cholesky(matrix)
    except np.linalg.LinAlgError:
        values, vectors = np.linalg.eigh(matrix)
        root = vectors * np.sqrt(np.clip(values, 0.0, None))
        return root / np.linalg.norm(root, axis=1, keepdims=True)


def iman_conover_ranks(score_orders: Sequence[np.ndarray], target: np.ndarray) -> np.ndarray:
    """Ranks (0 = smallest) that the n rows of each of k columns take, shape (n, k), so the
    columns have Spearman rank correlation ≈ ``target`` (k × k, unit diagonal, PSD).

    ``score_orders[j]`` is a permutation of 0..n-1 (from a keyed stream) that deals the van
    der Waerden scores to column j. The score matrix M is decorrelated by the Cholesky factor
    Q of its own correlation (M·Q⁻ᵀ, Iman–Conover's correction, when n > k makes it positive
    definite), then given the target by the factor P of the normal-score correlation
    (:func:`normal_score_correlation`): T = M·Q⁻ᵀ·Pᵀ."""
    n, k = len(score_orders[0]), len(score_orders)
    scores = van_der_waerden_scores(n)
    m = np.column_stack([scores[np.asarray(o)] for o in score_orders])
    if n > k + 1:
        try:
            q = np.linalg.cholesky(np.corrcoef(m, rowvar=False))
            m = np.linalg.solve(q, m.T).T
        except np.linalg.LinAlgError:
            pass  # a degenerate score matrix: induce the target without the correction
    t = m @ _lower_factor(normal_score_correlation(target)).T
    return np.argsort(np.argsort(t, axis=0, kind="stable"), axis=0, kind="stable")


def iman_conover_order(keys: np.ndarray, target: np.ndarray,
                       score_orders: Sequence[np.ndarray]) -> np.ndarray:
    """Row indices, shape (n, k): column j of the rank-correlated sample is
    ``sample[order[:, j], j]``. ``keys`` (n, k) are the values' sort keys; ties keep their
    row order (a stable sort), so the result is a pure function of its inputs."""
    ranks = iman_conover_ranks(score_orders, target)
    ascending = np.argsort(keys, axis=0, kind="stable")
    return np.take_along_axis(ascending, ranks, axis=0)


def iman_conover(sample: np.ndarray, target: np.ndarray,
                 score_orders: Sequence[np.ndarray]) -> np.ndarray:
    """``sample`` (n, k) with each column's values re-paired across rows so the columns'
    Spearman rank correlation ≈ ``target``; every column holds exactly the same values."""
    return np.take_along_axis(sample, iman_conover_order(sample, target, score_orders), axis=0)


# --- the target matrix ----------------------------------------------------------------------


def correlated_group(variables: Sequence[Variable]) -> tuple[Variable, ...]:
    """The ``random`` variables with a rank correlation to another ``random`` variable, in
    file order: the columns Iman–Conover pairs (every other variable is drawn alone)."""
    randoms = {v.variable_id for v in variables if v.treatment == "random"}
    return tuple(v for v in variables if v.treatment == "random"
                 and any(other in randoms for other, _ in v.rank_correlations))


def target_matrix(group: Sequence[Variable]) -> np.ndarray:
    """k × k rank-correlation target of ``group``: 1 on the diagonal, the listed ρ, 0 where
    a pair is not listed."""
    index = {v.variable_id: i for i, v in enumerate(group)}
    out = np.eye(len(group))
    for i, var in enumerate(group):
        for other, rho in var.rank_correlations:
            if other in index:
                out[i, index[other]] = out[index[other], i] = rho
    return out


def nearest_correlation_matrix(matrix: np.ndarray, *, min_eigenvalue: float = 0.0,
                               iterations: int = 200) -> np.ndarray:
    """The nearest (Frobenius) correlation matrix with eigenvalues ≥ ``min_eigenvalue``:
    Higham's (2002) alternating projections with Dykstra's correction, between the matrices
    with those eigenvalues and those with a unit diagonal."""
    y = np.array(matrix, dtype=float)
    correction = np.zeros_like(y)
    for _ in range(iterations):
        r = y - correction
        values, vectors = np.linalg.eigh(r)
        x = (vectors * np.clip(values, min_eigenvalue, None)) @ vectors.T
        correction = x - r
        y = x.copy()
        np.fill_diagonal(y, 1.0)
        if np.linalg.norm(y - x) < 1e-12:
            break
    return (y + y.T) / 2


def valid_rounded_correlation(matrix: np.ndarray) -> np.ndarray:
    """A correlation matrix near ``matrix`` that stays positive semi-definite when rounded to
    2 decimals (what the hint prints): the nearest one with eigenvalues ≥ δ, for the smallest
    δ of 0.01, 0.02, 0.05, 0.1, 0.2 whose rounding is still valid."""
    for floor in (0.01, 0.02, 0.05, 0.1, 0.2):
        rounded = np.round(nearest_correlation_matrix(matrix, min_eigenvalue=floor),
                           HINT_DECIMALS)
        if np.linalg.eigvalsh(rounded)[0] >= -PSD_TOLERANCE:
            return rounded
    return np.eye(len(matrix))


# --- correlations.csv -----------------------------------------------------------------------


def _where(row: int, a: str, b: str) -> str:
    return f"row {row} ({a}/{b})"


def _unknown_id_issue(file: str, where: str, column: str, vid: str,
                      known: Sequence[str]) -> Issue:
    match = difflib.get_close_matches(vid, list(known), n=1, cutoff=0.6)
    hint = (f"did you mean `{match[0]}`?" if match else
            f"use a variable_id of inputs/variables/*.csv: {', '.join(sorted(known))}")
    return Issue(file, where, f"{column} {vid!r} is not a variable_id of "
                 "inputs/variables/*.csv", hint)


def _rho(text: str, file: str, where: str, issues: list[Issue]) -> float | None:
    try:
        rho = float(text)
    except ValueError:
        comma = number_hint(text)
        issues.append(Issue(file, where, f"rank_correlation must be a number in [-1, 1], got "
                            f"{text!r}", comma if "decimal point" in comma else
                            "write a number between -1 and 1, e.g. 0.5"))
        return None
    if not math.isfinite(rho) or not -1 <= rho <= 1:
        issues.append(Issue(file, where, f"rank_correlation {text} is outside [-1, 1]",
                            "a rank correlation lies between -1 and 1, e.g. 0.5"))
        return None
    return rho


def _repeat_issue(file: str, where: str, a: str, b: str, seen_row: int,
                  seen: float | None, rho: float | None) -> Issue:
    values = (f" with {seen:g} (here {rho:g})"
              if seen is not None and rho is not None and seen != rho else "")
    return Issue(file, where, f"the pair {a}/{b} is already listed at row {seen_row}{values}",
                 "keep one row per pair (a/b and b/a are the same pair: the matrix is "
                 "symmetric)")


def _pair_issues(a: str, b: str, where: str, file: str, declared: set[str],
                 random_ids: Mapping[str, Variable], parsed: Mapping[str, Variable]
                 ) -> list[Issue]:
    out = []
    for column, vid in (("variable_a", a), ("variable_b", b)):
        if vid not in declared:
            out.append(_unknown_id_issue(file, where, column, vid, sorted(declared)))
        elif vid in parsed and vid not in random_ids:
            out.append(Issue(file, where, f"{column} {vid!r} has treatment "
                             f"{parsed[vid].treatment}, not random (only random variables are "
                             "drawn, so only they can be correlated)", f"set {vid}'s treatment "
                             "to random, or remove the row"))
    if a == b and a:
        out.append(Issue(file, where, f"variable_a and variable_b are both {a!r} (a variable's "
                         "rank correlation with itself is always 1)", "remove the row"))
    return out


def correlation_pairs(table: RawTable | None, variables: Sequence[Variable],
                      declared: set[str], issues: list[Issue]) -> dict[Pair, float]:
    """``{(variable_a, variable_b): ρ}`` of ``correlations.csv`` (None: no such file),
    appending every problem to ``issues``: a missing column, an id that no variables file
    declares (``declared``) or that is not ``random``, a self pair, a ρ that is not a number
    in [-1, 1], a pair listed twice (in either order), and — when every row is valid — a
    matrix that is not positive semi-definite (:func:`psd_issue`)."""
    if table is None:
        return {}
    missing = [c for c in CORRELATION_COLUMNS if c not in table.header]
    if missing:
        issues.append(Issue(table.file, "header", f"missing column(s) {', '.join(missing)}",
                            f"add the column(s); required: {', '.join(CORRELATION_COLUMNS)}"))
        return {}
    parsed = {v.variable_id: v for v in variables}
    random_ids = {vid: v for vid, v in parsed.items() if v.treatment == "random"}
    pairs: dict[Pair, float] = {}
    first: dict[frozenset[str], tuple[int, float | None]] = {}
    start = len(issues)
    for row, record in table.rows:
        if row in table.unreadable:
            continue
        a, b = (str(record.get(c, "")).strip() for c in CORRELATION_COLUMNS[:2])
        where = _where(row, a, b)
        problems = _pair_issues(a, b, where, table.file, declared, random_ids, parsed)
        rho = _rho(str(record.get("rank_correlation", "")).strip(), table.file, where, problems)
        key = frozenset((a, b))
        if key in first and a != b:
            problems.append(_repeat_issue(table.file, where, a, b, *first[key], rho))
        first.setdefault(key, (row, rho))
        issues += problems
        if not problems and rho is not None:
            pairs[(a, b)] = rho
    if len(issues) == start and table.unreadable == frozenset():
        issues += psd_issue(table.file, pairs, variables)
    return pairs


def psd_issue(file: str, pairs: Mapping[Pair, float],
              variables: Sequence[Variable]) -> list[Issue]:
    """An ERROR when the listed rank correlations (1 on the diagonal, 0 where a pair is not
    listed) form no positive semi-definite matrix — no joint distribution has them — with the
    nearest valid values (rounded to 2 decimals) of the listed pairs as the hint."""
    group = correlated_group(with_rank_correlations(variables, pairs))
    if not group:
        return []
    matrix = target_matrix(group)
    smallest = float(np.linalg.eigvalsh(matrix)[0])
    if smallest >= -PSD_TOLERANCE:
        return []
    valid = valid_rounded_correlation(matrix)
    index = {v.variable_id: i for i, v in enumerate(group)}
    nearest = "; ".join(f"{a}/{b} {valid[index[a], index[b]] + 0.0:.2f}" for a, b in pairs)
    return [Issue(file, "(file)", f"the rank correlations of {', '.join(index)} are not "
                  f"positive semi-definite (smallest eigenvalue {smallest:.3f}): no joint "
                  "distribution has them", f"the nearest valid values are {nearest}; use "
                  "them, or weaken the pairs that contradict each other")]


def with_rank_correlations(variables: Sequence[Variable],
                           pairs: Mapping[Pair, float]) -> list[Variable]:
    """``variables`` with each one's :attr:`Variable.rank_correlations` set from ``pairs``
    (both directions; partners in the order of ``pairs``)."""
    partners: dict[str, list[tuple[str, float]]] = {}
    for (a, b), rho in pairs.items():
        partners.setdefault(a, []).append((b, rho))
        partners.setdefault(b, []).append((a, rho))
    return [replace(v, rank_correlations=tuple(partners[v.variable_id]))
            if v.variable_id in partners else v for v in variables]


def rank_correlation_log(variables: Sequence[Variable]) -> list[dict[str, object]]:
    """The rank correlations applied, one ``{variable_a, variable_b, rank_correlation}`` per
    pair of correlated ``random`` variables (each pair once, in variable order), for the log."""
    group = correlated_group(variables)
    index = {v.variable_id: i for i, v in enumerate(group)}
    return [{"variable_a": v.variable_id, "variable_b": other, "rank_correlation": rho}
            for i, v in enumerate(group) for other, rho in v.rank_correlations
            if index.get(other, -1) > i]
