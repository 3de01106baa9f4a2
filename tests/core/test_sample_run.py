"""The line stages' worker task (``d3.core.sample_run.chunk_work``): with a percentile
subsample the worker draws, derives and keeps, and only the kept samples' kept series travel
back (issue 18, item 3); otherwise the raw paths, the smaller message, and the parent derives."""

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


def test_without_a_subsample_or_with_the_audit_the_worker_sends_the_raw_paths():
    # Every sample is needed in the parent then, and the raw paths are the smaller message:
    # the task is the draw itself and the parent derives.
    from d3.core.sample_run import chunk_work

    for kept, audit in ((None, False), (2, True), (None, True)):
        work, received = chunk_work(_simulate, _finish, ("b",), kept, audit)
        assert work is _simulate
        chunk = received(work(0, 1))
        assert chunk.result.series["b"][:, 0].tolist() == [-0.0, -10.0, -20.0]
        assert set(chunk.result.series) == {"a", "b"}
    # with a subsample and no audit: the worker reduces
    work, received = chunk_work(_simulate, _finish, ("b",), 2, False)
    chunk = received(work(0, 1))
    assert chunk.result.series["b"][:, 0].tolist() == [-0.0, -10.0]
    assert set(chunk.result.series) == {"b"}


class _Log:
    """An emitter that records the ``job_done`` events (grid, replicate) in order."""

    def __init__(self):
        self.done = []

    def emit(self, event, level="info", **fields):
        if event == "job_done":
            self.done.append((fields["grid_index"], fields["replicate_index"]))

    def progress(self, done, total, label):
        pass


def _run(tmp_path, *, path, kept, workers, chunk_blocks):
    from d3.core.sample_run import run_samples

    log = _Log()
    by_grid, prices = run_samples(
        simulate=_simulate, finish=_finish, n_blocks=6, chunk_blocks=chunk_blocks,
        samples_per_block=3,
        max_concurrency=workers, series=("a", "b"), months=1,
        path=tmp_path / path if path else None, keep=("a",), emitter=log, label="t",
        pipeline="public", kept_per_block=kept)
    return by_grid, prices, log.done


def test_the_stage_loop_keeps_the_same_samples_whatever_the_chunks_workers_and_audit(tmp_path):
    import pyarrow.parquet as pq

    # 6 blocks = 3 grid points × 2 replicates; a = 100 × block + 10 × path (paths 0..2).
    by_grid, prices, done = _run(tmp_path, path=None, kept=2, workers=1, chunk_blocks=1)
    # grid 1 = blocks 2, 3; first 2 paths of each: 200, 210, 300, 310
    assert by_grid[1]["a"][:, 0].tolist() == [200.0, 210.0, 300.0, 310.0]
    assert by_grid[1]["replicate_index"].tolist() == [0, 0, 1, 1]
    assert set(by_grid[1]) == {"a", "replicate_index"}
    assert prices == [0.0, 1.5, 3.0, 4.5, 6.0, 7.5]  # 1.5 × block
    # one chunk per block: its last block's (grid, replicate) = (block // 2, block % 2)
    assert done == [(0, 0), (0, 1), (1, 0), (1, 1), (2, 0), (2, 1)]
    for kwargs in ({"path": "audit.parquet", "workers": 1, "chunk_blocks": 4},
                   {"path": None, "workers": 2, "chunk_blocks": 1},
                   {"path": "audit2.parquet", "workers": 2, "chunk_blocks": 3}):
        other, other_prices, _ = _run(tmp_path, kept=2, **kwargs)
        assert other_prices == prices
        for g in by_grid:
            for s in by_grid[g]:
                assert other[g][s].tolist() == by_grid[g][s].tolist(), (kwargs, g, s)
    # the audit Parquet has every sample (6 blocks × 3 paths) and both series
    table = pq.read_table(tmp_path / "audit.parquet")
    assert table.num_rows == 18
    every, _, _ = _run(tmp_path, path=None, kept=None, workers=2, chunk_blocks=2)
    assert every[2]["a"][:, 0].tolist() == [400.0, 410.0, 420.0, 500.0, 510.0, 520.0]
