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
    low = evaluate(minimal, overrides={MARGIN: 40}, keep_series=True)
    high = evaluate(minimal, overrides={MARGIN: 60}, keep_series=True)
    a, b = low.public, high.public
    # The margin fixes the grid variable pub_margin: one grid point, 2 replicates × 10 paths.
    assert sorted(low.grid) == [0] and a["new_customers"].shape[0] == 2 * 10
    for same in ("budget_eur", "new_customers", "active_customers", "tokens",
                 "tokens_demanded", "tokens_served", "unserved_tokens", "instances_total",
                 "gpu_cogs_eur", "cogs_eur", "capacity_violations"):
        assert np.array_equal(a[same], b[same]), same  # the fleet is the same too
    # Same tokens at a higher price: every month's credits scale by the price ratio.
    assert (b["credits_sold_eur"] > a["credits_sold_eur"])[a["tokens"] > 0].all()
    ratio = b["credits_sold_eur"][a["tokens"] > 0] / a["credits_sold_eur"][a["tokens"] > 0]
    assert np.allclose(ratio, ratio.flat[0])
    kpi = {e: evaluate(minimal, overrides={MARGIN: m}).grid[0].kpis
           for e, m in (("low", 40), ("high", 60))}
    assert (kpi["high"]["public_priced_margin_pct"][1]
            > kpi["low"]["public_priced_margin_pct"][1]).all()


def test_a_bigger_budget_keeps_the_random_futures_and_never_loses_a_customer(minimal):
    """Common random numbers for a knob that moves an intensity (issue 17 review): new
    customers and churn are drawn by inversion of one uniform per sample and month, so a 5 %
    larger ads budget on either line gives at least as many new customers on every path and
    month, and the per-sample net incomes of the two plans move together (correlation 0.99 on
    this fixture; 0.13 with numpy's Poisson/binomial samplers, which fall out of step)."""
    budget = {("public", "new_customers"): f"{PUBLIC}:acquisition.budget_month0_eur",
              ("private", "new_clients"):
                  "inputs/operator/private_tap.yaml:acquisition.budget_month0_eur"}
    base = evaluate(minimal, keep_series=True)
    for (line, new), key in budget.items():
        value = minimal.operators[f"{line}_tap"]["acquisition"]["budget_month0_eur"]
        more = evaluate(minimal, overrides={key: value * 1.05}, keep_series=True)
        a, b = getattr(base, line)[new], getattr(more, line)[new]
        assert (b >= a).all() and (b > a).any(), line
        for g in base.grid:
            x, y = (e.grid[g].kpis["net_income_eur"][1] for e in (base, more))
            assert np.corrcoef(x, y)[0, 1] > 0.95, (line, g)


def test_an_override_is_checked_like_an_input(minimal):
    with pytest.raises(ValidationError) as caught:
        evaluate(minimal, overrides={MARGIN: 150, "inputs/operator/nope.yaml:a.b": 1,
                                     "params.yaml:stochastic.simulations_per_run": 0,
                                     "inputs/operator/general.yaml:insurances.selected": ["x"],
                                     f"{PUBLIC}:acquisition.churn_pct_mom_x": 3})
    lines = [i.line() for i in caught.value.issues]
    # The same validator as the files: every problem at once, FILE:LOCATION: what — fix.
    assert lines == [
        "inputs/operator/nope.yaml:a.b: an override names params.yaml or inputs/operator/"
        "<general|public_tap|private_tap>.yaml and a key — e.g. inputs/operator/public_tap.yaml:"
        "acquisition.churn_pct_mom or params.yaml:stochastic.simulations_per_run",
        f"{MARGIN}: must be ≤ 95, got 150 — use a value ≤ 95",
        f"{PUBLIC}:acquisition.churn_pct_mom_x: unknown key — did you mean `churn_pct_mom`?",
        "params.yaml:stochastic.simulations_per_run: must be ≥ 1, got 0 — use a value ≥ 1",
        "inputs/operator/general.yaml:insurances.selected[0]: unknown insurer id 'x' — use an "
        "insurer_id of facts/insurances.csv: ins_cyber, ins_pi"]


