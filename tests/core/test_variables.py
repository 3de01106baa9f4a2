"""Variables: exact grids, grid order, random draws on the step grid, stream independence."""

from __future__ import annotations

from decimal import Decimal

import numpy as np
import pytest

from d3.core.errors import Issue
from d3.core.variables import (
    Variable,
    block_values,
    grid_point_values,
    grid_points,
    grid_size,
    parse_variable,
    random_draw,
)


def numeric(vid, lo, hi, step, default, treatment="fixed", distribution="uniform",
            scope="public_tap", as_int=False):
    return Variable(variable_id=vid, scope=scope, path=f"acquisition.{vid}", kind="numeric",
                    unit="", treatment=treatment, distribution=distribution, file="f.csv", row=2,
                    lo=Decimal(lo), hi=Decimal(hi), step=Decimal(step), default=Decimal(default),
                    as_int=as_int)


def discrete(vid, values, default, treatment="random", scope="private_tap"):
    return Variable(variable_id=vid, scope=scope, path=f"acquisition.{vid}", kind="discrete",
                    unit="", treatment=treatment, distribution="uniform", file="f.csv", row=2,
                    default=default, values=tuple(values))


SEEDS = {"general": 1, "public_tap": 2, "private_tap": 3}


def test_low_to_high_is_exact_at_min_and_max_without_float_drift():
    var = numeric("x", "0", "1", "0.1", "0.5", treatment="low_to_high")
    points = var.grid_points()
    # 0, 0.1, ..., 1.0 inclusive: (1 - 0) / 0.1 + 1 = 11 values, computed as min + k*step.
    assert len(points) == 11
    assert [var.typed(p) for p in points] == [0.0, 0.1, 0.2, 0.3, 0.4, 0.5, 0.6, 0.7, 0.8,
                                              0.9, 1.0]
    assert var.typed(points[3]) == 0.3  # float accumulation would give 0.30000000000000004
    assert [var.text(p) for p in (points[0], points[-1])] == ["0.0", "1.0"]


def test_grid_is_cartesian_with_the_last_variable_fastest():
    a = numeric("a", "1", "2", "1", "1", treatment="low_to_high", scope="general")
    b = numeric("b", "10", "30", "10", "10", treatment="low_to_high")
    fixed = numeric("c", "0", "5", "1", "3")
    variables = [a, fixed, b]
    assert grid_size(variables) == 2 * 3
    assert [(int(p["a"]), int(p["b"])) for p in grid_points(variables)] == [
        (1, 10), (1, 20), (1, 30), (2, 10), (2, 20), (2, 30)]
    for index, point in enumerate(grid_points(variables)):
        assert grid_point_values(variables, index) == point


def test_grid_without_low_to_high_has_one_point():
    assert grid_size([numeric("c", "0", "5", "1", "3")]) == 1


@pytest.mark.parametrize("distribution", ["uniform", "triangular", "pert", "normal", "lognormal"])
def test_random_draws_lie_on_the_step_grid_within_bounds(distribution):
    var = numeric("x", "2", "8", "0.5", "5", treatment="random", distribution=distribution)
    draws = [block_values([var], SEEDS, 0, r)["x"] for r in range(400)]
    assert all(Decimal(2) <= d <= Decimal(8) for d in draws)
    assert all((d - 2) % Decimal("0.5") == 0 for d in draws)


def test_uniform_random_visits_every_grid_value_about_equally():
    var = numeric("x", "0", "4", "1", "2", treatment="random")
    draws = [int(block_values([var], SEEDS, 0, r)["x"]) for r in range(5000)]
    counts = np.bincount(draws, minlength=5)
    # Each of the 5 values expects 1000; sd = sqrt(5000·0.2·0.8) ≈ 28; allow 5 sd.
    assert np.all(np.abs(counts - 1000) < 5 * 28.3), counts


def test_pert_mean_matches_theory():
    # Beta-PERT mean = (min + 4·mode + max)/6 = (0 + 4·2 + 10)/6 = 3.0; step 0.01 so
    # quantisation moves the mean by < 0.005. sd of PERT ≈ (max-min)/6 ≈ 1.67; se over 4000
    # draws ≈ 0.026; tolerance 0.1 (≈ 4 se).
    var = numeric("x", "0", "10", "0.01", "2", treatment="random", distribution="pert")
    draws = [float(block_values([var], SEEDS, 0, r)["x"]) for r in range(4000)]
    assert abs(np.mean(draws) - 3.0) < 0.1


def test_discrete_random_draws_only_listed_values():
    var = discrete("m", [25, 30, 35, 40], 35)
    draws = {block_values([var], SEEDS, g, r)["m"] for g in range(3) for r in range(50)}
    assert draws == {25, 30, 35, 40}


def test_adding_an_unrelated_random_variable_leaves_other_draws_unchanged():
    churn = numeric("churn", "2", "8", "0.5", "5", treatment="random")
    extra = numeric("extra", "0", "100", "1", "50", treatment="random", distribution="normal")
    before = [block_values([churn], SEEDS, 0, r)["churn"] for r in range(50)]
    after = [block_values([extra, churn], SEEDS, 0, r)["churn"] for r in range(50)]
    assert before == after


