"""The solver end to end on the minimal fixture (issue 17): it finds a boundary known by hand,
the same seed and budget give the same files, and the printed ``dvc exp run`` command —
applied to a copy of the repository exactly as DVC applies ``-S`` — reproduces the KPIs and
the acceptance of the proposal."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from decimal import ROUND_HALF_UP, Decimal
from pathlib import Path

import pytest
from dvc.utils.cli_parse import to_path_overrides
from dvc.utils.hydra import apply_overrides

from d3.report.data import ReportData
from d3.report.what_it_takes import what_it_takes_section
from tests.helpers import copy_minimal, edit_csv, edit_yaml, invoke, read_csv

PUBLIC = "inputs/operator/public_tap.yaml"
PRIVATE = "inputs/operator/private_tap.yaml"
GENERAL = "inputs/operator/general.yaml"
MARKUP = f"{PRIVATE}:pricing_policy.private_tap.markup_pct"
MARGIN = f"{PUBLIC}:pricing_policy.public_tap.target_margin_pct"
LOAN = f"{GENERAL}:loan.amount_eur"
ROOT = Path(__file__).resolve().parents[2]


def _one_price_per_class(header, rows) -> None:
    # beta's 2-GPU 4090 SKU at 2 × $0.50 and its H100 at $2.50: both providers of a class at
    # alpha's price, so the vendor paid is the median provider.
    for r in rows:
        if r["provider"] == "beta" and r["gpu_model"] == "RTX 4090":
            r["price_usd_hr"] = "1.00"
        if r["provider"] == "beta" and r["gpu_model"] == "H100 SXM":
            r["price_per_gpu_hr"] = "2.50"


def markup_fixture(dest: Path, solve: dict) -> Path:
    """The minimal fixture, Private Tap only, where only the private margin criterion can
    fail: no loan (no debt service: the DSCR criterion holds), a cash floor far below any
    path, the markup an operator key (its variable row removed) and every provider of a GPU
    class at one price."""
    d = copy_minimal(dest)
    edit_csv(d / "inputs/operator/curated_gpu.csv", _one_price_per_class)
    edit_csv(d / "inputs/variables/private_tap.csv", lambda header, rows: rows.clear())
    edit_yaml(d / "inputs/operator/general.yaml", lambda g: g["loan"].update(amount_eur=0))
    edit_yaml(d / "params.yaml", lambda p: p.update(
        run={**p["run"], "pipelines": ["private"]},
        targets={**p["targets"], "private_margin_threshold_pct": 25, "min_cash_eur": -1e9},
        solve=solve))
    return d


def solve_cli(d: Path, out: Path, *more: str):
    return invoke("solve", "--inputs", str(d / "inputs"), "--params", str(d / "params.yaml"),
                  "--out", str(out), *more)


def solved(d: Path, out: Path) -> dict:
    result = solve_cli(d, out)
    assert result.exit_code == 0, result.stderr
    return json.loads((out / "solve_best.json").read_text(encoding="utf-8"))


MARKUP_SOLVE = {"trials": 12, "startup_trials": 5, "screen_simulations_per_run": 5,
                "confirm": 2, "decisions": [{"key": MARKUP, "low": 20, "high": 50, "step": 2}]}


def test_the_solver_finds_the_markup_where_the_private_margin_reaches_its_threshold(tmp_path):
    # The vendor paid is the median provider, so each class's margin on the sell price is
    # markup / (100 + markup) (SPEC §6.2). It reaches 25 % at markup = 100 × 25 / 75 = 33.33:
    # on the grid 20, 22, …, 50 the boundary is 34 (34/134 = 25.37 % holds, 32/132 = 24.24 %
    # does not). The current 30 fails.
    d = markup_fixture(tmp_path / "a", MARKUP_SOLVE)
    result = solve_cli(d, tmp_path / "out")
    assert result.exit_code == 0, result.stderr
    best = json.loads((tmp_path / "out" / "solve_best.json").read_text(encoding="utf-8"))
    (decision,) = best["decisions"]
    assert (decision["current"], decision["proposed"]) == (30, 34)
    assert best["status"] == "fundable" and best["feasible"] is True
    assert best["distance"] == round((34 - 30) / (50 - 20), 6)  # one decision, weight 1
    assert best["arguments"] == [f"{MARKUP}=34"]
    assert best["command"] == f"dvc exp run -S {MARKUP}=34"
    # Undoing the change gives back the current plan, whose margin criterion fails at every
    # grid point (the fixture keeps its three pub_margin grid points).
    assert [f["name"] for f in decision["without_it"]["failed_criteria"]] == [
        "private_margin_per_class"] * 3
    _, rows = read_csv(tmp_path / "out" / "solve_candidates.csv")
    assert {r["phase"] for r in rows} >= {"screen", "confirm"}
    # Every candidate evaluated, screened or confirmed, sits on the side of 33.33 that its
    # feasibility says; the search tried the value just below the boundary.
    for r in rows:
        assert (float(r[MARKUP]) >= 100 * 25 / 75) == (r["feasible"] == "true"), r
    assert any(r[MARKUP] == "32" for r in rows)
    # One JSONL event per evaluation, in the file's order: the founder's plan first (no
    # screening trial), the re-check on independent futures last.
    events = [json.loads(line) for line in result.stdout.splitlines()]
    evaluated = [(e["phase"], e["trial"]) for e in events if e["event"] == "solve_evaluation"]
    assert evaluated == [(r["phase"], int(r["trial"]) if r["trial"] else None) for r in rows]
    assert (evaluated[0], evaluated[-1]) == (("current", None), ("recheck", best["trial"]))


def test_a_decision_that_does_not_fit_the_inputs_stops_d3_solve_before_it_writes(tmp_path):
    d = markup_fixture(tmp_path / "a", {"decisions": [
        {"key": f"{PRIVATE}:pricing_policy.private_tap.markup", "low": 20, "high": 50,
         "step": 2}]})
    result = solve_cli(d, tmp_path / "out")
    assert result.exit_code == 2
    assert ("params.yaml:solve.decisions[0].key: inputs/operator/private_tap.yaml has no key "
            "pricing_policy.private_tap.markup — did you mean "
            "`pricing_policy.private_tap.markup_pct`?") in result.stderr.splitlines()
    assert not (tmp_path / "out").exists()


def test_a_plan_already_fundable_needs_no_change(tmp_path):
    # Markup 40: margin 40/140 = 28.6 % ≥ 25 % already.
    d = markup_fixture(tmp_path / "a", {**MARKUP_SOLVE, "trials": 4})
    edit_yaml(d / "inputs/operator/private_tap.yaml",
              lambda op: op["pricing_policy"]["private_tap"].update(markup_pct=40))
    best = solved(d, tmp_path / "out")
    # The founder's plan, not a screening trial; nothing nearer exists, so nothing is searched:
    # the plan, then its re-check on independent futures.
    assert (best["status"], best["trial"], best["distance"]) == ("already_fundable", None, 0.0)
    assert (best["arguments"], best["command"]) == ([], "")
    assert best["decisions"][0]["proposed"] == 40 and not best["decisions"][0]["changed"]
    _, rows = read_csv(tmp_path / "out" / "solve_candidates.csv")
    assert [(r["phase"], r["trial"], r[MARKUP]) for r in rows] == [
        ("current", "", "40"), ("recheck", "", "40")]
    assert best["recheck"]["feasible"] is True and best["recheck"]["decides_status"] is False


def test_same_seed_and_budget_give_identical_files_and_another_seed_other_candidates(
        tmp_path):
    d = markup_fixture(tmp_path / "a", {**MARKUP_SOLVE, "decisions": [
        {"key": MARKUP, "low": 20, "high": 50, "step": 2},
        {"key": f"{PRIVATE}:acquisition.budget_month0_eur", "low": 100, "high": 1000,
         "step": 100}]})
    first, second = tmp_path / "one", tmp_path / "two"
    solved(d, first)
    solved(d, second)
    for name in ("solve_candidates.csv", "solve_best.json"):
        assert (first / name).read_bytes() == (second / name).read_bytes(), name
    edit_yaml(d / "params.yaml", lambda p: p["solve"].update(seed=12345))
    solved(d, tmp_path / "three")
    _, seed_7 = read_csv(first / "solve_candidates.csv")
    _, other = read_csv(tmp_path / "three" / "solve_candidates.csv")
    # Trial 0 is the current plan under any seed; the sampled trials differ.
    assert seed_7[0] == other[0]
    assert [r for r in seed_7 if r["phase"] == "screen"] != \
        [r for r in other if r["phase"] == "screen"]


def applied_as_dvc_does(repo: Path, arguments: list[str]) -> None:
    """``dvc exp run -S a -S b …`` on ``repo``'s files: grouped by file and applied with
    DVC's own Hydra override code (dvc/repo/experiments/queue/base.py ``_update_params``)."""
    cwd = Path.cwd()
    os.chdir(repo)
    try:
        for path, overrides in to_path_overrides(arguments).items():
            apply_overrides(path, overrides)
    finally:
        os.chdir(cwd)


