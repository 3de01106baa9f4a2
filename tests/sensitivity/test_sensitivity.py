"""Sensitivity analysis (issue 16): known answers for Sobol, exact zero swings on common random
numbers, the tornado's ends, rank correlations and convergence by hand."""

from __future__ import annotations

from dataclasses import replace
from decimal import Decimal
from pathlib import Path

import numpy as np
import pytest

from d3.core.errors import ValidationError
from d3.core.rng import bootstrap_stream
from d3.core.variables import Variable, block_values, grid_point_values
from d3.model import evaluate, model_inputs
from d3.sensitivity.analysis import ranked_tornado, tornado_plot_rows
from d3.sensitivity.convergence import (
    cluster_bootstrap_se,
    convergence,
    interleaved,
    replicates_needed,
    sample_counts,
)
from d3.sensitivity.ranks import rank_rows, sample_blocks, spearman
from d3.sensitivity.sobol import analysed, saltelli_design, sobol_indices
from d3.sensitivity.swings import (
    central_grid_index,
    end_text,
    grid_axes_central,
    tail_value,
    variable_swings,
)
from d3.sensitivity.tornado import TornadoRow, tornado

ROOT = Path(__file__).resolve().parents[2]


def numeric(vid, lo, hi, step, default, treatment="random", distribution="uniform"):
    return Variable(variable_id=vid, scope="public_tap", path=f"acquisition.{vid}",
                    kind="numeric", unit="pct", treatment=treatment, distribution=distribution,
                    file="f.csv", row=2, lo=Decimal(lo), hi=Decimal(hi), step=Decimal(step),
                    default=Decimal(default))


def test_sobol_indices_of_a_linear_model_match_the_closed_form():
    # y = a·x1 + b·x2 with x1, x2 ~ U(0, 1) independent: Var(a·x) = a²/12, so
    # S1(x1) = a² / (a² + b²) = 4 / 5 = 0.8 and S1(x2) = 1/5 = 0.2 for a = 2, b = 1; the model
    # is additive, so the total indices equal the first-order ones.
    problem, u = saltelli_design(["x1", "x2"], 1024, seed=11)
    assert u.shape == (1024 * (2 + 2), 2)  # Saltelli without second order: N·(D + 2) rows
    rows = {r.input: r for r in analysed(problem, 2.0 * u[:, 0] + 1.0 * u[:, 1], "y", seed=11)}
    for name, expected in (("x1", 0.8), ("x2", 0.2)):
        r = rows[name]
        assert abs(r.first_order - expected) <= r.first_order_conf
        assert abs(r.total - expected) <= r.total_conf
        assert r.first_order_conf < 0.1  # the interval is informative at N = 1024


def test_tornado_ends_are_quantiles_of_the_continuous_distribution():
    # Uniform on [2, 8] (step 1): p10 = 2 + 0.1 × 6 = 2.6, p90 = 2 + 0.9 × 6 = 7.4 — not the
    # grid's 2 and 8, which a coarse grid's own quantiles collapse onto.
    churn = numeric("churn", "2", "8", "1", "4")
    assert (tail_value(churn, 0.1), tail_value(churn, 0.9)) == (Decimal("2.6"), Decimal("7.4"))
    # An integer key rounds: 2.6 → 3, 7.4 → 7.
    assert (tail_value(replace(churn, as_int=True), 0.1),
            tail_value(replace(churn, as_int=True), 0.9)) == (3, 7)
    # Triangular on [0, 10] with mode 5: F(x) = x² / 50 below the mode, so p10 = √5 = 2.236
    # (4 significant digits) and p90 = 10 − √5 = 7.764.
    tri = numeric("t", "0", "10", "1", "5", distribution="triangular")
    assert (tail_value(tri, 0.1), tail_value(tri, 0.9)) == (Decimal("2.236"), Decimal("7.764"))
    # A discrete variable: its values in file order, the inverse CDF the draws use
    # (quantile_value: index ⌊q·n⌋ of n = 3 → 0 at q = 0.1, 2 at q = 0.9).
    tier = Variable(variable_id="tier", scope="public_tap", path="x.tier", kind="discrete",
                    unit="", treatment="random", distribution="", file="f.csv", row=3,
                    values=("high", "low", "mid"), default="low")
    assert (tail_value(tier, 0.1), tail_value(tier, 0.9)) == ("high", "mid")
    grid = numeric("g", "45", "65", "10", "55", treatment="low_to_high")
    (swing,) = [s for s in variable_swings([grid, replace(churn, treatment="fixed")])]
    assert (swing.low, swing.central, swing.high) == (45.0, 55.0, 65.0)
    # The ends as text: no "100000000.0" nor "1e+08".
    assert [end_text(x) for x in (100000000.0, Decimal("2.60"), 45.0)] == ["100000000", "2.6",
                                                                          "45"]
    assert end_text(150_000_000, grouped=True) == "150,000,000"


