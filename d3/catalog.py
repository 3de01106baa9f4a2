"""The one catalog of artefacts: name → path template, format and typed reader.

Every file a stage reads or writes is declared here once, under one global name. The registry's
stages name their deps and outs by these names (so ``dvc.yaml`` and ``d3 run`` take their paths
from here), and ``StageIO.load(name)`` returns the object this table's reader builds: stages
never parse JSON or walk nested documents themselves. Documents that renderers (the report,
the run summary) consume whole keep the file's dict as ``doc`` beside their typed fields.

Paths use ``{inputs}`` and ``{out}`` (bound by ``d3 run`` / DVC). Code deps are named
``code:<path>`` (``code:stages/report.py``) and resolve to that path in the project.
"""

from __future__ import annotations

import csv
import json
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pyarrow.parquet as pq

from d3.acceptance import ClassMargin
from d3.core.variables import Variable
from d3.io.normalised import OPERATOR_CLASSES, variable_from_record
from d3.io.parquet_stream import read_series
from d3.io.writers import json_text
from d3.models.operator import GeneralOperator, PrivateOperator, PublicOperator
from d3.models.plan import Plan
from d3.pipelines.common.catalog import Catalog, catalog_from_document
from d3.pipelines.private.provider_costs import ProviderOffer
from d3.pipelines.public.gpu_costs import CostRow

CODE_PREFIX = "code:"


# --- typed artefacts -----------------------------------------------------------------------------


def _json(path: Path) -> Any:
    return json.loads(path.read_text(encoding="utf-8"))


def canonical(doc: Any) -> Any:
    """``doc`` as a JSON file written by the stages holds it (sorted keys, JSON number types)."""
    return json.loads(json_text(doc))


def operator_dump(operator: GeneralOperator | PublicOperator | PrivateOperator) -> dict:
    """The validated operator as its JSON file holds it (same keys, order and number types): the
    tree that variable overrides are applied to. A test proves it equals the file's dict."""
    return canonical(operator.model_dump(mode="json"))


@dataclass(frozen=True)
class ResolvedPlan:
    """``validated/plan.json``: the plan with defaults filled in, and the resolved seeds."""

    plan: Plan
    seeds: Mapping[str, int]
    doc: Mapping[str, Any]

    @property
    def targets(self) -> Mapping[str, Any]:
        return self.doc["plan"]["targets"]

    @property
    def percentiles(self) -> list[int]:
        return self.doc["plan"]["stochastic"]["percentiles"]


@dataclass(frozen=True)
class Market:
    """``validated/market.json``: FX, ads channels, agency fees, insurances."""

    eur_usd_fx_rate: float
    channels: Mapping[str, Mapping[str, Any]]  # channel_id → channel record
    insurances: tuple[Mapping[str, Any], ...]
    premiums: Mapping[str, float]  # insurer_id → annual premium, EUR
    doc: Mapping[str, Any]


@dataclass(frozen=True)
class VariablesReport:
    """``logs/variables.json``: the sample space, seeds and the variables' overrides."""

    grid_size: int
    replicates: int
    simulations_per_run: int
    blocks: int
    samples: int
    seeds: Mapping[str, int]
    overrides: tuple[Mapping[str, Any], ...]
    doc: Mapping[str, Any]


@dataclass(frozen=True)
class PublicCostRows:
    """``intermediate/public_cost_rows.json``: every (model, GPU) cost row and the FX used."""

    rows: tuple[CostRow, ...]
    eur_usd_fx_rate: float
    fx_buffer_pct: float
    doc: Mapping[str, Any]


@dataclass(frozen=True)
class PriceCard:
    """``intermediate/public_price_card.json``: the reference price card of the Public Tap."""

    blended_sell_eur_per_1k: float
    blended_cost_eur_per_1M: float
    public_models: tuple[str, ...]
    private_only: tuple[str, ...]
    warnings: tuple[Mapping[str, Any], ...]
    doc: Mapping[str, Any]


