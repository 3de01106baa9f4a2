"""Deterministic, atomic writers for every artefact D3 produces.

Determinism rules (docs/DETERMINISM.md): UTF-8, ``\\n`` line endings, keys in a fixed order,
numbers rendered with an explicit precision by the caller, no timestamps or absolute paths.
Every file is written to a temporary sibling and renamed, so a failing stage never leaves a
half-written file behind.
"""

from __future__ import annotations

import csv
import io
import json
import os
import tempfile
from collections.abc import Iterable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from decimal import Decimal
from pathlib import Path
from typing import Any

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq


@contextmanager
def _atomic(path: Path, mode: str, **kwargs) -> Iterator[Any]:
    """An open temporary sibling of ``path``, renamed onto it when the block ends without an
    error (and removed when it fails), so readers never see a half-written file."""
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    try:
        with os.fdopen(fd, mode, **kwargs) as fh:
            yield fh
        os.chmod(tmp, default_file_mode())
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def write_bytes_atomic(path: Path, data: bytes) -> None:
    """Write ``data`` to ``path`` via a temporary file in the same directory and a rename."""
    with _atomic(path, "wb") as fh:
        fh.write(data)


def write_csv_rows_atomic(path: Path, header: Sequence[str],
                          rows: Iterable[Sequence[Any]]) -> None:
    """:func:`write_csv` for a long table: the rows are written as they come (memory bounded
    by the caller's batches)."""
    with _atomic(path, "w", encoding="utf-8", newline="") as fh:
        writer = csv.writer(fh, lineterminator="\n")
        writer.writerow(header)
        writer.writerows(rows)


def write_text_atomic(path: Path, text: str) -> None:
    write_bytes_atomic(path, text.encode("utf-8"))


def json_text(obj: Any) -> str:
    """Canonical JSON: sorted keys, two-space indent, no NaN, trailing newline."""
    return json.dumps(obj, indent=2, sort_keys=True, ensure_ascii=False, allow_nan=False) + "\n"


def json_numbers(values: Any) -> Any:
    """``values`` (array-like, any shape) as nested lists for JSON, an undefined value (NaN or
    ±inf, e.g. a DSCR without debt service) as ``null``; readers get NaN back with
    ``np.array(v, dtype=float)``."""
    array = np.asarray(values, dtype=float)
    return np.where(np.isfinite(array), array, None).tolist()


def write_json(path: Path, obj: Any) -> None:
    write_text_atomic(path, json_text(obj))


def csv_text(header: Sequence[str], rows: Iterable[Sequence[Any]]) -> str:
    """CSV with ``\\n`` line endings; values must already be formatted strings or ints."""
    buf = io.StringIO()
    writer = csv.writer(buf, lineterminator="\n")
    writer.writerow(header)
    for row in rows:
        writer.writerow(row)
    return buf.getvalue()


def grid_labelled(header: Sequence[str], rows: Iterable[Sequence[Any]],
                  labels: Mapping[int, str]) -> tuple[tuple[str, ...], Iterator[list[Any]]]:
    """``header`` and ``rows`` with a ``grid_label`` column right after ``grid_index`` (the
    knob values that define the grid point, :func:`d3.core.variables.grid_label`); unchanged
    when the table has no ``grid_index``. Rows stream through (a long table stays bounded).
    Raises ``KeyError`` on a grid index without a label."""
    if "grid_index" not in header or "grid_label" in header:
        return tuple(header), (list(r) for r in rows)
    k = list(header).index("grid_index")
    out = (*header[:k + 1], "grid_label", *header[k + 1:])
    return out, ([*r[:k + 1], labels[int(r[k])], *r[k + 1:]] for r in rows)


def write_csv(path: Path, header: Sequence[str], rows: Iterable[Sequence[Any]]) -> None:
    write_text_atomic(path, csv_text(header, rows))


def write_parquet(path: Path, table: pa.Table) -> None:
    """Parquet without pandas metadata, fixed compression: the bytes depend only on the data
    and the pinned pyarrow version."""
    buf = pa.BufferOutputStream()
    pq.write_table(
        table.replace_schema_metadata(None),
        buf,
        compression="zstd",
        compression_level=3,
        use_dictionary=False,
        write_statistics=False,
        store_schema=True,
    )
    write_bytes_atomic(path, buf.getvalue().to_pybytes())


def fmt_float(value: float, decimals: int) -> str:
    """Fixed-point text for a float; ``-0.00`` is written ``0.00``."""
    text = f"{value:.{decimals}f}"
    if text.lstrip("-").strip("0.") == "":
        text = text.lstrip("-")
    return text


def default_file_mode() -> int:
    """Mode of a newly created ordinary file: 0666 less the process umask (0644 under the usual
    022). ``mkstemp`` creates 0600 files, which would keep the report from its readers."""
    mask = os.umask(0)
    os.umask(mask)
    return 0o666 & ~mask


def money_text(value: float) -> str:
    """EUR at 2 decimals, rounded the way the finance books amounts (``numpy.round`` to the
    cent, d3.finance.statements.cents), so a line in two tables prints the same cents."""
    return fmt_float(float(np.round(value, 2)), 2)


PRICE_SIGNIFICANT_DIGITS = 10


def price_text(value: float) -> str:
    """Prices per 1k/1M tokens (and other unit rates) at 10 significant digits (SPEC §4: ≥ 6),
    so ``tokens × price`` recomputes revenue to the cent: ``0.0003175`` stays ``0.0003175``."""
    return fmt_sig(value, PRICE_SIGNIFICANT_DIGITS)


def fmt_sig(value: float, digits: int = 6) -> str:
    """Rates and ratios: ``digits`` significant digits, no exponent for ordinary magnitudes."""
    # Decimal, not float: ``format(float, "f")`` keeps only 6 decimals (0.0003175 → 0.000318).
    text = format(Decimal(f"{value:.{digits}g}"), "f")
    if "." in text:
        text = text.rstrip("0").rstrip(".")
    return "0" if text in ("", "-0") else text


def calendar_month(start_year: int, start_month: int, month: int) -> str:
    """``YYYY-MM`` of plan month ``month`` (1-based) for a plan starting in
    ``start_year``-``start_month``."""
    index = start_year * 12 + (start_month - 1) + (month - 1)
    return f"{index // 12:04d}-{index % 12 + 1:02d}"
