"""The plan evaluated chunk by chunk where the draws are made: each worker draws both lines'
random paths for a range of blocks, derives their series, runs the finance of every sample
and sends back only what the results need — per-sample KPIs and criteria evidence (a few
scalars per sample) and the monthly series kept for the percentile paths (issue 14 item 3,
issue 18 item 3). Nothing here depends on the chunking: every per-sample number is computed
block by block (each block has its own configuration and keyed random streams), so the
concatenation of the chunks in block order equals the whole run computed at once. A block's
series are dropped once its KPIs and kept rows are taken: nothing chunk-wide is stacked.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Mapping, Sequence
from contextlib import closing
from dataclasses import dataclass, field
from functools import cached_property, partial
from typing import Any

import numpy as np

from d3.acceptance import path_evidence
from d3.consolidate import GeneralConfigs, block_finance, grid_kpis, optional_lines
from d3.consolidation import percentile_series
from d3.core.chunks import chunk_ranges, equal_runs, iter_ranges
from d3.core.sample_run import ChunkResult
from d3.core.sample_run import chunk_result as stacked
from d3.core.variables import Variable
from d3.finance.tables import OptionalLines, balance_sheet_difference_eur
from d3.pipelines.private.client_blocks import ClientContext
from d3.pipelines.private.client_blocks import block_result as client_block
from d3.pipelines.public.demand_blocks import DemandContext
from d3.pipelines.public.demand_blocks import block_result as demand_block

Series = dict[str, np.ndarray]


@dataclass(frozen=True)
class GridPart:
    """One grid point's samples within a chunk, in block order: ``replicate_index``
    ``(n,)``; ``kpis`` ``{name: (unit, (n,))}``; ``evidence`` the criteria's per-sample path
    evidence (:func:`d3.acceptance.path_evidence`, ``(n,)`` or ``None``); ``kept`` the
    monthly series kept for percentile paths, ``(k, months)`` for the ``k`` kept samples
    (:attr:`SampleWork.kept_per_block`); ``balance_sheet_difference_eur`` the largest
    |assets − liabilities − equity| over every sample and month (EUR; the integrity check
    covers every sample, not only the kept ones)."""

    grid_index: int
    replicate_index: np.ndarray
    kpis: dict[str, tuple[str, np.ndarray]]
    evidence: dict[str, np.ndarray | None]
    kept: Series
    balance_sheet_difference_eur: float = 0.0


@dataclass(frozen=True)
class ChunkOutcome:
    """What a worker sends back for a range of blocks: its grid points' parts in block order
    and, only when asked (``SampleWork.keep_lines``), each line's full per-sample series."""

    parts: tuple[GridPart, ...]
    public: ChunkResult | None = None
    private: ChunkResult | None = None


@dataclass(frozen=True)
class SampleWork:
    """Everything a worker needs to evaluate any range of blocks: the lines' block contexts
    (``None``: line not run), the general configuration and the plan's settings. Picklable;
    the Dask executor ships it once per run (scatter), the process pool with each chunk.

    ``finance_kept`` / ``demand_kept`` / ``clients_kept``: the finance, Public Tap and Private
    Tap series kept per sample for monthly statistics (``finance_kept=None``: every finance
    series); ``kept_per_block``: keep them for the first ``k`` Monte Carlo
    samples of every block (a stratified subsample: the samples of a block are independent
    given its values), ``None`` for every sample. ``keep_lines``: send the lines' full
    per-sample series back too (memory ∝ samples × months; audits and tests)."""

    demand: DemandContext | None
    clients: ClientContext | None
    general_dump: Mapping[str, Any]
    variables: tuple[Variable, ...]
    blocks: tuple[Mapping[str, Any], ...]
    replicates: int
    premiums: Mapping[str, float]
    months: int
    hours_in_month: float
    overhead_allocation_driver: str
    horizon_months: int
    min_dscr: float
    public_growth_min_mom_pct: float
    distributions: bool  # the owner's distribution lines are shown (OptionalLines)
    cash_buffer_eur: Mapping[int, float]  # per grid point (its reference configuration)
    finance_kept: tuple[str, ...] | None = ()
    demand_kept: tuple[str, ...] = ()
    clients_kept: tuple[str, ...] = ()
    kept_per_block: int | None = None
    keep_lines: bool = False

    @cached_property
    def configs(self) -> GeneralConfigs:
        return GeneralConfigs(self.general_dump, self.variables)

    def __getstate__(self) -> dict[str, Any]:
        # The validated configurations are a per-process cache (not picklable): rebuilt there.
        return {k: v for k, v in self.__dict__.items() if k != "configs"}


