"""The one registry of pipeline stages: names → deps, params, outs.

Deps and outs are artefact names of :mod:`d3.catalog`, which holds their paths, formats and
typed readers. ``dvc.yaml`` is generated from this table (``python -m d3.registry > dvc.yaml``;
a test fails if the committed file differs), the stage modules read their deps through
``StageIO.load(name)``, and ``d3 run`` executes the same stages in-process with ``{inputs}``,
``{out}`` and ``{params}`` bound to its arguments (tests/test_catalog.py proves they agree).
"""

from __future__ import annotations

import ast
import json
from dataclasses import dataclass
from functools import cache
from pathlib import Path

from d3.catalog import path_template
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
    code_of: tuple[str, ...] = ()  # other stages whose code this one reads (the summary)
    # Written only on request (``--keep-samples``, ``D3_KEEP_SAMPLES=1``) for an audit, never
    # declared to DVC and never read by another stage: the lines' per-sample monthly series.
    audit_outs: tuple[str, ...] = ()

    @property
    def module(self) -> str:
        return f"stages.{self.name}"

    @property
    def code_deps(self) -> tuple[str, ...]:
        """The project code this stage runs: the module closure of ``stages/<name>.py`` (and
        of the ``code_of`` stages), sub-packages it mostly uses as one directory."""
        return code_dep_paths(tuple(sorted({f for m in (self.name, *self.code_of)
                                            for f in module_closure(f"stages.{m}")})))

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


# --- code deps: the modules a stage imports ----------------------------------------------------

CODE_PACKAGES = ("d3", "stages")
# A sub-package is listed as one directory when a stage imports at least this share of its
# modules: an edit to one of the others then reruns the stage needlessly, but every listed file
# is 4 lines of dvc.lock, which DVC re-parses (pure-Python YAML) after every stage it runs.
DIRECTORY_SHARE = 0.75


@cache
def module_file(module: str) -> Path | None:
    """The source file of a project module (``d3.core.runner`` → ``d3/core/runner.py``, a
    package → its ``__init__.py``); None for anything outside :data:`CODE_PACKAGES`."""
    if module.split(".")[0] not in CODE_PACKAGES:
        return None
    path = PROJECT_ROOT.joinpath(*module.split("."))
    for candidate in (path / "__init__.py", path.with_suffix(".py")):
        if candidate.is_file():
            return candidate
    return None


@cache  # the source does not change within a run; module_closure walks shared modules often
def imported_modules(path: Path, module: str) -> frozenset[str]:
    """Every module name an import statement of ``path`` may load, at any depth of the file
    (imports inside functions run too); ``from a import b`` names ``a`` and ``a.b`` (``b``
    may be a submodule). Relative imports are resolved against ``module``."""
    package = module if path.name == "__init__.py" else module.rpartition(".")[0]
    names: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"), str(path))):
        if isinstance(node, ast.Import):
            names.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                parent = package.rsplit(".", node.level - 1)[0] if node.level > 1 else package
                base = f"{parent}.{base}" if base else parent
            names.add(base)
            names.update(f"{base}.{alias.name}" for alias in node.names)
    return frozenset(names)


@cache
def module_closure(module: str) -> tuple[str, ...]:
    """Project paths (sorted, POSIX) of ``module`` and every project module it imports,
    transitively, with the ``__init__.py`` of each enclosing package (Python runs them first).
    Static: a module loaded by a computed name (``importlib.import_module(x)``) is not seen."""
    seen: set[str] = set()
    todo = [module]
    while todo:
        parts = todo.pop().split(".")
        for depth in range(1, len(parts) + 1):
            name = ".".join(parts[:depth])
            if name in seen or (path := module_file(name)) is None:
                continue
            seen.add(name)
            todo.extend(imported_modules(path, name))
    return tuple(sorted(module_file(m).relative_to(PROJECT_ROOT).as_posix() for m in seen))


@cache
def package_modules(directory: str) -> tuple[str, ...]:
    """Every ``.py`` file below ``directory`` (project-relative), sorted."""
    root = PROJECT_ROOT / directory
    return tuple(sorted(p.relative_to(PROJECT_ROOT).as_posix() for p in root.rglob("*.py")
                        if "__pycache__" not in p.parts))


