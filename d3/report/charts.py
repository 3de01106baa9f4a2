"""Report charts (matplotlib, Agg) and the pure rules behind them: axis limits that show the
risk, lowest points, what an axis clips, when a series is a constant, money ticks.

PNG bytes are deterministic: fixed size and DPI, matplotlib's bundled DejaVu Sans, and no
Software/date metadata. Negative numbers are written with the Unicode minus sign (U+2212,
which DejaVu Sans has) on every tick and label, never with a hyphen.
"""

from __future__ import annotations

import textwrap
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
from matplotlib.ticker import Formatter, PercentFormatter  # noqa: E402
from matplotlib.transforms import blended_transform_factory  # noqa: E402

from d3.chart_style import ACCENT, BAND, GREY, LINE, STYLE, png_bytes  # noqa: E402, F401

MINUS = "\u2212"
NOTE = {"fontsize": 8, "bbox": {"facecolor": "white", "edgecolor": "none", "alpha": 0.85,
                                "pad": 1.5}}
PAD_FRAC = 0.08  # share of the data span added above and below a fan's y-range
MAX_CURVE_POINTS = 2000  # an S-curve is drawn through at most this many of its samples


# --- pure rules ----------------------------------------------------------------------------------


def is_constant(values, *, abs_tol: float = 1e-9) -> bool:
    """True when ``values`` (any shape; NaN and ±inf ignored) hold fewer than two finite values
    or all of them lie within ``abs_tol`` (in the values' own unit) of each other. A chart of
    such a series shows one number, which a sentence says better."""
    v = np.asarray(values, dtype=float)
    v = v[np.isfinite(v)]
    return v.size < 2 or float(v.max() - v.min()) <= abs_tol


@dataclass(frozen=True)
class Point:
    month: int
    value: float


def lowest_point(months, values) -> Point | None:
    """The first month where ``values`` ``(months,)`` is lowest (NaN skipped); None when no
    value is finite."""
    v = np.asarray(values, dtype=float)
    finite = np.isfinite(v)
    if not finite.any():
        return None
    i = int(np.argmin(np.where(finite, v, np.inf)))
    return Point(int(np.asarray(months)[i]), float(v[i]))


def y_limits(months, lower, middle, upper, *, reference: float | None = None,
             top_until_month: int | None = None,
             pad_frac: float = PAD_FRAC) -> tuple[float, float]:
    """``(bottom, top)`` of a fan's y-axis, scaled to what a lender reads in it.

    Bottom: the lowest of the band's lower edge, the p50 and ``reference`` (covenant or
    minimum cash) over every month given: the downside is never clipped. Top: the highest of
    the band's upper edge and the p50 over the months ≤ ``top_until_month`` (the acceptance
    horizon; None: every month), and ``reference``: an upside that keeps growing after the
    horizon is clipped rather than flattening the dip. Both are padded by ``pad_frac`` of the
    span; a zero span is widened by 10 % of the value (at least 1). All arrays ``(months,)``,
    NaN ignored; ``(0, 1)`` when nothing is finite."""
    m = np.asarray(months)
    window = m <= top_until_month if top_until_month is not None else np.ones(m.shape, bool)
    if not window.any():
        window = np.ones(m.shape, bool)
    ref = [] if reference is None else [float(reference)]
    lows = _finite(np.asarray(lower, float), np.asarray(middle, float), ref)
    highs = _finite(np.asarray(upper, float)[window], np.asarray(middle, float)[window], ref)
    if lows.size == 0 and highs.size == 0:
        return 0.0, 1.0
    bottom = float(np.min(lows if lows.size else highs))
    top = float(np.max(highs if highs.size else lows))
    if top <= bottom:
        half = max(abs(bottom) * 0.1, 1.0)
        return bottom - half, top + half
    pad = (top - bottom) * pad_frac
    return bottom - pad, top + pad


def _finite(*parts) -> np.ndarray:
    v = np.concatenate([np.ravel(np.asarray(p, dtype=float)) for p in parts])
    return v[np.isfinite(v)]


def lowest_label(name: str, point: Point, unit: str, *, negative_is_nm: bool = False) -> str:
    """The label at a series' lowest point, e.g. ``lowest p50: EUR −59,706 (month 24)``;
    ``n/m`` after a negative ratio that is not meaningful (a DSCR)."""
    nm = " n/m" if negative_is_nm and point.value < 0 else ""
    return f"lowest {name}: {value_text(point.value, unit)}{nm} (month {point.month})"