def chunk_outcome(work: SampleWork, start: int, stop: int) -> ChunkOutcome:
    """Blocks ``start..stop-1`` evaluated: per block both lines drawn and derived, every
    sample's finance, its KPIs, criteria evidence and kept series; then each grid point's
    blocks joined (pure; runs in a worker process or a Dask worker). A block's series live
    only while it is evaluated (what its part keeps is copied out when it is a subsample),
    unless the work keeps the lines (``keep_lines``)."""
    outcomes = [_block_outcome(work, block) for block in range(start, stop)]
    grids = np.array([b.part.grid_index for b in outcomes], dtype=np.int64)
    parts = tuple(joined([b.part for b in outcomes[rows]]) for _, rows in equal_runs(grids))
    if not work.keep_lines:
        return ChunkOutcome(parts)
    return ChunkOutcome(parts, *(
        stacked(start, stop - start, work.replicates, ctx.simulations,
                [b.lines[k][1] for b in outcomes], [b.lines[k][0] for b in outcomes])
        if ctx is not None else None for k, ctx in enumerate((work.demand, work.clients))))


@dataclass(frozen=True)
class _BlockOutcome:
    part: GridPart
    lines: tuple[tuple[float, Series] | None, ...]  # per line: (blended price, series)


def _block_outcome(work: SampleWork, block: int) -> _BlockOutcome:
    """One block: its lines' series, the finance of its samples and its grid part."""
    pub = demand_block(work.demand, block) if work.demand is not None else None
    pri = client_block(work.clients, block) if work.clients is not None else None
    finance = block_finance(work.configs.at(work.blocks[block]), work.premiums, work.months,
                            pub and pub[1], pri and pri[1],
                            driver=work.overhead_allocation_driver, hours=work.hours_in_month)
    part = _grid_part(work, block, finance, pub and pub[1], pri and pri[1])
    return _BlockOutcome(part, (pub, pri) if work.keep_lines else ())


def _grid_part(work: SampleWork, block: int, finance: Series, demand: Series | None,
               clients: Series | None) -> GridPart:
    g, r = divmod(block, work.replicates)
    kpis = grid_kpis(finance, demand, work.horizon_months, min_dscr=work.min_dscr,
                     cash_buffer_eur=work.cash_buffer_eur[g], distributions=work.distributions)
    evidence = path_evidence(
        demand["active_customers"] if demand else None,
        clients["active_clients"] if clients else None, horizon=work.horizon_months,
        public_growth_min_mom_pct=work.public_growth_min_mom_pct)
    # The first k Monte Carlo samples of the block (a stratified subsample), copied: a view
    # would hold the block's whole series until the chunk is joined.
    if work.kept_per_block is None:
        def take(a: np.ndarray) -> np.ndarray:
            return a
    else:
        def take(a: np.ndarray) -> np.ndarray:
            return a[:max(0, work.kept_per_block)].copy()
    names = finance if work.finance_kept is None else work.finance_kept
    kept = {k: take(finance[k]) for k in names}
    if demand is not None:
        kept.update({f"public.{k}": take(demand[k]) for k in work.demand_kept})
    if clients is not None:
        kept.update({f"private.{k}": take(clients[k]) for k in work.clients_kept})
    samples = len(finance["revenue_eur"])
    return GridPart(g, np.full(samples, r, dtype=np.int64),
                    {m: (unit, _owned(v)) for m, (unit, v) in kpis.items()},
                    {k: None if v is None else _owned(v) for k, v in evidence.items()}, kept,
                    balance_sheet_difference_eur(finance))


def _owned(a: np.ndarray) -> np.ndarray:
    """``a``, copied when it is a view (a KPI such as the closing cash at the horizon is a
    column of a block's series, which it would otherwise keep alive)."""
    return a if a.base is None else a.copy()


def grid_cash_buffers(configs: GeneralConfigs, grid_points: Sequence[int]) -> dict[int, float]:
    """Each grid point's cash buffer (EUR, its reference configuration's ``reserves``)."""
    return {g: float(configs.reference(g).reserves.cash_buffer_eur) for g in grid_points}


