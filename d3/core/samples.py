"""The sample space: one row per ``(grid_index, replicate_index)`` block with every variable's
value (drawn as ``stochastic.sampling`` says, rank-correlated as ``correlations.csv`` says),
the ``variable_draws.csv`` transcript, and the per-sample allocation check.

Monte Carlo iterations are not rows here: each block carries ``simulations_per_run`` of them,
and the pipelines draw their outcome noise per block from the ``sim`` streams.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from functools import lru_cache, partial
from typing import Any

import numpy as np
import pyarrow as pa

from d3.core.allocations import off_allocations, touches_allocation
from d3.core.chunks import chunk_ranges, map_ranges
from d3.core.correlation import correlated_group, iman_conover_order, target_matrix
from d3.core.rng import ranks_stream
from d3.core.variables import (
    SCOPES,
    Variable,
    block_values,
    grid_point_values,
    grid_size,
    order_key,
    overrides_of,
    replicate_columns,
    with_overrides,
)

TRANSCRIPT_HEADER = ("scope", "variable_id", "path", "grid_index", "replicate_index", "draw_value")


@dataclass(frozen=True)
class SampleSpace:
    grid_size: int
    replicates: int
    simulations_per_run: int
    sampling: str = "random"  # stochastic.sampling: random | latin_hypercube

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
    """Every variable's value for blocks ``start..stop-1`` (pure; safe in a worker process):
    drawn as ``space.sampling`` says, then the correlated variables' values of the block's
    grid point re-paired by :func:`correlated_columns`."""
    group = correlated_group(variables)
    randoms = tuple(v for v in variables if v.treatment == "random")
    out = []
    for block in range(start, stop):
        g, r = space.block_key(block)
        values = block_values(variables, seeds, g, r, grid_point_values(variables, g),
                              replicates=space.replicates, sampling=space.sampling)
        if group:
            columns = correlated_columns(randoms, tuple(seeds[v.scope] for v in randoms), g,
                                         space.replicates, space.sampling)
            values.update({vid: column[r] for vid, column in columns})
        out.append(values)
    return out


@lru_cache(maxsize=4)  # blocks come grid point by grid point: a few entries suffice
def correlated_columns(randoms: tuple[Variable, ...], seeds: tuple[int, ...], grid_index: int,
                       replicates: int, sampling: str
                       ) -> tuple[tuple[str, tuple[Any, ...]], ...]:
    """``(variable_id, its R replicate values)`` of every rank-correlated ``random`` variable
    (:func:`d3.core.correlation.correlated_group`) at one grid point: the values
    :func:`d3.core.variables.replicate_columns` draws, re-paired across replicates by
    Iman–Conover towards ``correlations.csv``. Column j's score order is a permutation from
    the stream ``(ranks, scope, variable_id, grid_index, 0)``. Each column keeps exactly its
    values (only their replicate changes); ties keep replicate order. Pure and cached."""
    group = correlated_group(randoms)
    columns = dict(zip((v.variable_id for v in randoms),
                       replicate_columns(randoms, seeds, grid_index, replicates, sampling),
                       strict=True))
    if replicates < 2:
        return tuple((v.variable_id, columns[v.variable_id]) for v in group)
    seed_of = dict(zip((v.variable_id for v in randoms), seeds, strict=True))
    keys = np.column_stack([[order_key(v, x) for x in columns[v.variable_id]] for v in group])
    orders = [ranks_stream(seed_of[v.variable_id], v.scope, v.variable_id,
                           grid_index).permutation(replicates) for v in group]
    rows = iman_conover_order(keys, target_matrix(group), orders)
    return tuple((v.variable_id, tuple(columns[v.variable_id][i] for i in rows[:, j]))
                 for j, v in enumerate(group))


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
