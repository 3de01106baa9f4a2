"""The plan evaluated chunk by chunk in the workers (``d3.streaming``): the same numbers
whatever the chunking and worker count, only reduced results sent back, and the opt-in
stratified subsample for the monthly percentile paths."""

from __future__ import annotations

import pickle

import numpy as np
import pytest

from d3.model import evaluate, model_inputs
from d3.streaming import ChunkOutcome, chunk_outcome
from tests.helpers import MINIMAL

CHUNKS = "params.yaml:run.chunk_blocks"


@pytest.fixture(scope="module")
def minimal():
    # 3 grid points × 2 replicates × 10 Monte Carlo paths = 60 samples, 6 blocks.
    return model_inputs(MINIMAL / "inputs", MINIMAL / "params.yaml")


@pytest.fixture(scope="module")
def whole(minimal):
    """One chunk holding every block, in this process."""
    return evaluate(minimal, overrides={CHUNKS: 6}, paths=True)


def _same(a, b) -> None:
    assert a.acceptance == b.acceptance
    for g, e in a.grid.items():
        f = b.grid[g]
        assert np.array_equal(e.replicate_index, f.replicate_index)
        assert e.kpis.keys() == f.kpis.keys()
        for name, (_, values) in e.kpis.items():
            assert np.array_equal(values, f.kpis[name][1], equal_nan=True), (g, name)
        for name, path in e.percentile_paths.items():
            assert np.array_equal(path, f.percentile_paths[name], equal_nan=True), (g, name)


def test_chunking_and_workers_never_change_a_number(minimal, whole):
    # One block per chunk (6 chunks, each inside one grid point) in 2 worker processes:
    # every per-sample KPI, probability and percentile path is bit-identical.
    _same(whole, evaluate(minimal, overrides={CHUNKS: 1}, paths=True, max_concurrency=2))
    # 4 + 2 blocks: the first chunk spans grid points 0 and 1 (blocks 0–3, 2 per grid point).
    _same(whole, evaluate(minimal, overrides={CHUNKS: 4}, paths=True))


def test_workers_send_back_reduced_results_not_paths(minimal):
    """A chunk's outcome holds per-sample KPIs and evidence, and only the series asked for."""
    from d3.model.evaluate import _client_context, _demand_context, _prepared, _sample_work

    run = _prepared(minimal, 1)
    work, _ = _sample_work(run, _demand_context(run), _client_context(run), paths=False,
                           criteria=True, keep_series=False, percentile_samples=None)
    work = pickle.loads(pickle.dumps(work))  # as a worker process receives it
    out = chunk_outcome(work, 1, 3)  # blocks 1 (grid 0, replicate 1) and 2 (grid 1, rep 0)
    assert isinstance(out, ChunkOutcome) and out.public is None and out.private is None
    assert [p.grid_index for p in out.parts] == [0, 1]
    first = out.parts[0]
    assert first.replicate_index.tolist() == [1] * 10
    assert set(first.kept) == {"public.tokens_demanded"}  # the autoscaler's traces only
    assert first.kept["public.tokens_demanded"].shape == (10, run.months)
    assert all(v.shape == (10,) for _, v in first.kpis.values())
    assert first.evidence["public_customers_non_decreasing"].shape == (10,)


def test_percentile_subsample_is_the_first_paths_of_every_block(minimal, whole):
    """percentile_samples=4 with 2 replicates keeps ⌈4 / 2⌉ = 2 paths of each block: the
    paths are exact percentiles of those 4 samples; KPIs and probabilities keep all 10 × 2."""
    sub = evaluate(minimal, overrides={CHUNKS: 6}, paths=True, percentile_samples=4)
    for g, e in sub.grid.items():
        for name, (_, values) in e.kpis.items():
            assert np.array_equal(values, whole.grid[g].kpis[name][1], equal_nan=True)
    kept = evaluate(minimal, overrides={CHUNKS: 6}, keep_series=True,
                    percentile_samples=4).public
    g0 = kept["grid_index"] == 0
    # Revenue of the Public Tap is a demand series kept in full by keep_series: the finance
    # path p50 of month 12 must be the median of the kept samples' public revenue.
    mc = np.tile(np.arange(10), 6)[g0]  # Monte Carlo index within the block
    revenue = kept["revenue_eur"][g0][mc < 2]
    assert revenue.shape == (4, whole.grid[0].percentile_paths["revenue_public_eur"].shape[1])
    expected = np.percentile(revenue[:, 11], 50, method="linear")
    assert sub.grid[0].percentile_paths["revenue_public_eur"][1, 11] == pytest.approx(expected)
    # Every sample (≥ 2 × 10) asked for: the same as no subsample.
    _same(whole, evaluate(minimal, overrides={CHUNKS: 6}, paths=True, percentile_samples=20))