@dataclass(frozen=True)
class Clip:
    """A series that leaves the y-axis: its most extreme value on that side and its month."""

    series: str
    side: str  # "above" or "below"
    value: float
    month: int


def clipped(months, series: Mapping[str, np.ndarray], bottom: float, top: float) -> list[Clip]:
    """Per series (in the order given), its highest value above ``top`` and its lowest below
    ``bottom`` with their months (first month on ties); nothing for a series inside."""
    out = []
    for name, values in series.items():
        v = np.asarray(values, dtype=float)
        hi = lowest_point(months, np.where(v > top, -v, np.nan))
        if hi is not None:
            out.append(Clip(name, "above", -hi.value, hi.month))
        lo = lowest_point(months, np.where(v < bottom, v, np.nan))
        if lo is not None:
            out.append(Clip(name, "below", lo.value, lo.month))
    return out


def clip_note(clips: Sequence[Clip], unit: str) -> str:
    """One line naming what the axis clips, e.g. ``clipped above: p90 up to EUR 847,653
    (month 60)``, the month said once when every series on that side peaks in it
    (``clipped above, month 60: p50 up to …, p90 up to …``); empty when nothing is clipped."""
    parts = []
    for side, word in (("above", "up to"), ("below", "down to")):
        mine = [c for c in clips if c.side == side]
        months = {c.month for c in mine}
        one = len(mine) > 1 and len(months) == 1
        items = [f"{c.series} {word} {value_text(c.value, unit)}"
                 + ("" if one else f" (month {c.month})") for c in mine]
        if items:
            head = f"clipped {side}" + (f", month {months.pop()}" if one else "")
            parts.append(f"{head}: " + ", ".join(items))
    return "; ".join(parts)


def with_minus(text: str) -> str:
    """``text`` with hyphen-minus signs written as the Unicode minus (U+2212)."""
    return text.replace("-", MINUS)


def eur_text(x: float) -> str:
    """Money in a label: ``EUR −59,706`` (whole euros, thousands separators)."""
    text = f"{x:,.0f}"
    return "EUR " + with_minus("0" if text == "-0" else text)


def value_text(x: float, unit: str) -> str:
    """A value in its unit: ``EUR −59,706`` for ``EUR``, ``−11.22×`` for ``×``."""
    return eur_text(x) if unit == "EUR" else with_minus(f"{x:,.2f}") + unit


def money_scale(bottom: float, top: float) -> tuple[float, str]:
    """``(divisor, unit)`` of a money axis from its limits: EUR M from 1 million, EUR k from
    1 thousand, else EUR."""
    biggest = max(abs(bottom), abs(top))
    if biggest >= 1e6:
        return 1e6, "EUR M"
    if biggest >= 1e3:
        return 1e3, "EUR k"
    return 1.0, "EUR"


def tick_decimals(step: float) -> int:
    """The fewest decimals (0..6) that write multiples of ``step`` exactly (0.25 → 2)."""
    for d in range(7):
        scaled = abs(step) * 10**d
        if abs(scaled - round(scaled)) < 1e-6 * max(scaled, 1.0):
            return d
    return 6


def money_tick(x: float, divisor: float, step: float) -> str:
    """A money tick in ``divisor`` units with thousands separators and a Unicode minus:
    ``money_tick(-50_000, 1e3, 10_000) == "−50"``."""
    text = f"{x / divisor:,.{tick_decimals(step / divisor)}f}"
    return with_minus(text.lstrip("-") if float(text.replace(",", "")) == 0 else text)


class MoneyFormatter(Formatter):
    """Ticks of a money axis in EUR, k EUR or M EUR (:func:`money_tick`)."""

    def __init__(self, divisor: float):
        self.divisor = divisor
        self.step = divisor

    def set_locs(self, locs):
        super().set_locs(locs)
        ticks = np.asarray(locs, dtype=float)
        self.step = float(np.min(np.diff(ticks))) if ticks.size > 1 else self.divisor

    def __call__(self, x, pos=None):
        return money_tick(x, self.divisor, self.step)


def ecdf(values) -> tuple[np.ndarray, np.ndarray]:
    """The empirical CDF (S-curve) of ``values`` ``(samples,)``: the finite values sorted
    ascending and, for each, the share of samples at or below it (``(i + 1) / n``, 0..1)."""
    v = np.sort(_finite(values))
    return v, np.arange(1, v.size + 1) / v.size


