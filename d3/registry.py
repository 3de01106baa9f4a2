"""The one registry of pipeline stages: names → deps, params, outs.

Deps and outs are artefact names of :mod:`d3.catalog`, which holds their paths, formats and
typed readers. ``dvc.yaml`` is generated from this table (``python -m d3.registry > dvc.yaml``;
a test fails if the committed file differs), the stage modules read their deps through
``StageIO.load(name)``, and ``d3 run`` executes the same stages in-process with ``{inputs}``,
``{out}`` and ``{params}`` bound to its arguments (tests/test_catalog.py proves they agree).
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

from d3.catalog import code, path_template
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
    """A stage's deps and outs are catalog names (:mod:`d3.catalog`): paths come from there."""

    name: str
    deps: tuple[str, ...]
    outs: tuple[str, ...]
    params: tuple[ParamsRef, ...] = ()
    outs_no_cache: tuple[str, ...] = ()
    desc: str = ""
    pipeline: str | None = None  # "public" / "private": skipped when that line is not run

    @property
    def module(self) -> str:
        return f"stages.{self.name}"

    @property
    def code_deps(self) -> tuple[str, ...]:
        return ("d3", f"stages/{self.name}.py")

    @property
    def dep_paths(self) -> tuple[str, ...]:
        return tuple(path_template(d) for d in self.deps)

    @property
    def out_paths(self) -> tuple[str, ...]:
        """Path templates of every out, cached or not."""
        return tuple(path_template(o) for o in (*self.outs, *self.outs_no_cache))

    @property
    def data_deps(self) -> tuple[str, ...]:
        """Dep paths other than the code (the summary lists stage modules among its deps)."""
        return tuple(d for d in self.dep_paths if d not in self.code_deps)

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


# Apart from the report: a comment-only edit changes only inputs_sha256, and only the summary
# reads it, so DVC reruns nothing else.
VALIDATED = ("plan", "operator_general", "operator_public_tap", "operator_private_tap",
             "gpu_catalog", "market", "variables", "gpu_offers", "validation_report",
             "inputs_sha256")
OPERATORS = ("operator_general", "operator_public_tap", "operator_private_tap")
VALIDATED_DOCS = ("plan", *OPERATORS, "gpu_catalog", "market", "variables")
# The CSV tables of the report, one workbook sheet each in this order (the lender's reading
# order: KPIs, statements, loan, then each line's detail). Left out: the per-event scaling log
# (one row per event: it can outgrow a sheet's 1,048,576 rows) and the inputs' own tables.
WORKBOOK_TABLES = (
    "consolidated_kpis", "pnl_by_year", "pnl_by_month", "cashflow_by_month",
    "balance_sheet_by_month", "loan_schedule", "break_even_targets", "vat_set_aside",
    "public_prices", "public_vendor_choice", "public_scenarios", "public_customers_by_month",
    "public_capacity_plan", "public_capacity_by_month", "public_unserved_by_month",
    "public_margin_by_model", "public_autoscaling_kpis", "private_economics",
    "private_vendor_recommendation", "private_customers_by_month",
)

