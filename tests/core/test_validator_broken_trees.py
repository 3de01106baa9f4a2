"""Every validation rule: a broken copy of the minimal fixture must exit 2 and name the exact
``FILE:LOCATION`` (SPEC §2). Row numbers are CSV line numbers (the header is row 1)."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.helpers import copy_minimal, edit_csv, edit_yaml, invoke

GPU = "inputs/operator/curated_gpu.csv"
MODELS = "inputs/operator/curated_public_tap_models.csv"
GENERAL = "inputs/operator/general.yaml"
PUBLIC = "inputs/operator/public_tap.yaml"
PRIVATE = "inputs/operator/private_tap.yaml"
VAR_PUB = "inputs/variables/public_tap.csv"
VAR_PRIV = "inputs/variables/private_tap.csv"


def _set(key_path: str, value):
    def change(data: dict) -> None:
        node = data
        *parents, last = key_path.split(".")
        for part in parents:
            node = node.setdefault(part, {})
        node[last] = value
    return change


def _delete(key_path: str):
    def change(data: dict) -> None:
        node = data
        *parents, last = key_path.split(".")
        for part in parents:
            node = node[part]
        del node[last]
    return change


def _cell(row: int, column: str, value: str):
    """Set one CSV cell; ``row`` is the data-row index (0 = CSV row 2)."""
    def change(header, rows):
        rows[row][column] = value
    return change


def _churn_grid_by_1e_9(header, rows):
    # churn 2..8 % by 1e-9 as a grid axis: (8 − 2)/1e-9 + 1 = 6 000 000 001 points × the
    # 3 target margins (40, 50, 60) = 18 000 000 003 grid points.
    for r in rows:
        if r["variable_id"] == "pub_churn":
            r.update(step="0.000000001", treatment="low_to_high")


def yaml_edit(rel: str, change):
    return lambda root: edit_yaml(root / rel, change)


def csv_edit(rel: str, change):
    return lambda root: edit_csv(root / rel, change)


def _drop_column(column: str):
    def change(header, rows):
        header.remove(column)
    return change


def _add_row(record: dict):
    def change(header, rows):
        rows.append(record)
    return change


def _extra_cell(root: Path) -> None:
    path = root / GPU
    lines = path.read_text().splitlines()
    lines[1] += ",surprise"
    path.write_text("\n".join(lines) + "\n")


def _no_seed(root: Path) -> None:
    edit_yaml(root / "params.yaml", _set("stochastic.random_seed", None))
    edit_yaml(root / PUBLIC, _delete("meta.seed"))
    edit_yaml(root / PRIVATE, _delete("meta.seed"))


def _bad_yaml(root: Path) -> None:
    path = root / GENERAL
    path.write_text(path.read_text() + "tax: [unclosed\n")


DUP_VAR = {"variable_id": "pub_churn", "scope": "private_tap",
           "path": "acquisition.churn_pct_mom", "type": "numeric", "unit": "pct", "min": "1",
           "max": "5", "step": "1", "default": "3", "treatment": "fixed", "notes": ""}

# (case id, how to break the tree, expected "FILE:LOCATION: message-start")
CASES = [
    ("missing_file", lambda r: (r / "inputs/facts/gpu_specs.csv").unlink(),
     "inputs/facts/gpu_specs.csv:(file): file not found"),
    ("missing_column", csv_edit(GPU, _drop_column("num_gpus")),
     f"{GPU}:header: missing column(s) num_gpus"),
    ("extra_cell", _extra_cell, f"{GPU}:row 2: has 9 cells but the header has 8"),
    ("wrong_type", csv_edit(GPU, _cell(0, "num_gpus", "two")),
     f"{GPU}:row 2 (alpha/RTX 4090): num_gpus must be a whole number, got 'two'"),
    ("nan_price", csv_edit(GPU, _cell(1, "price_per_gpu_hr", "nan")),
     f"{GPU}:row 3 (alpha/H100 SXM): price_per_gpu_hr must be a finite number"),
    ("negative_price", csv_edit(GPU, _cell(1, "price_per_gpu_hr", "-2.5")),
     f"{GPU}:row 3 (alpha/H100 SXM): price_per_gpu_hr must be > 0, got -2.5"),
    ("num_gpus_zero", csv_edit(GPU, _cell(2, "num_gpus", "0")),
     f"{GPU}:row 4 (beta/RTX 4090): num_gpus must be ≥ 1, got 0"),
    ("no_price", csv_edit(GPU, _cell(0, "price_per_gpu_hr", "")),
     f"{GPU}:row 2 (alpha/RTX 4090): no price"),
    ("unknown_key_with_hint",
     yaml_edit(PUBLIC, _set("autoscaling.target_utilisation_pct", 70)),
     f"{PUBLIC}:autoscaling.target_utilisation_pct: unknown key — did you mean "
     "`target_utilization_pct`?"),
    ("unknown_plan_key", yaml_edit("params.yaml", _set("stochastic.simulation_per_run", 5)),
     "params.yaml:stochastic.simulation_per_run: unknown key — did you mean "
     "`simulations_per_run`?"),
    ("variable_outside_scope",
     csv_edit(VAR_PUB, _cell(1, "path", "finance.contingency_pct_of_costs")),
     f"{VAR_PUB}:row 3 (pub_churn): path 'finance.contingency_pct_of_costs' is outside the "
     "public_tap scope"),
    ("variable_path_unknown", csv_edit(VAR_PUB, _cell(1, "path", "acquisition.churn_rate")),
     f"{VAR_PUB}:row 3 (pub_churn): path 'acquisition.churn_rate' names no key"),
    ("default_off_grid", csv_edit(VAR_PUB, _cell(1, "default", "5.25")),
     f"{VAR_PUB}:row 3 (pub_churn): default 5.25 is not on the step grid 2 + k×0.5 — use 5.0 or "
     "5.5"),
    ("discrete_default_not_in_values", csv_edit(VAR_PRIV, _cell(0, "default", "35")),
     f"{VAR_PRIV}:row 2 (priv_markup): default 35 is not one of the values [20, 30, 40]"),
    ("duplicate_variable_id", csv_edit(VAR_PRIV, _add_row(DUP_VAR)),
     f"{VAR_PRIV}:row 3 (pub_churn): duplicate variable_id 'pub_churn'"),
    ("variable_min_above_max", csv_edit(VAR_PUB, _cell(1, "min", "9")),
     f"{VAR_PUB}:row 3 (pub_churn): min 9 is greater than max 8"),
    ("variable_step_zero", csv_edit(VAR_PUB, _cell(1, "step", "0")),
     f"{VAR_PUB}:row 3 (pub_churn): step must be > 0, got 0"),
    ("variable_unknown_treatment", csv_edit(VAR_PUB, _cell(1, "treatment", "sometimes")),
     f"{VAR_PUB}:row 3 (pub_churn): treatment must be one of"),
    ("variable_outside_key_domain", csv_edit(VAR_PUB, _cell(0, "max", "100")),
     f"{VAR_PUB}:row 2 (pub_margin): value 100 is not allowed at "
     "pricing_policy.public_tap.target_margin_pct"),
    ("min_instances_above_max",
     yaml_edit(PUBLIC, _set("autoscaling.min_instances_per_model", 5)),
     f"{PUBLIC}:autoscaling.min_instances_per_model: min_instances_per_model 5 is above "
     "max_instances_per_model 4"),
    ("thresholds_down_ge_up", yaml_edit(PUBLIC, _set("autoscaling.scale_down_threshold_pct", 80)),
     f"{PUBLIC}:autoscaling.scale_down_threshold_pct: scale-down threshold 80 must be below"),
    ("unknown_insurer", yaml_edit(GENERAL, _set("insurances.selected", ["ins_pi", "lloyds"])),
     f"{GENERAL}:insurances.selected[1]: unknown insurer id 'lloyds'"),
    ("unknown_channel", yaml_edit(PUBLIC, _set("acquisition.channel_allocation",
                                               {"search": 0.5, "tv": 0.5})),
     f"{PUBLIC}:acquisition.channel_allocation.tv: unknown channel id 'tv'"),
    ("missing_fx_rate", yaml_edit("inputs/facts/market_env.yaml",
                                  _delete("finance.eur_usd_fx_rate")),
     "inputs/facts/market_env.yaml:finance.eur_usd_fx_rate: required key is missing"),
    ("no_seed_anywhere", _no_seed,
     f"{PUBLIC}:meta.seed: no random seed for scope public_tap"),
    ("percentiles_not_ascending",
     yaml_edit("params.yaml", _set("stochastic.percentiles", [50, 10, 90])),
     "params.yaml:stochastic.percentiles: percentiles [50, 10, 90] must be strictly ascending"),
    ("grid_over_max", yaml_edit("params.yaml", _set("run.max_grid_size", 2)),
     "params.yaml:run.max_grid_size: the run grid has 3 points, more than "
     "run.max_grid_size = 2"),
    # A fine step as a grid axis: refused before the grid is built (it would not fit in memory).
    ("grid_step_too_fine", csv_edit("inputs/variables/public_tap.csv", _churn_grid_by_1e_9),
     "params.yaml:run.max_grid_size: the run grid has 18000000003 points, more than "
     "run.max_grid_size = 10000"),
    ("samples_over_max", yaml_edit("params.yaml", _set("run.max_samples", 59)),
     "params.yaml:run.max_samples: grid × replicates × Monte Carlo = 60 samples"),
    # The solver's full-count evaluations: 3 grid points × 2 replicates × 2 000 000 paths.
    ("confirm_over_max",
     yaml_edit("params.yaml", _set("solve.confirm_simulations_per_run", 2_000_000)),
     "params.yaml:solve.confirm_simulations_per_run: grid × replicates × 2000000 = 12000000 "
     "samples per solver evaluation, more than run.max_samples = 10000000"),
    ("margin_above_95",
     yaml_edit(PUBLIC, _set("pricing_policy.public_tap.target_margin_pct", 99)),
     f"{PUBLIC}:pricing_policy.public_tap.target_margin_pct: must be ≤ 95, got 99"),
    ("round_increment_zero",
     yaml_edit(PUBLIC, _set("pricing_policy.public_tap.round_increment_eur_per_1k", 0)),
     f"{PUBLIC}:pricing_policy.public_tap.round_increment_eur_per_1k: must be > 0, got 0"),
    ("horizon_zero", yaml_edit("params.yaml", _set("targets.horizon_months", 0)),
     "params.yaml:targets.horizon_months: must be ≥ 1, got 0"),
    ("simulations_zero", yaml_edit("params.yaml", _set("stochastic.simulations_per_run", 0)),
     "params.yaml:stochastic.simulations_per_run: must be ≥ 1, got 0"),
    ("cac_zero", yaml_edit(PRIVATE, _set("acquisition.cac_base_eur", 0)),
     f"{PRIVATE}:acquisition.cac_base_eur: must be > 0, got 0"),
    ("cac_missing", yaml_edit(PRIVATE, _delete("acquisition.cac_base_eur")),
     f"{PRIVATE}:acquisition.cac_base_eur: no CAC"),
    ("channel_cpc_zero", csv_edit("inputs/facts/ads_channels.csv", _cell(0, "cost_per_click", "0")),
     "inputs/facts/ads_channels.csv:row 2 (search): cost_per_click must be > 0, got 0"),
    ("percent_above_100", yaml_edit(GENERAL, _set("finance.contingency_pct_of_costs", 150)),
     f"{GENERAL}:finance.contingency_pct_of_costs: must be ≤ 100, got 150"),
    ("invalid_yaml", _bad_yaml, f"{GENERAL}:line "),
    ("model_fits_no_gpu", csv_edit(MODELS, _cell(1, "vram_needed_gb", "500")),
     f"{MODELS}:row 3 (Mistral Small/24B): Mistral Small 24B needs 500 GB but the largest "
     "curated offer has 80 GB"),
    ("grace_not_shorter_than_term", yaml_edit(GENERAL, _set("loan.grace_period_months", 60)),
     f"{GENERAL}:loan.grace_period_months: grace period 60 must be shorter than term_months 60"),
    ("gpu_vram_inconsistent", csv_edit(GPU, _cell(2, "gpu_vram_gb", "48")),
     f"{GPU}:row 4 (beta/RTX 4090): GPU class 4090 has 48 GB here but 24 GB on row 2"),
    ("duplicate_insurer", csv_edit("inputs/facts/insurances.csv", _cell(1, "insurer_id", "ins_pi")),
     "inputs/facts/insurances.csv:row 3 (ins_pi): duplicate insurer_id 'ins_pi'"),
    ("bad_repayment", yaml_edit(GENERAL, _set("loan.repayment", "balloon")),
     f"{GENERAL}:loan.repayment: must be one of 'annuity', 'flat' or 'bullet', got 'balloon'"),
]


@pytest.mark.parametrize("case_id,breaker,expected", CASES, ids=[c[0] for c in CASES])
def test_broken_tree_exits_2_with_exact_location(tmp_path, case_id, breaker, expected):
    root = copy_minimal(tmp_path / "tree")
    breaker(root)
    result = invoke("validate", "--inputs", str(root / "inputs"))
    assert result.exit_code == 2, result.stdout + result.stderr
    lines = result.stderr.splitlines()
    assert any(line.startswith(expected) for line in lines), "\n".join(lines)
    # The same problem is a JSONL validate_error event on stdout.
    assert '"event": "validate_error"' in result.stdout


def test_there_are_at_least_25_distinct_broken_trees():
    assert len({c[0] for c in CASES}) >= 25


def test_three_independent_errors_are_all_reported_at_once(tmp_path):
    root = copy_minimal(tmp_path / "tree")
    edit_csv(root / GPU, _cell(2, "num_gpus", "0"))
    edit_yaml(root / GENERAL, _set("insurances.selected", ["nobody"]))
    edit_yaml(root / "params.yaml", _set("stochastic.percentiles", [90, 50]))
    result = invoke("validate", "--inputs", str(root / "inputs"))
    assert result.exit_code == 2
    errors = [line for line in result.stderr.splitlines() if not line.startswith("warning:")]
    assert sorted(line.split(": ")[0] for line in errors) == [
        "inputs/operator/curated_gpu.csv:row 4 (beta/RTX 4090)",
        "inputs/operator/general.yaml:insurances.selected[0]",
        "params.yaml:stochastic.percentiles",
    ]
    assert len(errors) == 3


def test_run_with_invalid_inputs_writes_nothing(tmp_path):
    root = copy_minimal(tmp_path / "tree")
    edit_csv(root / GPU, _cell(2, "num_gpus", "0"))
    out = tmp_path / "out"
    result = invoke("run", "--inputs", str(root / "inputs"), "--out", str(out))
    assert result.exit_code == 2
    assert not out.exists()