@cache  # Stage.code_deps is a property: the summary asks for every stage's, many times
def code_dep_paths(files: tuple[str, ...], directory: str = "") -> tuple[str, ...]:
    """``files`` (project paths below ``directory``) as DVC deps: a sub-package becomes its
    directory when each of its own sub-packages did and ``files`` hold at least
    :data:`DIRECTORY_SHARE` of its modules; the top-level packages never do (they hold every
    stage's code)."""
    prefix = f"{directory}/" if directory else ""
    subdirs = sorted({f.removeprefix(prefix).split("/")[0] for f in files
                      if "/" in f.removeprefix(prefix)})
    deps = [f for f in files if f.rpartition("/")[0] == directory]
    for name in subdirs:
        sub = f"{prefix}{name}"
        inside = tuple(f for f in files if f.startswith(f"{sub}/"))
        listed = code_dep_paths(inside, sub)
        children_whole = all("/" not in d.removeprefix(f"{sub}/") for d in listed)
        mostly_used = len(inside) >= DIRECTORY_SHARE * len(package_modules(sub))
        deps.extend([sub] if directory and children_whole and mostly_used else listed)
    return tuple(deps)


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


# Normalised: a comment-only edit to an input changes none of them, so DVC reruns nothing
# after validate (issue 14).
VALIDATED = ("plan", "operator_general", "operator_public_tap", "operator_private_tap",
             "gpu_catalog", "market", "variables", "gpu_offers", "validation_report")
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
    "sensitivity_tornado", "sensitivity_sobol", "sensitivity_ranks", "sensitivity_convergence",
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
        desc="Public Tap: budget, CAC, customers, tokens and prepaid credits per sample and month; "
             "percentiles over samples, unserved tokens per model.",
        deps=("blocks", "variables_report", "variables", "operator_public_tap",
              "operator_general", "market", "public_cost_rows"),
        params=(ParamsRef("{params}", (
            "targets.horizon_months", "stochastic.simulations_per_run",
            "stochastic.percentiles", "stochastic.outcome_noise", "run.chunk_blocks",
            "stochastic.percentile_samples", "scenarios",
        )),),
        outs=("public_customers_by_month", "public_scenarios", "public_demand",
              "public_unserved_by_month"),
        audit_outs=("public_demand_samples",),
    ),
    Stage(
        name="public_capacity",
        pipeline="public",
        desc="Public Tap: hourly demand, peak and replicas on the p50 path; autoscaler runs.",
        deps=("public_demand", "blocks", "variables_report",
              "variables", "operator_public_tap", "operator_general", "market",
              "public_cost_rows"),
        params=(ParamsRef("{params}", ("targets.autoscaling_util_tolerance_pct",)),),
        outs=("public_capacity_plan", "public_autoscaling_kpis", "public_scaling_events",
              "public_capacity_by_month", "public_margin_by_model", "public_capacity"),
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
            "stochastic.percentile_samples",
        )),),
        outs=("private_customers_by_month", "private_clients"),
        audit_outs=("private_clients_samples",),
    ),
    Stage(
        name="consolidate",
        desc="P&L, cashflow, loan, VAT, DSCR and KPIs per sample; percentiles; covenants.",
        deps=("public_demand", "public_autoscaling_kpis", "private_clients",
              "public_price_card", "private_pricing", "blocks", "variables_report",
              "variables", "operator_general", "operator_public_tap", "operator_private_tap",
              "market", "public_cost_rows", "private_offers"),
        params=(ParamsRef("{params}", (
            "targets.horizon_months", "targets.min_dscr", "targets.public_growth_min_mom_pct",
            "stochastic.percentiles", "stochastic.simulations_per_run",
            "stochastic.outcome_noise", "stochastic.percentile_samples", "run.chunk_blocks",
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
        deps=("consolidated_expected", "consolidated_sample_kpis",
              "public_autoscaling_kpis", "private_pricing",
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
        outs_no_cache=("plot_tornado",),
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


RAW_INPUTS = ("inputs",)
SUMMARY_READS = ("validation_report", "plan", "variables_report",
                 "public_cost_rows", "public_price_card", "acceptance")


def _upstream(stages: tuple[Stage, ...]) -> tuple[str, ...]:
    """The summary's deps: what it reads, then every other dep and out upstream (it records
    their DVC md5 and hashes every artefact); the code deps of every stage come from
    ``code_of``."""
    deps = list(SUMMARY_READS)
    for st in stages:
        for name in (*st.deps, *st.outs, *st.outs_no_cache):
            # Not the raw inputs: the summary records the validated (normalised) inputs, so a
            # comment-only edit reruns validate alone; dvc.lock keeps the raw files' md5.
            if name not in deps and name not in RAW_INPUTS:
                deps.append(name)
    return tuple(deps)


STAGES = (*STAGES, Stage(
    name="summary",
    desc="Run summary (seeds, validated-input hashes, DVC md5 of upstream stages, warnings) and "
         "SHA256SUMS of every artefact.",
    deps=_upstream(STAGES),
    outs=("run_summary", "run_summary_md", "sha256sums"),
    code_of=tuple(st.name for st in STAGES),
))

STAGE_BY_NAME = {s.name: s for s in STAGES}
METRICS = path_template("metrics")


@dataclass(frozen=True)
class Plot:
    """A DVC plot: by default a percentile CSV (``month, p10, p50, p90``) drawn with the
    ``fan`` template (``.dvc/plots/fan.json``): p10–p90 band, p50 line, one colour per
    revision; ``x``/``y`` name the columns the template reads."""

    path: str  # a path template of an out
    title: str
    y_label: str
    x_label: str = "month"
    template: str = "fan"
    x: str = "month"
    y: str = "p50"


PLOTS = (
    Plot("{out}/plots/revenue.csv", "Monthly revenue, grid point 0: p10–p90 band, p50 line",
         "EUR"),
    Plot("{out}/plots/free_cash.csv", "Free cash, grid point 0: p10–p90 band, p50 line", "EUR"),
    Plot("{out}/plots/dscr_t12.csv",
         "Trailing-12-month DSCR, grid point 0: p10–p90 band, p50 line", "DSCR (×)"),
    Plot("{out}/plots/active_customers.csv",
         "Public Tap active customers, grid point 0: p10–p90 band, p50 line", "customers"),
    # The tornado of the p10 of the lowest free cash (.dvc/plots/tornado.json): a bar from the
    # output at each input's low end to its high end, inputs ranked by swing; `dvc plots diff`
    # puts two scenarios' bars side by side.
    Plot("{out}/plots/tornado.csv",
         "Tornado: p10 of the lowest free cash, each input from its low to its high end",
         "input (ranked by swing)", x_label="p10 of the lowest free cash (EUR)",
         template="tornado", x="swing", y="input"),
)


def dvc_path(template: str) -> str:
    """A path template as ``dvc.yaml`` writes it (``{out}/x.csv`` → ``outputs/x.csv``)."""
    return template.format(**DVC_ROOTS)


def dvc_stage_dict(stage: Stage) -> dict:
    params: list = []
    for ref in stage.params:
        file = dvc_path(ref.file)
        if file == DVC_ROOTS["params"] and ref.keys is not None:
            params.extend(ref.keys)
        else:
            params.append({file: list(ref.keys) if ref.keys is not None else None})
    out: dict = {"cmd": f"python -m {stage.module}", "desc": stage.desc,
                 "deps": [*stage.code_deps, *(dvc_path(d) for d in stage.data_deps)]}
    if params:
        out["params"] = params
    out["outs"] = [dvc_path(path_template(o)) for o in stage.outs] + [
        {dvc_path(path_template(o)): {"cache": False}} for o in stage.outs_no_cache
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
    lines += ["metrics:", f"  - {dvc_path(METRICS)}", "plots:"]
    for plot in PLOTS:
        lines += [f"  - {dvc_path(plot.path)}:",
                  f"      title: {json.dumps(plot.title, ensure_ascii=False)}",
                  f"      template: {plot.template}", f"      x: {plot.x}", f"      y: {plot.y}",
                  f"      x_label: {json.dumps(plot.x_label, ensure_ascii=False)}",
                  f"      y_label: {json.dumps(plot.y_label, ensure_ascii=False)}"]
    text = "\n".join(lines) + "\n"
    parse_yaml_text(text)  # must stay valid YAML
    return text


if __name__ == "__main__":
    import sys

    sys.stdout.write(dvc_yaml_text())