@dataclass(frozen=True)
class DemandGridPoint:
    """One grid point of ``intermediate/public_demand.json`` (monthly paths, tokens)."""

    key: str  # the grid index as written ("0", "1", …)
    expected_tokens_demanded: tuple[float, ...]
    percentile_tokens_demanded: Mapping[str, list[float]]  # "10"/"50"/… → monthly path


@dataclass(frozen=True)
class DemandSummary:
    """``intermediate/public_demand.json``: horizon, months and per grid point paths."""

    months: int
    horizon_months: int
    grid: tuple[DemandGridPoint, ...]  # in grid-index order
    doc: Mapping[str, Any]


@dataclass(frozen=True)
class ClientsSummary:
    """``intermediate/private_clients.json``."""

    months: int
    horizon_months: int
    doc: Mapping[str, Any]


@dataclass(frozen=True)
class PrivateOffers:
    """``intermediate/private_offers.json``: offers in EUR and the median EUR/hr per class."""

    offers: tuple[ProviderOffer, ...]
    medians: Mapping[str, float]


@dataclass(frozen=True)
class PrivatePricing:
    """``intermediate/private_pricing.json``: economics per GPU class, vendor weights."""

    margins: Mapping[str, ClassMargin]  # GPU class → margins on the sell price
    doc: Mapping[str, Any]
    grid_margins: Mapping[int, Mapping[str, ClassMargin]] = field(default_factory=dict)


@dataclass(frozen=True)
class ExpectedPaths:
    """``intermediate/consolidated_expected.json``: reference monthly paths per grid point."""

    horizon_months: int
    grid: Mapping[int, Mapping[str, np.ndarray]]  # grid index → series → monthly values


@dataclass(frozen=True)
class ConsolidatedSummary:
    """``consolidated_summary.json``."""

    horizon_months: int
    term_months: int
    cash_buffer_eur: Mapping[int, float]  # grid index → cash buffer, EUR
    doc: Mapping[str, Any]


@dataclass(frozen=True)
class SampleSeries:
    """A Parquet file of per-sample monthly series, read column by column on request."""

    path: Path

    @property
    def num_row_groups(self) -> int:
        return pq.ParquetFile(self.path).num_row_groups

    def series(self, names: Sequence[str], row_group: int | None = None) -> dict:
        """``grid_index``, ``replicate_index``, ``mc_index`` and ``names`` as
        ``(samples, months)`` arrays (one row group, or the whole file)."""
        return read_series(self.path, names, row_group=row_group)


# --- readers -------------------------------------------------------------------------------------


def _operator(scope: str) -> Callable[[Path], Any]:
    return lambda path: OPERATOR_CLASSES[scope].model_validate(_json(path))


def read_plan(path: Path) -> ResolvedPlan:
    doc = _json(path)
    return ResolvedPlan(Plan.model_validate(doc["plan"]), doc["seeds"], doc)


def read_market(path: Path) -> Market:
    return market_of(_json(path))


def market_of(doc: Mapping[str, Any]) -> Market:
    """The typed market of a ``validated/market.json`` document (no I/O)."""
    return Market(
        eur_usd_fx_rate=doc["market_env"]["finance"]["eur_usd_fx_rate"]["value"],
        channels={c["channel_id"]: c for c in doc["ads_channels"]},
        insurances=tuple(doc["insurances"]),
        premiums={i["insurer_id"]: i["annual_premium_eur"] for i in doc["insurances"]},
        doc=doc)


def read_variables(path: Path) -> tuple[Variable, ...]:
    return tuple(variable_from_record(r) for r in _json(path))


def read_variables_report(path: Path) -> VariablesReport:
    doc = _json(path)
    return VariablesReport(doc["grid_size"], doc["replicates"], doc["simulations_per_run"],
                           doc["blocks"], doc["samples"], doc["seeds"],
                           tuple(doc.get("overrides", [])), doc)