@pytest.mark.parametrize("seed", [None, 11])
def test_the_printed_command_reproduces_the_kpis_and_acceptance_exactly(tmp_path, seed):
    # Both lines; the public margin and the private markup are variables (a grid axis and a
    # random draw), so the command fixes them through fixed_variables; the loan is an
    # operator key. A DSCR covenant of 100 fails with any loan, so the closest candidate
    # drops the loan to 0. Nothing is fundable; of the pins, the one that takes the margin's
    # three grid points down to one divides the shortfall (summed over grid points) by three
    # and stays, at 50 — the nearest pin: |40−50|+|50−50|+|60−50| over 3 grid points, / 20 =
    # 1/3, against (0+10+20)/3/20 = 1/2 for 40 or 60 — while pinning the markup changes no
    # criterion, so the polish leaves it drawn. With --seed, the command carries the seed.
    d = copy_minimal(tmp_path / "repo")
    edit_yaml(d / "params.yaml", lambda p: p.update(
        targets={**p["targets"], "min_dscr": 100},
        solve={"trials": 8, "startup_trials": 4, "screen_simulations_per_run": 5, "confirm": 1,
               "decisions": [{"key": MARGIN, "low": 40, "high": 60, "step": 10},
                             {"key": MARKUP, "low": 20, "high": 40, "step": 10},
                             {"key": LOAN, "low": 0, "high": 30000, "step": 10000}]}))
    seeded = () if seed is None else ("--seed", str(seed))
    result = solve_cli(d, tmp_path / "solve", *seeded)
    assert result.exit_code == 0, result.stderr
    best = json.loads((tmp_path / "solve" / "solve_best.json").read_text(encoding="utf-8"))
    assert best["arguments"] == [
        "params.yaml:++fixed_variables.pub_margin=50", f"{LOAN}=0",
        *([] if seed is None else [f"params.yaml:++stochastic.random_seed={seed}"])]
    margin, markup, loan = best["decisions"]
    assert (margin["distance"], markup["proposed"], markup["changed"]) == (
        round(1 / 3, 6), None, False)
    experiment = tmp_path / "experiment"
    shutil.copytree(d, experiment)
    applied_as_dvc_does(experiment, best["arguments"])
    out = tmp_path / "run"
    result = invoke("run", "--inputs", str(experiment / "inputs"), "--params",
                    str(experiment / "params.yaml"), "--out", str(out))
    assert result.exit_code == 0, result.stderr
    _, rows = read_csv(out / "consolidated_kpis.csv")
    written = {(r["grid_index"], r["metric"]): r for r in rows}
    assert len(best["kpis"]) > 20
    for kpi in best["kpis"]:
        row = written[(kpi["grid_index"], kpi["metric"])]
        assert {c: row[c] for c in kpi} == kpi
    acceptance = json.loads((out / "acceptance.json").read_text(encoding="utf-8"))
    assert acceptance == best["acceptance"]
    # One grid point: the swept margin is fixed.
    assert sorted(acceptance["grid"]) == ["0"]


