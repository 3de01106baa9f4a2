"""The ``consolidate`` stage on the streaming engine (issue 14): the workers draw both lines and
run every sample's finance; the per-sample table carries the growth criteria's flags that the
``acceptance`` stage judges; the opt-in percentile subsample changes only monthly statistics."""

from __future__ import annotations

import json

import numpy as np
import pyarrow.parquet as pq
import pytest

from d3.model import evaluate, model_inputs
from tests.helpers import copy_minimal, edit_yaml, invoke, read_csv


def _run(root, out):
    result = invoke("run", "--inputs", str(root / "inputs"), "--params",
                    str(root / "params.yaml"), "--out", str(out))
    assert result.exit_code == 0, result.stderr
    return out


@pytest.fixture(scope="module")
def runs(tmp_path_factory):
    """The minimal fixture (3 grid points × 2 replicates × 10 paths) run twice: as shipped,
    and with stochastic.percentile_samples = 4 (⌈4 / 2⌉ = 2 paths of every block kept)."""
    full = copy_minimal(tmp_path_factory.mktemp("full"))
    sub = copy_minimal(tmp_path_factory.mktemp("sub"))
    edit_yaml(sub / "params.yaml",
              lambda p: p.setdefault("stochastic", {}).update(percentile_samples=4))
    return full, _run(full, full / "out"), sub, _run(sub, sub / "out")


def test_growth_flags_are_each_samples_path_and_the_acceptance_probabilities(runs):
    full_root, out, _, _ = runs
    table = pq.read_table(out / "samples" / "consolidated_kpis.parquet").to_pydict()
    grid = np.array(table["grid_index"])
    flags = np.array(table["public_customers_non_decreasing"])
    # Each sample's flag is its own path: active customers never fall over the 12-month
    # horizon (the customers drawn again, in memory, from the same keyed streams).
    inputs = model_inputs(full_root / "inputs", full_root / "params.yaml")
    active = evaluate(inputs, keep_series=True, criteria=False).public["active_customers"]
    never_fall = np.all(np.diff(active[:, :12], axis=1) >= -1e-9, axis=1)
    assert flags.tolist() == never_fall.astype(float).tolist()
    assert 0 < flags.sum() < 60  # both kinds of sample occur on this fixture
    doc = json.loads((out / "acceptance.json").read_text(encoding="utf-8"))
    for g in (0, 1, 2):
        criterion = next(c for c in doc["grid"][str(g)]["criteria"]
                         if c["name"] == "public_customers_non_decreasing")
        # 20 samples per grid point: the probability is (flags set) / 20.
        assert criterion["probability"] == pytest.approx(never_fall[grid == g].sum() / 20)


def test_percentile_subsample_changes_only_monthly_statistics(runs):
    full_root, full, sub_root, sub = runs
    # Every per-sample KPI (so every probability and every KPI percentile) uses all samples.
    table = "samples/consolidated_kpis.parquet"
    assert (full / table).read_bytes() == (sub / table).read_bytes()
    # Every criterion decided over the samples has the same probability; the autoscaler's,
    # judged on the p50 demand trace (a monthly statistic), may differ.
    def probabilities(out):
        doc = json.loads((out / "acceptance.json").read_text(encoding="utf-8"))
        return {(g, c["name"]): c["probability"] for g, v in doc["grid"].items()
                for c in v["criteria"] if c["probability"] is not None}

    assert probabilities(full) == probabilities(sub) != {}
    _, pnl_full = read_csv(full / "pnl_by_month.csv")
    _, pnl_sub = read_csv(sub / "pnl_by_month.csv")
    # The reference path is not a sample: unchanged.
    assert [r["revenue_eur"] for r in pnl_full] == [r["revenue_eur"] for r in pnl_sub]
    # Grid point 0, month 12: the p50 of public revenue over the 4 kept samples (the first 2
    # paths of blocks 0 and 1) — the median of 4 values is the mean of the middle two.
    inputs = model_inputs(full_root / "inputs", full_root / "params.yaml")
    demand = evaluate(inputs, keep_series=True, criteria=False).public
    block = demand["grid_index"] * 2 + demand["replicate_index"]
    mc = np.arange(len(block)) % 10
    kept = demand["revenue_eur"][(block < 2) & (mc < 2), 11]
    middle = np.sort(kept)[1:3].mean()
    row = next(r for r in pnl_sub if r["grid_index"] == "0" and r["month"] == "12")
    assert float(row["p50_revenue_public_eur"]) == pytest.approx(middle, abs=0.005)
    full_row = next(r for r in pnl_full if r["grid_index"] == "0" and r["month"] == "12")
    every = np.median(demand["revenue_eur"][block < 2, 11])
    assert float(full_row["p50_revenue_public_eur"]) == pytest.approx(every, abs=0.005)


