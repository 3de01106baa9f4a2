"""The one registry of pipeline stages: names → deps, params, outs.

``dvc.yaml`` is generated from this table (``python -m d3.registry > dvc.yaml``; a test fails if
the committed file differs), the stage modules look their paths up here, and ``d3 run`` executes
the same stages in-process with ``{inputs}``, ``{out}`` and ``{params}`` bound to its arguments.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path

from d3.io.yaml12 import parse_yaml_text

PROJECT_ROOT = Path(__file__).resolve().parents[1]
DVC_ROOTS = {"inputs": "inputs", "out": "outputs", "params": "params.yaml"}
OPERATOR_YAMLS = tuple(f"{{inputs}}/operator/{s}.yaml" for s in ("general", "public_tap",
                                                                  "private_tap"))


@dataclass(frozen=True)
class ParamsRef:
    """Params read from one YAML file; ``keys=None`` means the whole file."""

    file: str
    keys: tuple[str, ...] | None = None


@dataclass(frozen=True)
class Stage:
    name: str
    deps: dict[str, str]
    outs: dict[str, str]
    params: tuple[ParamsRef, ...] = ()
    outs_no_cache: dict[str, str] = field(default_factory=dict)
    desc: str = ""
    pipeline: str | None = None  # "public" / "private": skipped when that line is not run

    @property
    def module(self) -> str:
        return f"stages.{self.name}"

    @property
    def code_deps(self) -> tuple[str, ...]:
        return ("d3", f"stages/{self.name}.py")

    @property
    def data_deps(self) -> tuple[str, ...]:
        """Deps other than the code (the summary lists stage modules among its deps)."""
        return tuple(d for d in self.deps.values() if d not in self.code_deps)

    def param_keys(self, file: str = "{params}") -> tuple[str, ...]:
        for ref in self.params:
            if ref.file == file:
                return ref.keys or ()
        return ()


@dataclass(frozen=True)
class Roots:
    inputs: Path
    out: Path
    params: Path

    def resolve(self, template: str) -> Path:
        """A path template on disk; code paths (no placeholder) live in the project root."""
        if "{" not in template:
            return PROJECT_ROOT / template
        return Path(template.format(inputs=self.inputs, out=self.out, params=self.params))

    @classmethod
    def dvc(cls) -> Roots:
        return cls(Path(DVC_ROOTS["inputs"]), Path(DVC_ROOTS["out"]), Path(DVC_ROOTS["params"]))


VALIDATED = {
    "plan": "{out}/validated/plan.json",
    "general": "{out}/validated/operator_general.json",
    "public_tap": "{out}/validated/operator_public_tap.json",
    "private_tap": "{out}/validated/operator_private_tap.json",
    "catalog": "{out}/validated/catalog.json",
    "market": "{out}/validated/market.json",
    "variables": "{out}/validated/variables.json",
    "gpu_offers": "{out}/validated/gpu_offers.csv",
    "report": "{out}/validated/validation_report.json",
    # Apart from the report: a comment-only edit changes only these hashes, and only the
    # summary reads them, so DVC reruns nothing else.
    "inputs_sha256": "{out}/validated/inputs_sha256.json",
}

STAGES: tuple[Stage, ...] = (
    Stage(
        name="validate",
        desc="Validate every input file; write normalised inputs and the resolved plan.",
        deps={"inputs": "{inputs}"},
        params=(ParamsRef("{params}"), *(ParamsRef(f) for f in OPERATOR_YAMLS)),
        outs=dict(VALIDATED),
    ),
    Stage(
        name="variables",
        desc="Expand the run grid and replicates; draw random variables; write the transcript.",
        deps={k: VALIDATED[k] for k in ("variables", "general", "public_tap", "private_tap")},
        params=(
            ParamsRef("{params}", (
                "run.random_seed", "run.random_runs_per_simulation", "run.chunk_blocks",
                "stochastic.random_seed", "stochastic.simulations_per_run",
            )),
        ),
        outs={
            "variable_draws": "{out}/variable_draws.csv",
            "blocks": "{out}/samples/blocks.parquet",
            "report": "{out}/logs/variables.json",
        },
    ),
    Stage(
        name="public_gpu_costs",
        pipeline="public",
        desc="Public Tap: EUR/hr per GPU class, vendor choice, throughput, cost per 1M tokens.",
        deps={k: VALIDATED[k] for k in ("catalog", "public_tap", "market", "variables")},
        outs={
            "vendor_choice": "{out}/public_vendor_choice.csv",
            "gpu_costs": "{out}/public_tap_gpu_costs.csv",
            "cost_rows": "{out}/intermediate/public_cost_rows.json",
        },
    ),
    Stage(
        name="public_pricing",
        pipeline="public",
        desc="Public Tap: sell price per model (margin, round up, floor/cap), p90 stress, blend.",
        deps={"cost_rows": "{out}/intermediate/public_cost_rows.json",
              "public_tap": VALIDATED["public_tap"], "variables": VALIDATED["variables"],
              "general": VALIDATED["general"], "market": VALIDATED["market"]},
        params=(ParamsRef("{params}", ("stress.provider_price_drift_pct",
                                       "stress.tps_downshift_pct", "stress.fx_widen_buffer_pct",
                                       "targets.horizon_months")),),
        outs={
            "prices": "{out}/public_tap_prices_per_model.csv",
            "price_card": "{out}/intermediate/public_price_card.json",
        },
    ),
    Stage(
        name="public_demand",
        pipeline="public",
        desc="Public Tap: budget, CAC, customers, tokens and prepaid credits per sample and month.",
        deps={
            "blocks": "{out}/samples/blocks.parquet",
            "variables_report": "{out}/logs/variables.json",
            "variables": VALIDATED["variables"],
            "public_tap": VALIDATED["public_tap"],
            "general": VALIDATED["general"],
            "market": VALIDATED["market"],
            "cost_rows": "{out}/intermediate/public_cost_rows.json",
        },
        params=(ParamsRef("{params}", (
            "targets.horizon_months", "stochastic.simulations_per_run",
            "stochastic.percentiles", "stochastic.outcome_noise", "run.chunk_blocks",
            "scenarios",
        )),),
        outs={
            "customers_by_month": "{out}/public_tap_customers_by_month.csv",
            "scenarios": "{out}/public_tap_scenarios.csv",
            "summary": "{out}/intermediate/public_demand.json",
            "samples": "{out}/samples/public_demand.parquet",
        },
    ),
    Stage(
        name="public_capacity",
        pipeline="public",
        desc="Public Tap: hourly demand, peak, replicas, GPU COGS per sample; autoscaler runs.",
        deps={
            "demand_samples": "{out}/samples/public_demand.parquet",
            "demand_summary": "{out}/intermediate/public_demand.json",
            "blocks": "{out}/samples/blocks.parquet",
            "variables_report": "{out}/logs/variables.json",
            "variables": VALIDATED["variables"],
            "public_tap": VALIDATED["public_tap"],
            "general": VALIDATED["general"],
            "market": VALIDATED["market"],
            "cost_rows": "{out}/intermediate/public_cost_rows.json",
        },
        params=(ParamsRef("{params}", ("targets.autoscaling_util_tolerance_pct",)),),
        outs={
            "plan": "{out}/public_tap_capacity_plan.csv",
            "kpis": "{out}/public_tap_autoscaling_kpis.csv",
            "events": "{out}/public_tap_scaling_events.csv",
            "by_month": "{out}/public_tap_capacity_by_month.csv",
            "unserved": "{out}/public_tap_unserved_by_month.csv",
            "margin_by_model": "{out}/public_tap_margin_by_model.csv",
            "summary": "{out}/intermediate/public_capacity.json",
        },
    ),
    Stage(
        name="private_provider_costs",
        desc="Private Tap: EUR/hr per provider and GPU class (private FX buffer), class median.",
        pipeline="private",
        deps={k: VALIDATED[k] for k in ("catalog", "market", "private_tap")},
        outs={
            "provider_costs": "{out}/private_tap_provider_costs.csv",
            "offers": "{out}/intermediate/private_offers.json",
        },
    ),
    Stage(
        name="private_pricing",
        desc="Private Tap: sell EUR/hr at markup over the median, fees, recommended vendor.",
        pipeline="private",
        deps={"offers": "{out}/intermediate/private_offers.json",
              "private_tap": VALIDATED["private_tap"], "variables": VALIDATED["variables"]},
        outs={
            "economics": "{out}/private_tap_economics.csv",
            "vendors": "{out}/private_vendor_recommendation.csv",
            "summary": "{out}/intermediate/private_pricing.json",
        },
    ),
    Stage(
        name="private_clients",
        desc="Private Tap: clients, GPU-hours, revenue and COGS per sample and month.",
        pipeline="private",
        deps={
            "blocks": "{out}/samples/blocks.parquet",
            "variables_report": "{out}/logs/variables.json",
            "variables": VALIDATED["variables"],
            "private_tap": VALIDATED["private_tap"],
            "general": VALIDATED["general"],
            "market": VALIDATED["market"],
            "offers": "{out}/intermediate/private_offers.json",
        },
        params=(ParamsRef("{params}", (
            "targets.horizon_months", "stochastic.simulations_per_run",
            "stochastic.percentiles", "stochastic.outcome_noise", "run.chunk_blocks",
        )),),
        outs={
            "customers_by_month": "{out}/private_tap_customers_by_month.csv",
            "summary": "{out}/intermediate/private_clients.json",
            "samples": "{out}/samples/private_clients.parquet",
        },
    ),
    Stage(
        name="consolidate",
        desc="P&L, cashflow, loan, VAT, DSCR and KPIs per sample; percentiles; covenants.",
        deps={
            "public_samples": "{out}/samples/public_demand.parquet",
            "private_samples": "{out}/samples/private_clients.parquet",
            "public_summary": "{out}/intermediate/public_demand.json",
            "autoscaling_kpis": "{out}/public_tap_autoscaling_kpis.csv",
            "private_summary": "{out}/intermediate/private_clients.json",
            "public_prices": "{out}/intermediate/public_price_card.json",
            "private_pricing": "{out}/intermediate/private_pricing.json",
            "blocks": "{out}/samples/blocks.parquet",
            "variables_report": "{out}/logs/variables.json",
            "variables": VALIDATED["variables"],
            "general": VALIDATED["general"],
            "market": VALIDATED["market"],
        },
        params=(ParamsRef("{params}", (
            "targets.horizon_months", "targets.min_dscr", "stochastic.percentiles",
            "consolidation.overhead_allocation_driver", "run.pipelines",
        )),),
        outs={
            "pnl": "{out}/pnl_by_month.csv",
            "pnl_by_year": "{out}/pnl_by_year.csv",
            "cashflow": "{out}/cashflow_by_month.csv",
            "vat": "{out}/vat_set_aside.csv",
            "balance_sheet": "{out}/balance_sheet_by_month.csv",
            "loan": "{out}/loan_schedule.csv",
            "break_even": "{out}/break_even_targets.csv",
            "kpis": "{out}/consolidated_kpis.csv",
            "summary_json": "{out}/consolidated_summary.json",
            "summary_md": "{out}/consolidated_summary.md",
            "expected": "{out}/intermediate/consolidated_expected.json",
            "sample_kpis": "{out}/samples/consolidated_kpis.parquet",
        },
        outs_no_cache={
            "metrics": "{out}/metrics.json",
            "plot_revenue": "{out}/plots/revenue.csv",
            "plot_cash": "{out}/plots/free_cash.csv",
            "plot_dscr": "{out}/plots/dscr_t12.csv",
            "plot_customers": "{out}/plots/active_customers.csv",
        },
    ),
    Stage(
        name="acceptance",
        desc="Acceptance criteria on the expected path and as probabilities over samples.",
        deps={
            "expected": "{out}/intermediate/consolidated_expected.json",
            "sample_kpis": "{out}/samples/consolidated_kpis.parquet",
            "public_samples": "{out}/samples/public_demand.parquet",
            "private_samples": "{out}/samples/private_clients.parquet",
            "autoscaling_kpis": "{out}/public_tap_autoscaling_kpis.csv",
            "private_pricing": "{out}/intermediate/private_pricing.json",
            "public_tap": VALIDATED["public_tap"],
            "general": VALIDATED["general"],
        },
        params=(ParamsRef("{params}", (
            "targets", "run.pipelines", "run.fail_on_warning",
        )),),
        outs={},
        outs_no_cache={"acceptance": "{out}/acceptance.json"},
    ),
    Stage(
        name="report",
        desc="The lender-facing report financial_plan_v3.md and its charts.",
        deps={
            "plan": VALIDATED["plan"], "validation": VALIDATED["report"],
            "public_tap": VALIDATED["public_tap"], "market": VALIDATED["market"],
            "catalog": VALIDATED["catalog"], "general": VALIDATED["general"],
            "private_tap": VALIDATED["private_tap"],
            "variables_report": "{out}/logs/variables.json",
            "summary": "{out}/consolidated_summary.json", "kpis": "{out}/consolidated_kpis.csv",
            "acceptance": "{out}/acceptance.json",
            "vendor_choice": "{out}/public_vendor_choice.csv",
            "prices": "{out}/public_tap_prices_per_model.csv",
            "price_card": "{out}/intermediate/public_price_card.json",
            "scenarios": "{out}/public_tap_scenarios.csv",
            "public_customers": "{out}/public_tap_customers_by_month.csv",
            "autoscaling": "{out}/public_tap_autoscaling_kpis.csv",
            "events": "{out}/public_tap_scaling_events.csv",
            "capacity_plan": "{out}/public_tap_capacity_plan.csv",
            "capacity_by_month": "{out}/public_tap_capacity_by_month.csv",
            "economics": "{out}/private_tap_economics.csv",
            "vendors": "{out}/private_vendor_recommendation.csv",
            "pnl": "{out}/pnl_by_month.csv", "cashflow": "{out}/cashflow_by_month.csv",
            "pnl_by_year": "{out}/pnl_by_year.csv",
            "balance_sheet": "{out}/balance_sheet_by_month.csv",
            "unserved": "{out}/public_tap_unserved_by_month.csv",
            "margin_by_model": "{out}/public_tap_margin_by_model.csv",
            "vat": "{out}/vat_set_aside.csv", "loan": "{out}/loan_schedule.csv",
            "break_even": "{out}/break_even_targets.csv",
            "plot_revenue": "{out}/plots/revenue.csv",
            "plot_free_cash": "{out}/plots/free_cash.csv",
            "plot_dscr_t12": "{out}/plots/dscr_t12.csv",
        },
        outs={"report": "{out}/financial_plan_v3.md", "charts": "{out}/charts"},
    ),
)


SUMMARY_READS = {
    "validation_report": VALIDATED["report"],
    "inputs_sha256": VALIDATED["inputs_sha256"],
    "plan": VALIDATED["plan"],
    "variables_report": "{out}/logs/variables.json",
    "public_costs": "{out}/intermediate/public_cost_rows.json",
    "public_prices": "{out}/intermediate/public_price_card.json",
    "acceptance": "{out}/acceptance.json",
}


def _upstream(stages: tuple[Stage, ...]) -> dict[str, str]:
    """The summary's deps: what it reads, then every other dep, out and stage module upstream
    (it records their DVC md5 and hashes every artefact)."""
    deps = dict(SUMMARY_READS)
    seen = set(deps.values())
    for st in stages:
        for template in (f"stages/{st.name}.py", *st.deps.values(), *st.outs.values(),
                         *st.outs_no_cache.values()):
            if template not in seen:
                seen.add(template)
                deps[f"upstream_{len(deps)}"] = template
    return deps


STAGES = (*STAGES, Stage(
    name="summary",
    desc="Run summary (seeds, input hashes, DVC md5 of upstream stages, warnings) and "
         "SHA256SUMS of every artefact.",
    deps=_upstream(STAGES),
    outs={"run_summary_json": "{out}/run_summary.json", "run_summary_md": "{out}/run_summary.md",
          "sha256sums": "{out}/SHA256SUMS"},
))

STAGE_BY_NAME = {s.name: s for s in STAGES}
METRICS = "{out}/metrics.json"
PLOTS = (
    ("{out}/plots/revenue.csv", "Monthly revenue, EUR (grid point 0, p10/p50/p90)"),
    ("{out}/plots/closing_cash.csv", "Closing cash, EUR (grid point 0, p10/p50/p90)"),
    ("{out}/plots/dscr_t12.csv", "Trailing-12-month DSCR (grid point 0, p10/p50/p90)"),
    ("{out}/plots/active_customers.csv", "Public active customers (grid point 0)"),
)


def _dvc_path(template: str) -> str:
    return template.format(**DVC_ROOTS)


def dvc_stage_dict(stage: Stage) -> dict:
    params: list = []
    for ref in stage.params:
        file = _dvc_path(ref.file)
        if file == DVC_ROOTS["params"] and ref.keys is not None:
            params.extend(ref.keys)
        else:
            params.append({file: list(ref.keys) if ref.keys is not None else None})
    out: dict = {"cmd": f"python -m {stage.module}", "desc": stage.desc,
                 "deps": [*stage.code_deps, *(_dvc_path(d) for d in stage.data_deps)]}
    if params:
        out["params"] = params
    out["outs"] = [_dvc_path(o) for o in stage.outs.values()] + [
        {_dvc_path(o): {"cache": False}} for o in stage.outs_no_cache.values()
    ]
    return out


def dvc_yaml_text() -> str:
    """The full ``dvc.yaml`` for :data:`STAGES` (deterministic text, stable key order)."""
    lines = ["# Generated from d3/registry.py by `python -m d3.registry > dvc.yaml`; do not edit.",
             "stages:"]
    for stage in STAGES:
        d = dvc_stage_dict(stage)
        desc = json.dumps(d["desc"], ensure_ascii=False)
        lines += [f"  {stage.name}:", f"    desc: {desc}", f"    cmd: {d['cmd']}", "    deps:"]
        lines += [f"      - {dep}" for dep in d["deps"]]
        if "params" in d:
            lines.append("    params:")
            for p in d["params"]:
                if isinstance(p, str):
                    lines.append(f"      - {p}")
                else:
                    ((file, keys),) = p.items()
                    if keys is None:
                        lines.append(f"      - {file}:")
                    else:
                        lines.append(f"      - {file}:")
                        lines += [f"          - {k}" for k in keys]
        lines.append("    outs:")
        for o in d["outs"]:
            if isinstance(o, str):
                lines.append(f"      - {o}")
            else:
                ((path, opts),) = o.items()
                lines.append(f"      - {path}:")
                lines += [f"          {k}: {str(v).lower()}" for k, v in opts.items()]
    lines += ["metrics:", f"  - {_dvc_path(METRICS)}", "plots:"]
    for template, title in PLOTS:
        lines += [f"  - {_dvc_path(template)}:", f"      title: {json.dumps(title)}",
                  "      x: month", "      y: [p10, p50, p90]"]
    text = "\n".join(lines) + "\n"
    parse_yaml_text(text)  # must stay valid YAML
    return text


if __name__ == "__main__":
    import sys

    sys.stdout.write(dvc_yaml_text())
