"""How the report writes numbers and input text (issue 15).

Narrative tables round what the CSVs hold at full precision: money to whole euros with
thousands separators, percentages to 1 decimal, ratios to 2 decimals with ``×``, counts to
integers. Every value is rounded **half away from zero on the decimal as the CSV writes it**
(``Decimal(cell).quantize(..., ROUND_HALF_UP)``: 0.5 → 1, -60123.5 → -60,124, 2.5 → 3), the
commercial rounding of a set of accounts; floats (probabilities, JSON values) go through their
shortest ``repr`` first, so ``0.1`` is the decimal 0.1. A rounded zero is written ``0``, never
``-0``. The rounding and the percentage formatters live in :mod:`d3.core.number_text`, which
the acceptance criteria's details use too (one rounding, one formatter).

Input text (model, GPU, provider, vendor names, notes, sources) is text, never markup:
:func:`esc` makes it inert in a Markdown table cell and in running text, and :func:`table`
applies it to every cell that is not :class:`Md` (Markdown the report itself wrote).
"""

from __future__ import annotations

import unicodedata
from collections.abc import Mapping, Sequence
from decimal import Decimal

from d3.core.number_text import MISSING as MISSING
from d3.core.number_text import Number as Number
from d3.core.number_text import decimal_of as decimal_of
from d3.core.number_text import frac_pct_text as frac_pct_text
from d3.core.number_text import pct_text as pct_text
from d3.core.number_text import rounded as rounded
from d3.core.number_text import share_text as share_text

NOT_MEANINGFUL = "n/m"  # a ratio that means nothing: negative or undefined DSCR, margin on 0


class Md(str):
    """Markdown written by the report itself (bold, code spans): :func:`table` keeps it as is."""

    __slots__ = ()


# Characters with a meaning in CommonMark/GFM inline text or tables. `&`, `<` and `>` become
# entities (so no HTML tag or entity from an input survives); the rest get a backslash, which
# CommonMark defines for every ASCII punctuation character. `$` is GitHub's math delimiter.
_ENTITIES = {"&": "&amp;", "<": "&lt;", ">": "&gt;"}
_BACKSLASHED = set("\\`*[]|#~$")


def esc(text: object) -> str:
    """``text`` as inert Markdown, for a table cell or running text: control characters
    (newlines, tabs, …) become spaces (a newline would end a table row), ``& < >`` become
    entities, ``\\ ` * [ ] | # ~ $`` get a backslash, and ``_`` gets one unless it stands
    between two letters or digits (CommonMark never reads an intraword ``_`` as emphasis, so
    identifiers such as ``pub_target_margin`` stay readable in the raw file)."""
    s = "".join(" " if unicodedata.category(ch) == "Cc" else ch for ch in str(text))
    out = []
    for i, ch in enumerate(s):
        if ch in _ENTITIES:
            out.append(_ENTITIES[ch])
        elif ch in _BACKSLASHED:
            out.append("\\" + ch)
        elif ch == "_" and not (0 < i < len(s) - 1 and s[i - 1].isalnum()
                                and s[i + 1].isalnum()):
            out.append("\\_")
        else:
            out.append(ch)
    return "".join(out)


def money_text(x: Number) -> str:
    """EUR to whole euros with thousands separators: ``452071.19`` → ``452,071``."""
    d = decimal_of(x)
    return MISSING if d is None else f"{rounded(d, 0):,.0f}"


def eur_text(x: Number) -> str:
    """Money in running text: ``EUR 452,071``."""
    d = decimal_of(x)
    return MISSING if d is None else f"EUR {money_text(d)}"


def margin_text(x: Number) -> str:
    """A margin (0..100) like :func:`pct_text`; ``n/m`` when it has no value (margin on zero
    revenue)."""
    return NOT_MEANINGFUL if decimal_of(x) is None else pct_text(x)


def ratio_text(x: Number) -> str:
    """A ratio (DSCR, ICR) to 2 decimals with ``×``; ``n/m`` when negative (no cash for debt
    service) or undefined (no debt service): ``1.234`` → ``1.23×``, ``-0.3`` → ``n/m``."""
    d = decimal_of(x)
    if d is None or d < 0:
        return NOT_MEANINGFUL
    return f"{rounded(d, 2):.2f}×"


def count_text(x: Number) -> str:
    """A count (customers, tokens, ticks) as an integer with thousands separators:
    ``147.68`` → ``148``."""
    return money_text(x)


def millions_text(x: Number) -> str:
    """A count in millions, whole (tokens): ``48440342394`` → ``48,440``."""
    d = decimal_of(x)
    return MISSING if d is None else money_text(d.scaleb(-6))


def month_text(x: Number) -> str:
    """A month number (a percentile of months may be fractional): ``16.0`` → ``16``."""
    return money_text(x)


def per_1m_text(eur_per_1k: Number) -> str:
    """A per-1k-token price cell as EUR per 1M tokens, exactly (× 1000, never rounded, so the
    CSV's price can be read back), with at least 2 decimals: ``0.00013`` → ``0.13``,
    ``0.0002`` → ``0.20``, ``0.0001296296296`` → ``0.1296296296``."""
    d = decimal_of(eur_per_1k)
    if d is None:
        return MISSING
    d = d.scaleb(3).normalize()
    return format(d if d.as_tuple().exponent < -2 else d.quantize(Decimal("0.01")), "f")


def unit_price_text(price: Number, decimals: int = 4) -> str:
    """A unit price (EUR per 1M tokens, EUR or USD per GPU-hour) to ``decimals`` places:
    ``0.05245361968`` → ``0.0525``."""
    d = decimal_of(price)
    return MISSING if d is None else f"{rounded(d, decimals):.{decimals}f}"


_NUMERIC_CELL = set("0123456789,.-+ %×")


def _is_numeric(cell: str) -> bool:
    return cell in (MISSING, NOT_MEANINGFUL, "") or (
        any(ch.isdigit() for ch in cell) and set(cell) <= _NUMERIC_CELL)


def table(rows: Sequence[Mapping[str, object]], columns: Sequence[str],
          headers: Sequence[str] | None = None) -> list[str]:
    """A GFM table: one line per row, cells in ``columns`` order, ``headers`` (default: the
    column names) on top. Every cell and header is escaped (:func:`esc`) unless it is
    :class:`Md`; a column whose cells are all numbers is right-aligned."""
    headers = list(headers or columns)
    cells = [[_cell(r.get(c, "")) for c in columns] for r in rows]
    align = ["---:" if cells and all(_is_numeric(row[i]) for row in cells) else "---"
             for i in range(len(columns))]
    out = ["| " + " | ".join(_cell(h) for h in headers) + " |", "|" + "|".join(align) + "|"]
    out += ["| " + " | ".join(row) + " |" for row in cells]
    return out


def _cell(value: object) -> str:
    return value if isinstance(value, Md) else esc(value)