def test_d3_solve_ends_with_one_line_saying_what_it_found(tmp_path):
    d = markup_fixture(tmp_path / "a", MARKUP_SOLVE)
    result = invoke("solve", "--inputs", str(d / "inputs"), "--params", str(d / "params.yaml"),
                    "--out", str(tmp_path / "out"), "--log-format", "text")
    assert result.exit_code == 0, result.stderr
    assert result.stdout.splitlines()[-1] == (
        f"Fundable with: dvc exp run -S {MARKUP}=34 ({tmp_path / 'out' / 'solve_best.json'})")


def test_an_infeasible_search_says_what_it_covered_and_names_grid_points_by_their_knobs(
        tmp_path):
    # Markups 20, 22, …, 30 all stay below the 25 % margin (30/130 = 23.1 %): nothing is
    # fundable, and the closest candidate is the current 30 (every candidate fails the one
    # pass/fail criterion at all three grid points: the same shortfall 3, then distance 0).
    d = markup_fixture(tmp_path / "a", {**MARKUP_SOLVE, "decisions": [
        {"key": MARKUP, "low": 20, "high": 30, "step": 2}]})
    out = tmp_path / "out"
    result = invoke("solve", "--inputs", str(d / "inputs"), "--params", str(d / "params.yaml"),
                    "--out", str(out), "--log-format", "text", "--seed", "5")
    assert result.exit_code == 0, result.stderr
    best = json.loads((out / "solve_best.json").read_text(encoding="utf-8"))
    assert (best["status"], best["decisions"][0]["proposed"]) == ("not_found", 30)
    # --seed reaches the sampler when solve.seed is null.
    assert best["settings"]["seed"] == 5
    # The distinct candidates are the distinct markups of the candidates file; the ranges
    # allow (30 − 20) / 2 + 1 = 6.
    _, rows = read_csv(out / "solve_candidates.csv")
    counts = best["evaluations"]
    assert counts["candidates"] == len({r[MARKUP] for r in rows})
    assert counts["combinations"] == 6
    # All 6 were evaluated: more trials would not help, wider ranges might.
    assert counts["candidates"] == 6
    assert result.stdout.splitlines()[-1] == (
        "No fundable plan among the 6 candidates evaluated (solve.trials=12); they are every "
        "combination the ranges allow: widen the decisions' ranges. The closest candidate and "
        f"what blocks it: {out / 'solve_best.json'}")
    # The grid points of the fixture's pub_margin axis (40..60 step 10), by their knobs.
    proposed = best["proposed"]
    assert proposed["grid_labels"] == {"0": "pub_margin=40%", "1": "pub_margin=50%",
                                       "2": "pub_margin=60%"}
    # The lender's cash measures over the grid points: the highest p90 funding need and the
    # lowest p10 of the lowest free cash, as the proposal's KPI rows give them per grid point.
    def over_grid(metric: str, q: str, pick) -> float:
        return pick(float(k[q]) for k in best["kpis"] if k["metric"] == metric)

    assert proposed["funding_need_p90_eur"] == over_grid("funding_need_eur", "p90", max)
    assert proposed["lowest_free_cash_p10_eur"] == over_grid("min_free_cash_eur", "p10", min)
    # The report says the criterion once, failing at every grid point.
    data = ReportData(horizon_months=24, term_months=60, percentiles=[10, 50, 90],
                      acceptance={}, summary={}, kpis=[], plan={}, validation={},
                      solve_best=best)
    lines = what_it_takes_section(data)
    assert "It still fails the Private Tap margin floor (at every grid point):" in lines
    # 9 evaluations: the founder's plan (markup 30) at the full count; 6 screened, trial 0
    # the same markup 30 again; of the 2 best screened, 30 is already at the full count, so
    # 1 confirmation is new; the re-check. 9 − (1 + 1 + 1) = 6 distinct candidates.
    assert counts["total"] == 9
    assert lines[2] == (
        "**None of the 6 candidates evaluated makes the plan fundable** (budget "
        "`solve.trials=12`: 9 evaluations — 6 screened on a smaller sample, 3 at the full "
        "sample count; 3 of them evaluate a candidate again (1 screened candidate confirmed "
        "at the full count, your plan screened again as trial 0, 1 re-check on independent "
        "futures), so 6 distinct candidates; `solve_candidates.csv`): they are every "
        "combination the decisions' ranges allow. To go further, widen the decisions' "
        "`low`/`high` or declare other keys (`solve.decisions` in `params.yaml`). The "
        "closest candidate:")
    # The private margin depends on the markup only: one detail, said once.
    assert [line for line in lines if line.startswith("- ")] == [
        "- the Private Tap margin floor (at every grid point): threshold 25 % on the vendor "
        "actually paid; 4090 23.1 % vendor-paid (23.1 % vs median); H100 SXM 23.1 % "
        "vendor-paid (23.1 % vs median); below: 4090, H100 SXM"]