def test_draws_depend_on_grid_and_replicate_index():
    var = numeric("x", "0", "1000", "1", "500", treatment="random")
    a = block_values([var], SEEDS, 0, 0)["x"]
    assert block_values([var], SEEDS, 0, 0)["x"] == a
    others = {block_values([var], SEEDS, g, r)["x"] for g, r in ((0, 1), (1, 0), (2, 3))}
    # 1001 equally likely values: four draws from four keys are (almost surely) not all equal.
    assert len({a, *others}) >= 3


def test_integer_keys_get_integers():
    var = numeric("n", "1", "8", "1", "4", as_int=True)
    assert var.typed(Decimal(4)) == 4 and isinstance(var.typed(Decimal(4)), int)


def test_degenerate_range_always_gives_min():
    var = numeric("x", "12", "12", "1", "12", treatment="random", distribution="pert")
    gen = np.random.Generator(np.random.PCG64(1))
    assert random_draw(var, gen) == Decimal(12)


def _parse(record, operator=None):
    issues: list[Issue] = []
    var = parse_variable(record, file="inputs/variables/public_tap.csv", row=5,
                         file_scope="public_tap",
                         operator=operator or {"acquisition": {"churn_pct_mom": 5.0}},
                         issues=issues)
    return var, issues


BASE = {"variable_id": "v", "scope": "public_tap", "path": "acquisition.churn_pct_mom",
        "type": "numeric", "unit": "pct", "min": "1", "max": "9", "step": "0.5", "default": "5",
        "treatment": "random"}


def test_parse_accepts_a_valid_row():
    var, issues = _parse(BASE)
    assert issues == []
    assert (var.lo, var.hi, var.step, var.default) == (Decimal(1), Decimal(9), Decimal("0.5"),
                                                      Decimal(5))
    assert var.n_steps == 16  # (9 - 1) / 0.5


def test_parse_rejects_string_key_for_numeric_variable():
    _, issues = _parse(BASE, operator={"acquisition": {"churn_pct_mom": "high"}})
    assert [i.location for i in issues] == ["row 5 (v)"]
    assert "not a number" in issues[0].message


def test_parse_reports_lognormal_with_nonpositive_min():
    _, issues = _parse({**BASE, "min": "0", "distribution": "lognormal"})
    assert [i.message for i in issues] == ["lognormal needs min > 0"]


# --- the reference path: each random variable at its mean, never its default -----------------


def test_reference_value_of_a_uniform_variable_is_the_mean_of_its_grid():
    from d3.core.variables import reference_value

    # Uniform over 2, 3, …, 8 (each 1/7): mean (2 + 8) / 2 = 5, whatever the default (4).
    assert float(reference_value(numeric("c", "2", "8", "1", "4", "random"))) == 5.0


def test_reference_value_of_a_pert_variable_is_its_mean_not_its_mode():
    from d3.core.variables import grid_value_probabilities, reference_value

    var = numeric("churn", "3", "9", "0.5", "5", "random", "pert")
    # Beta-PERT mean (min + 4·mode + max)/6 = (3 + 20 + 9)/6 = 5.3333; quantising to the
    # 0.5 grid moves it by < 0.001.
    assert float(reference_value(var)) == pytest.approx(32 / 6, abs=1e-3)
    p = grid_value_probabilities(var)
    assert p.sum() == pytest.approx(1.0) and len(p) == 13


def test_reference_value_of_a_truncated_lognormal_matches_many_draws():
    from d3.core.variables import reference_value

    var = numeric("tpc", "50000000", "300000000", "10000000", "150000000", "random",
                  "lognormal")
    draws = [float(random_draw(var, np.random.default_rng(i))) for i in range(4000)]
    # The exact mean of the quantised, truncated distribution (≈ 155.0M, the default is 150M)
    # agrees with 4000 draws within 4 standard errors (sd ≈ 26M → se ≈ 0.4M).
    assert float(reference_value(var)) == pytest.approx(np.mean(draws), abs=1.7e6)
    assert float(reference_value(var)) > 152e6


def test_reference_value_of_discrete_and_integer_variables():
    from d3.core.variables import reference_value

    # Numeric discrete values 25|30|35|40: mean 32.5 (a markup can take it).
    assert float(reference_value(discrete("markup", [25, 30, 35, 40], 35))) == 32.5
    # An integer key cannot hold a mean: the median grid value (uniform 1..8 → 4, the first
    # value with cumulative probability ≥ 0.5).
    var = numeric("max_inst", "1", "8", "1", "6", "random", as_int=True)
    assert reference_value(var) == Decimal("4")
    # Fixed and grid variables keep their default / grid value.
    assert reference_value(numeric("f", "0", "10", "1", "7")) == Decimal("7")


def test_grid_size_is_arithmetic_so_an_oversized_grid_is_refused_before_it_is_built():
    # tokens per conversion 50M..300M by 1 token: 250 000 001 points, counted without building
    # them (building them took 23 s and a MemoryError); × a 3-value discrete axis.
    huge = numeric("tpc", "50000000", "300000000", "1", "150000000", "low_to_high")
    axis = discrete("mode", ["a", "b", "c"], "a", treatment="low_to_high")
    assert grid_size([huge]) == 250_000_001
    assert grid_size([huge, axis]) == 750_000_003
    # 1e12 points would never fit in memory: still instant.
    assert grid_size([numeric("x", "0", "1000000000000", "1", "0", "low_to_high")]) == \
        1_000_000_000_001