def test_the_central_grid_index_counts_last_axis_fastest():
    # Axes of 3 points (45, 55, 65) and 5 points (0..4): middles at index 1 and 2 → grid index
    # 1 × 5 + 2 = 7, the point grid_point_values names with 55 and 2.
    a = numeric("a", "45", "65", "10", "55", treatment="low_to_high")
    b = numeric("b", "0", "4", "1", "2", treatment="low_to_high")
    assert central_grid_index([a, b]) == 7
    assert grid_point_values([a, b], 7) == {"a": Decimal(55), "b": Decimal(2)}
    assert central_grid_index([numeric("x", "0", "9", "1", "4")]) == 0


@pytest.fixture(scope="module")
def small_inputs():
    return model_inputs(ROOT / "inputs", ROOT / "params.yaml").with_overrides({
        "params.yaml:run.pipelines": ["public"],
        "params.yaml:sensitivity.replicates": 2,
        "params.yaml:sensitivity.simulations_per_evaluation": 20})


def test_an_input_without_effect_has_exactly_zero_swing(small_inputs):
    # With the Private Tap switched off, its markup cannot move any output; on common random
    # numbers the three evaluations are then identical to the last bit.
    swings = {s.name: s for s in variable_swings(small_inputs.variables)}
    rows = tornado(small_inputs, [swings["priv_markup"], swings["pub_target_margin"]])
    markup = [r for r in rows if r.input == "priv_markup"]
    assert len(markup) == 7
    # Every output is defined here (the public line alone still has debt service), so the
    # zeros below are real zeros, not NaN rows passing by default.
    assert [r.output for r in markup if not np.isfinite(r.baseline)] == []
    for r in markup:
        assert r.at_low == r.at_high == r.baseline
        assert r.swing == 0.0
    # The public target margin (45 → 65 %) does move the funding need, the other way round.
    need = next(r for r in rows if r.input == "pub_target_margin"
                and r.output == "funding_need_p90_eur")
    assert need.at_low > need.baseline > need.at_high


def test_explicit_blocks_share_one_set_of_noise_paths(small_inputs):
    # One grid point (the margin fixed). Every explicit block draws the outcome noise of
    # replicate 0 of grid point 0 (common random numbers across a sampling design's rows):
    # block 0 with replicate 0's own draws reproduces the plan's replicate 0 bit for bit, and
    # two blocks with identical values give identical samples (so identical KPI means).
    inputs = small_inputs.with_overrides({
        "inputs/operator/public_tap.yaml:pricing_policy.public_tap.target_margin_pct": 55.0,
        "params.yaml:stochastic.simulations_per_run": 5})
    plan = evaluate(inputs, criteria=False)
    random_ids = [v.variable_id for v in inputs.variables if v.treatment == "random"]
    draws = [{k: block_values(inputs.variables, inputs.seeds, 0, r)[k] for k in random_ids}
             for r in range(2)]
    assert draws[0] != draws[1]
    again = evaluate(inputs, blocks=[draws[0], draws[1], draws[0]], criteria=False)
    first = plan.grid[0].replicate_index == 0
    rep = again.grid[0].replicate_index
    for name, (_, values) in plan.grid[0].kpis.items():
        mine = again.grid[0].kpis[name][1]
        np.testing.assert_array_equal(values[first], mine[rep == 0])
        np.testing.assert_array_equal(mine[rep == 0], mine[rep == 2])
    cash = again.grid[0].kpis["min_free_cash_eur"][1]
    assert cash[rep == 0].mean() == cash[rep == 2].mean() != cash[rep == 1].mean()


