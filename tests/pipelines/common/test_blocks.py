"""The shared block loop: blocks in order, (grid, replicate) by divmod, paths stacked."""

from dataclasses import dataclass
from typing import ClassVar

import numpy as np

from d3.pipelines.common.blocks import BlockContext, BlockPaths, chunk_series, simulated_chunk


@dataclass(frozen=True, kw_only=True)
class _Ctx(BlockContext):
    scope: ClassVar[str] = "public_tap"


def _ctx(blocks: int) -> _Ctx:
    return _Ctx(variables=(), block_values=tuple({"b": b} for b in range(blocks)), replicates=2,
                operator_dump={}, channels={}, eur_usd_fx_rate=1.0, months=3, seed=0,
                simulations=2)


def _block(ctx, values, g, r):
    # Path value 10·grid + replicate, second path its negative; price = the block number.
    path = np.full((ctx.simulations, ctx.months), 10.0 * g + r)
    return BlockPaths(values["b"], float(values["b"]), (path, -path))


def test_blocks_run_in_order_with_grid_and_replicate_by_divmod():
    ctx = _ctx(5)
    chunk = simulated_chunk(ctx, 1, 4, _block)  # blocks 1, 2, 3 → (0, 1), (1, 0), (1, 1)
    assert chunk.inputs == (1, 2, 3) and chunk.block_price.tolist() == [1.0, 2.0, 3.0]
    assert chunk.paths[0][:, 0].tolist() == [1.0, 1.0, 10.0, 10.0, 11.0, 11.0]
    res = chunk_series(ctx, chunk, lambda inp, a, b: {"sum": a + b, "a": a * inp})
    assert res.grid_index.tolist() == [0, 0, 1, 1, 1, 1]
    assert res.replicate_index.tolist() == [1, 1, 0, 0, 1, 1]
    assert res.mc_index.tolist() == [0, 1] * 3
    assert res.series["sum"].tolist() == [[0.0] * 3] * 6
    assert res.series["a"][:, 0].tolist() == [1.0, 1.0, 20.0, 20.0, 33.0, 33.0]
