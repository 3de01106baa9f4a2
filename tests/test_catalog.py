"""The catalog, the registry, dvc.yaml and the stages agree (issue 14 item 2).

- every stage dep/out is a catalog entry, and dvc.yaml lists exactly the catalog's paths;
- every name a stage module passes to ``io.load`` / ``io.dep`` / ``io.out`` (read from its
  source with ``ast``) is declared by that stage in the registry, and ``io.load`` names have a
  typed reader;
- the readers rebuild what the files hold (operator dumps equal the files' dicts).
"""

from __future__ import annotations

import ast
import json
from pathlib import Path

import pytest

from d3.catalog import CATALOG, CODE_PREFIX, entry, operator_dump, path_template, read
from d3.io.yaml12 import read_yaml
from d3.registry import DVC_ROOTS, STAGE_BY_NAME, STAGES
from tests.helpers import MINIMAL, ROOT, invoke

IO_METHODS = ("load", "dep", "out", "audit_out")
# Names built at run time (checked by StageIO at run time, which raises on an undeclared name):
# (stage module, method) → why the name is not a literal.
DYNAMIC_NAMES = {
    ("validate", "out"): "operator_{scope} for the three scopes",
    ("variables", "load"): "operator_{scope} for the three scopes",
    ("consolidate", "out"): "plot_* fan files named by d3.consolidation (GridTables.fans)",
    ("report_exports", "dep"): "the CSV tables of d3.registry.WORKBOOK_TABLES",
}


def _dvc(template: str) -> str:
    return template.format(**DVC_ROOTS)


def test_every_stage_dep_and_out_is_a_catalog_entry():
    for stage in STAGES:
        for name in (*stage.deps, *stage.outs, *stage.outs_no_cache, *stage.audit_outs):
            if name.startswith(CODE_PREFIX):
                assert (ROOT / entry(name).path).exists(), f"{stage.name}: {name}"
            else:
                assert name in CATALOG, f"{stage.name}: {name!r} is not in d3/catalog.py"


def test_a_path_has_one_name_and_every_entry_is_used():
    paths = [e.path for e in CATALOG.values()]
    assert len(paths) == len(set(paths))
    used = {n for s in STAGES for n in (*s.deps, *s.outs, *s.outs_no_cache, *s.audit_outs)}
    assert set(CATALOG) - used == set()


def test_every_catalog_entry_is_written_by_exactly_one_stage_or_is_an_input():
    writers: dict[str, list[str]] = {}
    for stage in STAGES:
        for name in (*stage.outs, *stage.outs_no_cache, *stage.audit_outs):
            writers.setdefault(name, []).append(stage.name)
    for name in CATALOG:
        assert len(writers.get(name, [])) == (0 if name == "inputs" else 1), name


def test_dvc_yaml_deps_and_outs_are_the_catalog_paths():
    dvc = read_yaml(ROOT / "dvc.yaml")["stages"]
    assert list(dvc) == [s.name for s in STAGES]
    for stage in STAGES:
        declared = dvc[stage.name]
        assert declared["deps"] == [*stage.code_deps, *(
            _dvc(path_template(d)) for d in stage.deps
            if path_template(d) not in stage.code_deps)]
        outs = [o if isinstance(o, str) else next(iter(o)) for o in declared["outs"]]
        assert outs == [_dvc(path_template(o)) for o in (*stage.outs, *stage.outs_no_cache)]


