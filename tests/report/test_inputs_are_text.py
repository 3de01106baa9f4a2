"""Inputs are text, never markup (issue 15, item 8, Markdown half): a model named
``Llama <script>alert(1)</script> | x`` in every input file that names it runs through
``python -m d3 run``, breaks no table of the report and puts no tag into it."""

from __future__ import annotations

import csv
import json
import os
import re
import shutil
import subprocess
import sys

from tests.helpers import ROOT, edit_yaml

HOSTILE = "Llama <script>alert(1)</script> | x"
OLD = "Llama 3.1 8B Instruct"  # curated as Model "Llama 3.1" + Variant "8B Instruct"


def rename_model(inputs) -> list[str]:
    """Rename OLD to HOSTILE in every input file that names it; the files changed."""
    changed = []
    curated = inputs / "operator" / "curated_public_tap_models.csv"
    with curated.open(encoding="utf-8") as fh:
        reader = csv.DictReader(fh)
        header, rows = list(reader.fieldnames or []), list(reader)
    for r in rows:
        if f"{r['Model']} {r['Variant']}" == OLD:  # the key is "Model Variant"
            r["Model"], r["Variant"] = HOSTILE.rsplit(" ", 1)
            changed.append(curated.relative_to(inputs).as_posix())
    with curated.open("w", encoding="utf-8", newline="") as fh:
        writer = csv.DictWriter(fh, header, lineterminator="\n")
        writer.writeheader()
        writer.writerows(rows)
    for path in sorted(inputs.rglob("*")):
        text = path.read_text(encoding="utf-8") if path.is_file() else ""
        if OLD not in text:
            continue
        # YAML: the name is a mapping key (model_mix); quote it. CSV: a plain cell (no comma).
        new = (text.replace(f"{OLD}:", f"{json.dumps(HOSTILE)}:") if path.suffix == ".yaml"
               else text.replace(OLD, HOSTILE))
        assert OLD not in new, path
        path.write_text(new, encoding="utf-8")
        changed.append(path.relative_to(inputs).as_posix())
    return changed


def cells(row: str) -> int:
    """Cells of a GFM table row: split at every ``|`` that is not escaped."""
    return len(re.split(r"(?<!\\)\|", row.strip())) - 2


def test_a_model_name_with_markup_is_escaped_everywhere_in_the_report(tmp_path):
    shutil.copytree(ROOT / "inputs", tmp_path / "inputs")
    shutil.copy(ROOT / "params.yaml", tmp_path / "params.yaml")
    edit_yaml(tmp_path / "params.yaml", lambda p: (
        p["stochastic"].update(simulations_per_run=10),
        p["run"].update(random_runs_per_simulation=2),
        p["solve"].update(trials=3, confirm=1)))
    assert sorted(rename_model(tmp_path / "inputs")) == [
        "facts/tps_model_gpu.csv", "operator/curated_public_tap_models.csv",
        "operator/public_tap.yaml"]
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    done = subprocess.run([sys.executable, "-m", "d3", "run", "--inputs",
                           str(tmp_path / "inputs"), "--out", str(tmp_path / "out")],
                          cwd=tmp_path, env=env, capture_output=True, text=True, timeout=600)
    assert done.returncode == 0, done.stderr[-2000:]
    report = (tmp_path / "out" / "financial_plan_v3.md").read_text(encoding="utf-8")
    assert "<script>" not in report and "</script>" not in report
    # The name is there, as text: entities for < >, a backslash before |.
    shown = "Llama &lt;script&gt;alert(1)&lt;/script&gt; \\| x"
    assert report.count(shown) >= 8  # catalogue, prices, margins, derivation, autoscaling, …
    header = None
    for n, line in enumerate(report.splitlines(), 1):
        if not line.startswith("|"):
            header = None
        elif header is None:
            header = cells(line)
        else:
            assert cells(line) == header, f"line {n}: {line[:120]}"
