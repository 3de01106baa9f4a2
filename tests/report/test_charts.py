"""The pure rules behind the report's charts (axis limits, lowest points, clipping, constants,
money ticks, S-curves) with hand-computed values, and deterministic PNG bytes."""

from __future__ import annotations

import numpy as np
import pytest

from d3.report.chart_set import ChartInputs, fan_quantiles, private_margin, shown_grid_points
from d3.report.charts import (
    Clip,
    Distribution,
    FanPanel,
    FanStyle,
    Point,
    clip_note,
    clipped,
    distribution_chart,
    ecdf,
    eur_text,
    fan_chart,
    is_constant,
    lowest_label,
    lowest_point,
    money_scale,
    money_tick,
    share_below,
    thinned,
    tick_decimals,
    value_text,
    y_limits,
)

M = "\u2212"  # the minus sign every label uses

MONTHS = np.array([1, 2, 3, 4])
LOWER = np.array([-10.0, -30.0, -20.0, -50.0])
MIDDLE = np.array([0.0, -10.0, 5.0, 40.0])
UPPER = np.array([10.0, 20.0, 100.0, 400.0])


def test_y_limits_show_the_whole_downside_and_the_band_up_to_the_horizon():
    # bottom = min(lower −50, middle −10, reference −5) = −50 (every month)
    # top = max(upper[months ≤ 2] = 20, middle[months ≤ 2] = 0, reference −5) = 20
    # span 70, pad 8 % = 5.6 → (−55.6, 25.6)
    lo, hi = y_limits(MONTHS, LOWER, MIDDLE, UPPER, reference=-5.0, top_until_month=2)
    assert (lo, hi) == pytest.approx((-55.6, 25.6))


def test_y_limits_without_a_horizon_take_every_month():
    # top = upper's 400; span 450, pad 36 → (−86, 436)
    assert y_limits(MONTHS, LOWER, MIDDLE, UPPER) == pytest.approx((-86.0, 436.0))


def test_y_limits_always_include_the_reference_line():
    # a covenant above the band: top = 100; span 150, pad 12 → (−62, 112)
    assert y_limits(MONTHS, LOWER, MIDDLE, UPPER, reference=100.0, top_until_month=2) == \
        pytest.approx((-62.0, 112.0))


def test_y_limits_ignore_nan_and_widen_a_flat_series():
    nan = np.nan
    # only 5 is finite: half-width max(|5| × 10 %, 1) = 1
    assert y_limits(MONTHS, [nan, 5, nan, 5], [5, 5, 5, 5], [5, nan, 5, 5]) == (4.0, 6.0)
    assert y_limits(MONTHS, [nan] * 4, [nan] * 4, [nan] * 4) == (0.0, 1.0)
    # a horizon before the first month shown: the whole range sets the top
    assert y_limits(MONTHS, LOWER, MIDDLE, UPPER, top_until_month=0) == \
        pytest.approx((-86.0, 436.0))


def test_lowest_point_is_the_first_month_of_the_minimum():
    months = np.array([12, 13, 14, 15, 16])
    assert lowest_point(months, [3.0, -2.0, np.nan, -2.0, 1.0]) == Point(13, -2.0)
    assert lowest_point(months, [np.nan] * 5) is None


def test_the_lowest_point_label_states_value_and_month():
    # a dip like the shipped p50 free cash of grid point 0 (−59,706.41 EUR)
    point = lowest_point(np.arange(1, 5), [34_783.04, -12_000.0, -59_706.41, -50_000.0])
    assert point == Point(3, -59_706.41)
    assert lowest_label("p50", point, "EUR") == f"lowest p50: EUR {M}59,706 (month 3)"
    assert lowest_label("p10", Point(12, -13.3014), "×", negative_is_nm=True) == \
        f"lowest p10: {M}13.30× n/m (month 12)"
    assert lowest_label("p50", Point(30, 1.25), "×", negative_is_nm=True) == \
        "lowest p50: 1.25× (month 30)"


def test_clipped_names_each_series_leaving_the_axis_and_the_note_says_how_far():
    series = {"p10": np.array([-20.0, -5.0, -40.0]), "p50": np.array([0.0, 50.0, 30.0]),
              "p90": np.array([45.0, 60.0, 60.0])}
    clips = clipped(np.array([1, 2, 3]), series, -30.0, 40.0)
    assert clips == [Clip("p10", "below", -40.0, 3), Clip("p50", "above", 50.0, 2),
                     Clip("p90", "above", 60.0, 2)]  # p90's 60 first reached in month 2
    assert clip_note(clips, "EUR") == (
        "clipped above, month 2: p50 up to EUR 50, p90 up to EUR 60; "
        f"clipped below: p10 down to EUR {M}40 (month 3)")
    two_months = [Clip("p90", "above", 58.3797, 60), Clip("p50", "above", 5.1, 59)]
    assert clip_note(two_months, "×") == \
        "clipped above: p90 up to 58.38× (month 60), p50 up to 5.10× (month 59)"
    assert clip_note(clipped(np.array([1]), {"p50": np.array([0.0])}, -1, 1), "EUR") == ""