STAGES: tuple[Stage, ...] = (
    Stage(
        name="validate",
        desc="Validate every input file; write normalised inputs and the resolved plan.",
        deps=("inputs",),
        params=(ParamsRef("{params}"), *(ParamsRef(f) for f in OPERATOR_YAMLS)),
        outs=VALIDATED,
    ),
    Stage(
        name="variables",
        desc="Expand the run grid and replicates; draw random variables; write the transcript.",
        deps=("variables", *OPERATORS),
        params=(
            ParamsRef("{params}", (
                "run.random_seed", "run.random_runs_per_simulation", "run.chunk_blocks",
                "stochastic.random_seed", "stochastic.simulations_per_run",
                "stochastic.sampling",
            )),
        ),
        outs=("variable_draws", "blocks", "variables_report"),
    ),
    Stage(
        name="public_gpu_costs",
        pipeline="public",
        desc="Public Tap: EUR/hr per GPU class, vendor choice, throughput, cost per 1M tokens.",
        deps=("gpu_catalog", "operator_public_tap", "market", "variables"),
        outs=("public_vendor_choice", "public_gpu_costs", "public_cost_rows"),
    ),
    Stage(
        name="public_pricing",
        pipeline="public",
        desc="Public Tap: sell price per model (margin, round up, floor/cap), p90 stress, blend.",
        deps=("public_cost_rows", "operator_public_tap", "variables", "operator_general",
              "market"),
        params=(ParamsRef("{params}", ("stress.provider_price_drift_pct",
                                       "stress.tps_downshift_pct", "stress.fx_widen_buffer_pct",
                                       "targets.horizon_months")),),
        outs=("public_prices", "public_price_card"),
    ),
    Stage(
        name="public_demand",
        pipeline="public",
        desc="Public Tap: budget, CAC, customers, tokens and prepaid credits per sample and month.",
        deps=("blocks", "variables_report", "variables", "operator_public_tap",
              "operator_general", "market", "public_cost_rows"),
        params=(ParamsRef("{params}", (
            "targets.horizon_months", "stochastic.simulations_per_run",
            "stochastic.percentiles", "stochastic.outcome_noise", "run.chunk_blocks",
            "scenarios",
        )),),
        outs=("public_customers_by_month", "public_scenarios", "public_demand",
              "public_demand_samples"),
    ),
    Stage(
        name="public_capacity",
        pipeline="public",
        desc="Public Tap: hourly demand, peak, replicas, GPU COGS per sample; autoscaler runs.",
        deps=("public_demand_samples", "public_demand", "blocks", "variables_report",
              "variables", "operator_public_tap", "operator_general", "market",
              "public_cost_rows"),
        params=(ParamsRef("{params}", ("targets.autoscaling_util_tolerance_pct",)),),
        outs=("public_capacity_plan", "public_autoscaling_kpis", "public_scaling_events",
              "public_capacity_by_month", "public_unserved_by_month", "public_margin_by_model",
              "public_capacity"),
    ),
    Stage(
        name="private_provider_costs",
        desc="Private Tap: EUR/hr per provider and GPU class (private FX buffer), class median.",
        pipeline="private",
        deps=("gpu_catalog", "market", "operator_private_tap"),
        outs=("private_provider_costs", "private_offers"),
    ),
    Stage(
        name="private_pricing",
        desc="Private Tap: sell EUR/hr at markup over the median, fees, recommended vendor.",
        pipeline="private",
        deps=("private_offers", "operator_private_tap", "variables"),
        outs=("private_economics", "private_vendor_recommendation", "private_pricing"),
    ),
    Stage(
        name="private_clients",
        desc="Private Tap: clients, GPU-hours, revenue and COGS per sample and month.",
        pipeline="private",
        deps=("blocks", "variables_report", "variables", "operator_private_tap",
              "operator_general", "market", "private_offers"),
        params=(ParamsRef("{params}", (
            "targets.horizon_months", "stochastic.simulations_per_run",
            "stochastic.percentiles", "stochastic.outcome_noise", "run.chunk_blocks",
        )),),
        outs=("private_customers_by_month", "private_clients", "private_clients_samples"),
    ),
    Stage(
        name="consolidate",
        desc="P&L, cashflow, loan, VAT, DSCR and KPIs per sample; percentiles; covenants.",
        deps=("public_demand_samples", "private_clients_samples", "public_demand",
              "public_autoscaling_kpis", "private_clients", "public_price_card",
              "private_pricing", "blocks", "variables_report", "variables", "operator_general",
              "market"),
        params=(ParamsRef("{params}", (
            "targets.horizon_months", "targets.min_dscr", "stochastic.percentiles",
            "consolidation.overhead_allocation_driver", "run.pipelines",
        )),),
        outs=("pnl_by_month", "pnl_by_year", "cashflow_by_month", "vat_set_aside",
              "balance_sheet_by_month", "loan_schedule", "break_even_targets",
              "consolidated_kpis", "consolidated_summary", "consolidated_summary_md",
              "consolidated_expected", "consolidated_sample_kpis"),
        outs_no_cache=("metrics", "plot_revenue", "plot_cash", "plot_dscr", "plot_customers"),
    ),
    Stage(
        name="acceptance",
        desc="Acceptance criteria on the expected path and as probabilities over samples.",
        deps=("consolidated_expected", "consolidated_sample_kpis", "public_demand_samples",
              "private_clients_samples", "public_autoscaling_kpis", "private_pricing",
              "operator_public_tap", "consolidated_summary"),
        params=(ParamsRef("{params}", (
            "targets", "run.pipelines", "run.fail_on_warning",
        )),),
        outs=(),
        outs_no_cache=("acceptance",),
    ),
    Stage(
        name="sensitivity",
        desc="What drives the result: tornado, Sobol indices, rank correlations, convergence.",
        # The model is rebuilt from the inputs tree (overrides are validated like the files),
        # but everything it uses is in the validated documents: depending on those, a
        # comment-only edit does not rerun the analysis.
        deps=(*VALIDATED_DOCS, "blocks", "consolidated_sample_kpis"),
        params=(ParamsRef("{params}", ("sensitivity",)),),
        outs=("sensitivity_tornado", "sensitivity_sobol", "sensitivity_ranks",
              "sensitivity_convergence", "sensitivity_summary", "sensitivity_charts"),
    ),
    Stage(
        name="solve",
        desc="What it takes: the fundable plan nearest to the founder's decisions (Optuna "
             "search, confirmed at the full sample count) and the dvc exp run command.",
        # Like the sensitivity stage: the model is rebuilt from the inputs tree, everything it
        # uses is in the validated documents (fixed_variables in variables.json).
        deps=VALIDATED_DOCS,
        params=(ParamsRef("{params}", ("solve",)),),
        outs=("solve_candidates", "solve_best"),
    ),
    Stage(
        name="report",
        desc="The lender-facing report financial_plan_v3.md and its charts.",
        deps=(
            "plan", "validation_report", "operator_public_tap", "market", "gpu_catalog",
            "operator_general", "operator_private_tap", "variables", "variables_report",
            "consolidated_summary", "consolidated_kpis", "acceptance", "public_vendor_choice",
            "public_prices", "public_price_card", "public_scenarios",
            "public_customers_by_month", "public_autoscaling_kpis",
            "public_capacity_plan", "public_capacity_by_month", "private_economics",
            "private_vendor_recommendation", "pnl_by_month", "cashflow_by_month", "pnl_by_year",
            "balance_sheet_by_month", "public_unserved_by_month", "public_margin_by_model",
            "vat_set_aside", "loan_schedule", "break_even_targets", "consolidated_sample_kpis",
            "sensitivity_tornado", "sensitivity_sobol", "sensitivity_ranks",
            "sensitivity_summary", "solve_best",
        ),
        outs=("financial_plan", "charts"),
    ),
    Stage(
        name="report_exports",
        desc="The report as one self-contained HTML page and its tables as an Excel workbook.",
        deps=("financial_plan", "charts", "sensitivity_charts", *WORKBOOK_TABLES, "market",
              "gpu_catalog", *OPERATORS),
        outs=("report_html", "report_workbook"),
    ),
)


