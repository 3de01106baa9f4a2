"""Report charts (matplotlib, Agg). PNG bytes are deterministic: fixed size and DPI, bundled
fonts, and no Software/date metadata."""

from __future__ import annotations

import io
from collections.abc import Sequence

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
from matplotlib.ticker import FuncFormatter  # noqa: E402

STYLE = {"figure.figsize": (8.0, 4.5), "figure.dpi": 100, "font.size": 10,
         "axes.grid": True, "grid.alpha": 0.3, "axes.spines.top": False,
         "axes.spines.right": False, "svg.hashsalt": "d3"}
BAND, LINE, ACCENT = "#9ecae1", "#08519c", "#d94801"


def png_bytes(fig) -> bytes:
    buf = io.BytesIO()
    fig.savefig(buf, format="png", metadata={"Software": None})
    plt.close(fig)
    return buf.getvalue()


def fan_chart(months: Sequence[int], p10, p50, p90, *, title: str, ylabel: str,
              covenant: float | None = None, covenant_label: str = "") -> bytes:
    """p10–p90 band with the p50 line (and an optional covenant line)."""
    with plt.rc_context(STYLE):
        fig, ax = plt.subplots()
        m = np.asarray(months)
        ax.fill_between(m, p10, p90, color=BAND, alpha=0.7, label="p10–p90")
        ax.plot(m, p50, color=LINE, linewidth=2, label="p50 (median)")
        if covenant is not None:
            ax.axhline(covenant, color=ACCENT, linestyle="--", linewidth=1.5, label=covenant_label)
        ax.set_title(title)
        ax.set_xlabel("month")
        ax.set_ylabel(ylabel)
        if "EUR" in ylabel:
            ax.yaxis.set_major_formatter(FuncFormatter(lambda v, _: f"{v:,.0f}"))
        ax.legend(loc="best")
        fig.tight_layout()
        return png_bytes(fig)


def price_margin_chart(models: Sequence[str], sell_eur_per_1m, cost_eur_per_1m,
                       margin_pct) -> bytes:
    """Sell price and cost per 1M tokens (bars) with the margin on a second axis."""
    with plt.rc_context({**STYLE, "figure.figsize": (9.0, 5.0)}):
        fig, ax = plt.subplots()
        x = np.arange(len(models))
        ax.bar(x - 0.2, sell_eur_per_1m, width=0.4, color=LINE, label="sell price")
        ax.bar(x + 0.2, cost_eur_per_1m, width=0.4, color=BAND, label="cost")
        ax.set_xticks(x, models, rotation=35, ha="right")
        ax.set_ylabel("EUR per 1M tokens")
        ax.set_title("Public Tap: price, cost and margin per model")
        twin = ax.twinx()
        twin.plot(x, margin_pct, color=ACCENT, marker="o", label="margin (right axis)")
        twin.set_ylabel("margin on sell price, %")
        twin.set_ylim(0, 100)
        twin.grid(False)
        handles = ax.get_legend_handles_labels()
        handles2 = twin.get_legend_handles_labels()
        ax.legend(handles[0] + handles2[0], handles[1] + handles2[1], loc="upper left")
        fig.tight_layout()
        return png_bytes(fig)


def private_margin_chart(classes: Sequence[str], margin_pct, vs_recommended_pct,
                         threshold_pct: float) -> bytes:
    with plt.rc_context(STYLE):
        fig, ax = plt.subplots()
        x = np.arange(len(classes))
        ax.bar(x - 0.2, margin_pct, width=0.4, color=LINE, label="vs median provider")
        ax.bar(x + 0.2, vs_recommended_pct, width=0.4, color=BAND, label="vs recommended vendor")
        ax.axhline(threshold_pct, color=ACCENT, linestyle="--", label="acceptance threshold")
        ax.set_xticks(x, classes)
        ax.set_ylabel("margin on sell price, %")
        ax.set_title("Private Tap: margin per GPU class")
        ax.legend(loc="upper center", bbox_to_anchor=(0.5, -0.1), ncols=3, frameon=False)
        fig.tight_layout()
        return png_bytes(fig)


def replicas_chart(months: Sequence[int], peak_tokens_per_hour, capacity_per_replica: float,
                   replicas, *, model: str) -> bytes:
    """Peak demand vs provisioned capacity (replicas × capacity per replica) per month."""
    with plt.rc_context(STYLE):
        fig, ax = plt.subplots()
        m = np.asarray(months)
        ax.plot(m, np.asarray(peak_tokens_per_hour) / 1e6, color=ACCENT, label="peak demand")
        ax.step(m, np.asarray(replicas) * capacity_per_replica / 1e6, where="mid", color=LINE,
                label="planned capacity at target utilisation")
        ax.set_xlabel("month")
        ax.set_ylabel("million tokens per hour")
        ax.set_title(f"Replicas vs demand (p50 path): {model}")
        twin = ax.twinx()
        twin.step(m, replicas, where="mid", color="#636363", alpha=0.5, label="replicas")
        twin.set_ylabel("replicas")
        twin.grid(False)
        h1, l1 = ax.get_legend_handles_labels()
        h2, l2 = twin.get_legend_handles_labels()
        ax.legend(h1 + h2, l1 + l2, loc="upper left")
        fig.tight_layout()
        return png_bytes(fig)