def _swept_markup(header, rows) -> None:
    rows.append({"variable_id": "priv_markup", "scope": "private_tap",
                 "path": "pricing_policy.private_tap.markup_pct", "type": "discrete",
                 "unit": "pct", "default": "30", "treatment": "low_to_high",
                 "notes": "values=20|30|40"})


def test_the_current_plan_is_the_founders_as_the_inputs_have_it_and_pinning_is_a_change(
        tmp_path):
    # The markup swept over 20|30|40 (a grid axis) with the margin floor at 20 %: each class's
    # margin markup / (100 + markup) is 20/120 = 16.7 % (fails), 30/130 = 23.1 % and
    # 40/140 = 28.6 % (hold). The founder's plan — 3 markups × the fixture's 3 pub_margin
    # grid points — fails at the three markup-20 points, so it is not fundable, although
    # every candidate that pins the markup at its default 30 is. Pinning is the change, and
    # it costs the expected change over the axis: (|20−30| + 0 + |40−30|) / 3 / span 20 = 1/3
    # (at 40: (20 + 10 + 0) / 3 / 20 = 1/2).
    d = markup_fixture(tmp_path / "a", {**MARKUP_SOLVE, "decisions": [
        {"key": MARKUP, "low": 20, "high": 40, "step": 10}]})
    edit_csv(d / "inputs/variables/private_tap.csv", _swept_markup)
    edit_yaml(d / "params.yaml", lambda p: p["targets"].update(private_margin_threshold_pct=20))
    best = solved(d, tmp_path / "out")
    assert (best["status"], best["distance"]) == ("fundable", round(1 / 3, 6))
    assert best["arguments"] == ["params.yaml:++fixed_variables.priv_markup=30"]
    (decision,) = best["decisions"]
    assert {k: decision[k] for k in ("current", "proposed", "changed", "varies", "treatment",
                                     "current_domain")} == {
        "current": 30, "proposed": 30, "changed": True, "varies": True,
        "treatment": "low_to_high", "current_domain": "values 20|30|40"}
    current = best["current"]
    assert len(current["grid_labels"]) == 9 and not current["feasible"]
    failing = sorted(current["grid_labels"][str(f["grid_index"])]
                     for f in current["failed_criteria"])
    assert failing == [f"pub_margin={m}%, priv_markup=20%" for m in (40, 50, 60)]
    # Without the pin: the founder's plan again.
    assert decision["without_it"] == current
    _, rows = read_csv(tmp_path / "out" / "solve_candidates.csv")
    assert (rows[0]["phase"], rows[0][MARKUP], rows[0]["distance"]) == ("current", "", "0.000000")
    text = "\n".join(what_it_takes_section(ReportData(
        horizon_months=24, term_months=60, percentiles=[10, 50, 90], acceptance={}, summary={},
        kpis=[], plan={}, validation={}, solve_best=best)))
    # (The table escapes the | of the values.)
    assert ("| private_tap: pricing_policy.private_tap.markup_pct (fixes priv_markup) | swept "
            "(values 20\\|30\\|40) | 30 % | without it fails: the Private Tap margin floor (at "
            "pub_margin=40%, priv_markup=20%; pub_margin=50%, priv_markup=20%; "
            "pub_margin=60%, priv_markup=20%) |") in text
    assert ("The current plan is yours as the inputs have it: priv_markup swept. Fixing such "
            "a variable") in text


