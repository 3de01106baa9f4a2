"""Append-only Parquet of per-sample monthly series, written atomically.

Layout: one row per sample with ``grid_index, replicate_index, mc_index`` and one
``fixed_size_list<double>[months]`` column per series, in row groups of exactly
``ROW_GROUP_ROWS`` samples (the last one shorter). The row groups never follow the work chunks,
so the bytes do not depend on chunk size or worker count; readers stream group by group.
"""

from __future__ import annotations

import os
import tempfile
from collections.abc import Mapping, Sequence
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq

from d3.io.writers import default_file_mode

ROW_GROUP_ROWS = 16_384


def sample_schema(series: Sequence[str], months: int) -> pa.Schema:
    fields = [pa.field("grid_index", pa.int32()), pa.field("replicate_index", pa.int32()),
              pa.field("mc_index", pa.int32())]
    fields += [pa.field(name, pa.list_(pa.float64(), months)) for name in series]
    return pa.schema(fields)


def sample_table(schema: pa.Schema, grid_index: np.ndarray, replicate_index: np.ndarray,
                 mc_index: np.ndarray, series: Mapping[str, np.ndarray]) -> pa.Table:
    months = schema.field(3).type.list_size
    columns = [pa.array(grid_index, pa.int32()), pa.array(replicate_index, pa.int32()),
               pa.array(mc_index, pa.int32())]
    for field in list(schema)[3:]:
        flat = pa.array(np.ascontiguousarray(series[field.name], dtype=np.float64).ravel())
        columns.append(pa.FixedSizeListArray.from_arrays(flat, months))
    return pa.Table.from_arrays(columns, schema=schema)


class SampleWriter:
    """Context manager: write row groups, rename into place only on success."""

    def __init__(self, path: Path, schema: pa.Schema, row_group_rows: int = ROW_GROUP_ROWS):
        self.path, self.schema, self.rows = path, schema, row_group_rows
        self.buffer: list[pa.Table] = []
        self.buffered = 0

    def __enter__(self) -> SampleWriter:
        self.path.parent.mkdir(parents=True, exist_ok=True)
        fd, self.tmp = tempfile.mkstemp(prefix=f".{self.path.name}.", dir=self.path.parent)
        os.close(fd)
        os.chmod(self.tmp, default_file_mode())
        self.writer = pq.ParquetWriter(self.tmp, self.schema, compression="zstd",
                                       compression_level=3, use_dictionary=False,
                                       write_statistics=False)
        return self

    def write(self, table: pa.Table) -> None:
        self.buffer.append(table)
        self.buffered += table.num_rows
        while self.buffered >= self.rows:
            self._flush(self.rows)

    def _flush(self, n: int) -> None:
        merged = pa.concat_tables(self.buffer).combine_chunks()
        self.writer.write_table(merged.slice(0, n), row_group_size=n)
        rest = merged.slice(n)
        self.buffer, self.buffered = ([rest] if rest.num_rows else []), rest.num_rows

    def __exit__(self, exc_type, exc, tb) -> None:
        if exc_type is None and self.buffered:
            self._flush(self.buffered)
        self.writer.close()
        if exc_type is None:
            os.replace(self.tmp, self.path)
        else:
            Path(self.tmp).unlink(missing_ok=True)


def read_series(path: Path, names: Sequence[str], row_group: int | None = None) -> dict:
    """Series as ``(samples, months)`` arrays (one row group, or the whole file)."""
    pf = pq.ParquetFile(path)
    table = pf.read_row_group(row_group) if row_group is not None else pf.read()
    out = {}
    for name in ("grid_index", "replicate_index", "mc_index"):
        out[name] = table.column(name).to_numpy()
    for name in names:
        col = table.column(name).combine_chunks()
        months = col.type.list_size
        out[name] = col.values.to_numpy().reshape(-1, months)
    return out
