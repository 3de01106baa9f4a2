"""The line stages' worker task (``d3.core.sample_run.reduced_chunk``): the worker draws,
derives and keeps; only the kept samples' kept series travel back (issue 18, item 3)."""

from __future__ import annotations

import numpy as np

from d3.core.sample_run import chunk_result, reduced_chunk

REPLICATES, SIMULATIONS = 2, 3


def _simulate(start: int, stop: int) -> tuple[int, int]:
    return start, stop


def _finish(chunk: tuple[int, int]):
    start, stop = chunk
    n = (stop - start) * SIMULATIONS
    # series "a": 10 × sample number in the chunk; "b": its negative (6 samples for 2 blocks)
    parts = [{"a": 10.0 * np.arange(SIMULATIONS)[:, None] + 100 * b,
              "b": -(10.0 * np.arange(SIMULATIONS)[:, None] + 100 * b)}
             for b in range(start, stop)]
    assert sum(len(p["a"]) for p in parts) == n
    return chunk_result(start, stop - start, REPLICATES, SIMULATIONS, parts,
                        [1.5 * b for b in range(start, stop)])


def test_the_worker_sends_back_only_the_kept_samples_of_the_kept_series():
    # Blocks 2 and 3 = grid 1, replicates 0 and 1; keep the first 2 of 3 paths per block.
    out = reduced_chunk(_simulate, _finish, ("a",), 2, 2, 4)
    res = out.result
    assert set(res.series) == {"a"}
    # kept rows: block 2 paths 0, 1 (a = 200, 210), block 3 paths 0, 1 (a = 300, 310)
    assert res.series["a"][:, 0].tolist() == [200.0, 210.0, 300.0, 310.0]
    assert res.grid_index.tolist() == [1, 1, 1, 1]
    assert res.replicate_index.tolist() == [0, 0, 1, 1]
    assert res.mc_index.tolist() == [0, 1, 0, 1]
    assert res.block_price.tolist() == [3.0, 4.5]  # 1.5 × block 2, 1.5 × block 3
    # progress log: the chunk's last block is grid 1, replicate 1 (3 // 2, 3 % 2)
    assert (out.last_grid_index, out.last_replicate_index) == (1, 1)


def test_every_sample_when_no_subsample_and_everything_for_the_audit_parquet():
    every = reduced_chunk(_simulate, _finish, ("b",), None, 0, 1).result
    assert every.series["b"][:, 0].tolist() == [-0.0, -10.0, -20.0]
    audit = reduced_chunk(_simulate, _finish, None, 1, 0, 1).result
    assert set(audit.series) == {"a", "b"}
    assert audit.mc_index.tolist() == [0, 1, 2]  # the audit keeps every path