def _io_calls(tree: ast.Module) -> list[tuple[str, ast.expr | None, int]]:
    """(method, first argument, line) of every ``io.load/dep/out`` call, following aliases
    (``load = partial(io.load, …)``, ``load = io.load``, and local functions that pass their
    first parameter on to one of them)."""

    def io_method(node: ast.expr) -> str | None:
        if (isinstance(node, ast.Attribute) and node.attr in IO_METHODS
                and isinstance(node.value, ast.Name) and node.value.id == "io"):
            return node.attr
        if (isinstance(node, ast.Call) and isinstance(node.func, ast.Name)
                and node.func.id == "partial" and node.args):
            return io_method(node.args[0])
        return None

    aliases: dict[str, str] = {}
    for node in ast.walk(tree):
        if isinstance(node, ast.Assign) and len(node.targets) == 1 \
                and isinstance(node.targets[0], ast.Name) and io_method(node.value):
            aliases[node.targets[0].id] = io_method(node.value)
    for node in ast.walk(tree):
        if isinstance(node, ast.FunctionDef) and node.args.args:
            param = node.args.args[0].arg
            for call in ast.walk(node):
                if (isinstance(call, ast.Call) and io_method(call.func) and call.args
                        and isinstance(call.args[0], ast.Name) and call.args[0].id == param):
                    aliases[node.name] = io_method(call.func)
    forwarded = {n.args.args[0].arg for n in ast.walk(tree)
                 if isinstance(n, ast.FunctionDef) and n.name in aliases}
    calls = []
    for node in ast.walk(tree):
        if not isinstance(node, ast.Call):
            continue
        method = io_method(node.func) or (
            aliases.get(node.func.id) if isinstance(node.func, ast.Name) else None)
        arg = node.args[0] if node.args else None
        if method and not (isinstance(arg, ast.Name) and arg.id in forwarded):
            calls.append((method, arg, node.lineno))  # an alias's own call: its callers count
    return calls


@pytest.mark.parametrize("stage", [s.name for s in STAGES])
def test_stage_modules_use_only_the_names_their_stage_declares(stage):
    declared = STAGE_BY_NAME[stage]
    source = ROOT / f"stages/{stage}.py"
    bad, dynamic = [], set()
    for method, arg, line in _io_calls(ast.parse(source.read_text(encoding="utf-8"))):
        if isinstance(arg, ast.Constant) and isinstance(arg.value, str):
            name = arg.value
            allowed = declared.deps if method in ("load", "dep") else \
                declared.audit_outs if method == "audit_out" else (
                    *declared.outs, *declared.outs_no_cache)
            if name not in allowed:
                bad.append(f"stages/{stage}.py:{line}: io.{method}({name!r}) not declared")
            elif method == "load" and CATALOG[name].read is None:
                bad.append(f"stages/{stage}.py:{line}: {name!r} has no reader in the catalog")
        else:
            dynamic.add((stage, method))
    assert bad == []
    assert dynamic <= set(DYNAMIC_NAMES), f"non-literal names: {dynamic - set(DYNAMIC_NAMES)}"


def test_no_stage_parses_json_by_hand():
    for path in sorted((ROOT / "stages").glob("*.py")):
        text = path.read_text(encoding="utf-8")
        assert "json.loads" not in text and "import json" not in text, path.name
        assert "csv.DictReader" not in text and "read_table" not in text, path.name


@pytest.fixture(scope="module")
def minimal_out(tmp_path_factory) -> Path:
    """A run of the minimal fixture that keeps the audit outs (the per-sample series)."""
    out = tmp_path_factory.mktemp("catalog") / "out"
    result = invoke("run", "--inputs", str(MINIMAL / "inputs"), "--out", str(out),
                    "--keep-samples")
    assert result.exit_code == 0, result.stderr
    return out


def test_every_reader_reads_the_file_a_run_writes(minimal_out):
    from d3.registry import Roots

    roots = Roots(ROOT / "tests/fixtures/minimal/inputs", minimal_out, ROOT / "params.yaml")
    for name, e in CATALOG.items():
        if e.read is not None:
            assert read(name, roots.resolve(e.path)) is not None, name


def test_operator_dumps_equal_the_validated_files(minimal_out):
    for scope in ("general", "public_tap", "private_tap"):
        path = minimal_out / f"validated/operator_{scope}.json"
        file_doc = json.loads(path.read_text(encoding="utf-8"))
        dump = operator_dump(read(f"operator_{scope}", path))
        assert dump == file_doc
        assert json.dumps(dump) == json.dumps(file_doc)  # same key order and number types