def thinned(n: int, max_points: int = MAX_CURVE_POINTS) -> np.ndarray:
    """Indices of at most ``max_points`` of ``n`` points, evenly spaced, first and last kept
    (a curve through a million samples draws the same through two thousand of them)."""
    if n <= max_points:
        return np.arange(n)
    return np.unique(np.linspace(0, n - 1, max_points).round().astype(int))


# --- fans ----------------------------------------------------------------------------------------


@dataclass(frozen=True)
class FanPanel:
    """One grid point's percentile path. Arrays are ``(months,)`` in the chart's unit."""

    title: str  # the grid point's label, e.g. ``pub_target_margin=45%``
    months: np.ndarray
    lower: np.ndarray  # band's lower edge (p10)
    middle: np.ndarray  # p50
    upper: np.ndarray  # band's upper edge (p90)
    reference: float | None = None  # covenant or minimum cash


@dataclass(frozen=True)
class FanStyle:
    title: str
    quantity: str  # y-axis words, e.g. "free cash"
    unit: str  # "EUR" or "×"
    quantiles: tuple[int, int, int] = (10, 50, 90)
    reference_label: str = ""
    horizon_month: int | None = None
    top_until_month: int | None = None  # see y_limits
    negative_is_nm: bool = False  # a ratio that is not meaningful below 0 (DSCR)
    label_lowest: bool = True  # mark the lowest p50 and p10 (where a dip is the risk)


