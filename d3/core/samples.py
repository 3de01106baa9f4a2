"""The sample space: one row per ``(grid_index, replicate_index)`` block with every variable's
value, the ``variable_draws.csv`` transcript, and the per-sample allocation check.

Monte Carlo iterations are not rows here: each block carries ``simulations_per_run`` of them,
and the pipelines draw their outcome noise per block from the ``sim`` streams.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from functools import partial
from typing import Any

import pyarrow as pa

from d3.core.allocations import off_allocations, touches_allocation
from d3.core.chunks import chunk_ranges, map_ranges
from d3.core.variables import (
    SCOPES,
    Variable,
    block_values,
    grid_point_values,
    grid_size,
    overrides_of,
    with_overrides,
)

TRANSCRIPT_HEADER = ("scope", "variable_id", "path", "grid_index", "replicate_index", "draw_value")


@dataclass(frozen=True)
class SampleSpace:
    grid_size: int
    replicates: int
    simulations_per_run: int

    @property
    def blocks(self) -> int:
        return self.grid_size * self.replicates

    @property
    def samples(self) -> int:
        return self.blocks * self.simulations_per_run

    def block_key(self, block: int) -> tuple[int, int]:
        """``(grid_index, replicate_index)`` of a block number."""
        return divmod(block, self.replicates)


def blocks_values(
    variables: Sequence[Variable], seeds: Mapping[str, int], space: SampleSpace,
    start: int, stop: int,
) -> list[dict[str, Any]]:
    """Every variable's value for blocks ``start..stop-1`` (pure; safe in a worker process)."""
    out = []
    for block in range(start, stop):
        g, r = space.block_key(block)
        out.append(block_values(variables, seeds, g, r, grid_point_values(variables, g)))
    return out


def all_blocks_values(
    variables: Sequence[Variable], seeds: Mapping[str, int], space: SampleSpace, *,
    chunk_blocks: int, max_concurrency: int, on_done=None,
) -> list[dict[str, Any]]:
    """:func:`blocks_values` over all blocks, chunked; identical for any chunking/concurrency."""
    ranges = chunk_ranges(space.blocks, chunk_blocks)
    fn = partial(blocks_values, tuple(variables), dict(seeds), space)
    parts = map_ranges(fn, ranges, max_concurrency=max_concurrency, on_done=on_done)
    return [values for part in parts for values in part]


def transcript_rows(
    variables: Sequence[Variable], space: SampleSpace, values: Sequence[Mapping[str, Any]]
) -> list[tuple]:
    """``variable_draws.csv`` rows for every non-fixed variable, block by block."""
    varying = [v for v in variables if v.treatment != "fixed"]
    rows = []
    for block, block_vals in enumerate(values):
        g, r = space.block_key(block)
        for v in varying:
            rows.append((v.scope, v.variable_id, v.path, g, r, v.text(block_vals[v.variable_id])))
    return rows


def _arrow_column(var: Variable, column: list[Any]) -> pa.Array:
    typed = [var.typed(x) for x in column]
    if all(isinstance(x, bool) for x in typed):
        return pa.array(typed, pa.bool_())
    if all(isinstance(x, int) and not isinstance(x, bool) for x in typed):
        return pa.array(typed, pa.int64())
    if all(isinstance(x, int | float) and not isinstance(x, bool) for x in typed):
        return pa.array([float(x) for x in typed], pa.float64())
    return pa.array([str(x) for x in typed], pa.string())


def block_table(
    variables: Sequence[Variable], space: SampleSpace, values: Sequence[Mapping[str, Any]]
) -> pa.Table:
    """One row per block: ``grid_index, replicate_index`` then one column per variable."""
    keys = [space.block_key(b) for b in range(len(values))]
    columns = {
        "grid_index": pa.array([g for g, _ in keys], pa.int32()),
        "replicate_index": pa.array([r for _, r in keys], pa.int32()),
    }
    for var in variables:
        columns[var.variable_id] = _arrow_column(var, [v[var.variable_id] for v in values])
    return pa.table(columns)


def allocation_warnings(
    variables: Sequence[Variable],
    operators: Mapping[str, Mapping[str, Any]],
    values: Sequence[Mapping[str, Any]],
) -> list[dict[str, Any]]:
    """Per allocation path, how many blocks had weights not summing to 1 (then renormalised).

    Only allocations that a variable touches can vary per sample; the operator defaults were
    already checked by the validator.
    """
    counts: dict[tuple[str, str], int] = {}
    for scope in SCOPES:
        touched = [v for v in variables if v.scope == scope and touches_allocation(scope, v.path)]
        if not touched:
            continue
        for block_vals in values:
            tree = with_overrides(operators[scope], overrides_of(touched, block_vals, scope))
            for path in off_allocations(scope, tree):
                counts[(scope, path)] = counts.get((scope, path), 0) + 1
    return [
        {"scope": scope, "path": path, "blocks": n, "of_blocks": len(values)}
        for (scope, path), n in sorted(counts.items())
    ]


def grid_size_of(variables: Sequence[Variable]) -> int:
    return grid_size(variables)