def test_a_seed_override_draws_new_paths_and_a_variable_below_a_key_is_fixed(minimal):
    base = evaluate(minimal, keep_series=True).public["new_customers"]
    reseeded = evaluate(minimal, overrides={"params.yaml:stochastic.random_seed": 99},
                        keep_series=True).public["new_customers"]
    assert base.shape == reseeded.shape and not np.array_equal(base, reseeded)
    # Overriding the whole pricing_policy.public_tap section fixes pub_margin (on .target_margin
    # _pct below it) at the section's value: one grid point instead of three.
    section = dict(minimal.operators["public_tap"]["pricing_policy"]["public_tap"],
                   target_margin_pct=60)
    one = evaluate(minimal, overrides={f"{PUBLIC}:pricing_policy.public_tap": section})
    assert sorted(one.grid) == [0]
    direct = evaluate(minimal, overrides={MARGIN: 60}).grid[0].kpis
    assert list(one.grid[0].kpis) == list(direct)
    assert all(np.array_equal(one.grid[0].kpis[k][1], direct[k][1], equal_nan=True)
               for k in direct)


def test_evaluate_gives_the_tables_percentile_paths(minimal, tmp_path):
    import csv

    out = run_minimal(tmp_path / "out")
    result = evaluate(minimal, paths=True)
    assert evaluate(minimal).grid[1].percentile_paths is None  # only on request
    with (out / "pnl_by_month.csv").open(encoding="utf-8") as fh:
        rows = [r for r in csv.DictReader(fh) if r["grid_index"] == "1"]
    # The p50 of net income in month 3 of grid point 1, as the P&L table writes it (2 dp).
    p50 = result.grid[1].percentile_paths["net_income_eur"][1]
    written = float(next(r for r in rows if r["month"] == "3")["p50_net_income_eur"])
    assert round(float(p50[2]), 2) == written


def test_a_cash_buffer_swept_by_the_grid_sets_each_grid_points_floor(tmp_path):
    from tests.helpers import copy_minimal, edit_csv, invoke

    # reserves.cash_buffer_eur on the grid: 0 and 20 000 (× the 3 margins = 6 grid points).
    root = copy_minimal(tmp_path / "tree")
    edit_csv(root / "inputs/variables/general.csv", lambda header, rows: rows.append(
        {"variable_id": "gen_buffer", "scope": "general", "path": "reserves.cash_buffer_eur",
         "type": "numeric", "unit": "EUR", "min": "0", "max": "20000", "step": "20000",
         "default": "0", "treatment": "low_to_high", "notes": ""}))
    out = tmp_path / "out"
    result = invoke("run", "--inputs", str(root / "inputs"), "--params",
                    str(root / "params.yaml"), "--out", str(out))
    assert result.exit_code == 0, result.stderr
    written = json.loads((out / "acceptance.json").read_text(encoding="utf-8"))
    floors = {g: next(c["detail"] for c in v["criteria"] if c["name"] == "min_cash")
              for g, v in written["grid"].items()}
    # Each grid point's min_cash floor names its own buffer (0 or 20,000), not the YAML's.
    assert {("cash buffer 20,000" in d) for d in floors.values()} == {True, False}
    inputs = model_inputs(root / "inputs", root / "params.yaml")
    assert json.loads(json_text(evaluate(inputs).acceptance)) == written


def test_a_markup_swept_by_the_grid_is_judged_at_each_grid_points_value(tmp_path):
    from tests.helpers import copy_minimal, edit_csv, invoke

    # The private markup becomes a grid axis 20 / 40 (× the 3 margins = 6 grid points): each
    # grid point's private margin criterion shows its own margins, not the reference's.
    root = copy_minimal(tmp_path / "tree")

    def markup_on_the_grid(header, rows):
        rows[:] = [r for r in rows if r["variable_id"] != "priv_markup"]
        rows.append({"variable_id": "priv_markup", "scope": "private_tap",
                     "path": "pricing_policy.private_tap.markup_pct", "type": "numeric",
                     "unit": "pct", "min": "20", "max": "40", "step": "20", "default": "20",
                     "treatment": "low_to_high", "notes": ""})

    edit_csv(root / "inputs/variables/private_tap.csv", markup_on_the_grid)
    out = tmp_path / "out"
    result = invoke("run", "--inputs", str(root / "inputs"), "--params",
                    str(root / "params.yaml"), "--out", str(out))
    assert result.exit_code == 0, result.stderr
    written = json.loads((out / "acceptance.json").read_text(encoding="utf-8"))
    details = {next(c["detail"] for c in v["criteria"] if c["name"] == "private_margin_per_class")
               for v in written["grid"].values()}
    assert len(details) == 2  # markup 20 % and 40 % give two different sets of margins
    inputs = model_inputs(root / "inputs", root / "params.yaml")
    assert json.loads(json_text(evaluate(inputs).acceptance)) == written
