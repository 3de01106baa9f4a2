"""Sensitivity charts (matplotlib, Agg; deterministic PNG bytes like the report's charts)."""

from __future__ import annotations

import textwrap
from collections.abc import Sequence

import numpy as np

from d3.chart_style import ACCENT, BAND, LINE, STYLE, png_bytes
from d3.sensitivity.convergence import ConvergencePoint
from d3.sensitivity.sobol import SobolRow
from d3.sensitivity.swings import end_text
from d3.sensitivity.tornado import TornadoRow

LOW, HIGH = "#6baed6", "#fd8d3c"


def _wrapped(text: str, width: int = 60) -> str:
    """``text`` on lines of at most ``width`` characters: a title centred over axes that long
    tick labels push right ran off the image (a label with its months is long)."""
    return textwrap.fill(text, width)


def _money(v: float, _=None) -> str:
    return f"{v:,.0f}"


def tornado_chart(rows: Sequence[TornadoRow], *, label: str) -> bytes:
    """Horizontal bars from the baseline to the output at each input's low (blue) and high
    (orange) end, largest swing on top; the baseline as a vertical line; unit on the axis."""
    import matplotlib.pyplot as plt
    from matplotlib.ticker import FuncFormatter

    ranked = sorted((r for r in rows if np.isfinite(r.swing)), key=lambda r: (r.swing, r.input))
    with plt.rc_context({**STYLE, "figure.figsize": (8.0, 1.2 + 0.45 * max(len(ranked), 1))}):
        fig, ax = plt.subplots()
        base = rows[0].baseline if rows else 0.0
        y = np.arange(len(ranked))
        ax.barh(y, [r.at_low - base for r in ranked], left=base, color=LOW, label="input low")
        ax.barh(y, [r.at_high - base for r in ranked], left=base, color=HIGH,
                label="input high")
        ax.set_yticks(y, [f"{r.input} ({_end(r.low)} … {_end(r.high)})" for r in ranked])
        ax.axvline(base, color=LINE, linewidth=1.5, label=f"baseline {_value(base, rows)}")
        # Right-aligned: long input names push the axes right, and centred text ran off it.
        ax.set_xlabel(_wrapped(f"{label} ({rows[0].unit if rows else ''})"), loc="right")
        if rows and rows[0].unit == "EUR":
            ax.xaxis.set_major_formatter(FuncFormatter(_money))
        ax.set_title(_wrapped(f"Tornado: {label}"), loc="right")
        ax.legend(loc="lower right", fontsize=8)
        fig.tight_layout()
        return png_bytes(fig)


def _end(x) -> str:
    return end_text(x, grouped=True)


def _value(x: float, rows: Sequence[TornadoRow]) -> str:
    return _money(x) if rows and rows[0].unit == "EUR" else f"{x:.2f}"


def sobol_chart(rows: Sequence[SobolRow], *, kpi: str, label: str) -> bytes:
    """First-order and total indices of one KPI (``label``: what it covers, in words) with
    their 95 % confidence intervals."""
    import matplotlib.pyplot as plt

    ranked = sorted(rows, key=lambda r: (-r.total, r.input))
    with plt.rc_context({**STYLE, "figure.figsize": (8.0, 4.0)}):
        fig, ax = plt.subplots()
        x = np.arange(len(ranked))
        ax.bar(x - 0.2, [r.first_order for r in ranked], width=0.4, color=BAND,
               yerr=[r.first_order_conf for r in ranked], capsize=3, label="first order S1")
        ax.bar(x + 0.2, [r.total for r in ranked], width=0.4, color=LINE,
               yerr=[r.total_conf for r in ranked], capsize=3, label="total ST")
        ax.set_xticks(x, [r.input for r in ranked], rotation=30, ha="right")
        ax.set_ylabel(_wrapped("share of the variance of E[KPI | inputs]", 30))
        ax.set_ylim(-0.1, 1.1)
        ax.set_title(_wrapped(f"Sobol indices: {label} ({kpi}), 95 % bootstrap intervals"),
                     loc="right")
        ax.legend(loc="upper right", fontsize=8)
        fig.tight_layout()
        return png_bytes(fig)


def convergence_chart(points: Sequence[ConvergencePoint], *, kpi: str, unit: str,
                      grid_label: str) -> bytes:
    """Running p10 / p50 / p90 against the sample count, p10 and p50 with ±2 SE bands."""
    import matplotlib.pyplot as plt
    from matplotlib.ticker import FuncFormatter

    n = np.array([p.samples for p in points])
    with plt.rc_context(STYLE):
        fig, ax = plt.subplots()
        for name, colour, se in (("p10", ACCENT, "se_p10"), ("p50", LINE, "se_p50"),
                                 ("p90", LOW, None)):
            v = np.array([getattr(p, name) for p in points])
            ax.plot(n, v, color=colour, linewidth=1.8, label=name)
            if se is not None:
                s = np.nan_to_num(np.array([getattr(p, se) for p in points]))
                ax.fill_between(n, v - 2 * s, v + 2 * s, color=colour, alpha=0.15)
        ax.set_xscale("log")
        ax.set_xlabel("samples (log scale)")
        ax.set_ylabel(f"{kpi} ({unit})")
        if unit == "EUR":
            ax.yaxis.set_major_formatter(FuncFormatter(_money))
        ax.set_title(f"Convergence, {grid_label}: running percentiles ± 2 SE")
        ax.legend(loc="best", fontsize=8)
        fig.tight_layout()
        return png_bytes(fig)