def test_block_by_block_equals_the_stacked_chunk(minimal):
    """A worker evaluates one block at a time (its series freed before the next): its lines
    equal the line stages' stacked chunk (``simulate_range`` then ``chunk_result``) bit for
    bit, and KPIs computed per block then joined equal the KPIs of the stacked finance."""
    from dataclasses import replace

    from d3.acceptance import path_evidence
    from d3.consolidate import block_finance, grid_kpis
    from d3.finance.tables import balance_sheet_difference_eur
    from d3.model.evaluate import _client_context, _demand_context, _prepared, _sample_work
    from d3.pipelines.private import client_blocks
    from d3.pipelines.public import demand_blocks
    from d3.streaming import _block_outcome

    run = _prepared(minimal, 1)
    demand, clients = _demand_context(run), _client_context(run)
    work, _ = _sample_work(run, demand, clients, paths=False, criteria=True,
                           keep_series=False, percentile_samples=None)
    # Grid 0's replicates 0 and 1; every finance series kept for the first 3 of 10 paths.
    work = replace(work, keep_lines=True, kept_per_block=3, finance_kept=None)
    out = chunk_outcome(work, 0, 2)
    for got, module, ctx in ((out.public, demand_blocks, demand),
                             (out.private, client_blocks, clients)):
        stacked = module.chunk_result(ctx, module.simulate_range(ctx, 0, 2))
        for field in ("grid_index", "replicate_index", "mc_index", "block_price"):
            assert np.array_equal(getattr(got, field), getattr(stacked, field))
        assert got.series.keys() == stacked.series.keys()
        for k, v in stacked.series.items():
            assert got.series[k].tobytes() == v.tobytes(), k
    # Both blocks share grid 0's general configuration here (no general-scope variable).
    config = work.configs.at(work.blocks[0])
    assert config == work.configs.at(work.blocks[1])
    finance = block_finance(config, work.premiums, work.months, out.public.series,
                            out.private.series, driver=work.overhead_allocation_driver,
                            hours=work.hours_in_month)
    kpis = grid_kpis(finance, out.public.series, work.horizon_months, min_dscr=work.min_dscr,
                     cash_buffer_eur=work.cash_buffer_eur[0], distributions=work.distributions)
    (part,) = out.parts
    assert part.replicate_index.tolist() == [0] * 10 + [1] * 10
    assert part.kpis.keys() == kpis.keys()
    for name, (_, values) in kpis.items():
        assert part.kpis[name][1].tobytes() == values.tobytes(), name
    first3 = np.tile(np.arange(10), 2) < 3  # Monte Carlo index within each block
    # Every finance series, and the autoscaler's trace (the demanded tokens).
    assert part.kept.keys() == {*finance, "public.tokens_demanded"}
    expected = {**finance, "public.tokens_demanded": out.public.series["tokens_demanded"]}
    for k, v in expected.items():
        assert part.kept[k].tobytes() == v[first3].tobytes(), k
    # One block's part owns what it keeps (copies, not views), so its series can be freed.
    one = _block_outcome(work, 0).part
    assert all(v.base is None for v in one.kept.values())
    assert all(v.base is None for _, v in one.kpis.values())
    evidence = path_evidence(out.public.series["active_customers"],
                             out.private.series["active_clients"],
                             horizon=work.horizon_months,
                             public_growth_min_mom_pct=work.public_growth_min_mom_pct)
    for k, v in evidence.items():
        assert part.evidence[k].tobytes() == v.tobytes(), k
    assert part.balance_sheet_difference_eur == balance_sheet_difference_eur(finance)


def test_a_nan_balance_sheet_difference_survives_the_join():
    """The integrity check's maximum propagates NaN whichever block holds it (Python's
    ``max`` would keep NaN only when it came first)."""
    from d3.streaming import GridPart, joined

    def part(diff: float) -> GridPart:
        return GridPart(0, np.zeros(1, dtype=np.int64), {}, {}, {}, diff)

    assert np.isnan(joined([part(0.0), part(float("nan"))]).balance_sheet_difference_eur)
    assert np.isnan(joined([part(float("nan")), part(0.0)]).balance_sheet_difference_eur)
    assert joined([part(0.01), part(0.02)]).balance_sheet_difference_eur == 0.02
