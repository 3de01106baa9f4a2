"""Property test of the input contract (issue 12): mutate one random cell of the shipped
inputs — a CSV cell, a header name or a YAML leaf — with values modelled on spreadsheet
exports and YAML gotchas. Whatever the mutation, ``d3 validate`` and ``d3 run`` exit 0 or 2:
never 3, never a traceback; on 2 the line is ``FILE:LOCATION: …`` and nothing is written; if
validation passes, the run completes.

Seeded and deterministic (``derandomize``); 300 examples. The plan is shrunk (1 replicate,
2 Monte Carlo iterations, 6 months, ``run.max_memory_gb: 1``) so that a passing example costs
one small run. A mutation that leaves the validated inputs equal to the unmutated ones (a
``notes`` or ``source`` cell) is not run again: every stage after ``validate`` reads only the
validated inputs and the plan, so its run is the unmutated run, done once and checked here.
"""

from __future__ import annotations

import io
import re
import shutil
from dataclasses import replace
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from ruamel.yaml import YAML

from d3.core.validator import validated_inputs
from d3.io.loader import read_inputs_tree
from tests.helpers import ROOT, invoke, read_csv, write_csv

SHIPPED = ROOT / "inputs"
TINY_PLAN = """\
run: {random_runs_per_simulation: 1, chunk_blocks: 4, max_memory_gb: 1}
stochastic: {random_seed: 5, simulations_per_run: 2, percentiles: [10, 50, 90]}
targets: {horizon_months: 6}
sensitivity: {tornado: false, sobol: false}
"""
# The tornado and Sobol evaluations (≈ 5 s a run) are left out here: 300 runs would add
# ≈ 25 minutes to CI; tests/sensitivity runs them, and the rank correlations and convergence
# (always written) still run on every mutated tree.
FILES = sorted(p.relative_to(ROOT).as_posix() for p in SHIPPED.rglob("*")
               if p.suffix in (".csv", ".yaml")) + ["params.yaml"]
# Cell texts a tester tries: empty, signs, huge and tiny, NaN/inf, booleans, decimal comma,
# stray delimiters and quotes, YAML collections and nulls, words.
NASTY = ["", " ", "0", "-1", "1", "0.5", "7.5", "12", "100", "101", "1e308", "-1e308", "1e-300",
         "nan", "inf", "-inf", "true", "false", "yes", "no", "null", "~", "0,69", "1;2", "[]",
         "{}", "[1, 2]", "abc", '"', "'", "#", "1e12", "1e13", "99999999999999", "2026-01-01",
         "0x10", "1_000", "€5", "5%", "low_to_high", "random", "fixed", "discrete",
         "5e-324", "1e-15", "600", "3601", "values=6|13", "beta", "lognormal"]
# FILE:LOCATION: message, with " — fix" in every line a user can act on.
ISSUE_LINE = re.compile(r"^[^:\s][^:]*:[^:]+: .+ — .+$|^[^:\s][^:]*:[^:]+: .+$")
cell_text = st.one_of(st.sampled_from(NASTY), st.integers(-3, 30).map(str),
                      st.floats(-1e3, 1e3, allow_nan=False).map(lambda x: f"{x:.3f}"))


def _yaml():
    yaml = YAML(typ="safe", pure=True)
    yaml.default_flow_style = False
    return yaml


def _leaves(node, path=()):
    if isinstance(node, dict):
        for k, v in node.items():
            yield from _leaves(v, (*path, k))
    elif isinstance(node, list):
        for i, v in enumerate(node):
            yield from _leaves(v, (*path, i))
    else:
        yield path


def _scalar(text: str):
    """The value YAML reads from ``key: <text>`` (a parse error keeps the raw text)."""
    try:
        return _yaml().load(f"v: {text}\n")["v"]
    except Exception:  # noqa: BLE001 - an unparsable text is kept as a string
        return text


def _mutate_yaml(path: Path, pick: int, text: str) -> str:
    yaml = _yaml()
    data = yaml.load(path.read_text())
    leaves = list(_leaves(data))
    target = leaves[pick % len(leaves)]
    node = data
    for part in target[:-1]:
        node = node[part]
    node[target[-1]] = _scalar(text)
    buf = io.StringIO()
    yaml.dump(data, buf)
    path.write_text(buf.getvalue())
    return "/".join(map(str, target))


def _mutate_csv(path: Path, pick: int, text: str) -> str:
    header, rows = read_csv(path)
    cells = len(header) * (len(rows) + 1)
    k = pick % cells
    row, col = divmod(k, len(header))
    if row == 0:  # a header name
        old = header[col]
        header[col] = text
        rows = [{(text if c == old else c): v for c, v in r.items()} for r in rows]
    else:
        rows[row - 1][header[col]] = text
    write_csv(path, header, rows)
    return f"row {row + 1} col {header[col]!r}"


def _essence(root: Path):
    """The validated inputs without file hashes and warnings: what the stages after
    ``validate`` see (together with the plan, which is part of it)."""
    v = validated_inputs(read_inputs_tree(root / "inputs", root / "params.yaml"))
    return replace(v, sha256={}, issues=())


def _tree(root: Path) -> Path:
    shutil.copytree(SHIPPED, root / "inputs")
    (root / "params.yaml").write_text(TINY_PLAN)
    return root


@pytest.fixture(scope="module")
def unmutated(tmp_path_factory):
    root = _tree(tmp_path_factory.mktemp("unmutated"))
    ran = invoke("run", "--inputs", str(root / "inputs"), "--out", str(root / "out"))
    assert ran.exit_code == 0, ran.stderr
    return _essence(root)


@pytest.mark.fuzz
@settings(max_examples=300, derandomize=True, deadline=None, database=None,
          suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture])
@given(file=st.sampled_from(FILES), pick=st.integers(0, 10_000), text=cell_text)
def test_a_mutated_cell_exits_0_or_2_never_3(tmp_path_factory, unmutated, file, pick, text):
    root = _tree(tmp_path_factory.mktemp("fuzz"))
    target = root / file
    where = (_mutate_csv if target.suffix == ".csv" else _mutate_yaml)(target, pick, text)
    note = f"{file} {where} := {text!r}"

    checked = invoke("validate", "--inputs", str(root / "inputs"))
    assert checked.exit_code in (0, 2), f"{note}\n{checked.stderr}"
    assert "Traceback" not in checked.stderr, note
    if checked.exit_code == 0 and _essence(root) == unmutated:
        return  # the same validated inputs and plan: the unmutated run, done by the fixture
    out = root / "out"
    ran = invoke("run", "--inputs", str(root / "inputs"), "--out", str(out))
    assert "Traceback" not in ran.stderr, note
    assert ran.exception is None or isinstance(ran.exception, SystemExit), note
    if checked.exit_code == 2:
        errors = [x for x in checked.stderr.splitlines()
                  if not x.startswith(("warning:", "note:"))]
        assert errors and all(ISSUE_LINE.match(x) for x in errors), f"{note}\n{checked.stderr}"
        assert ran.exit_code == 2, f"{note}\n{ran.stderr}"
        assert not out.exists(), note
    else:
        assert ran.exit_code == 0, f"{note}\n{ran.stderr}"
