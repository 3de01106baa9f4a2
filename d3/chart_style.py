"""The look every chart of D3 shares (report and sensitivity): matplotlib's Agg backend, one
rc style, the palette and deterministic PNG bytes.

A module of its own (not in ``d3.report``): the sensitivity stage draws with it, and an edit to
the report's charts must not rerun that stage (DVC code dependencies follow imports).

PNG bytes are deterministic: fixed size and DPI, matplotlib's bundled DejaVu Sans, and no
Software/date metadata.
"""

from __future__ import annotations

import io

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402

STYLE = {"figure.figsize": (8.0, 4.5), "figure.dpi": 100, "font.size": 10,
         "font.family": "DejaVu Sans", "axes.unicode_minus": True,
         "axes.grid": True, "grid.alpha": 0.3, "axes.spines.top": False,
         "axes.spines.right": False, "svg.hashsalt": "d3"}
BAND, LINE, ACCENT, GREY = "#9ecae1", "#08519c", "#d94801", "#555555"


def png_bytes(fig) -> bytes:
    """The figure as PNG bytes without Software metadata (deterministic); closes it."""
    buf = io.BytesIO()
    fig.savefig(buf, format="png", metadata={"Software": None})
    plt.close(fig)
    return buf.getvalue()
