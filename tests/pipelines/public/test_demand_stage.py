"""The public_demand stage on the minimal fixture."""

from __future__ import annotations

import csv

import pytest

from tests.helpers import copy_minimal, edit_csv, edit_yaml, invoke


def _run(root, out):
    result = invoke("run", "--inputs", str(root / "inputs"), "--out", str(out))
    assert result.exit_code == 0, result.stderr
    with (out / "public_tap_customers_by_month.csv").open() as fh:
        return list(csv.DictReader(fh))


def _all_fixed(header, rows):
    for r in rows:
        r["treatment"] = "fixed"


def test_percentiles_equal_the_expected_path_when_noise_is_off(tmp_path):
    root = copy_minimal(tmp_path / "tree")
    for scope in ("general", "public_tap", "private_tap"):
        edit_csv(root / f"inputs/variables/{scope}.csv", _all_fixed)
    edit_yaml(root / "params.yaml", lambda d: (
        d["stochastic"].update(simulations_per_run=1, outcome_noise=False),
        d["run"].update(random_runs_per_simulation=1)))
    rows = _run(root, tmp_path / "out")
    assert len(rows) == 60  # one grid point × T = max(horizon 12, loan term 60) months
    for r in rows:
        for q in (10, 50, 90):
            assert float(r[f"p{q}_active_customers"]) == pytest.approx(
                float(r["active_customers"]), abs=0.005)
            assert float(r[f"p{q}_credits_sold_eur"]) == pytest.approx(
                float(r["credits_sold_eur"]), abs=0.005)


def test_month_one_by_hand(tmp_path):
    root = copy_minimal(tmp_path / "tree")
    rows = _run(root, tmp_path / "out")
    first = next(r for r in rows if r["grid_index"] == "0" and r["month"] == "1")
    # customers per EUR = 0.6 / (2.00 / 0.02) + 0.4 / (5 / 1000 / (0.005 × 0.01) / 1.25)
    #                   = 0.6 / 100 + 0.4 / 80 = 0.011 → CAC = 90.91 EUR
    assert float(first["cac_eur"]) == pytest.approx(1 / 0.011, abs=0.005)
    assert float(first["expected_new_customers"]) == pytest.approx(1000 * 0.011)
    # tokens = 11 new × 100M tokens per conversion (returning customers buy 0 in the fixture)
    assert float(first["tokens"]) == pytest.approx(11 * 100e6)
    # grid 0: margin 40 % → Llama 0.064815/0.6/1000 → 0.00011 → floor 0.00015;
    # Mistral 0.275/0.6/1000 = 0.00045834 → 0.00046; blend (0.00015 + 0.00046)/2 = 0.000305
    assert float(first["blended_sell_eur_per_1k"]) == pytest.approx(0.000305)
    assert float(first["credits_sold_eur"]) == pytest.approx(11 * 100e6 / 1000 * 0.000305,
                                                             abs=0.005)
    assert first["calendar_month"] == "2027-01"