def test_sobol_indices_of_an_input_without_effect_are_zero(small_inputs):
    # Private Tap switched off: its variables cannot move any output. On common random numbers
    # f(A_B^i) = f(A) exactly for such an input, so Jansen's ST and Saltelli's S1 estimators
    # are 0 (within the bootstrap interval: both numerators are sums of exact zeros).
    inputs = small_inputs.with_overrides({"params.yaml:sensitivity.sobol_base_samples": 8,
                                          "params.yaml:sensitivity.sobol_simulations": 3})
    rows = sobol_indices(inputs, grid_axes_central(inputs.variables), seed=5)
    private = [r for r in rows if r.input.startswith("priv_")]
    assert {r.input for r in private} == {"priv_markup", "priv_hours", "priv_churn"}
    for r in private:
        assert abs(r.first_order) <= r.first_order_conf + 1e-12
        assert abs(r.total) <= r.total_conf + 1e-12
        assert r.total == 0.0
    # A public input does move the funding need: its total index is positive.
    assert max(r.total for r in rows if r.kpi == "funding_need_eur"
               and r.input.startswith("pub_")) > 0


def test_rank_correlation_and_contribution_to_variance_by_hand():
    # Three replicates with x = 1, 2, 3 and z = 5, 5, 5 (constant); two paths each. The KPI
    # rises with x: x per sample 1,1,2,2,3,3 → average ranks 1.5,1.5,3.5,3.5,5.5,5.5
    # (deviations −2,−2,0,0,2,2); KPI 10,11,20,21,30,31 → ranks 1..6 (deviations ±2.5, ±1.5,
    # ±0.5). Σ products = 5 + 3 + 3 + 5 = 16; Σ squares 16 and 17.5 → ρ = 16/√(16·17.5)
    # = 0.9562.
    x_var, z_var = numeric("x", "0", "9", "1", "4"), numeric("z", "0", "9", "1", "4")
    blocks = {"grid_index": np.zeros(3, int), "replicate_index": np.arange(3),
              "x": np.array([1.0, 2.0, 3.0]), "z": np.full(3, 5.0)}
    samples = {"grid_index": np.zeros(6, int), "replicate_index": np.repeat(np.arange(3), 2),
               "kpi": np.array([10.0, 11, 20, 21, 30, 31])}
    rows = {r.input: r for r in rank_rows([x_var, z_var], blocks, samples, ["kpi"])}
    expected = np.corrcoef([1.5, 1.5, 3.5, 3.5, 5.5, 5.5], [1, 2, 3, 4, 5, 6])[0, 1]
    assert rows["x"].spearman == pytest.approx(expected)
    assert expected == pytest.approx(16 / np.sqrt(16 * 17.5)) == pytest.approx(0.9562, abs=1e-4)
    assert rows["x"].contribution_pct == pytest.approx(100.0)  # the only defined input
    assert np.isnan(rows["z"].spearman)  # a constant input has no rank correlation
    assert spearman(np.array([1.0, 2.0, 3.0]), np.array([3.0, 2.0, 1.0])) == pytest.approx(-1)


def test_convergence_order_counts_and_replicates_needed():
    # Replicates 0 and 1 with three paths each, stored replicate by replicate: the running
    # order takes path 0 of both replicates, then path 1 of both, …
    assert interleaved(np.array([0, 0, 0, 1, 1, 1])).tolist() == [0, 3, 1, 4, 2, 5]
    counts = sample_counts(2000, 4)
    assert counts[0] == 10 and counts[-1] == 2000 and counts == sorted(set(counts))
    # SE 2 000 EUR on a p10 of −50 000 EUR with 4 replicates: ±1 % (500 EUR) needs
    # (2000 / 500)² = 16 times the replicates → 4 × 16 = 64.
    assert replicates_needed(4, -50_000.0, 2_000.0) == pytest.approx(64)
    assert np.isnan(replicates_needed(4, 0.0, 2_000.0))


