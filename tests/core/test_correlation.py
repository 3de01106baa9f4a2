"""Rank correlation (issue 16): Iman–Conover reaches the target Spearman matrix and keeps every
marginal; the nearest valid matrix; correlations.csv validation, each error with its exact
line and exit code 2."""

from __future__ import annotations

import math
import shutil
from decimal import Decimal
from pathlib import Path

import numpy as np
import pytest
from scipy import stats

from d3.core.correlation import (
    correlated_group,
    iman_conover,
    nearest_correlation_matrix,
    normal_score_correlation,
    target_matrix,
    valid_rounded_correlation,
    van_der_waerden_scores,
)
from d3.core.variables import Variable
from d3.io.normalised import variable_from_record, variable_record
from tests.helpers import ROOT, invoke

TARGET = np.array([[1.0, 0.7, -0.3], [0.7, 1.0, 0.0], [-0.3, 0.0, 1.0]])
CSV = "inputs/variables/correlations.csv"


def _orders(n: int, k: int) -> list[np.ndarray]:
    return [np.random.Generator(np.random.PCG64(100 + j)).permutation(n) for j in range(k)]


def test_iman_conover_reaches_the_target_spearman_and_keeps_each_marginal():
    gen = np.random.Generator(np.random.PCG64(2026))
    n = 10_000
    sample = np.column_stack([gen.uniform(0, 100, n), gen.lognormal(0.0, 0.5, n),
                              gen.triangular(0, 3, 10, n)])
    independent = stats.spearmanr(sample).statistic
    assert np.all(np.abs(independent - np.eye(3)) < 0.03)  # drawn independently
    paired = iman_conover(sample, TARGET, _orders(n, 3))
    achieved = stats.spearmanr(paired).statistic
    assert np.all(np.abs(achieved - TARGET) <= 0.02), achieved
    for j in range(3):  # only the pairing changed: the same values in every column
        assert np.array_equal(np.sort(paired[:, j]), np.sort(sample[:, j]))


def test_a_rank_correlation_of_one_makes_the_columns_comonotone():
    # ρ = 1 is positive semi-definite but singular (no Cholesky factor): ranks coincide.
    gen = np.random.Generator(np.random.PCG64(5))
    sample = np.column_stack([gen.uniform(0, 1, 500), gen.normal(0, 1, 500)])
    paired = iman_conover(sample, np.array([[1.0, 1.0], [1.0, 1.0]]), _orders(500, 2))
    assert stats.spearmanr(paired[:, 0], paired[:, 1]).statistic == 1.0


def test_van_der_waerden_scores_are_normal_quantiles_of_i_over_n_plus_1():
    # n = 3: Φ⁻¹(1/4) = −0.6745, Φ⁻¹(2/4) = 0, Φ⁻¹(3/4) = 0.6745.
    assert np.allclose(van_der_waerden_scores(3), [-0.67449, 0.0, 0.67449], atol=1e-5)


def test_the_normal_score_correlation_of_a_rank_correlation():
    # ρ = 2·sin(π·ρ_s/6): ρ_s = 0.5 → 2·sin(π/12) = 2 × 0.258819 = 0.517638; 1 → 2·sin(π/6) = 1.
    assert np.allclose(normal_score_correlation(np.array([0.5, 1.0, 0.0, -0.5])),
                       [0.517638, 1.0, 0.0, -0.517638], atol=1e-6)


def test_the_nearest_correlation_matrix_of_a_contradictory_triple():
    # a~b 0.9, b~c 0.9 but a~c −0.9: eigenvalues −0.8, 1.9, 1.9 (trace 3), not PSD.
    bad = np.array([[1.0, 0.9, -0.9], [0.9, 1.0, 0.9], [-0.9, 0.9, 1.0]])
    assert np.allclose(np.linalg.eigvalsh(bad), [-0.8, 1.9, 1.9])
    # By symmetry the nearest keeps the form [[1, x, y], [x, 1, x], [y, x, 1]], whose
    # determinant (1 − y)(1 + y − 2x²) is ≥ 0 iff y ≥ 2x² − 1; the closest point of that
    # boundary to (0.9, −0.9) in Frobenius norm, 4(x − 0.9)² + 2(y + 0.9)², is x = 0.5,
    # y = 2·0.25 − 1 = −0.5.
    nearest = nearest_correlation_matrix(bad)
    assert np.allclose(nearest, [[1, 0.5, -0.5], [0.5, 1, 0.5], [-0.5, 0.5, 1]], atol=1e-4)
    assert np.array_equal(valid_rounded_correlation(bad),
                          [[1, 0.5, -0.5], [0.5, 1, 0.5], [-0.5, 0.5, 1]])


