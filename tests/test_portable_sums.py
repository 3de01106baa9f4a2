"""Outputs are the same bytes on Python 3.11, 3.12 and 3.13.

Python 3.12 changed the built-in ``sum`` of floats to a compensated (Neumaier) summation, so
``sum([0.1] * 10)`` is ``0.9999999999999999`` on 3.11 and ``1.0`` on 3.12: any float ``sum`` in
the engine makes the last digits depend on the interpreter. ``math.fsum`` is exactly rounded on
every version, so the engine sums floats with it. This test runs the whole pipeline (every
stage, the sensitivity analysis and the solver included) of the minimal fixture with the
built-in ``sum`` replaced by one that records each call from ``d3/`` or ``stages/`` that adds
two or more Python floats; it must record none. (Sums of ints, of numpy scalars or arrays and
of ``Decimal`` are the same on every version and stay allowed.)
"""

from __future__ import annotations

import builtins
import math
import sys
from collections import Counter

from tests.helpers import ROOT, run_minimal

ENGINE = (str(ROOT / "d3"), str(ROOT / "stages"))


def test_interpreter_sums_differ_as_the_docstring_says():
    # The reason for the rule: ten 0.1s add up to 1 only with an exactly rounded sum.
    assert math.fsum([0.1] * 10) == 1.0
    naive = 0.0
    for x in [0.1] * 10:
        naive += x
    assert naive == 0.9999999999999999


def test_the_engine_never_sums_python_floats_with_builtin_sum(tmp_path, monkeypatch):
    builtin_sum = builtins.sum
    float_sums: Counter[str] = Counter()

    def recording_sum(iterable, /, start=0):
        items = list(iterable)
        floats = builtin_sum(1 for x in items if type(x) is float) + (type(start) is float)
        caller = sys._getframe(1).f_code.co_filename
        if floats >= 2 and caller.startswith(ENGINE):
            float_sums[f"{caller}:{sys._getframe(1).f_lineno}"] += 1
        return builtin_sum(items, start)

    monkeypatch.setattr(builtins, "sum", recording_sum)
    run_minimal(tmp_path / "out")
    monkeypatch.undo()
    assert (tmp_path / "out" / "solve_best.json").is_file()  # the solver ran too
    assert dict(float_sums) == {}