def test_cluster_bootstrap_se_of_a_pooled_percentile():
    # Two replicates of ten paths: all 0 in replicate 0, all 10 in replicate 1. A resample of
    # whole replicates is {0,0} (prob 1/4: p10 = 0), {10,10} (1/4: p10 = 10) or mixed (1/2:
    # ten 0s and ten 10s, p10 = 0). So the bootstrap p10 is 10 with probability 1/4 and its
    # standard deviation is 10 · √(1/4 · 3/4) = 4.33 (200 resamples: within ±0.6). The old
    # sd(per-replicate p10) / √R = sd(0, 10) / √2 = 7.07 / 1.41 = 5.0 would overstate it.
    values = np.repeat([0.0, 10.0], 10)
    reps = np.repeat([0, 1], 10)
    se = cluster_bootstrap_se(values, reps, 10, bootstrap_stream(7, "sensitivity", "t", 0))
    assert se == pytest.approx(10 * np.sqrt(3 / 16), abs=0.6)
    again = cluster_bootstrap_se(values, reps, 10, bootstrap_stream(7, "sensitivity", "t", 0))
    assert se == again  # keyed stream: reproducible
    # Identical replicates: every resample gives the same percentile → SE 0; one replicate:
    # undefined.
    same = np.tile([1.0, 2.0, 3.0], 3)
    rng = bootstrap_stream(7, "sensitivity", "u", 0)
    assert cluster_bootstrap_se(same, np.repeat([0, 1, 2], 3), 50, rng) == 0.0
    assert np.isnan(cluster_bootstrap_se(same, np.zeros(9, int), 50, rng))
    # The running curve's last point carries that SE of the whole sample.
    last = convergence(values, reps, seed=7, name="t")[-1]
    assert last.samples == 20 and last.p10 == 0.0
    assert last.se_p10 == cluster_bootstrap_se(
        values, reps, 10, bootstrap_stream(7, "sensitivity", "t|p10|20", 0))


def test_sobol_base_samples_must_be_a_power_of_two(tmp_path):
    # Sobol' sequences are balanced at powers of 2 only: 100 lies between 64 and 128.
    params = (ROOT / "params.yaml").read_text().replace("sobol_base_samples: 64",
                                                        "sobol_base_samples: 100")
    assert "sobol_base_samples: 100" in params
    (tmp_path / "params.yaml").write_text(params)
    with pytest.raises(ValidationError) as err:
        model_inputs(ROOT / "inputs", tmp_path / "params.yaml")
    (issue,) = err.value.issues
    assert (issue.file, issue.location) == ("params.yaml", "sensitivity.sobol_base_samples")
    assert issue.message.startswith("100 is not a power of 2")
    assert issue.hint == "use 64 or 128"


def test_samples_join_their_blocks_by_grid_and_replicate():
    # Blocks stored grid-major: (0,0) (0,1) (1,0) (1,1) at rows 0..3; samples in any order.
    rows = sample_blocks(np.array([0, 0, 1, 1]), np.array([0, 1, 0, 1]),
                         np.array([1, 0, 1, 0]), np.array([1, 1, 0, 0]))
    assert rows.tolist() == [3, 1, 2, 0]
    with pytest.raises(ValueError):
        sample_blocks(np.array([0]), np.array([0]), np.array([0]), np.array([1]))


def test_the_dvc_tornado_plot_rows_are_ranked_by_swing():
    # Swings |−30 − (−10)| = 20, |−15 − (−25)| = 10 and one undefined (NaN, left out): ranked
    # 20 before 10 whatever the input order.
    def row(name, lo, hi):
        return TornadoRow(name, "p10 / p90 of its distribution", 1, 2,
                          "lowest_free_cash_p10_eur", "EUR", -20.0, lo, hi)

    rows = [row("b", -25.0, -15.0), row("a", -10.0, -30.0), row("c", float("nan"), -1.0)]
    ranked = ranked_tornado(rows)["lowest_free_cash_p10_eur"]
    assert tornado_plot_rows(ranked) == [["1", "a", "-10.00", "-30.00", "20.00"],
                                         ["2", "b", "-25.00", "-15.00", "10.00"]]


def test_the_charts_labels_take_the_plans_horizon_and_modelled_months(small_inputs):
    from d3.sensitivity.analysis import labelled_months
    from d3.sensitivity.outputs import OUTPUTS, kpi_label

    # horizon 36, loan term 60 (general.yaml): the plan models max(36, 60) = 60 months
    longer = small_inputs.with_overrides({"params.yaml:targets.horizon_months": 36})
    assert labelled_months(longer) == (36, 60)
    need = next(o for o in OUTPUTS if o.name == "funding_need_p90_eur")
    assert need.label_for(*labelled_months(longer)) == (
        "Funding need at 90 % confidence over the first 36 months")
    # a 12-month loan under a 24-month horizon: the plan models max(24, 12) = 24 months
    short_loan = small_inputs.with_overrides(
        {"inputs/operator/general.yaml:loan.term_months": 12,
         "params.yaml:targets.horizon_months": 24})
    assert labelled_months(short_loan) == (24, 24)
    assert kpi_label("min_free_cash_eur", *labelled_months(short_loan)) == (
        "lowest free cash over the 24-month term")


