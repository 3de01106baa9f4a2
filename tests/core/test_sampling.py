"""How the ``random`` variables are drawn per replicate (issue 16): Latin hypercube sampling
(stratified, lower variance than plain random) and rank-correlated draws, both on keyed streams
so the values do not depend on chunking, concurrency or which block is computed first."""

from __future__ import annotations

import csv
import io
import json
from decimal import Decimal
from pathlib import Path

import numpy as np
import pyarrow.parquet as pq
import pytest
from scipy import stats

from d3.core.rng import lhs_stream, ranks_stream, stream, stream_key
from d3.core.samples import SampleSpace, all_blocks_values, blocks_values, correlated_columns
from d3.core.variables import (
    Variable,
    block_values,
    lhs_column,
    quantile_value,
    replicate_columns,
)
from d3.model import evaluate, model_inputs
from tests.core.test_determinism import _run
from tests.helpers import copy_minimal, edit_yaml

SEEDS = {"general": 1, "public_tap": 2, "private_tap": 3}


def numeric(vid, lo, hi, step, default, distribution="uniform", scope="public_tap",
            treatment="random", partners=()):
    return Variable(variable_id=vid, scope=scope, path=f"acquisition.{vid}", kind="numeric",
                    unit="", treatment=treatment, distribution=distribution, file="f.csv", row=2,
                    lo=Decimal(lo), hi=Decimal(hi), step=Decimal(step), default=Decimal(default),
                    rank_correlations=partners)


def discrete(vid, values, scope="private_tap", partners=()):
    return Variable(variable_id=vid, scope=scope, path=f"acquisition.{vid}", kind="discrete",
                    unit="", treatment="random", distribution="uniform", file="f.csv", row=2,
                    default=values[0], values=tuple(values), rank_correlations=partners)


# --- Latin hypercube ------------------------------------------------------------------------