def _random(vid: str, scope: str = "public_tap", treatment: str = "random",
            partners: tuple = ()) -> Variable:
    return Variable(variable_id=vid, scope=scope, path=f"acquisition.{vid}", kind="numeric",
                    unit="pct", treatment=treatment, distribution="uniform", file="f.csv", row=2,
                    lo=Decimal(0), hi=Decimal(10), step=Decimal(1), default=Decimal(5),
                    rank_correlations=partners)


def test_the_target_matrix_holds_the_listed_pairs_and_zero_elsewhere():
    a = _random("a", partners=(("b", 0.5),))
    b = _random("b", partners=(("a", 0.5), ("c", -0.25)))
    c = _random("c", partners=(("b", -0.25),))
    d = _random("d")  # no pair: drawn alone
    group = correlated_group([a, d, b, c])
    assert [v.variable_id for v in group] == ["a", "b", "c"]
    assert np.array_equal(target_matrix(group),
                          [[1, 0.5, 0], [0.5, 1, -0.25], [0, -0.25, 1]])
    # A partner fixed by an override (tornado, -S) no longer counts: a stands alone.
    fixed_b = _random("b", treatment="fixed", partners=(("a", 0.5),))
    assert correlated_group([a, fixed_b]) == ()


def test_rank_correlations_survive_the_validated_json_and_are_absent_when_unset():
    var = _random("a", partners=(("b", 0.5), ("c", -0.25)))
    record = variable_record(var)
    assert record["rank_correlations"] == [["b", 0.5], ["c", -0.25]]
    assert variable_from_record(record) == var
    assert "rank_correlations" not in variable_record(_random("d"))  # old files unchanged


# --- correlations.csv -----------------------------------------------------------------------


def _shipped(tmp_path: Path, csv_text: str) -> Path:
    root = tmp_path / "repo"
    shutil.copytree(ROOT / "inputs", root / "inputs")
    shutil.copy(ROOT / "params.yaml", root / "params.yaml")
    (root / CSV).write_text(csv_text)
    return root


def _errors(root: Path) -> tuple[int, list[str]]:
    result = invoke("validate", "--inputs", str(root / "inputs"), "--params",
                    str(root / "params.yaml"))
    return result.exit_code, [line for line in result.stderr.splitlines()
                              if not line.startswith("warning:")]


HEADER = "variable_a,variable_b,rank_correlation,notes\n# pairs of random variables\n"
FIX = "keep one row per pair (a/b and b/a are the same pair: the matrix is symmetric)"