def test_a_warning_about_a_decision_neither_stops_the_run_nor_counts_twice(tmp_path):
    # The margin decision 40..60 step 5 asks pub_margin for 45 and 55, which it cannot take:
    # a WARNING (solve_decision), found by validation and counted once in the run summary.
    d = copy_minimal(tmp_path / "m")
    edit_yaml(d / "params.yaml", lambda p: p.update(solve={
        "trials": 3, "startup_trials": 2, "screen_simulations_per_run": 2, "confirm": 1,
        "decisions": [{"key": MARGIN, "low": 40, "high": 60, "step": 5}]}))
    out = tmp_path / "out"
    result = invoke("run", "--inputs", str(d / "inputs"), "--params", str(d / "params.yaml"),
                    "--out", str(out), "--log-format", "json")
    assert result.exit_code == 0, result.stderr
    summary = json.loads((out / "run_summary.json").read_text(encoding="utf-8"))
    assert summary["warning_count"]["by_code"].get("solve_decision") == 1
    events = [json.loads(line) for line in result.stdout.splitlines()]
    warned = [e["location"] for e in events if e["event"] == "solve_warning"]
    assert warned == ["solve.decisions[0]"]
    assert json.loads((out / "solve_best.json").read_text(encoding="utf-8"))["status"] in {
        "fundable", "not_found", "already_fundable"}


def test_d3_solve_exits_3_when_no_candidate_can_be_evaluated(tmp_path, monkeypatch):
    def broken(*args, **kwargs):
        raise ZeroDivisionError("division by zero")

    monkeypatch.setattr("d3.solve.search.evaluate", broken)
    d = markup_fixture(tmp_path / "a", {**MARKUP_SOLVE, "trials": 3})
    result = solve_cli(d, tmp_path / "out")
    assert result.exit_code == 3
    assert ("internal error: RuntimeError: no candidate could be evaluated; the first failure: "
            "ZeroDivisionError: division by zero") in result.stderr.splitlines()