def test_a_constant_series_is_recognised():
    assert is_constant([24.5283] * 6)  # the private margin vs the median provider
    assert not is_constant([44.6079, 41.9448, 26.0377])  # vs the recommended vendor
    assert is_constant([1.0, 1.0 + 1e-12])
    assert is_constant([np.nan, 3.0])  # one finite value: one number
    assert is_constant([])
    assert is_constant([55.0, 55.004], abs_tol=0.005)
    assert not is_constant([55.0, 55.006], abs_tol=0.005)


def test_money_ticks_have_separators_units_and_a_real_minus():
    assert money_scale(-55_600.0, 25_600.0) == (1e3, "EUR k")
    assert money_scale(-1_200_000.0, 0.0) == (1e6, "EUR M")
    assert money_scale(-400.0, 900.0) == (1.0, "EUR")
    assert (tick_decimals(20), tick_decimals(0.2), tick_decimals(0.25)) == (0, 1, 2)
    assert money_tick(-50_000, 1e3, 10_000) == f"{M}50"
    assert money_tick(1_234_000, 1e3, 500_000) == "1,234"
    assert money_tick(-1_250_000, 1e6, 250_000) == f"{M}1.25"
    assert money_tick(-1e-9, 1e3, 10_000) == "0"  # no "−0"
    assert eur_text(-59_706.41) == f"EUR {M}59,706"
    assert eur_text(1_618_513.97) == "EUR 1,618,514"
    assert value_text(1.2, "×") == "1.20×"


def test_the_s_curve_is_the_sorted_finite_values_with_their_cumulative_share():
    x, frac = ecdf(np.array([3.0, 1.0, np.nan, 2.0]))
    assert x.tolist() == [1.0, 2.0, 3.0]
    assert frac.tolist() == pytest.approx([1 / 3, 2 / 3, 1.0])
    assert share_below([-2.0, -1.0, 0.0, 5.0], 0.0) == 0.5  # 2 of 4 strictly below 0
    assert thinned(5, 3).tolist() == [0, 2, 4]
    assert thinned(10, 4).tolist() == [0, 3, 6, 9]  # linspace(0, 9, 4)


def test_grid_points_shown_and_the_fan_quantiles():
    # linspace(0, 9, 6) = 0, 1.8, 3.6, 5.4, 7.2, 9 → rounded 0, 2, 4, 5, 7, 9
    assert shown_grid_points(list(range(10)), 6) == [0, 2, 4, 5, 7, 9]
    assert shown_grid_points([0, 1, 2], 6) == [0, 1, 2]
    assert fan_quantiles([10, 50, 90]) == (10, 50, 90)
    assert fan_quantiles([5, 25, 75, 95]) == (5, 25, 95)  # 25 and 75 tie: the lower
    assert fan_quantiles([50]) == (50, 50, 50)


def _economics(margins, vendor_margins):
    return [{"gpu": f"G{i}", "margin_pct": f"{m}", "margin_vendor_pct": f"{v}"}
            for i, (m, v) in enumerate(zip(margins, vendor_margins, strict=True))]


def _inputs(economics):
    return ChartInputs(pnl=[], cashflow=[], sample_kpis={}, grid_labels={0: "base"},
                       percentiles=[10, 50, 90], horizon_months=24, min_dscr=1.2,
                       min_cash_eur=0.0, cash_buffer_eur={0: 0.0},
                       private_margin_threshold_pct=20.0, economics=economics)


def test_the_private_margin_chart_draws_no_constant():
    same_markup = _economics([24.5283] * 3, [44.6079, 26.0377, 24.5283])
    chart = private_margin(_inputs(same_markup))
    assert chart.caption == ("Private Tap margin per GPU class vs recommended vendor; "
                             "vs median provider 24.53 % on every class")
    assert private_margin(_inputs(_economics([24.5283] * 3, [30.0] * 3))) is None
    both = private_margin(_inputs(_economics([20.0, 25.0, 30.0], [30.0, 35.0, 40.0])))
    assert both.caption == ("Private Tap margin per GPU class vs median provider, "
                            "vs recommended vendor")


def _panel(title="pub_target_margin=45%"):
    months = np.arange(1, 61)
    middle = 30_000.0 - 4_000.0 * months + 75.0 * months**2  # lowest near month 27
    return FanPanel(title, months, middle - 20_000.0 * np.sqrt(months), middle,
                    middle + 30_000.0 * np.sqrt(months), 5_000.0)


def test_the_same_chart_twice_gives_the_same_bytes():
    style = FanStyle("Free cash", "free cash", "EUR", (10, 50, 90), "minimum cash + buffer", 24,
                     24)
    first = fan_chart([_panel(), _panel("pub_target_margin=55%")], style)
    assert first[:8] == b"\x89PNG\r\n\x1a\n"
    assert fan_chart([_panel(), _panel("pub_target_margin=55%")], style) == first
    assert b"Software" not in first and b"tIME" not in first  # no tool name, no timestamp
    rng = np.random.default_rng(7)
    dist = [Distribution("base", rng.normal(-50_000.0, 20_000.0, 500), {50: -50_000.0})]
    one = distribution_chart(dist, title="t", quantity="lowest free cash",
                             references=[(5_000.0, "minimum cash + buffer")])
    assert distribution_chart(dist, title="t", quantity="lowest free cash",
                              references=[(5_000.0, "minimum cash + buffer")]) == one
