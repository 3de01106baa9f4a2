"""``d3.model.evaluate``: the plan in memory gives the pipeline's numbers, and two evaluations
that differ only in a knob share their random paths (common random numbers)."""

from __future__ import annotations

import json

import numpy as np
import pyarrow.parquet as pq
import pytest

from d3.core.errors import ValidationError
from d3.io.writers import json_text
from d3.model import evaluate, model_inputs
from tests.helpers import MINIMAL, run_minimal

PUBLIC = "inputs/operator/public_tap.yaml"
MARGIN = f"{PUBLIC}:pricing_policy.public_tap.target_margin_pct"


@pytest.fixture(scope="module")
def minimal():
    return model_inputs(MINIMAL / "inputs", MINIMAL / "params.yaml")


def test_evaluate_gives_the_pipelines_kpis_and_acceptance(minimal, tmp_path):
    out = run_minimal(tmp_path / "out")
    table = pq.read_table(out / "samples" / "consolidated_kpis.parquet").to_pydict()
    result = evaluate(minimal)
    grid = np.array(table["grid_index"])
    assert sorted(result.grid) == sorted(set(grid.tolist())) == [0, 1, 2]
    for g, e in result.grid.items():
        assert e.replicate_index.tolist() == np.array(table["replicate_index"])[grid == g].tolist()
        for name, (_, values) in e.kpis.items():
            written = np.array(table[name], dtype=float)[grid == g]
            assert np.array_equal(values, written, equal_nan=True), (g, name)
    written = json.loads((out / "acceptance.json").read_text(encoding="utf-8"))
    assert json.loads(json_text(result.acceptance)) == written
    assert result.accepted is written["accepted"]


def test_two_margins_share_their_random_paths_and_differ_only_in_priced_quantities(minimal):
    low = evaluate(minimal, overrides={MARGIN: 40})
    high = evaluate(minimal, overrides={MARGIN: 60})
    a, b = low.public, high.public
    # The margin fixes the grid variable pub_margin: one grid point, 2 replicates × 10 paths.
    assert sorted(low.grid) == [0] and a["new_customers"].shape[0] == 2 * 10
    for customers in ("budget_eur", "new_customers", "active_customers", "tokens",
                      "tokens_demanded"):
        assert np.array_equal(a[customers], b[customers]), customers
    # Same tokens at a higher price: every month's credits scale by the price ratio.
    assert (b["credits_sold_eur"] > a["credits_sold_eur"])[a["tokens"] > 0].all()
    ratio = b["credits_sold_eur"][a["tokens"] > 0] / a["credits_sold_eur"][a["tokens"] > 0]
    assert np.allclose(ratio, ratio.flat[0])
    kpi = {e: evaluate(minimal, overrides={MARGIN: m}).grid[0].kpis
           for e, m in (("low", 40), ("high", 60))}
    assert (kpi["high"]["public_priced_margin_pct"][1]
            > kpi["low"]["public_priced_margin_pct"][1]).all()


def test_an_override_is_checked_like_an_input(minimal):
    with pytest.raises(ValidationError) as caught:
        evaluate(minimal, overrides={MARGIN: 150, "inputs/operator/nope.yaml:a.b": 1,
                                     "params.yaml:stochastic.simulations_per_run": 0})
    lines = [i.line() for i in caught.value.issues]
    assert lines == [
        "inputs/operator/nope.yaml:a.b: an override names params.yaml or an operator YAML "
        "(general, public_tap, private_tap) and a key — e.g. inputs/operator/"
        "public_tap.yaml:acquisition.churn_pct_mom or params.yaml:stochastic."
        "simulations_per_run",
        "params.yaml:stochastic.simulations_per_run: override refused: Input should be "
        "greater than or equal to 1 — use a value the key's schema allows (docs/INPUTS.md)",
        f"{PUBLIC}:pricing_policy.public_tap.target_margin_pct: override refused: Input "
        "should be less than or equal to 95 — use a value the key's schema allows "
        "(docs/INPUTS.md)"]


def test_evaluate_gives_the_tables_percentile_paths(minimal, tmp_path):
    import csv

    out = run_minimal(tmp_path / "out")
    result = evaluate(minimal)
    with (out / "pnl_by_month.csv").open(encoding="utf-8") as fh:
        rows = [r for r in csv.DictReader(fh) if r["grid_index"] == "1"]
    # The p50 of net income in month 3 of grid point 1, as the P&L table writes it (2 dp).
    p50 = result.grid[1].percentile_paths["net_income_eur"][1]
    written = float(next(r for r in rows if r["month"] == "3")["p50_net_income_eur"])
    assert round(float(p50[2]), 2) == written