def test_per_sample_series_are_written_only_on_request(runs, tmp_path):
    full_root, full, _, _ = runs
    assert not (full / "samples" / "public_demand.parquet").exists()
    assert not (full / "samples" / "private_clients.parquet").exists()
    result = invoke("run", "--inputs", str(full_root / "inputs"), "--params",
                    str(full_root / "params.yaml"), "--out", str(tmp_path / "kept"),
                    "--keep-samples")
    assert result.exit_code == 0, result.stderr
    kept = tmp_path / "kept"
    # 3 grid points × 2 replicates × 10 paths = 60 rows, one per sample, in block order.
    table = pq.read_table(kept / "samples" / "public_demand.parquet", columns=["grid_index"])
    assert table.num_rows == 60
    assert table["grid_index"].to_pylist() == [g for g in (0, 1, 2) for _ in range(20)]
    assert pq.read_table(kept / "samples" / "private_clients.parquet").num_rows == 60
    # The run summary lists the two files among its artefacts, with their SHA-256.
    sums = (kept / "SHA256SUMS").read_text(encoding="utf-8")
    assert "  samples/public_demand.parquet\n" in sums
    assert "  samples/private_clients.parquet\n" in sums
    assert "samples/public_demand.parquet" not in (full / "SHA256SUMS").read_text()
    # Nothing else changes.
    for path in sorted(full.rglob("*")):
        rel = path.relative_to(full)
        if path.is_file() and rel.parts[0] != "logs" and rel.name not in (
                "run_summary.json", "run_summary.md", "SHA256SUMS"):
            assert path.read_bytes() == (kept / rel).read_bytes(), rel


def test_gpu_hour_overhead_shares_use_the_calendars_unrounded_hours(tmp_path):
    """hours_in_month 730.5 (8 766 h / 12) with the gpu_hours driver: the Public Tap's share
    of a month's overhead is instances × 730.5 / (instances × 730.5 + private GPU-hours),
    not × 730 (the reviewer found the engine truncating it)."""
    root = copy_minimal(tmp_path / "hours")
    edit_yaml(root / "inputs" / "operator" / "general.yaml",
              lambda g: g["calendar"].update(hours_in_month=730.5))
    edit_yaml(root / "params.yaml", lambda p: p.setdefault("consolidation", {}).update(
        overhead_allocation_driver="gpu_hours"))
    out = _run(root, tmp_path / "out")
    demand = json.loads((out / "intermediate" / "public_demand.json").read_text())
    clients = json.loads((out / "intermediate" / "private_clients.json").read_text())
    _, pnl = read_csv(out / "pnl_by_month.csv")
    checked = 0
    for row in pnl:
        g, m = row["grid_index"], int(row["month"]) - 1
        public = demand["grid"][g]["expected"]["instances_total"][m] * 730.5
        private = clients["grid"][g]["expected"]["hours"][m]
        a, b = float(row["overhead_public_eur"]), float(row["overhead_private_eur"])
        # Cents: the share is known to ±0.005 / (a + b) ≤ 5e-6; 730 instead of 730.5 moves it
        # by ≈ 0.5 / 730 × share × (1 − share), up to 1.7e-4.
        if public > 0 and private > 0 and a + b > 1000:
            assert a / (a + b) == pytest.approx(public / (public + private), abs=1e-5)
            checked += 1
    assert checked > 12