def fan_chart(panels: Sequence[FanPanel], style: FanStyle) -> bytes:
    """p10–p90 band and p50 line, one panel per grid point stacked on one month axis; each
    panel's y-axis from :func:`y_limits`, the reference line and the acceptance horizon
    labelled, the lowest p50 and p10 marked with value and month, clipped series noted."""
    height = 1.3 + 2.7 * len(panels)
    with plt.rc_context({**STYLE, "figure.figsize": (8.0, height)}):
        fig, axes = plt.subplots(len(panels), 1, sharex=True, squeeze=False)
        for ax, panel in zip(axes[:, 0], panels, strict=True):
            _fan_panel(ax, panel, style)
        axes[-1, 0].set_xlabel("month")
        axes[-1, 0].tick_params(labelbottom=True)
        fig.suptitle(style.title)
        legend = {}  # label → handle, first panel first (a panel may lack a line)
        for ax in axes[:, 0]:
            for handle, label in zip(*ax.get_legend_handles_labels(), strict=True):
                legend.setdefault(label, handle)
        fig.legend(list(legend.values()), list(legend), loc="lower center", ncols=2,
                   frameon=False, fontsize=9)
        rows = -(-len(legend) // 2)
        fig.tight_layout(rect=(0, (0.15 + 0.22 * rows) / height, 1, 1))
        return png_bytes(fig)


def _fan_panel(ax, p: FanPanel, style: FanStyle) -> None:
    lo_q, mid_q, hi_q = style.quantiles
    ax.fill_between(p.months, p.lower, p.upper, color=BAND, alpha=0.7, linewidth=0,
                    label=f"p{lo_q}–p{hi_q} ({hi_q - lo_q} % of samples)")
    ax.plot(p.months, p.middle, color=LINE, linewidth=2, label=f"p{mid_q} (median)")
    bottom, top = y_limits(p.months, p.lower, p.middle, p.upper, reference=p.reference,
                           top_until_month=style.top_until_month)
    ax.set_ylim(bottom, top)
    ax.set_xlim(float(p.months[0]), float(p.months[-1]))
    if style.negative_is_nm and bottom < 0:
        ax.axhspan(bottom, min(0.0, top), color="#eeeeee", zorder=0,
                   label=f"{style.quantity} below 0: n/m (not meaningful)")
    if p.reference is not None:
        _reference_line(ax, p.reference, style)
    if style.horizon_month is not None and p.months[0] <= style.horizon_month <= p.months[-1]:
        ax.axvline(style.horizon_month, color=GREY, linestyle=":", linewidth=1.3,
                   label=f"acceptance horizon (month {style.horizon_month})")
    for name, values, dy in ((f"p{mid_q}", p.middle, 26), (f"p{lo_q}", p.lower, 10)):
        if style.label_lowest:
            _label_lowest(ax, name, lowest_point(p.months, values), style, dy, p.months)
    note = clip_note(clipped(p.months, {f"p{lo_q}": p.lower, f"p{mid_q}": p.middle,
                                        f"p{hi_q}": p.upper}, bottom, top), style.unit)
    if note:
        ax.text(0.005, 0.97, textwrap.fill(note, 110), transform=ax.transAxes, va="top",
                style="italic", color=GREY, **NOTE)
    ax.set_title(p.title, loc="left", fontsize=10)
    _value_axis(ax.yaxis, style.quantity, style.unit, bottom, top)


def _value_axis(axis, quantity: str, unit: str, low: float, high: float) -> None:
    if unit == "EUR":
        divisor, label = money_scale(low, high)
        axis.set_major_formatter(MoneyFormatter(divisor))
    else:
        label = unit
    axis.set_label_text(f"{quantity}, {label}")


def _reference_line(ax, value: float, style: FanStyle) -> None:
    ax.axhline(value, color=ACCENT, linestyle="--", linewidth=1.5, label=style.reference_label)
    ax.text(0.995, value, f"{style.reference_label} {value_text(value, style.unit)}",
            transform=blended_transform_factory(ax.transAxes, ax.transData), ha="right",
            va="bottom", color=ACCENT, **NOTE)


def _label_lowest(ax, name: str, point: Point | None, style: FanStyle, dy: float,
                  months) -> None:
    if point is None:
        return
    right_half = point.month > (months[0] + months[-1]) / 2
    ax.plot([point.month], [point.value], "o", color=LINE, markersize=4)
    ax.annotate(lowest_label(name, point, style.unit, negative_is_nm=style.negative_is_nm),
                (point.month, point.value), xytext=(-8 if right_half else 8, dy),
                textcoords="offset points", ha="right" if right_half else "left",
                arrowprops={"arrowstyle": "-", "color": GREY, "linewidth": 0.8}, **NOTE)


# --- outcome distributions -----------------------------------------------------------------------


@dataclass(frozen=True)
class Distribution:
    """One grid point's outcome over its samples."""

    label: str
    values: np.ndarray  # (samples,), EUR
    marks: Mapping[int, float] = field(default_factory=dict)  # percentile → value, EUR


def share_below(values, threshold: float) -> float:
    """Share (0..1) of the finite ``values`` strictly below ``threshold``; NaN when none."""
    v = _finite(values)
    return float(np.mean(v < threshold)) if v.size else float("nan")


def distribution_chart(dists: Sequence[Distribution], *, title: str, quantity: str,
                       references: Sequence[tuple[float, str]] = ()) -> bytes:
    """S-curves (empirical CDFs) of one money outcome, one per grid point, with their
    percentiles marked, the 0 line and ``references`` (value, label) as vertical lines."""
    with plt.rc_context({**STYLE, "figure.figsize": (8.0, 4.2 + 0.25 * len(dists))}):
        fig, ax = plt.subplots()
        colours = plt.get_cmap("tab10")
        for i, d in enumerate(dists):
            _s_curve(ax, d, colours(i % 10))
        ax.axvline(0.0, color="black", linewidth=1.0)
        for value, label in references:
            ax.axvline(value, color=ACCENT, linestyle="--", linewidth=1.3, label=label)
        qs = sorted({q for d in dists for q in d.marks})
        for q in qs:
            ax.axhline(q / 100, color=GREY, linewidth=0.6, linestyle=":")
        ax.set_yticks([0, *(q / 100 for q in qs), 1])
        ax.yaxis.set_major_formatter(PercentFormatter(1.0, decimals=0))
        ax.set_ylim(0, 1.0)
        ax.set_ylabel("share of samples at or below, %")
        _value_axis(ax.xaxis, quantity, "EUR", *ax.get_xlim())
        ax.set_title(title)
        ax.legend(loc="upper center", bbox_to_anchor=(0.5, -0.14), ncols=1, frameon=False,
                  fontsize=8)
        fig.tight_layout()
        return png_bytes(fig)


def _s_curve(ax, d: Distribution, colour) -> None:
    x, frac = ecdf(d.values)
    keep = thinned(x.size)
    marks = " · ".join(f"p{q} {eur_text(v)}" for q, v in sorted(d.marks.items()))
    below = share_below(d.values, 0.0)
    ax.step(x[keep], frac[keep], where="post", color=colour, linewidth=1.8,
            label=f"{d.label}: {marks}; {below:.0%} of samples below 0")
    ax.plot(list(d.marks.values()), [q / 100 for q in d.marks], "o", color=colour,
            markersize=5)


# --- prices, margins, capacity -------------------------------------------------------------------


def price_margin_chart(models: Sequence[str], sell_eur_per_1m, cost_eur_per_1m,
                       margin_pct, *, subtitle: str = "") -> bytes:
    """Sell price and cost per 1M tokens (bars) with the margin on a second axis; the margin
    line is left out when it is a constant (the title states it)."""
    with plt.rc_context({**STYLE, "figure.figsize": (9.0, 5.0)}):
        fig, ax = plt.subplots()
        x = np.arange(len(models))
        ax.bar(x - 0.2, sell_eur_per_1m, width=0.4, color=LINE, label="sell price")
        ax.bar(x + 0.2, cost_eur_per_1m, width=0.4, color=BAND, label="cost")
        ax.set_xticks(x, models, rotation=35, ha="right")
        ax.set_ylabel("EUR per 1M tokens")
        title = "Public Tap: price, cost and margin per model"
        handles, labels = ax.get_legend_handles_labels()
        if is_constant(margin_pct, abs_tol=0.005):
            title += f" (margin {float(np.asarray(margin_pct)[0]):.2f} % on every model)"
        else:
            twin = ax.twinx()
            twin.plot(x, margin_pct, color=ACCENT, marker="o", label="margin (right axis)")
            twin.set_ylabel("margin on sell price, %")
            twin.set_ylim(0, 100)
            twin.grid(False)
            h2, l2 = twin.get_legend_handles_labels()
            handles, labels = handles + h2, labels + l2
        ax.set_title(title + (f"\n{subtitle}" if subtitle else ""))
        ax.legend(handles, labels, loc="upper left")
        fig.tight_layout()
        return png_bytes(fig)


def private_margin_chart(classes: Sequence[str], series: Mapping[str, Sequence[float]],
                         constants: Mapping[str, float], threshold_pct: float) -> bytes:
    """Margin on the sell price per GPU class: one bar per class for each varying series;
    each constant series is a labelled dotted line (one number, not a bar chart)."""
    with plt.rc_context(STYLE):
        fig, ax = plt.subplots()
        x = np.arange(len(classes))
        width = 0.8 / max(len(series), 1)
        for i, (label, values) in enumerate(series.items()):
            ax.bar(x + (i - (len(series) - 1) / 2) * width, values, width=width,
                   color=(LINE, BAND)[i % 2], label=label)
        for label, value in constants.items():
            ax.axhline(value, color=LINE, linestyle=":", linewidth=1.5,
                       label=f"{label}: {value:.2f} % on every class")
        ax.axhline(threshold_pct, color=ACCENT, linestyle="--",
                   label=f"acceptance threshold {threshold_pct:g} %")
        ax.set_xticks(x, classes)
        ax.set_xlabel("GPU class")
        ax.set_ylabel("margin on sell price, %")
        ax.set_title("Private Tap: margin per GPU class")
        ax.legend(loc="upper center", bbox_to_anchor=(0.5, -0.16), ncols=2, frameon=False)
        fig.tight_layout()
        return png_bytes(fig)


def replicas_chart(months: Sequence[int], peak_tokens_per_hour, capacity_per_replica: float,
                   replicas, *, model: str, grid: str = "") -> bytes:
    """Peak demand vs provisioned capacity (replicas × capacity per replica) per month."""
    with plt.rc_context(STYLE):
        fig, ax = plt.subplots()
        m = np.asarray(months)
        ax.plot(m, np.asarray(peak_tokens_per_hour) / 1e6, color=ACCENT, label="peak demand")
        ax.step(m, np.asarray(replicas) * capacity_per_replica / 1e6, where="mid", color=LINE,
                label="planned capacity at target utilisation")
        ax.set_xlabel("month")
        ax.set_ylabel("million tokens per hour")
        ax.set_title(f"Replicas vs demand (p50 path): {model}" + (f", {grid}" if grid else ""))
        twin = ax.twinx()
        twin.step(m, replicas, where="mid", color="#636363", alpha=0.5, label="replicas")
        twin.set_ylabel("replicas")
        twin.grid(False)
        h1, l1 = ax.get_legend_handles_labels()
        h2, l2 = twin.get_legend_handles_labels()
        ax.legend(h1 + h2, l1 + l2, loc="upper left")
        fig.tight_layout()
        return png_bytes(fig)