def sample_work(*, demand: DemandContext | None, clients: ClientContext | None,
                general_dump: Mapping[str, Any], variables: Sequence[Variable],
                blocks: Sequence[Mapping[str, Any]], replicates: int,
                premiums: Mapping[str, float], months: int, hours_in_month: float,
                overhead_allocation_driver: str, horizon_months: int, min_dscr: float,
                public_growth_min_mom_pct: float, finance_kept: str,
                demand_kept: Sequence[str] = (), clients_kept: Sequence[str] = (),
                kept_per_block: int | None = None,
                keep_lines: bool = False) -> tuple[SampleWork, OptionalLines]:
    """The one way to build a :class:`SampleWork` (the ``consolidate`` stage and
    :func:`d3.model.evaluate` both call it, so they cannot drift apart), and the optional
    P&L lines any configuration of the run has. ``finance_kept``: ``"none"``,
    ``"statement_percentiles"`` (the series whose monthly percentiles the statements show) or
    ``"all"``. ``hours_in_month`` is the calendar's, unrounded (EUR allocation by GPU-hours)."""
    configs = GeneralConfigs(general_dump, variables)
    grid_points = sorted({b // replicates for b in range(len(blocks))})
    lines_on = optional_lines(configs, blocks, np.arange(len(blocks)), grid_points)
    kept = {"none": (), "statement_percentiles": percentile_series(lines_on), "all": None}
    return SampleWork(
        demand=demand, clients=clients, general_dump=general_dump, variables=tuple(variables),
        blocks=tuple(blocks), replicates=replicates, premiums=premiums, months=months,
        hours_in_month=float(hours_in_month),
        overhead_allocation_driver=overhead_allocation_driver, horizon_months=horizon_months,
        min_dscr=min_dscr, public_growth_min_mom_pct=public_growth_min_mom_pct,
        distributions=lines_on.distributions,
        cash_buffer_eur=grid_cash_buffers(configs, grid_points),
        finance_kept=kept[finance_kept], demand_kept=tuple(demand_kept),
        clients_kept=tuple(clients_kept) if clients is not None else (),
        kept_per_block=kept_per_block, keep_lines=keep_lines), lines_on


@dataclass
class LineChunks:
    """Each line's chunk results, in block order, when the work keeps them
    (:attr:`SampleWork.keep_lines`)."""

    public: list[ChunkResult] = field(default_factory=list)
    private: list[ChunkResult] = field(default_factory=list)


def grid_parts(work: SampleWork, n_blocks: int, chunk_blocks: int, *,
               max_concurrency: int = 1, on_chunk: Callable[[int, int], None] | None = None,
               lines: LineChunks | None = None) -> Iterator[GridPart]:
    """Every chunk of ``chunk_blocks`` blocks evaluated where it is drawn (worker processes or
    Dask workers: :func:`d3.core.chunks.iter_ranges`), in block order; each grid point's
    samples (:func:`joined`) are yielded as soon as its last block is in, so a consumer that
    reduces a grid point before asking for the next holds one grid point's kept series at a
    time. ``on_chunk(done, total)`` after each chunk; ``lines`` collects the lines' series
    when the work keeps them."""
    ranges = chunk_ranges(n_blocks, chunk_blocks)
    pending: list[GridPart] = []
    # closing: an error (or a consumer that stops) stops the workers or the Dask tasks at once.
    with closing(iter_ranges(partial(chunk_outcome, work), ranges,
                             max_concurrency=max_concurrency)) as chunks:
        for done, chunk in enumerate(chunks, start=1):
            if lines is not None:
                lines.public += [chunk.public] if chunk.public is not None else []
                lines.private += [chunk.private] if chunk.private is not None else []
            if on_chunk is not None:
                on_chunk(done, len(ranges))
            for part in chunk.parts:
                if pending and pending[0].grid_index != part.grid_index:
                    yield joined(pending)
                    pending = []
                pending.append(part)
    if pending:
        yield joined(pending)


def line_series(chunks: Sequence[ChunkResult]) -> Series | None:
    """A line's per-sample series with ``grid_index`` / ``replicate_index``, in block order."""
    if not chunks:
        return None
    out = {k: np.concatenate([c.series[k] for c in chunks]) for k in chunks[0].series}
    out["grid_index"] = np.concatenate([c.grid_index for c in chunks])
    out["replicate_index"] = np.concatenate([c.replicate_index for c in chunks])
    return out


def joined(parts: Sequence[GridPart]) -> GridPart:
    """A grid point's parts as one, samples in block order."""
    first = parts[0]
    return GridPart(
        first.grid_index, np.concatenate([p.replicate_index for p in parts]),
        {m: (unit, np.concatenate([p.kpis[m][1] for p in parts]))
         for m, (unit, _) in first.kpis.items()},
        {k: None if v is None else np.concatenate([p.evidence[k] for p in parts])
         for k, v in first.evidence.items()},
        {k: np.concatenate([p.kept[k] for p in parts]) for k in first.kept},
        float(np.max([p.balance_sheet_difference_eur for p in parts])))  # NaN propagates