SUMMARY_READS = ("validation_report", "inputs_sha256", "plan", "variables_report",
                 "public_cost_rows", "public_price_card", "acceptance")


def _upstream(stages: tuple[Stage, ...]) -> tuple[str, ...]:
    """The summary's deps: what it reads, then every other dep, out and stage module upstream
    (it records their DVC md5 and hashes every artefact)."""
    deps = list(SUMMARY_READS)
    for st in stages:
        for name in (code(f"stages/{st.name}.py"), *st.deps, *st.outs, *st.outs_no_cache):
            if name not in deps:
                deps.append(name)
    return tuple(deps)


STAGES = (*STAGES, Stage(
    name="summary",
    desc="Run summary (seeds, input hashes, DVC md5 of upstream stages, warnings) and "
         "SHA256SUMS of every artefact.",
    deps=_upstream(STAGES),
    outs=("run_summary", "run_summary_md", "sha256sums"),
))

STAGE_BY_NAME = {s.name: s for s in STAGES}
METRICS = path_template("metrics")
PLOTS = (
    ("{out}/plots/revenue.csv", "Monthly revenue, EUR (grid point 0, p10/p50/p90)"),
    ("{out}/plots/free_cash.csv", "Free cash, EUR (grid point 0, p10/p50/p90)"),
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
    out["outs"] = [_dvc_path(path_template(o)) for o in stage.outs] + [
        {_dvc_path(path_template(o)): {"cache": False}} for o in stage.outs_no_cache
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
