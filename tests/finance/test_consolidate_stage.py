"""Consolidation on the minimal fixture: line isolation, overhead drivers, acceptance exits."""

from __future__ import annotations

import csv
import json

import pytest

from tests.helpers import MINIMAL, copy_minimal, edit_csv, edit_yaml, invoke


def _run(out, *extra, inputs=MINIMAL / "inputs"):
    result = invoke("run", "--inputs", str(inputs), "--out", str(out), *extra)
    assert result.exit_code == 0, result.stderr
    return out


def _csv(path):
    with path.open() as fh:
        return list(csv.DictReader(fh))


@pytest.fixture(scope="module")
def both(tmp_path_factory):
    return _run(tmp_path_factory.mktemp("both"))


def test_public_only_run_equals_the_public_line_of_a_two_line_run(both, tmp_path):
    alone = _run(tmp_path / "public", "--pipelines", "public")
    two = {(r["grid_index"], r["metric"]): r for r in _csv(both / "consolidated_kpis.csv")}
    one = {(r["grid_index"], r["metric"]): r for r in _csv(alone / "consolidated_kpis.csv")}
    assert one[("0", "revenue_public_eur")] == two[("0", "revenue_public_eur")]
    assert one[("0", "revenue_private_eur")]["p50"] == "0.00"
    pnl_two, pnl_one = _csv(both / "pnl_by_month.csv"), _csv(alone / "pnl_by_month.csv")
    for a, b in zip(pnl_one, pnl_two, strict=True):
        for col in ("revenue_public_eur", "cogs_public_eur"):
            assert a[col] == b[col]
    assert not (alone / "private_tap_economics.csv").exists()


def test_switching_the_overhead_driver_changes_only_the_allocated_columns(both, tmp_path):
    root = copy_minimal(tmp_path / "tree")
    edit_yaml(root / "params.yaml", lambda d: d.setdefault("consolidation", {}).update(
        overhead_allocation_driver="gpu_hours"))
    other = _run(tmp_path / "gpu", inputs=root / "inputs")
    a, b = _csv(both / "pnl_by_month.csv"), _csv(other / "pnl_by_month.csv")
    changed = {k for ra, rb in zip(a, b, strict=True) for k in ra if ra[k] != rb[k]}
    # The allocated columns of the reference path and their percentiles across samples.
    assert changed == {f"{prefix}overhead_{line}_eur" for line in ("public", "private")
                       for prefix in ("", "p10_", "p50_", "p90_")}
    for ra in a:  # the split always adds up to the shared overhead
        total = float(ra["overhead_public_eur"]) + float(ra["overhead_private_eur"])
        shared = float(ra["opex_eur"]) - float(ra["acquisition_eur"])
        assert total == pytest.approx(shared, abs=0.02)


def test_loan_schedule_file(both):
    rows = _csv(both / "loan_schedule.csv")
    assert len(rows) == 60 and rows[0]["interest"] == "248.75" and rows[-1]["closing_principal"] \
        == "0.00"
    assert sum(float(r["principal"]) for r in rows) == pytest.approx(30_000, abs=0.005)


def test_failed_acceptance_is_a_warning_and_fail_on_warning_exits_2_writing_nothing(tmp_path):
    doc = json.loads(_run(tmp_path / "a").joinpath("acceptance.json").read_text())
    assert doc["accepted"] is False  # the fixture's tiny business cannot carry a 30 k loan
    # Validation WARNINGs would stop the run before anything is written; measure the one
    # throughput gap so only the acceptance criteria can fail.
    root = copy_minimal(tmp_path / "tree")
    edit_csv(root / "inputs/facts/tps_model_gpu.csv", lambda h, rows: rows.append({
        "model": "Mistral Small 24B", "gpu": "RTX 4090", "gpu_count": "2",
        "measurement_type": "aggregate", "throughput_tokens_per_s": "900", "source": "test"}))
    assert invoke("validate", "--inputs", str(root / "inputs"), "--fail-on-warning").exit_code == 0
    out = tmp_path / "b"
    result = invoke("run", "--inputs", str(root / "inputs"), "--out", str(out),
                    "--fail-on-warning")
    assert result.exit_code == 2
    # d3 run is all-or-nothing (issue 12): a run that fails, also by --fail-on-warning, leaves
    # --out as it was; the failed criteria are on stderr. (Under DVC the stage's files stay.)
    assert not out.exists()
    assert "acceptance.json:grid 0.min_cash: criterion failed" in result.stderr
