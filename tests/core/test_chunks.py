"""How an evaluation's blocks are chunked (d3/core/chunks.py): only the work unit moves, never
a number (tests/model/test_streaming.py checks results for any chunking)."""

from __future__ import annotations

import numpy as np

from d3.core.chunks import MIN_CHUNK_SAMPLES, equal_runs, evaluation_chunk_blocks


def test_small_blocks_are_grouped_until_a_chunk_holds_enough_samples():
    assert MIN_CHUNK_SAMPLES == 2_000
    # The solver's full count at 1 M samples: 333 blocks of 20 paths, chunk_blocks 2, 2
    # workers. 2 000 / 20 = 100 blocks wanted; ⌈333 / (2 × 2)⌉ = 84 keeps two chunks per
    # worker, so 84 (4 chunks, not 167).
    assert evaluation_chunk_blocks(2, 20, 333, 2) == 84
    # 1 000 blocks of 20 paths: 100 blocks (2 000 samples) per chunk, 10 chunks.
    assert evaluation_chunk_blocks(2, 20, 1_000, 2) == 100


def test_the_plans_chunk_stands_when_its_blocks_are_large_enough():
    # 1 000 paths per block: ⌈2 000 / 1 000⌉ = 2 blocks wanted = chunk_blocks.
    assert evaluation_chunk_blocks(2, 1_000, 999, 2) == 2
    # The default plan: 12 blocks of 500 paths, chunk_blocks 64 (one chunk, in process).
    assert evaluation_chunk_blocks(64, 500, 12, 2) == 64
    # A block's variable values (one draw per block): as large as two chunks per worker allow,
    # ⌈999 / 4⌉ = 250.
    assert evaluation_chunk_blocks(2, 1, 999, 2) == 250
    # One worker: ⌈333 / 2⌉ = 167 ≥ 100 wanted → 100.
    assert evaluation_chunk_blocks(2, 20, 333, 1) == 100


def test_equal_runs_are_the_runs_of_equal_values():
    # Samples of grid points 2, 2, 2, 3, 3 (a chunk across a grid boundary): rows 0..2 and 3..4.
    assert equal_runs(np.array([2, 2, 2, 3, 3])) == [(2, slice(0, 3)), (3, slice(3, 5))]
    # A value in two runs gives two runs (grid_parts joins consecutive parts of a grid point).
    assert equal_runs(np.array([0, 1, 1, 0])) == [(0, slice(0, 1)), (1, slice(1, 3)),
                                                  (0, slice(3, 4))]
    assert equal_runs(np.array([], dtype=np.int64)) == []
