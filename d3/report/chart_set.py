"""The report's charts for one run: which charts it gets and what each shows, from the tables
the stages wrote. Pure: rows and arrays in, ``{file name: PNG bytes}`` and the ordered
``(file name, caption)`` list out; the report stage only writes the bytes.

Risk first: free cash and its lowest point, the trailing-12 DSCR, net income, then revenue,
prices and capacity. Fans show every grid point as its own panel (up to ``MAX_PANELS``),
named by its knob values (``grid_label``).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass

import numpy as np

from d3.core.percentiles import percentiles as sample_percentiles
from d3.report.charts import (
    Distribution,
    FanPanel,
    FanStyle,
    distribution_chart,
    fan_chart,
    is_constant,
    price_margin_chart,
    private_margin_chart,
    replicas_chart,
)

Rows = Sequence[Mapping[str, str]]
MAX_PANELS = 6  # grid points drawn per chart; more are thinned to evenly spaced ones
# The covenant is judged on the trailing-12 DSCR from month 12 (d3.finance.kpis, acceptance):
# earlier values average less than a year and are not tested, so the fan starts there.
DSCR_TESTED_FROM_MONTH = 12


@dataclass(frozen=True)
class ChartInputs:
    """What the charts are drawn from (CSV rows as the catalog reads them, strings)."""

    pnl: Rows  # pnl_by_month.csv: grid_index, month, p{q}_<line>_eur
    cashflow: Rows  # cashflow_by_month.csv: p{q}_free_cash_eur, p{q}_dscr_t12
    sample_kpis: Mapping[str, np.ndarray]  # consolidated_kpis.parquet columns, (samples,)
    grid_labels: Mapping[int, str]  # grid index → knob values (d3.core.variables.grid_label)
    percentiles: Sequence[int]  # stochastic.percentiles, ascending 1..99
    horizon_months: int  # targets.horizon_months
    min_dscr: float  # targets.min_dscr, ×
    min_cash_eur: float  # targets.min_cash_eur
    cash_buffer_eur: Mapping[int, float]  # grid index → cash buffer, EUR
    private_margin_threshold_pct: float
    prices: Rows | None = None  # public_tap_prices_per_model.csv (Public Tap on)
    capacity_plan: Rows | None = None  # public_tap_capacity_plan.csv
    capacity_by_month: Rows | None = None  # public_tap_capacity_by_month.csv
    economics: Rows | None = None  # private_tap_economics.csv (Private Tap on)


@dataclass(frozen=True)
class Chart:
    file: str  # e.g. "free_cash_fan.png"
    png: bytes
    caption: str


@dataclass(frozen=True)
class ChartSet:
    pngs: dict[str, bytes]  # file name → PNG bytes
    captions: list[tuple[str, str]]  # (file name, caption), in report order


def report_charts(c: ChartInputs) -> ChartSet:
    """Every chart the run has data for, in report order; a chart whose series are all
    constant (or empty) is left out."""
    makers: tuple[Callable[[ChartInputs], Chart | None], ...] = (
        free_cash_fan, lowest_free_cash_distribution, dscr_fan, net_income_distribution,
        revenue_fan, public_price_margin, replicas_vs_demand, private_margin)
    charts = [chart for make in makers if (chart := make(c)) is not None]
    return ChartSet({ch.file: ch.png for ch in charts}, [(ch.file, ch.caption) for ch in charts])


# --- selection -----------------------------------------------------------------------------------


def shown_grid_points(grids: Sequence[int], max_panels: int = MAX_PANELS) -> list[int]:
    """``grids`` when they fit, else ``max_panels`` of them evenly spaced (first and last
    kept), so a 50-point sweep still shows its ends and its middle."""
    if len(grids) <= max_panels:
        return list(grids)
    picks = np.unique(np.linspace(0, len(grids) - 1, max_panels).round().astype(int))
    return [grids[i] for i in picks]


def fan_quantiles(qs: Sequence[int]) -> tuple[int, int, int]:
    """(band lower edge, line, band upper edge) from the plan's percentiles: the lowest, the
    one nearest 50 (the lower on a tie) and the highest."""
    ordered = sorted(qs)
    return ordered[0], min(ordered, key=lambda q: (abs(q - 50), q)), ordered[-1]


def _shown_note(c: ChartInputs, shown: int) -> str:
    n = len(c.grid_labels)
    return "" if shown == n else f" ({shown} of {n} grid points, evenly spaced)"


def _marks_words(c: ChartInputs) -> str:
    return "/".join(f"p{q}" for q in c.percentiles)


def _band_words(c: ChartInputs) -> str:
    lo, mid, hi = fan_quantiles(c.percentiles)
    return f"p{lo}–p{hi} band, p{mid} line"


# --- fans ----------------------------------------------------------------------------------------


def percentile_path(rows: Rows, grid: int, column: str) -> tuple[np.ndarray, np.ndarray]:
    """``(months, values)`` of one CSV column for one grid point, in month order; an empty
    cell is NaN (a DSCR without debt service)."""
    mine = sorted((r for r in rows if int(r["grid_index"]) == grid), key=lambda r: int(r["month"]))
    months = np.array([int(r["month"]) for r in mine])
    return months, np.array([float(r[column]) if r[column] != "" else np.nan for r in mine])


def fan_panels(rows: Rows, series: str, c: ChartInputs, *, from_month: int = 1,
               reference: Callable[[int], float] | None = None) -> list[FanPanel]:
    """One panel per shown grid point from the ``p{q}_<series>`` columns of ``rows``."""
    qs = fan_quantiles(c.percentiles)
    panels = []
    for g in shown_grid_points(sorted(c.grid_labels)):
        mine = [r for r in rows if int(r["grid_index"]) == g]  # one pass per grid point
        paths = [percentile_path(mine, g, f"p{q}_{series}") for q in qs]
        months = paths[0][0]
        keep = months >= from_month
        lo, mid, hi = (values[keep] for _, values in paths)
        panels.append(FanPanel(c.grid_labels[g], months[keep], lo, mid, hi,
                               None if reference is None else reference(g)))
    return panels


def _drawable(panels: Sequence[FanPanel]) -> bool:
    return any(p.months.size and not (is_constant(p.middle) and is_constant(p.lower)
                                      and is_constant(p.upper)) for p in panels)


def free_cash_fan(c: ChartInputs) -> Chart | None:
    panels = fan_panels(c.cashflow, "free_cash_eur", c,
                        reference=lambda g: c.min_cash_eur + c.cash_buffer_eur.get(g, 0.0))
    if not _drawable(panels):
        return None
    style = FanStyle("Free cash (cash − overdraft − VAT and tax owed) per month",
                     "free cash", "EUR", fan_quantiles(c.percentiles),
                     "minimum cash + buffer", c.horizon_months, c.horizon_months)
    return Chart("free_cash_fan.png", fan_chart(panels, style),
                 f"Free cash per grid point: {_band_words(c)}, lowest points and the "
                 "minimum cash + buffer; the y-axis shows the whole downside and the band up "
                 f"to the acceptance horizon (month {c.horizon_months})"
                 + _shown_note(c, len(panels)))


def dscr_fan(c: ChartInputs) -> Chart | None:
    panels = fan_panels(c.cashflow, "dscr_t12", c, from_month=DSCR_TESTED_FROM_MONTH,
                        reference=lambda g: c.min_dscr)
    if not _drawable(panels):
        return None
    style = FanStyle(f"Trailing-12-month DSCR from month {DSCR_TESTED_FROM_MONTH} (covenant "
                     "test)", "DSCR", "×", fan_quantiles(c.percentiles), "covenant",
                     c.horizon_months, c.horizon_months, negative_is_nm=True)
    return Chart("dscr_t12_fan.png", fan_chart(panels, style),
                 f"Trailing-12-month DSCR per grid point against the covenant "
                 f"{c.min_dscr:g}×: {_band_words(c)}, lowest points; below 0 the ratio "
                 "is not meaningful" + _shown_note(c, len(panels)))


def revenue_fan(c: ChartInputs) -> Chart | None:
    panels = fan_panels(c.pnl, "revenue_eur", c)
    if not _drawable(panels):
        return None
    style = FanStyle("Monthly revenue", "revenue per month", "EUR",
                     fan_quantiles(c.percentiles), horizon_month=c.horizon_months,
                     label_lowest=False)
    return Chart("revenue_fan.png", fan_chart(panels, style),
                 f"Monthly revenue per grid point: {_band_words(c)}"
                 + _shown_note(c, len(panels)))


# --- outcome distributions -----------------------------------------------------------------------


def outcome_distributions(c: ChartInputs, metric: str) -> list[Distribution]:
    """Per shown grid point, ``metric``'s per-sample values and their plan percentiles
    (computed as consolidated_kpis.csv computes them)."""
    grid = np.asarray(c.sample_kpis["grid_index"])
    values = np.asarray(c.sample_kpis[metric], dtype=float)
    qs = list(c.percentiles)
    out = []
    for g in shown_grid_points(sorted(c.grid_labels)):
        mine = values[grid == g]
        marks = dict(zip(qs, (float(x) for x in sample_percentiles(mine, qs)), strict=True))
        out.append(Distribution(c.grid_labels[g], mine, marks))
    return out


def _distribution(c: ChartInputs, metric: str, file: str, title: str, quantity: str,
                  caption: str, references: Sequence[tuple[float, str]] = ()) -> Chart | None:
    if metric not in c.sample_kpis:
        return None
    dists = outcome_distributions(c, metric)
    if all(is_constant(d.values) for d in dists):
        return None
    return Chart(file, distribution_chart(dists, title=title, quantity=quantity,
                                          references=references),
                 caption + _shown_note(c, len(dists)))


def lowest_free_cash_distribution(c: ChartInputs) -> Chart | None:
    floors = sorted({c.min_cash_eur + c.cash_buffer_eur.get(g, 0.0)
                     for g in shown_grid_points(sorted(c.grid_labels))})
    return _distribution(
        c, "min_free_cash_eur", "lowest_free_cash_distribution.png",
        "Lowest free cash over the loan term, per sample (S-curve)", "lowest free cash",
        "Distribution of each sample's lowest free cash over the loan term per grid point "
        f"(S-curve: share of samples at or below each value), {_marks_words(c)} marked, 0 and "
        "the minimum cash + buffer drawn",
        [(f, "minimum cash + buffer") for f in floors if f != 0])


def net_income_distribution(c: ChartInputs) -> Chart | None:
    return _distribution(
        c, "net_income_eur", "net_income_distribution.png",
        f"Net income over the first {c.horizon_months} months, per sample (S-curve)",
        f"net income, months 1–{c.horizon_months}",
        f"Distribution of each sample's net income over the acceptance horizon "
        f"({c.horizon_months} months) per grid point, {_marks_words(c)} marked, 0 drawn")


# --- prices, capacity, private margin ------------------------------------------------------------


def _col(rows: Rows, name: str) -> np.ndarray:
    return np.array([float(r[name]) if r[name] != "" else np.nan for r in rows])


def public_price_margin(c: ChartInputs) -> Chart | None:
    if not c.prices:
        return None
    targets = sorted({r.get("target_margin_pct", "") for r in c.prices} - {""})
    subtitle = (f"priced at target margin {float(targets[0]):g} %"
                if len(targets) == 1 else "")
    return Chart("public_price_margin.png", price_margin_chart(
        [r["model"] for r in c.prices], _col(c.prices, "sell_eur_per_1k") * 1000,
        _col(c.prices, "cost_eur_per_1M"), _col(c.prices, "margin_pct"), subtitle=subtitle),
        "Public Tap sell price, cost (EUR per 1M tokens) and margin per model")


def replicas_vs_demand(c: ChartInputs) -> Chart | None:
    if not (c.prices and c.capacity_plan and c.capacity_by_month and c.grid_labels):
        return None
    first = min(c.grid_labels)
    plan = [r for r in c.capacity_plan if int(r["grid_index"]) == first]
    if not plan:
        return None
    busiest = max(plan, key=lambda r: float(r["peak_tokens_per_hour"]))
    rows = sorted((r for r in c.capacity_by_month if int(r["grid_index"]) == first
                   and r["model"] == busiest["model"]), key=lambda r: int(r["month"]))
    return Chart("replicas_vs_demand.png", replicas_chart(
        _col(rows, "month"), _col(rows, "peak_tokens_per_hour"),
        float(busiest["cap_tokens_per_hour_per_instance"]), _col(rows, "instances_needed"),
        model=busiest["model"], grid=c.grid_labels[first]),
        f"Replicas vs peak demand, busiest model ({busiest['model']}, "
        f"{c.grid_labels[first]})")


PRIVATE_MARGINS = (("margin_pct", "vs median provider"),
                   ("margin_vendor_pct", "vs recommended vendor"))


def private_margin(c: ChartInputs) -> Chart | None:
    """Bars for the margins that differ between GPU classes; a margin that is the same on
    every class (the markup over the median provider) is a labelled line; no chart when no
    margin differs."""
    if not c.economics:
        return None
    series = {label: _col(c.economics, col) for col, label in PRIVATE_MARGINS}
    varying = {k: v for k, v in series.items() if not is_constant(v, abs_tol=0.005)}
    if not varying:
        return None
    constants = {k: float(v[0]) for k, v in series.items() if k not in varying}
    caption = "Private Tap margin per GPU class " + ", ".join(varying)
    caption += "".join(f"; {k} {v:.2f} % on every class" for k, v in constants.items())
    return Chart("private_margin.png", private_margin_chart(
        [r["gpu"] for r in c.economics], varying, constants, c.private_margin_threshold_pct),
        caption)