@pytest.mark.parametrize("rows, expected", [
    ("pub_chrun,priv_churn,0.5,typo\n",
     f"{CSV}:row 3 (pub_chrun/priv_churn): variable_a 'pub_chrun' is not a variable_id of "
     "inputs/variables/*.csv — did you mean `pub_churn`?"),
    ("pub_target_margin,priv_churn,0.5,\n",
     f"{CSV}:row 3 (pub_target_margin/priv_churn): variable_a 'pub_target_margin' has "
     "treatment low_to_high, not random (only random variables are drawn, so only they can be "
     "correlated) — set pub_target_margin's treatment to random, or remove the row"),
    ("pub_churn,pub_churn,0.5,\n",
     f"{CSV}:row 3 (pub_churn/pub_churn): variable_a and variable_b are both 'pub_churn' (a "
     "variable's rank correlation with itself is always 1) — remove the row"),
    ("pub_churn,priv_churn,high,\n",
     f"{CSV}:row 3 (pub_churn/priv_churn): rank_correlation must be a number in [-1, 1], got "
     "'high' — write a number between -1 and 1, e.g. 0.5"),
    ('pub_churn,priv_churn,"0,5",\n',
     f"{CSV}:row 3 (pub_churn/priv_churn): rank_correlation must be a number in [-1, 1], got "
     "'0,5' — use '.' as decimal point: 0.5"),
    ("pub_churn,priv_churn,1.5,\n",
     f"{CSV}:row 3 (pub_churn/priv_churn): rank_correlation 1.5 is outside [-1, 1] — a rank "
     "correlation lies between -1 and 1, e.g. 0.5"),
    ("pub_churn,priv_churn,0.5,\npriv_churn,pub_churn,0.4,both ways\n",
     f"{CSV}:row 4 (priv_churn/pub_churn): the pair priv_churn/pub_churn is already listed at "
     f"row 3 with 0.5 (here 0.4) — {FIX}"),
    ("pub_churn,priv_churn,0.5,\npub_churn,priv_churn,0.5,twice\n",
     f"{CSV}:row 4 (pub_churn/priv_churn): the pair pub_churn/priv_churn is already listed at "
     f"row 3 — {FIX}"),
])
def test_each_correlations_error_is_one_exact_line_and_exit_2(tmp_path, rows, expected):
    code, errors = _errors(_shipped(tmp_path, HEADER + rows))
    assert code == 2
    assert errors == [expected]


def test_every_correlations_problem_is_reported_at_once(tmp_path):
    rows = "pub_chrun,priv_churn,0.5,\npub_churn,pub_churn,0.5,\npub_churn,priv_churn,-2,\n"
    code, errors = _errors(_shipped(tmp_path, HEADER + rows))
    assert code == 2
    assert [e.split(":")[1] for e in errors] == [
        "row 3 (pub_chrun/priv_churn)", "row 4 (pub_churn/pub_churn)",
        "row 5 (pub_churn/priv_churn)"]


def test_a_missing_column_is_named(tmp_path):
    code, errors = _errors(_shipped(tmp_path, "variable_a,variable_b\npub_churn,priv_churn\n"))
    assert code == 2
    assert errors == [f"{CSV}:header: missing column(s) rank_correlation — add the column(s); "
                      "required: variable_a, variable_b, rank_correlation"]


def test_a_contradictory_triple_is_refused_with_the_nearest_valid_values(tmp_path):
    rows = ("pub_churn,priv_churn,0.9,\npriv_churn,pub_budget_growth,0.9,\n"
            "pub_churn,pub_budget_growth,-0.9,\n")
    code, errors = _errors(_shipped(tmp_path, HEADER + rows))
    assert code == 2
    # Eigenvalues of the matrix −0.8, 1.9, 1.9; nearest valid: 0.5, 0.5, −0.5 (see above).
    # The group is listed in variable order: public_tap rows before private_tap rows.
    assert errors == [
        f"{CSV}:(file): the rank correlations of pub_budget_growth, pub_churn, priv_churn are "
        "not positive semi-definite (smallest eigenvalue -0.800): no joint distribution has "
        "them — the nearest valid values are pub_churn/priv_churn 0.50; "
        "priv_churn/pub_budget_growth 0.50; pub_churn/pub_budget_growth -0.50; use them, or "
        "weaken the pairs that contradict each other"]


def test_a_valid_file_attaches_the_pairs_to_both_variables(tmp_path):
    from d3.model import model_inputs

    root = _shipped(tmp_path, HEADER + "pub_churn,priv_churn,0.5,same market\n")
    variables = {v.variable_id: v for v in model_inputs(root / "inputs",
                                                        root / "params.yaml").variables}
    assert variables["pub_churn"].rank_correlations == (("priv_churn", 0.5),)
    assert variables["priv_churn"].rank_correlations == (("pub_churn", 0.5),)
    assert variables["pub_budget_growth"].rank_correlations == ()
    assert math.isclose(target_matrix(correlated_group(list(variables.values())))[0, 1], 0.5)
