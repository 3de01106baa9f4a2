"""``evaluate``: the plan end to end in memory — sample space, both lines, consolidation,
KPIs and acceptance — from the same functions the DVC stages call."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from d3.acceptance import (
    ClassMargin,
    Criterion,
    GridEvidence,
    acceptance_document,
    grid_criteria,
)
from d3.catalog import Market, market_of
from d3.consolidate import reference_finance_of
from d3.consolidation import percentile_paths
from d3.core.chunks import evaluation_chunk_blocks
from d3.core.errors import Issue, ValidationError
from d3.core.percentiles import monthly_percentiles
from d3.core.sample_run import kept_per_block
from d3.core.samples import SampleSpace, all_blocks_values, block_table
from d3.core.variables import (
    block_values,
    grid_label,
    grid_size,
    overrides_of,
    reference_values,
)
from d3.finance.tables import OptionalLines
from d3.model.inputs import ModelInputs
from d3.models.operator import GeneralOperator
from d3.pipelines.common.catalog import catalog_from_document
from d3.pipelines.common.reference import configured, reference_operator
from d3.pipelines.private.client_blocks import ClientContext, block_client_inputs
from d3.pipelines.private.clients import expected_clients
from d3.pipelines.private.pricing import grid_class_margins
from d3.pipelines.private.provider_costs import provider_offers
from d3.pipelines.public.catalog import public_cost_rows
from d3.pipelines.public.demand import expected_demand
from d3.pipelines.public.demand_blocks import DemandContext, block_inputs
from d3.pipelines.public.gpu_costs import best_rows
from d3.pipelines.public.scaling import KPI_COLUMNS, grid_autoscaler_runs, kpi_rows
from d3.streaming import (
    GridPart,
    LineChunks,
    SampleWork,
    grid_parts,
    line_series,
    sample_work,
)

Series = dict[str, np.ndarray]


@dataclass(frozen=True)
class GridEvaluation:
    """One grid point: per-sample KPIs ``{name: (unit, values (samples,))}`` with each sample's
    replicate, the reference path's monthly finance (EUR ``(months,)``), the acceptance
    criteria (SPEC §8) and the monthly percentile paths of the statement series
    (``stochastic.percentiles``)."""

    kpis: dict[str, tuple[str, np.ndarray]]
    replicate_index: np.ndarray
    reference: dict[str, np.ndarray]
    criteria: list[Criterion]
    percentile_paths: dict[str, np.ndarray] | None  # series → (len(qs), months); on request

    @property
    def accepted(self) -> bool:
        return all(c.ok for c in self.criteria)


@dataclass(frozen=True)
class Evaluation:
    """The plan evaluated: per grid point results, the acceptance document (as
    ``acceptance.json``), each line's per-sample monthly series (``(samples, months)``,
    samples ordered by block, then Monte Carlo index; ``None`` for a line not run) and each
    grid point's knob values (``grid_labels``, :func:`d3.core.variables.grid_label` of the
    evaluated plan's own variables: an override that fixes a swept variable takes its axis
    out of the grid)."""

    grid: dict[int, GridEvaluation]
    acceptance: dict[str, Any]
    public: Series | None
    private: Series | None
    grid_labels: dict[int, str] = field(default_factory=dict)

    @property
    def accepted(self) -> bool:
        return bool(self.acceptance.get("accepted", False))


@dataclass(frozen=True)
class _Run:
    """What every step shares: the sample space and the validated configuration."""

    inputs: ModelInputs
    blocks: tuple[Mapping[str, Any], ...]
    replicates: int
    general: GeneralOperator
    months: int
    hours: int
    max_concurrency: int
    noise_replicate: int | None = None  # explicit blocks: all share replicate 0's noise

    @property
    def market(self) -> Market:
        return market_of(self.inputs.market)

    @property
    def fx(self) -> float:
        return self.market.eur_usd_fx_rate

    @property
    def channels(self) -> Mapping[str, Mapping[str, Any]]:
        return self.market.channels


def evaluate(inputs: ModelInputs, *, overrides: Mapping[str, Any] | None = None,
             pipelines: Sequence[str] | None = None, max_concurrency: int = 1,
             keep_series: bool = False, paths: bool = False,
             blocks: Sequence[Mapping[str, Any]] | None = None,
             criteria: bool = True, percentile_samples: int | None = None) -> Evaluation:
    """The plan of ``inputs`` (with ``overrides``, ``FILE:key`` → value, see
    :meth:`ModelInputs.with_overrides`) evaluated in memory: the same numbers ``d3 run``
    writes to ``consolidated_kpis.parquet`` and ``acceptance.json``. ``pipelines`` defaults to
    the plan's ``run.pipelines``; ``keep_series`` keeps each line's per-sample monthly series
    in the result (memory ∝ samples × months); ``paths`` adds the statement series' monthly
    percentile paths (≈ 60 % of a 2 000-sample evaluation's time, so off in knob loops).
    ``blocks``: the random variables' values given explicitly, one mapping ``variable_id →
    value`` (a value on the variable's step grid, as :func:`d3.core.variables.random_draw`
    returns) per replicate of a plan with one grid point — the replicates' count is
    ``len(blocks)``; a sampling design (Sobol/Saltelli) evaluates its rows this way, each row
    with the same ``simulations_per_run`` outcome-noise paths (those of replicate 0 of grid
    point 0: common random numbers, so two rows differ only by their values).
    ``criteria=False`` skips the acceptance criteria (and the autoscaler they need):
    ``acceptance`` is then ``{}``. ``percentile_samples``: the monthly percentile paths (and
    the autoscaler's p50/p90 demand traces) over a stratified subsample of about this many
    samples per grid point — the first ``⌈percentile_samples / replicates⌉`` Monte Carlo
    samples of every block — instead of every sample, so that memory stops growing with the
    monthly series of very large runs; every KPI and probability still uses every sample
    (``None``, the default: the plan's ``stochastic.percentile_samples``, itself ``None`` —
    every sample — unless set). The work is done chunk by chunk in the workers
    (:mod:`d3.streaming`), which send back per-sample KPIs and the kept series only.
    Raises :class:`d3.core.errors.ValidationError` on a bad
    override, line name or block."""
    run = _prepared(inputs.with_overrides(overrides or {}), max_concurrency, blocks)
    plan = run.inputs.plan
    lines = tuple(plan.run.pipelines if pipelines is None else pipelines)
    unknown = sorted(set(lines) - {"public", "private"})
    if unknown or not lines:
        raise ValidationError([Issue("evaluate", "pipelines", f"lines {unknown or '[]'} are "
                                     "not public or private", "pass public, private or both")])
    demand = _demand_context(run) if "public" in lines else None
    clients = _client_context(run) if "private" in lines else None
    per_grid, streamed = _grid_evaluations(
        run, demand, clients, paths, criteria, keep_series,
        plan.stochastic.percentile_samples if percentile_samples is None else percentile_samples)
    doc = acceptance_document({g: e.criteria for g, e in per_grid.items()},
                              plan.targets.horizon_months,
                              plan.targets.min_acceptance_probability) if criteria else {}
    labels = {g: grid_label(run.inputs.variables, g) for g in per_grid}
    return Evaluation(per_grid, doc, line_series(streamed.public),
                      line_series(streamed.private), grid_labels=labels)


def _prepared(inputs: ModelInputs, max_concurrency: int,
              given: Sequence[Mapping[str, Any]] | None = None) -> _Run:
    plan = inputs.plan
    grid = grid_size(inputs.variables)
    if given is None:
        space = SampleSpace(grid, plan.run.random_runs_per_simulation,
                            plan.stochastic.simulations_per_run, plan.stochastic.sampling)
        # A block's variable values are one draw: chunks as large as two per worker allow.
        values = all_blocks_values(inputs.variables, inputs.seeds, space,
                                   chunk_blocks=evaluation_chunk_blocks(
                                       plan.run.chunk_blocks, 1, space.blocks, max_concurrency),
                                   max_concurrency=max_concurrency)
    else:
        space = SampleSpace(1, len(given), plan.stochastic.simulations_per_run,
                            plan.stochastic.sampling)
        values = _given_values(inputs, grid, given)
    # The values as the stages read them from samples/blocks.parquet (same types).
    blocks = tuple(block_table(inputs.variables, space, values).to_pylist())
    general = GeneralOperator.model_validate(inputs.operators["general"])
    return _Run(inputs, blocks, space.replicates, general,
                max(plan.targets.horizon_months, general.loan.term_months),
                int(general.calendar.hours_in_month), max_concurrency,
                None if given is None else 0)


def _given_values(inputs: ModelInputs, grid: int,
                  given: Sequence[Mapping[str, Any]]) -> list[dict[str, Any]]:
    """Each replicate's values: the plan's draws with the ``random`` variables in ``given``."""
    random_ids = {v.variable_id for v in inputs.variables if v.treatment == "random"}
    unknown = sorted({k for row in given for k in row} - random_ids)
    if grid != 1 or unknown or not given:
        raise ValidationError([Issue(
            "evaluate", "blocks", f"explicit blocks need a plan with one grid point (has {grid}) "
            f"and random variables only (unknown or not random: {unknown or 'none'}; "
            f"{len(given)} blocks)", "fix the low_to_high variables with overrides, pass only "
            f"random variable ids: {sorted(random_ids)}")])
    return [{**block_values(inputs.variables, inputs.seeds, 0, r, replicates=len(given),
                            sampling=inputs.plan.stochastic.sampling), **row}
            for r, row in enumerate(given)]


def _demand_context(run: _Run) -> DemandContext:
    i = run.inputs
    plan = i.plan
    best = best_rows(public_cost_rows(
        catalog_from_document(i.catalog),
        reference_operator("public_tap", i.operators["public_tap"], i.variables),
        eur_usd_fx_rate=run.fx))
    return DemandContext(
        variables=i.variables, block_values=run.blocks, replicates=run.replicates,
        operator_dump=i.operators["public_tap"], best=best, channels=run.channels,
        eur_usd_fx_rate=run.fx, months=run.months, seed=i.seeds["public_tap"],
        simulations=plan.stochastic.simulations_per_run, hours_in_month=run.hours,
        horizon_months=plan.targets.horizon_months, noise=plan.stochastic.outcome_noise,
        noise_replicate=run.noise_replicate)


def _client_context(run: _Run) -> ClientContext:
    i = run.inputs
    plan = i.plan
    private = configured("private_tap", i.operators["private_tap"], {})
    offers = tuple(provider_offers(catalog_from_document(i.catalog).offers,
                                   fx_buffer_pct=private.meta.fx_buffer_pct,
                                   eur_usd_fx_rate=run.fx))
    return ClientContext(
        variables=i.variables, block_values=run.blocks, replicates=run.replicates,
        operator_dump=i.operators["private_tap"], offers=offers, channels=run.channels,
        eur_usd_fx_rate=run.fx, months=run.months, seed=i.seeds["private_tap"],
        simulations=plan.stochastic.simulations_per_run, noise=plan.stochastic.outcome_noise,
        noise_replicate=run.noise_replicate)


def _class_margins(run: _Run, ctx: ClientContext) -> dict[int, dict[str, ClassMargin]]:
    i = run.inputs
    return {g: {gpu: ClassMargin(*m) for gpu, m in classes.items()}
            for g, classes in grid_class_margins(
                ctx.offers, i.operators["private_tap"], i.variables,
                range(grid_size(i.variables))).items()}


def _sample_work(run: _Run, demand: DemandContext | None, clients: ClientContext | None, *,
                 paths: bool, criteria: bool, keep_series: bool,
                 percentile_samples: int | None) -> tuple[SampleWork, OptionalLines]:
    i = run.inputs
    plan = i.plan
    return sample_work(
        demand=demand, clients=clients, general_dump=i.operators["general"],
        variables=i.variables, blocks=run.blocks, replicates=run.replicates,
        premiums=run.market.premiums, months=run.months,
        hours_in_month=run.general.calendar.hours_in_month,
        overhead_allocation_driver=plan.consolidation.overhead_allocation_driver,
        horizon_months=plan.targets.horizon_months, min_dscr=plan.targets.min_dscr,
        public_growth_min_mom_pct=plan.targets.public_growth_min_mom_pct,
        finance_kept="statement_percentiles" if paths else "none",
        demand_kept=("tokens_demanded",) if criteria and demand is not None else (),
        kept_per_block=kept_per_block(percentile_samples, run.replicates,
                                      plan.stochastic.simulations_per_run),
        keep_lines=keep_series)


def _reference(run: _Run, work: SampleWork, g: int, demand: DemandContext | None,
               clients: ClientContext | None) -> Series:
    """Grid point ``g``'s reference path finance (SPEC §8: shown, never used to decide)."""
    i = run.inputs
    values = reference_values(i.variables, g)
    pub_e = expected_demand(block_inputs(demand, values)[0]) if demand else None
    pri_e = expected_clients(block_client_inputs(clients, values)) if clients else None
    general = work.configs.reference(g)
    return reference_finance_of(general, run.market.premiums, run.months, pub_e, pri_e,
                                work.overhead_allocation_driver, work.hours_in_month)


def engine_work(inputs: ModelInputs, *, paths: bool = False,
                criteria: bool = True) -> SampleWork:
    """What each worker receives when ``evaluate(inputs, paths=paths, criteria=criteria)``
    fans out (the plan's ``run.pipelines``): for measuring what a chunk sends back
    (benchmarks/bench_dask.py); :func:`d3.streaming.chunk_outcome` evaluates a range."""
    run = _prepared(inputs, 1)
    lines = inputs.plan.run.pipelines
    return _sample_work(run, _demand_context(run) if "public" in lines else None,
                        _client_context(run) if "private" in lines else None, paths=paths,
                        criteria=criteria, keep_series=False,
                        percentile_samples=inputs.plan.stochastic.percentile_samples)[0]


def _grid_evaluations(run: _Run, demand: DemandContext | None, clients: ClientContext | None,
                      paths: bool, criteria: bool, keep_series: bool,
                      percentile_samples: int | None) -> tuple[dict[int, GridEvaluation],
                                                               LineChunks]:
    i = run.inputs
    work, lines_on = _sample_work(run, demand, clients, paths=paths, criteria=criteria,
                                  keep_series=keep_series,
                                  percentile_samples=percentile_samples)
    lines = LineChunks()
    margins = _class_margins(run, clients) if clients is not None and criteria else None
    out = {}
    chunk_blocks = evaluation_chunk_blocks(
        i.plan.run.chunk_blocks, i.plan.stochastic.simulations_per_run, len(run.blocks),
        run.max_concurrency)
    for part in grid_parts(work, len(run.blocks), chunk_blocks,
                           max_concurrency=run.max_concurrency, lines=lines):
        g = part.grid_index
        reference = _reference(run, work, g, demand, clients)
        judged = _criteria(run, g, part, reference, demand, margins and margins[g],
                           work.cash_buffer_eur[g]) if criteria else []
        out[g] = GridEvaluation(part.kpis, part.replicate_index, reference, judged,
                                percentile_paths(part.kept, lines_on,
                                                 i.plan.stochastic.percentiles)
                                if paths else None)
    return out, lines


def _criteria(run: _Run, g: int, part: GridPart, reference: Series,
              demand: DemandContext | None, margins: Mapping[str, ClassMargin] | None,
              cash_buffer_eur: float) -> list[Criterion]:
    """SPEC §8 criteria of grid point ``g`` on the same evidence the ``acceptance`` stage reads
    from files."""
    i = run.inputs
    evidence = GridEvidence(
        reference=reference, kpis={m: v for m, (_, v) in part.kpis.items()},
        replicate_ids=part.replicate_index, cash_buffer_eur=float(cash_buffer_eur),
        autoscaler_rows=_autoscaler_rows(run, g, part.kept["public.tokens_demanded"], demand)
        if demand else None,
        private_margins=margins, **part.evidence)
    return grid_criteria(
        evidence, targets=i.plan.targets.model_dump(mode="json"),
        target_util_pct=i.operators["public_tap"]["autoscaling"]["target_utilization_pct"],
        horizon=i.plan.targets.horizon_months)


def _autoscaler_rows(run: _Run, g: int, tokens_demanded: np.ndarray,
                     demand: DemandContext) -> list[dict]:
    """The autoscaler's KPI rows of grid point ``g`` on its p50/p90 demanded-token paths
    (``tokens_demanded`` ``(samples, months)``), as ``public_tap_autoscaling_kpis.csv`` holds
    them."""
    i = run.inputs
    values = reference_values(i.variables, g)
    inp, _ = block_inputs(demand, values)
    public = configured("public_tap", i.operators["public_tap"],
                        overrides_of(i.variables, values, "public_tap"))
    qs = i.plan.stochastic.percentiles
    paths = monthly_percentiles(tokens_demanded, qs)
    scaler, runs = grid_autoscaler_runs(
        public, inp, {str(q): paths[k].tolist() for k, q in enumerate(qs)},
        horizon=i.plan.targets.horizon_months, hours_in_month=run.hours,
        seed=i.seeds["public_tap"], grid_index=g, keep_events=False)
    rows = kpi_rows(g, runs, scaler.target_utilization_pct,
                    i.plan.targets.autoscaling_util_tolerance_pct)
    return [dict(zip(KPI_COLUMNS, r, strict=True)) for r in rows]