def read_cost_rows(path: Path) -> PublicCostRows:
    doc = _json(path)
    return PublicCostRows(tuple(CostRow(**r) for r in doc["rows"]), doc["eur_usd_fx_rate"],
                          doc["fx_buffer_pct"], doc)


def read_price_card(path: Path) -> PriceCard:
    doc = _json(path)
    return PriceCard(doc["blended_sell_eur_per_1k"], doc["blended_cost_eur_per_1M"],
                     tuple(doc["public_models"]), tuple(doc["private_only"]),
                     tuple(doc["warnings"]), doc)


def read_demand_summary(path: Path) -> DemandSummary:
    doc = _json(path)
    grid = tuple(DemandGridPoint(key, tuple(info["expected"]["tokens_demanded"]),
                                 info["percentile_tokens_demanded"])
                 for key, info in sorted(doc["grid"].items(), key=lambda kv: int(kv[0])))
    return DemandSummary(doc["months"], doc["horizon_months"], grid, doc)


def read_clients_summary(path: Path) -> ClientsSummary:
    doc = _json(path)
    return ClientsSummary(doc["months"], doc["horizon_months"], doc)


def read_private_offers(path: Path) -> PrivateOffers:
    doc = _json(path)
    return PrivateOffers(tuple(ProviderOffer(**o) for o in doc["offers"]), doc["medians"])


def read_private_pricing(path: Path) -> PrivatePricing:
    doc = _json(path)
    def margins(classes):
        return {gpu: ClassMargin(c["margin_vendor_pct"], c["margin_pct_vs_median"])
                for gpu, c in classes.items()}

    return PrivatePricing(margins(doc["classes"]), doc,
                          {int(g): margins(c) for g, c in doc.get("grid_margins", {}).items()})


def read_expected(path: Path) -> ExpectedPaths:
    doc = _json(path)
    return ExpectedPaths(doc["horizon_months"], {
        int(g): {k: np.array(v, dtype=float) for k, v in series.items()}
        for g, series in doc["grid"].items()})


def read_consolidated_summary(path: Path) -> ConsolidatedSummary:
    doc = _json(path)
    return ConsolidatedSummary(doc["horizon_months"], doc["term_months"],
                               {int(g): s["cash_buffer_eur"] for g, s in doc["grid"].items()},
                               doc)


def read_csv_rows(path: Path) -> list[dict[str, str]]:
    with path.open(encoding="utf-8", newline="") as fh:
        return list(csv.DictReader(fh))


def read_parquet_rows(path: Path) -> list[dict[str, Any]]:
    return pq.read_table(path).to_pylist()


def read_parquet_columns(path: Path) -> dict[str, np.ndarray]:
    # numpy columns, not Python lists (≈ 4× the memory at a million samples)
    table = pq.read_table(path)
    return {name: table.column(name).to_numpy() for name in table.column_names}


# --- the table -----------------------------------------------------------------------------------


@dataclass(frozen=True)
class Entry:
    name: str
    path: str  # template with {inputs} / {out}, or a project path for code
    format: str  # json, csv, parquet, markdown, png-dir, text, dir, python, html, xlsx
    type: Any = None  # what ``read`` returns (None: nobody reads it)
    read: Callable[[Path], Any] | None = field(default=None, repr=False)


def _e(name: str, path: str, fmt: str, typ: Any = None, read: Callable | None = None) -> Entry:
    return Entry(name, path, fmt, typ, read)


def _csv(name: str, path: str, read: bool = True) -> Entry:
    return _e(name, path, "csv", list[dict[str, str]], read_csv_rows if read else None)