def test_the_solve_files_do_not_depend_on_python_hash_randomisation(tmp_path):
    d = markup_fixture(tmp_path / "a", {**MARKUP_SOLVE, "decisions": [
        {"key": MARKUP, "low": 20, "high": 50, "step": 2},
        {"key": f"{PRIVATE}:acquisition.budget_month0_eur", "low": 100, "high": 1000,
         "step": 100}]})
    outs = []
    for hash_seed in ("0", "4242"):
        outs.append(tmp_path / f"out{hash_seed}")
        env = {**os.environ, "PYTHONHASHSEED": hash_seed, "PYTHONPATH": str(ROOT)}
        subprocess.run([sys.executable, "-m", "d3", "solve", "--inputs", str(d / "inputs"),
                        "--params", str(d / "params.yaml"), "--out", str(outs[-1]),
                        "--quiet"], check=True, env=env, cwd=ROOT)
    for name in ("solve_candidates.csv", "solve_best.json"):
        assert (outs[0] / name).read_bytes() == (outs[1] / name).read_bytes(), name


def _euros(x: float) -> str:
    """Whole euros, half away from zero, with thousands separators (as the report rounds)."""
    return f"{Decimal(repr(x)).quantize(Decimal(1), rounding=ROUND_HALF_UP):,}"


def test_the_current_numbers_are_the_founders_plan_as_section_1_shows_it(tmp_path):
    # The founder's plan is evaluated as the inputs have it: pub_margin swept over its three
    # grid points (the margin decision leaves it so), priv_markup drawn. Its measures over
    # the grid points are therefore those of the run's own consolidated_kpis.csv — the
    # numbers §1 and §6 print — each taken at the grid point the report names: the highest
    # p90 funding need for the first 12 months (the fixture's horizon), the lowest p50 net
    # income, the lowest p10 of the lowest free cash over the whole 60-month loan term.
    d = copy_minimal(tmp_path / "m")
    edit_yaml(d / "params.yaml", lambda p: p.update(
        targets={**p["targets"], "min_dscr": 100},
        solve={"trials": 4, "startup_trials": 2, "screen_simulations_per_run": 5, "confirm": 1,
               "decisions": [{"key": MARGIN, "low": 40, "high": 60, "step": 10},
                             {"key": LOAN, "low": 0, "high": 30000, "step": 10000}]}))
    out = tmp_path / "out"
    result = invoke("run", "--inputs", str(d / "inputs"), "--params", str(d / "params.yaml"),
                    "--out", str(out))
    assert result.exit_code == 0, result.stderr
    current = json.loads((out / "solve_best.json").read_text(encoding="utf-8"))["current"]
    assert current["grid_labels"] == {"0": "pub_margin=40%", "1": "pub_margin=50%",
                                      "2": "pub_margin=60%"}
    _, kpis = read_csv(out / "consolidated_kpis.csv")
    cell = {(r["grid_label"], r["metric"]): r for r in kpis}
    labels = current["grid_labels"]
    report = (out / "financial_plan_v3.md").read_text(encoding="utf-8")
    for key, metric, q, pick in (("funding_need_p90_eur", "funding_need_eur", "p90", max),
                                 ("net_income_p50_eur", "net_income_eur", "p50", min),
                                 ("lowest_free_cash_p10_eur", "min_free_cash_eur", "p10",
                                  min)):
        values = {label: float(cell[(label, metric)][q]) for label in labels.values()}
        worst = pick(values.values())
        where = labels[str(current["worst_grid"][key])]
        assert current[key] == worst == values[where], key
        # The report's "from EUR X (at LABEL)": the same number, rounded to the euro.
        assert f"from EUR {_euros(worst)} (at {where})" in report, key
    # §1's table row of that grid point shows the same funding need for the first 12 months.
    need_at = labels[str(current["worst_grid"]["funding_need_p90_eur"])]
    header = next(line for line in report.splitlines()
                  if line.startswith("| grid point | verdict |"))
    column = [c.strip() for c in header.split("|")].index("funding need p90, 12 months (EUR)")
    row = next(line for line in report.splitlines() if line.startswith(f"| {need_at} |")
               or line.startswith(f"| **{need_at}** "))
    assert [c.strip() for c in row.split("|")][column] == \
        _euros(current["funding_need_p90_eur"])
    assert ("the highest, across grid points, of the funding need at 90 % confidence for the "
            "first 12 months from") in report