def test_the_charts_titles_and_axis_labels_fit_inside_the_image(monkeypatch):
    # A label with its months is long; centred over axes that the long input names push to
    # the right, it ran off the image ("…over the first" without "24 months").
    from d3.sensitivity import charts
    from d3.sensitivity.outputs import OUTPUTS, kpi_label
    from d3.sensitivity.sobol import SobolRow
    from d3.sensitivity.tornado import TornadoRow

    figures = []
    monkeypatch.setattr(charts, "png_bytes", lambda fig: figures.append(fig) or b"")
    need = next(o for o in OUTPUTS if o.name == "funding_need_p90_eur")
    rows = [TornadoRow(f"inputs/operator/public_tap.yaml:acquisition.input_{k}", "p10 / p90",
                       1, 2, need.name, "EUR", -50_000.0, -50_000.0 - 1000 * k,
                       -50_000.0 + 900 * k) for k in range(1, 6)]
    charts.tornado_chart(rows, label=need.label_for(24, 60))
    charts.sobol_chart([SobolRow(f"input_{k}", "funding_need_eur", 0.1 * k, 0.02, 0.12 * k,
                                 0.03) for k in range(1, 5)], kpi="funding_need_eur",
                       label=kpi_label("funding_need_eur", 24, 60))
    for fig in figures:
        fig.canvas.draw()
        renderer = fig.canvas.get_renderer()
        image = fig.bbox
        ax = fig.axes[0]
        for text in (ax.title, ax._right_title, ax.xaxis.label, ax.yaxis.label):
            if text.get_text():
                box = text.get_window_extent(renderer)
                assert (box.x0 >= image.x0 - 0.5 and box.x1 <= image.x1 + 0.5
                        and box.y0 >= image.y0 - 0.5 and box.y1 <= image.y1 + 0.5), \
                    (text.get_text(), box, image)
    # the whole title is there, months included (wrapped onto lines)
    assert " ".join(figures[0].axes[0].get_title(loc="right").split()) == (
        "Tornado: Funding need at 90 % confidence over the first 24 months")


def test_a_multisets_percentile_is_numpys_without_building_it():
    from d3.core.percentiles import multiset_percentile

    # ordered [1, 2, 3, 10] with copies [2, 0, 1, 1] is the multiset [1, 1, 3, 10] (m = 4).
    ordered, copies = np.array([1.0, 2.0, 3.0, 10.0]), np.array([2, 0, 1, 1])
    # p50: virtual index 3 × 0.5 = 1.5 → between the 2nd (1) and 3rd (3) values: 2.0
    assert multiset_percentile(ordered, copies, 50) == 2.0
    # p90: 3 × 0.9 = 2.7 → 3 + 0.7 × (10 − 3) = 7.9 (numpy's rounding, from the upper side)
    assert multiset_percentile(ordered, copies, 90) == np.percentile([1, 1, 3, 10], 90)
    assert multiset_percentile(ordered, copies, 100) == 10.0
    assert multiset_percentile(ordered, copies, 0) == 1.0
    # bit for bit against numpy on random multisets with ties
    rng = np.random.default_rng(3)
    for _ in range(300):
        n = int(rng.integers(1, 40))
        values = np.sort(np.round(rng.normal(0, 100, n)))
        counts = rng.integers(0, 4, n)
        counts[0] += 1
        for q in (10, 50, 90, 33):
            assert multiset_percentile(values, counts, q) == np.percentile(
                np.repeat(values, counts), q, method="linear")


def test_the_bootstrap_se_is_the_naive_resample_of_whole_replicates():
    # Reference: each resample concatenates the drawn replicates' finite values and takes
    # numpy's percentile (the definition, as the code did before session 8); the multiset
    # shortcut must give the same standard error to the bit.
    from d3.core.percentiles import percentiles
    from d3.sensitivity.convergence import cluster_bootstrap_se

    rng = np.random.default_rng(11)
    values = np.round(rng.normal(-40_000, 15_000, 240), 2)
    values[[3, 70]] = np.nan  # dropped, as the percentiles drop them
    replicate = np.repeat(np.arange(8), 30)
    for q in (10, 50, 90):
        picks = np.random.default_rng(q).integers(0, 8, size=(200, 8))
        groups = [values[(replicate == k) & np.isfinite(values)] for k in range(8)]
        naive = np.std([percentiles(np.concatenate([groups[k] for k in row]), [q])[0]
                        for row in picks], ddof=1)
        assert cluster_bootstrap_se(values, replicate, q, np.random.default_rng(q)) == naive