V, OUT, S = "{out}/validated", "{out}", "{out}/samples"
ENTRIES: tuple[Entry, ...] = (
    _e("inputs", "{inputs}", "dir"),
    # validate
    _e("plan", f"{V}/plan.json", "json", ResolvedPlan, read_plan),
    _e("operator_general", f"{V}/operator_general.json", "json", GeneralOperator,
       _operator("general")),
    _e("operator_public_tap", f"{V}/operator_public_tap.json", "json", PublicOperator,
       _operator("public_tap")),
    _e("operator_private_tap", f"{V}/operator_private_tap.json", "json", PrivateOperator,
       _operator("private_tap")),
    _e("gpu_catalog", f"{V}/catalog.json", "json", Catalog,
       lambda p: catalog_from_document(_json(p))),
    _e("market", f"{V}/market.json", "json", Market, read_market),
    _e("variables", f"{V}/variables.json", "json", tuple[Variable, ...], read_variables),
    _csv("gpu_offers", f"{V}/gpu_offers.csv", read=False),
    _e("validation_report", f"{V}/validation_report.json", "json", dict, _json),
    # variables
    _csv("variable_draws", f"{OUT}/variable_draws.csv", read=False),
    _e("blocks", f"{S}/blocks.parquet", "parquet", list[dict[str, Any]], read_parquet_rows),
    _e("variables_report", f"{OUT}/logs/variables.json", "json", VariablesReport,
       read_variables_report),
    # public_gpu_costs
    _csv("public_vendor_choice", f"{OUT}/public_vendor_choice.csv"),
    _csv("public_gpu_costs", f"{OUT}/public_tap_gpu_costs.csv", read=False),
    _e("public_cost_rows", f"{OUT}/intermediate/public_cost_rows.json", "json", PublicCostRows,
       read_cost_rows),
    # public_pricing
    _csv("public_prices", f"{OUT}/public_tap_prices_per_model.csv"),
    _e("public_price_card", f"{OUT}/intermediate/public_price_card.json", "json", PriceCard,
       read_price_card),
    # public_demand
    _csv("public_customers_by_month", f"{OUT}/public_tap_customers_by_month.csv"),
    _csv("public_scenarios", f"{OUT}/public_tap_scenarios.csv"),
    _e("public_demand", f"{OUT}/intermediate/public_demand.json", "json", DemandSummary,
       read_demand_summary),
    _e("public_demand_samples", f"{S}/public_demand.parquet", "parquet", SampleSeries,
       SampleSeries),
    # public_capacity
    _csv("public_capacity_plan", f"{OUT}/public_tap_capacity_plan.csv"),
    _csv("public_autoscaling_kpis", f"{OUT}/public_tap_autoscaling_kpis.csv"),
    _csv("public_scaling_events", f"{OUT}/public_tap_scaling_events.csv"),
    _csv("public_capacity_by_month", f"{OUT}/public_tap_capacity_by_month.csv"),
    _csv("public_unserved_by_month", f"{OUT}/public_tap_unserved_by_month.csv"),
    _csv("public_margin_by_model", f"{OUT}/public_tap_margin_by_model.csv"),
    _e("public_capacity", f"{OUT}/intermediate/public_capacity.json", "json"),
    # private_provider_costs
    _csv("private_provider_costs", f"{OUT}/private_tap_provider_costs.csv", read=False),
    _e("private_offers", f"{OUT}/intermediate/private_offers.json", "json", PrivateOffers,
       read_private_offers),
    # private_pricing
    _csv("private_economics", f"{OUT}/private_tap_economics.csv"),
    _csv("private_vendor_recommendation", f"{OUT}/private_vendor_recommendation.csv"),
    _e("private_pricing", f"{OUT}/intermediate/private_pricing.json", "json", PrivatePricing,
       read_private_pricing),
    # private_clients
    _csv("private_customers_by_month", f"{OUT}/private_tap_customers_by_month.csv", read=False),
    _e("private_clients", f"{OUT}/intermediate/private_clients.json", "json", ClientsSummary,
       read_clients_summary),
    _e("private_clients_samples", f"{S}/private_clients.parquet", "parquet", SampleSeries,
       SampleSeries),
    # consolidate
    _csv("pnl_by_month", f"{OUT}/pnl_by_month.csv"),
    _csv("pnl_by_year", f"{OUT}/pnl_by_year.csv"),
    _csv("cashflow_by_month", f"{OUT}/cashflow_by_month.csv"),
    _csv("vat_set_aside", f"{OUT}/vat_set_aside.csv"),
    _csv("balance_sheet_by_month", f"{OUT}/balance_sheet_by_month.csv"),
    _csv("loan_schedule", f"{OUT}/loan_schedule.csv"),
    _csv("break_even_targets", f"{OUT}/break_even_targets.csv"),
    _csv("consolidated_kpis", f"{OUT}/consolidated_kpis.csv"),
    _e("consolidated_summary", f"{OUT}/consolidated_summary.json", "json", ConsolidatedSummary,
       read_consolidated_summary),
    _e("consolidated_summary_md", f"{OUT}/consolidated_summary.md", "markdown"),
    _e("consolidated_expected", f"{OUT}/intermediate/consolidated_expected.json", "json",
       ExpectedPaths, read_expected),
    _e("consolidated_sample_kpis", f"{S}/consolidated_kpis.parquet", "parquet",
       dict[str, list], read_parquet_columns),
    _e("metrics", f"{OUT}/metrics.json", "json"),
    _csv("plot_revenue", f"{OUT}/plots/revenue.csv"),
    _csv("plot_cash", f"{OUT}/plots/free_cash.csv"),
    _csv("plot_dscr", f"{OUT}/plots/dscr_t12.csv"),
    _csv("plot_customers", f"{OUT}/plots/active_customers.csv", read=False),
    # acceptance
    _e("acceptance", f"{OUT}/acceptance.json", "json", dict, _json),
    # sensitivity
    _csv("sensitivity_tornado", f"{OUT}/sensitivity_tornado.csv"),
    _csv("sensitivity_sobol", f"{OUT}/sensitivity_sobol.csv"),
    _csv("sensitivity_ranks", f"{OUT}/sensitivity_rank_correlation.csv"),
    _csv("sensitivity_convergence", f"{OUT}/sensitivity_convergence.csv"),
    _e("sensitivity_summary", f"{OUT}/sensitivity_summary.json", "json", dict, _json),
    _e("sensitivity_charts", f"{OUT}/sensitivity_charts", "png-dir"),
    _csv("plot_tornado", f"{OUT}/plots/tornado.csv", read=False),
    # solve
    _csv("solve_candidates", f"{OUT}/solve_candidates.csv"),
    _e("solve_best", f"{OUT}/solve_best.json", "json", dict, _json),
    # report
    _e("financial_plan", f"{OUT}/financial_plan_v3.md", "markdown"),
    _e("charts", f"{OUT}/charts", "png-dir"),
    # report_exports
    _e("report_html", f"{OUT}/financial_plan_v3.html", "html"),
    _e("report_workbook", f"{OUT}/financial_plan_v3.xlsx", "xlsx"),
    # summary
    _e("run_summary", f"{OUT}/run_summary.json", "json"),
    _e("run_summary_md", f"{OUT}/run_summary.md", "markdown"),
    _e("sha256sums", f"{OUT}/SHA256SUMS", "text"),
)
CATALOG: dict[str, Entry] = {e.name: e for e in ENTRIES}
assert len(CATALOG) == len(ENTRIES), "catalog names must be unique"
assert len({e.path for e in ENTRIES}) == len(ENTRIES), "one name per path"


def code(path: str) -> str:
    """The catalog name of a code dep (a module or package path in the project)."""
    return f"{CODE_PREFIX}{path}"


def entry(name: str) -> Entry:
    if name.startswith(CODE_PREFIX):
        return Entry(name, name.removeprefix(CODE_PREFIX), "python")
    return CATALOG[name]


def path_template(name: str) -> str:
    return entry(name).path


def read(name: str, path: Path) -> Any:
    """The typed object of artefact ``name`` stored at ``path``."""
    reader = entry(name).read
    if reader is None:
        raise KeyError(f"catalog entry {name!r} has no reader (no stage reads it)")
    return reader(path)
