"""One registry of stages: dvc.yaml is generated from it, and params are read as DVC reads them."""

from __future__ import annotations

import importlib

from d3.core.variables import node_at, with_overrides
from d3.io.params import declared_params
from d3.io.yaml12 import read_yaml
from d3.models.plan import Plan
from d3.registry import STAGES, dvc_yaml_text
from tests.helpers import ROOT


def test_committed_dvc_yaml_matches_the_registry():
    assert (ROOT / "dvc.yaml").read_text() == dvc_yaml_text(), (
        "dvc.yaml is stale: run `python -m d3.registry > dvc.yaml`")


def test_every_stage_module_has_run_and_main():
    for stage in STAGES:
        module = importlib.import_module(stage.module)
        assert callable(module.run) and callable(module.main)
        assert (ROOT / f"stages/{stage.name}.py").exists()


def test_declared_params_exist_in_params_yaml():
    plan = read_yaml(ROOT / "params.yaml")
    for stage in STAGES:
        for key in stage.param_keys():
            node = plan
            for part in key.split("."):
                assert part in node, f"{stage.name}: {key} missing from params.yaml"
                node = node[part]


def as_read(locked: dict) -> dict:
    """The lock's values of a stage's keys as the stage reads them: through the plan model,
    which fills the defaults of list items (e.g. a solver decision's ``weight``) that the lock
    records as written."""
    plan = Plan.model_validate(with_overrides({}, locked)).model_dump(mode="json")
    return {key: node_at(plan, key)[1] for key in locked}


def test_values_a_stage_reads_equal_the_values_in_dvc_lock():
    lock = read_yaml(ROOT / "dvc.lock")
    for stage in STAGES:
        keys = stage.param_keys()
        if not keys:
            continue
        locked = lock["stages"][stage.name]["params"]["params.yaml"]
        assert declared_params(ROOT / "params.yaml", keys) == as_read(locked)


def test_every_plot_dvc_shows_is_a_file_a_stage_writes():
    from d3.registry import PLOTS, STAGES

    written = {p for st in STAGES for p in st.out_paths}
    for plot in PLOTS:
        assert plot.path in written, f"{plot.path} is not written by any stage"


# Keys a stage reads without io.params(): stage → (keys, why).
PARAMS_READ_ELSEWHERE = {
    # d3.model.inputs.model_inputs parses the plan file itself to rebuild the model; of the
    # plan only the stage's own section is not in validated/plan.json (a declared dep), and
    # fixed_variables, whose effect is in validated/variables.json (a declared dep too).
    "sensitivity": ("sensitivity",),
    "solve": ("solve",),
}


def test_each_stage_reads_exactly_the_params_keys_it_declares(tmp_path):
    """A real run of the minimal fixture, stage by stage: the keys each stage looked up in
    ``io.params()`` (recorded by ReadParams) are the keys dvc.yaml tracks for it. A key read but
    not declared cannot happen (ReadParams raises KeyError); a key declared but never read would
    rerun the stage for nothing. ``validate`` declares whole files and reads them whole."""
    from d3.core.runner import StageIO, stage_runner
    from d3.registry import Roots
    from tests.helpers import MINIMAL

    roots = Roots(MINIMAL / "inputs", tmp_path, MINIMAL / "params.yaml")
    read, declared = {}, {}
    for stage in STAGES:
        io = StageIO(stage, roots)
        stage_runner(stage)(io)
        read[stage.name] = sorted({*io.params_read, *PARAMS_READ_ELSEWHERE.get(stage.name, ())})
        declared[stage.name] = sorted(stage.param_keys())
    assert read == declared
    assert [s.name for s in STAGES if any(r.keys is None for r in s.params)] == ["validate"]


def stages_depending_on(path: str) -> list[str]:
    return sorted(s.name for s in STAGES
                  if any(path == d or path.startswith(f"{d}/") for d in s.code_deps))


def test_a_library_module_is_a_dep_of_the_stages_that_import_it_only():
    # The summary records the md5 of every stage's code, so it depends on all of it; the
    # sensitivity and solve stages re-evaluate the whole model (d3.model), the sensitivity
    # stage draws with d3.chart_style (shared with the report's charts, so that a report edit
    # does not rerun it).
    assert stages_depending_on("d3/report/plan.py") == ["report", "summary"]
    assert stages_depending_on("d3/report/statements.py") == ["report", "summary"]
    assert stages_depending_on("d3/report/html.py") == ["report_exports", "summary"]
    assert stages_depending_on("d3/report/run_summary.py") == ["summary"]
    assert stages_depending_on("d3/report/charts.py") == ["report", "summary"]
    assert stages_depending_on("d3/report/drivers.py") == ["report", "summary"]
    assert stages_depending_on("d3/chart_style.py") == ["report", "sensitivity", "summary"]
    # The consolidate stage draws both lines again (keyed streams) where it consolidates.
    assert stages_depending_on("d3/pipelines/private/clients.py") == [
        "consolidate", "private_clients", "sensitivity", "solve", "summary"]
    assert stages_depending_on("d3/pipelines/public/capacity_tables.py") == [
        "public_capacity", "public_demand", "summary"]
    assert stages_depending_on("d3/streaming.py") == [
        "consolidate", "sensitivity", "solve", "summary"]
    assert stages_depending_on("d3/finance/loan.py") == [
        "consolidate", "report", "sensitivity", "solve", "summary"]
    assert stages_depending_on("d3/model/evaluate.py") == ["sensitivity", "solve", "summary"]
    # The solver's search runs in its stage only; its report section in the report's.
    assert stages_depending_on("d3/solve/search.py") == ["solve", "summary"]
    assert stages_depending_on("d3/report/what_it_takes.py") == ["report", "summary"]
    assert stages_depending_on("d3/core/runner.py") == sorted(s.name for s in STAGES)
    assert stages_depending_on("stages/report.py") == ["report", "summary"]


def test_module_closure_follows_imports_inside_functions_and_package_inits():
    from d3.registry import module_closure

    closure = module_closure("stages.report")
    # main() imports d3.cli inside the function; d3.report.charts sits in package d3.report
    assert {"stages/report.py", "stages/__init__.py", "d3/cli.py", "d3/__init__.py",
            "d3/report/__init__.py", "d3/report/charts.py"} <= set(closure)
    assert list(closure) == sorted(closure)
    assert "d3/report/run_summary.py" not in closure  # not imported by the report stage