def test_each_of_the_r_equal_probability_strata_gets_exactly_one_draw():
    # 100 000 equally likely values 0..99 999 in R = 20 strata of 100 000 / 20 = 5 000 values:
    # the value at u is ⌊u·100 000⌋, so its stratum ⌊value / 5 000⌋ is ⌊20·u⌋ exactly.
    var = numeric("x", "0", "99999", "1", "50000")
    for grid_index in range(5):
        column = lhs_column(var, 11, grid_index, 20)
        assert sorted(int(x) // 5000 for x in column) == list(range(20))


def test_a_discrete_variable_takes_each_value_equally_often():
    # 4 values over R = 8 strata: value index ⌊u·4⌋ = ⌊⌊8u⌋ / 2⌋, so each value twice.
    var = discrete("m", [20, 30, 40, 50])
    column = lhs_column(var, 3, 0, 8)
    assert sorted(column) == [20, 20, 30, 30, 40, 40, 50, 50]


def test_quantile_value_is_the_inverse_cdf_on_the_step_grid():
    # Triangular on 0..10 step 5, mode 0: quantised masses (edges −2.5→0, 2.5, 7.5, 10):
    # F(2.5) = 1 − (7.5/10)² = 0.4375, F(7.5) = 1 − (2.5/10)² = 0.9375.
    var = numeric("t", "0", "10", "5", "0", distribution="triangular")
    assert [quantile_value(var, u) for u in (0.0, 0.43, 0.44, 0.93, 0.94, 0.999)] == [
        Decimal(0), Decimal(0), Decimal(5), Decimal(5), Decimal(10), Decimal(10)]
    uniform = numeric("u", "0", "100", "1", "50")
    # 101 values: u = 0.5 → ⌊0.5 × 101⌋ = 50; u just below 1 → the last value 100.
    assert quantile_value(uniform, 0.5) == Decimal(50)
    assert quantile_value(uniform, 0.999999) == Decimal(100)


def _estimates(var, sampling: str, replicates: int = 20, seeds: int = 200) -> np.ndarray:
    return np.array([np.mean([float(x) for x in replicate_columns(
        (var,), (seed,), 0, replicates, sampling)[0]]) for seed in range(seeds)])


def test_lhs_estimates_a_known_mean_with_lower_variance_than_random():
    # Uniform on 0, 1, …, 100: mean 50; one draw's variance (101² − 1)/12 = 850, so the mean
    # of R = 20 independent draws has variance 850/20 = 42.5. Over 200 seeds:
    var = numeric("x", "0", "100", "1", "50")
    plain, lhs = _estimates(var, "random"), _estimates(var, "latin_hypercube")
    assert 42.5 * 0.7 < plain.var(ddof=1) < 42.5 * 1.3
    assert abs(lhs.mean() - 50) < 0.1
    # Stratified: each draw is within its stratum of width 101/20 ≈ 5 values, so the estimate
    # errs by far less than one stratum: variance < 42.5/100.
    assert lhs.var(ddof=1) < 42.5 / 100 < plain.var(ddof=1)


def test_lhs_estimates_a_pert_mean_with_lower_variance_than_random():
    # PERT(min 0, mode 20, max 100), λ = 4: mean (0 + 4·20 + 100)/6 = 30 (step 0.01: the
    # quantisation moves it by < 0.005).
    var = numeric("p", "0", "100", "0.01", "20", distribution="pert")
    plain, lhs = _estimates(var, "random"), _estimates(var, "latin_hypercube")
    assert abs(lhs.mean() - 30) < 0.1
    assert lhs.var(ddof=1) < plain.var(ddof=1) / 10


# --- chunk and concurrency invariance ---------------------------------------------------------


def _variables():
    grid = numeric("g", "1", "3", "1", "2", treatment="low_to_high", scope="general")
    a = numeric("a", "0", "10", "0.5", "5", distribution="triangular", partners=(("b", 0.6),))
    b = discrete("b", [1, 2, 3, 4, 5], partners=(("a", 0.6),))
    c = numeric("c", "2", "8", "0.5", "4", distribution="pert")
    return [grid, a, b, c]


@pytest.mark.parametrize("sampling", ["random", "latin_hypercube"])
def test_block_values_do_not_depend_on_chunking_or_concurrency(sampling):
    variables = _variables()
    space = SampleSpace(3, 7, 1, sampling)
    base = all_blocks_values(variables, SEEDS, space, chunk_blocks=1, max_concurrency=1)
    for chunk, workers in ((3, 1), (5, 2), (100, 1), (4, 2)):
        assert all_blocks_values(variables, SEEDS, space, chunk_blocks=chunk,
                                 max_concurrency=workers) == base
    # A block computed alone (a worker's first block, nothing cached) is the same block.
    correlated_columns.cache_clear()
    replicate_columns.cache_clear()
    assert blocks_values(variables, SEEDS, space, 17, 18) == [base[17]]


def test_random_sampling_without_correlations_is_the_per_block_stream():
    # The default path is the one every earlier run took: block (g, r) reads only its own
    # stream, and the per-grid-point columns agree with it.
    c = numeric("c", "2", "8", "0.5", "4", distribution="pert")
    column = replicate_columns((c,), (SEEDS["public_tap"],), 1, 5, "random")[0]
    assert column == tuple(block_values([c], SEEDS, 1, r)["c"] for r in range(5))


def test_correlated_columns_keep_each_variables_values_and_pair_them():
    a = numeric("a", "0", "100", "0.01", "50", partners=(("b", 0.8),))
    b = numeric("b", "1", "50", "0.01", "10", distribution="lognormal", scope="private_tap",
                partners=(("a", 0.8),))
    seeds = (SEEDS["public_tap"], SEEDS["private_tap"])
    for sampling in ("random", "latin_hypercube"):
        drawn = replicate_columns((a, b), seeds, 0, 2000, sampling)
        paired = dict(correlated_columns((a, b), seeds, 0, 2000, sampling))
        assert sorted(paired["a"]) == sorted(drawn[0])
        assert sorted(paired["b"]) == sorted(drawn[1])
        independent = stats.spearmanr(np.array(drawn, dtype=float).T).statistic
        achieved = stats.spearmanr([float(x) for x in paired["a"]],
                                   [float(x) for x in paired["b"]]).statistic
        assert abs(independent) < 0.06 and abs(achieved - 0.8) < 0.02


def _lhs_correlated_tree(tmp_path: Path) -> Path:
    root = copy_minimal(tmp_path / "tree")
    edit_yaml(root / "params.yaml", lambda d: d["stochastic"].update(sampling="latin_hypercube"))
    edit_yaml(root / "params.yaml", lambda d: d["run"].update(random_runs_per_simulation=5))
    (root / "inputs/variables/correlations.csv").write_text(
        "variable_a,variable_b,rank_correlation\npub_churn,priv_markup,-0.5\n")
    return root


def test_an_lhs_correlated_run_is_byte_identical_at_any_chunking_and_concurrency(tmp_path):
    root = _lhs_correlated_tree(tmp_path)
    base = _run(root, tmp_path / "a", "--max-concurrency", "1", "--chunk-blocks", "1")
    assert base == _run(root, tmp_path / "b", "--max-concurrency", "2", "--chunk-blocks", "4")
    log = json.loads(base["logs/variables.json"])
    assert log["sampling"] == "latin_hypercube"
    assert log["rank_correlations"] == [
        {"variable_a": "pub_churn", "variable_b": "priv_markup", "rank_correlation": -0.5}]
    # The transcript: 3 grid points × 5 replicates; priv_markup (values 20|30|40) is
    # stratified, so its 5 replicates per grid point hold each value ⌊u·3⌋ at least once.
    rows = list(csv.DictReader(io.StringIO(base["variable_draws.csv"].decode())))
    markup = [(r["grid_index"], r["draw_value"]) for r in rows
              if r["variable_id"] == "priv_markup"]
    assert len(markup) == 15
    for g in ("0", "1", "2"):
        assert {v for grid, v in markup if grid == g} == {"20", "30", "40"}


def test_evaluate_in_memory_draws_what_the_run_draws(tmp_path):
    # d3.model.evaluate reads stochastic.sampling and the pairs like the stages do: its
    # per-sample KPIs equal the run's, value for value.
    root = _lhs_correlated_tree(tmp_path)
    out = _run(root, tmp_path / "a")
    table = pq.read_table(io.BytesIO(out["samples/consolidated_kpis.parquet"])).to_pydict()
    result = evaluate(model_inputs(root / "inputs", root / "params.yaml"))
    grid = np.array(table["grid_index"])
    for g, e in result.grid.items():
        for name, (_, values) in e.kpis.items():
            written = np.array(table[name], dtype=float)[grid == g]
            assert np.array_equal(values, written, equal_nan=True), (g, name)


def test_the_grid_point_streams_have_documented_keys():
    # docs/DETERMINISM.md: (lhs | ranks, scope, variable_id, grid_index, replicate 0).
    assert stream_key(42, "lhs", "public_tap", "pub_churn", 3, 0) == \
        "d3-rng-v1|42|lhs|public_tap|pub_churn|3|0"
    assert np.array_equal(lhs_stream(42, "public_tap", "pub_churn", 3).random(3),
                          stream(42, "lhs", "public_tap", "pub_churn", 3, 0).random(3))
    assert np.array_equal(ranks_stream(42, "public_tap", "pub_churn", 3).random(3),
                          stream(42, "ranks", "public_tap", "pub_churn", 3, 0).random(3))
