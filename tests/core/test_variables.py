"""Variables: exact grids, grid order, random draws on the step grid, stream independence."""

from __future__ import annotations

import math
from dataclasses import replace
from decimal import Decimal

import numpy as np
import pytest

from d3.core.errors import Issue
from d3.core.variables import (
    Variable,
    block_values,
    grid_label,
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


# --- sd column and the beta distribution (issue 13) -------------------------------------------


def with_sd(vid, lo, hi, step, default, distribution, sd=None):
    var = numeric(vid, lo, hi, step, default, "random", distribution)
    return replace(var, sd=None if sd is None else Decimal(sd))


def test_lognormal_with_sd_has_mean_default_hand_parameters():
    from d3.core.variables import lognormal_params

    var = with_sd("x", "1000", "200000", "1", "50000", "lognormal", sd="5000")
    mu, sigma = lognormal_params(var)
    # σ² = ln(1 + sd²/mean²) = ln(1 + 5000²/50000²) = ln(1.01) = 0.00995033085;
    # μ = ln(mean) − σ²/2 = ln(50 000) − 0.00497516543 = 10.81977828441 − 0.00497516543
    #   = 10.81480311898.
    assert sigma**2 == pytest.approx(0.00995033085, rel=1e-9)
    assert mu == pytest.approx(10.81480311898, abs=1e-10)
    # Then E[X] = e^(μ + σ²/2) = e^ln(50 000) = 50 000 and sd = mean·√(e^σ² − 1) = 5000.
    assert math.exp(mu + sigma**2 / 2) == pytest.approx(50_000)
    assert 50_000 * math.sqrt(math.exp(sigma**2) - 1) == pytest.approx(5000)


def test_lognormal_without_sd_keeps_median_default_and_log_range_over_six():
    from d3.core.variables import lognormal_params

    var = with_sd("x", "50000000", "300000000", "10000000", "150000000", "lognormal")
    # μ = ln(150 000 000) = ln 1.5 + 8 ln 10 = 0.40546511 + 18.42068074 = 18.82614585;
    # σ = ln(300/50)/6 = ln 6 / 6 = 1.79175947 / 6 = 0.29862658.
    assert lognormal_params(var) == pytest.approx((18.82614585, 0.29862658), abs=1e-8)


def test_beta_shapes_by_the_method_of_moments():
    from d3.core.variables import beta_shapes

    # [0, 100], mean 30, sd 10: m = 30/100 = 0.3, v = 10²/100² = 0.01, m(1 − m) = 0.21,
    # k = 0.21/0.01 − 1 = 20 → α = 0.3 × 20 = 6, β = 0.7 × 20 = 14. Check: mean α/(α+β) = 0.3,
    # variance αβ/((α+β)²(α+β+1)) = 84/(400 × 21) = 0.01.
    assert beta_shapes(with_sd("b", "0", "100", "1", "30", "beta", sd="10")) == pytest.approx(
        (6.0, 14.0))
    # Without sd: sd = (100 − 0)/6, v = 1/36, k = 0.21 × 36 − 1 = 6.56 → α = 1.968, β = 4.592.
    assert beta_shapes(with_sd("b", "0", "100", "1", "30", "beta")) == pytest.approx(
        (1.968, 4.592))


def test_normal_sd_is_the_column_else_range_over_six():
    from d3.core.variables import spread_sd

    assert spread_sd(with_sd("n", "80", "240", "10", "160", "normal", sd="20")) == 20.0
    assert spread_sd(with_sd("n", "80", "240", "10", "160", "normal")) == (240 - 80) / 6


@pytest.mark.parametrize(("distribution", "lo", "hi", "mean", "sd"), [
    ("lognormal", "1000", "200000", "50000", "5000"),
    ("normal", "0", "100000", "50000", "5000"),
    ("beta", "0", "100", "30", "10"),
])
def test_draws_with_sd_have_the_target_mean_and_sd(distribution, lo, hi, mean, sd):
    # Bounds ≥ 3 sd away (the lognormal's and normal's ±9 sd; the beta lives on its range) and
    # a step of 1/5000 of the sd, so truncation and quantisation move the moments by < 0.1 %.
    step = str(Decimal(sd) / 5000)
    var = with_sd("x", lo, hi, step, mean, distribution, sd=sd)
    gen = np.random.default_rng(13)
    draws = np.array([float(random_draw(var, gen)) for _ in range(20_000)])
    # Standard error of the mean: sd/√20 000 = 0.7 % of sd, ≤ 0.24 % of the mean: 1 % is > 4 se.
    assert abs(draws.mean() - float(mean)) < 0.01 * float(mean)
    # Standard error of the sd ≈ sd/√(2 × 20 000) = 0.5 %: 3 % is 6 se.
    assert draws.std() == pytest.approx(float(sd), rel=0.03)


def test_reference_value_of_sd_distributions_is_their_mean():
    from d3.core.variables import grid_value_probabilities, reference_value

    # Quantised to a step of 1 (beta: 0.01) far inside the bounds, the mean is the target.
    lognormal = with_sd("x", "1000", "200000", "1", "50000", "lognormal", sd="5000")
    assert float(reference_value(lognormal)) == pytest.approx(50_000, abs=0.01)
    beta = with_sd("b", "0", "100", "0.01", "30", "beta", sd="10")
    assert float(reference_value(beta)) == pytest.approx(30, abs=1e-6)
    assert grid_value_probabilities(beta).sum() == pytest.approx(1.0)
    # A normal with sd 20 on [80, 240] around 160: symmetric, so the mean stays 160 exactly.
    normal = with_sd("n", "80", "240", "10", "160", "normal", sd="20")
    assert float(reference_value(normal)) == pytest.approx(160, abs=1e-9)


def test_draws_without_sd_are_the_draws_of_the_code_before_the_sd_column():
    # Captured at commit 8d5b487 (before `sd`): the first 10 replicates of grid point 0 with
    # SEEDS, and the reference values (repr of the mean). The means of tpc, fine_n, fine_ln moved
    # by ulps in session 10: the mean is now math.fsum of probability × value (exact, the same
    # on every machine) instead of a BLAS dot product, whose rounding depended on the CPU's
    # kernel and, for fine_n's 100 001 values, on the thread count (…639 on one thread, …664
    # on two, …643 under this suite).
    cases = [
        (numeric("hours", "80", "240", "10", "160", "random", "normal"),
         ["140", "150", "140", "180", "160", "160", "170", "160", "160", "110"], "160.0"),
        (numeric("tpc", "50000000", "300000000", "10000000", "150000000", "random", "lognormal"),
         ["140000000", "260000000", "90000000", "140000000", "110000000", "90000000",
          "200000000", "180000000", "150000000", "80000000"], "155043802.21370813"),
        (numeric("fine_n", "0", "100", "0.001", "37", "random", "normal"),
         ["53.921", "43.818", "26.462", "28.038", "35.522", "41.706", "32.707", "64.605",
          "33.551", "39.956"], "37.567977611166405"),
        (numeric("fine_ln", "1", "1000", "0.001", "20", "random", "lognormal"),
         ["10.855", "22.253", "8.638", "11.483", "27.449", "28.748", "7.989", "19.919",
          "106.105", "49.769"], "38.51155865994584"),
    ]
    from d3.core.variables import reference_value

    for var, draws, reference in cases:
        assert [str(block_values([var], SEEDS, 0, r)[var.variable_id]) for r in range(10)] == \
            draws, var.variable_id
        assert str(reference_value(var)) == reference, var.variable_id


SD_FILE = "inputs/variables/public_tap.csv"


@pytest.mark.parametrize(("cells", "message"), [
    ({"distribution": "normal", "sd": "abc"},
     "sd must be a finite number > 0, got 'abc' — write a plain number such as 12.5"),
    ({"distribution": "normal", "sd": "0,5"},
     "sd must be a finite number > 0, got '0,5' — use '.' as decimal point: 0.5"),
    ({"distribution": "normal", "sd": "inf"},
     "sd must be a finite number > 0, got 'inf' — write a plain number such as 12.5"),
    ({"distribution": "lognormal", "sd": "0"},
     "sd must be a finite number > 0, got '0' — write the standard deviation in the variable's "
     "unit, > 0 (or leave sd empty)"),
    ({"distribution": "normal", "sd": "-1"},
     "sd must be a finite number > 0, got '-1' — write the standard deviation in the "
     "variable's unit, > 0 (or leave sd empty)"),
    ({"sd": "1"},
     "sd is set but distribution uniform has no sd — remove sd, or use distribution normal, "
     "lognormal or beta"),
    ({"distribution": "pert", "sd": "1"},
     "sd is set but distribution pert has no sd — remove sd, or use distribution normal, "
     "lognormal or beta"),
    # [1, 9], mean 5: sd² must stay below (5 − 1)(9 − 5) = 16, so sd < 4.
    ({"distribution": "beta", "sd": "4"},
     "no beta on [1, 9] has mean 5 and sd 4: sd must be below √((mean − min)(max − mean)) = 4 "
     "— set sd below 4, or widen [min, max] around the default"),
    # Without sd, sd = (9 − 1)/6 = 1.333, sd² = 1.778; at mean 1.2 the room is
    # (1.2 − 1)(9 − 1.2) = 1.56 < 1.778: too wide; the largest sd is √1.56 = 1.249.
    ({"distribution": "beta", "default": "1.2", "step": "0.1"},
     "no beta on [1, 9] has mean 1.2 and the default sd (max − min)/6 = 1.33333: sd must be "
     "below √((mean − min)(max − mean)) = 1.249 — set sd below 1.249, or widen [min, max] "
     "around the default"),
    ({"distribution": "beta", "default": "9"},
     "beta needs min < default < max (default is the mean), got default 9 at an end of [1, 9] "
     "— move default inside the range, or use another distribution"),
])
def test_sd_and_beta_errors_name_the_row_and_the_fix(cells, message):
    _, issues = _parse({**BASE, **cells})
    assert [i.line() for i in issues] == [f"{SD_FILE}:row 5 (v): {message}"]


def test_sd_on_a_discrete_variable_is_an_error():
    record = {**BASE, "type": "discrete", "notes": "values=3|5|7", "sd": "1"}
    for key in ("min", "max", "step"):
        record.pop(key)
    _, issues = _parse(record)
    assert [i.line() for i in issues] == [
        f"{SD_FILE}:row 5 (v): sd is set but distribution uniform has no sd — remove sd, or use "
        "distribution normal, lognormal or beta"]


def test_parse_reads_sd_and_beta():
    var, issues = _parse({**BASE, "distribution": "beta", "sd": "1.5"})
    assert issues == [] and (var.distribution, var.sd) == ("beta", Decimal("1.5"))
    var, issues = _parse(BASE)
    assert issues == [] and var.sd is None


def test_the_normalised_record_has_sd_only_when_set():
    import json

    from d3.io.normalised import variable_from_record, variable_record

    plain = numeric("x", "0", "10", "1", "5", "random", "normal")
    assert "sd" not in variable_record(plain)  # files of earlier runs stay byte-identical
    spread = replace(plain, sd=Decimal("2.5"))
    assert variable_record(spread)["sd"] == {"decimal": "2.5"}
    for var in (plain, spread):
        assert variable_from_record(json.loads(json.dumps(variable_record(var)))) == var


def test_a_beta_with_too_wide_an_sd_stops_validation_with_exit_2(tmp_path):
    from tests.helpers import copy_minimal, invoke

    root = copy_minimal(tmp_path)
    path = root / SD_FILE
    header, margin, churn = path.read_text().splitlines()
    # pub_churn: [2, 8] by 0.5, mean 5 → sd² < (5 − 2)(8 − 5) = 9, so sd < 3; 3.5 is too wide.
    path.write_text("\n".join([header + ",sd", margin + ",",
                               churn.replace(",random,,", ",random,beta,") + ",3.5"]) + "\n")
    result = invoke("validate", "--inputs", str(root / "inputs"), "--params",
                    str(root / "params.yaml"))
    assert result.exit_code == 2
    assert f"{SD_FILE}:row 3 (pub_churn): no beta on [2, 8] has mean 5 and sd 3.5: sd must be " \
        "below √((mean − min)(max − mean)) = 3 — set sd below 3, or widen [min, max] around " \
        "the default" in result.stderr


def test_grid_label_names_each_grid_point_by_its_knob_values():
    a = replace(numeric("a", "1.5", "2.5", "1", "1.5", treatment="low_to_high", scope="general"),
                unit="pct")
    b = replace(numeric("b", "10", "30", "10", "10", treatment="low_to_high"), unit="eur")
    fixed = numeric("c", "0", "5", "1", "3")
    # Grid index 4 = a's second value (4 // 3 = 1 → 2.5) and b's second (4 % 3 = 1 → 20).
    assert grid_label([a, fixed, b], 4) == "a=2.5%, b=20 EUR"
    assert grid_label([a, fixed, b], 0) == "a=1.5%, b=10 EUR"
    assert grid_label([fixed], 0) == "base"  # no low_to_high axis: one grid point
