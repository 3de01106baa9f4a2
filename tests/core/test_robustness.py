"""Issue 12: each reported case, and further cases of the same kinds, on a copy of the shipped
inputs. Every test asserts the exit code and the exact ``FILE:LOCATION: message — fix`` line.
(The all-or-nothing cases 12–15 are in tests/cli/test_atomic_run.py.)"""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from d3.core.guards import estimated_peak_memory_gb
from tests.helpers import ROOT, edit_csv, edit_yaml, invoke

GENERAL = "inputs/operator/general.yaml"
PUBLIC = "inputs/operator/public_tap.yaml"
GPU = "inputs/operator/curated_gpu.csv"
VAR_PUB = "inputs/variables/public_tap.csv"
VAR_PRIV = "inputs/variables/private_tap.csv"
INSURANCES = "inputs/facts/insurances.csv"


def shipped(tmp_path: Path, *, dvc: bool = False) -> Path:
    """A copy of the shipped inputs and params.yaml (with an empty dvc.yaml beside it when
    ``dvc``, which makes params.yaml DVC's params file)."""
    root = tmp_path / "repo"
    shutil.copytree(ROOT / "inputs", root / "inputs")
    shutil.copy(ROOT / "params.yaml", root / "params.yaml")
    if dvc:
        (root / "dvc.yaml").write_text("stages: {}\n")
    return root


def errors_of(stderr: str) -> list[str]:
    # Warnings and notes (severity info, printed as "note:") are not errors.
    return [line for line in stderr.splitlines() if not line.startswith(("warning:", "note:"))]


def validate(root: Path, *extra: str):
    result = invoke("validate", "--inputs", str(root / "inputs"), "--params",
                    str(root / "params.yaml"), *extra)
    return result.exit_code, errors_of(result.stderr)


def set_key(dotted: str, value):
    def change(data):
        node = data
        *parents, last = dotted.split(".")
        for part in parents:
            node = node.setdefault(part, {})
        node[last] = value
    return change


def variable(vid: str, **cells):
    def change(header, rows):
        for r in rows:
            if r["variable_id"] == vid:
                r.update(cells)
    return change


def cell(row: int, column: str, value: str):
    def change(header, rows):
        rows[row][column] = value
    return change


# --- case 1: sizes are counted before anything is built ------------------------------------


def test_case1_a_250_million_point_grid_is_refused_in_the_validator(tmp_path):
    # tokens per conversion 50 M..300 M by 1 → 250 000 001 values × target margins 45, 55, 65
    # = 750 000 003 points (counted, never built: the validator answers in well under 1 s).
    root = shipped(tmp_path)
    edit_csv(root / VAR_PUB, variable("pub_tokens_per_conversion", step="1",
                                      treatment="low_to_high"))
    assert validate(root) == (2, [
        "params.yaml:run.max_grid_size: the run grid has 750000003 points, more than "
        "run.max_grid_size = 10000 — make some low_to_high variables random, or use a coarser "
        "step"])


# --- case 2 and its kind: every value a variable can take is a valid value of its key ---------


def test_case2_half_month_steps_on_an_integer_key_are_refused_before_the_run(tmp_path):
    # 6, 6.5, …, 12: 6.5 is the first value an integer key (expiry_months) cannot hold.
    root = shipped(tmp_path)
    edit_csv(root / VAR_PUB, variable("pub_credit_expiry", min="6", max="12", step="0.5",
                                      default="12", treatment="random"))
    code, errors = validate(root)
    assert code == 2
    assert errors == [f"{VAR_PUB}:row 6 (pub_credit_expiry): value 6.5 is not allowed at "
                      "prepaid_policy.credits.expiry_months: must be a whole number, got 6.5 — "
                      "keep min/max (or values) inside the key's domain (docs/INPUTS.md)"]
    out = tmp_path / "out"
    ran = invoke("run", "--inputs", str(root / "inputs"), "--params",
                 str(root / "params.yaml"), "--out", str(out))
    assert ran.exit_code == 2 and not out.exists()


def test_a_discrete_value_outside_the_keys_domain_is_refused(tmp_path):
    # markup_pct is 0..1000; the value 1200 of a random discrete variable would be drawn.
    root = shipped(tmp_path)
    edit_csv(root / VAR_PRIV, variable("priv_markup", notes="values=25|30|1200"))
    edit_csv(root / VAR_PRIV, variable("priv_markup", default="30"))
    code, errors = validate(root)
    assert (code, errors) == (2, [
        f"{VAR_PRIV}:row 2 (priv_markup): value 1200 is not allowed at "
        "pricing_policy.private_tap.markup_pct: must be ≤ 1000, got 1200 — keep min/max (or "
        "values) inside the key's domain (docs/INPUTS.md)"])


def test_a_fixed_variable_is_judged_by_its_default_only(tmp_path):
    # cac_base_eur must be > 0; a fixed row 0..500 with default 50 only ever uses 50.
    root = shipped(tmp_path)
    row = {"variable_id": "pub_cac", "scope": "public_tap", "path": "acquisition.cac_base_eur",
           "type": "numeric", "unit": "eur", "min": "0", "max": "500", "step": "5",
           "default": "50", "treatment": "fixed"}
    edit_csv(root / VAR_PUB, lambda header, rows: rows.append(row))
    assert validate(root) == (0, [])
    edit_csv(root / VAR_PUB, variable("pub_cac", treatment="random"))
    code, errors = validate(root)
    assert errors == [f"{VAR_PUB}:row 8 (pub_cac): value 0 is not allowed at "
                      "acquisition.cac_base_eur: must be > 0, got 0 — keep min/max (or values) "
                      "inside the key's domain (docs/INPUTS.md)"]


def test_a_boolean_discrete_value_on_a_number_key_is_refused(tmp_path):
    root = shipped(tmp_path)
    edit_csv(root / VAR_PRIV, variable("priv_markup", notes="values=25|true", default="25"))
    code, errors = validate(root)
    assert code == 2
    assert errors[0].startswith(f"{VAR_PRIV}:row 2 (priv_markup): value true is not allowed at "
                                "pricing_policy.private_tap.markup_pct: must be a number, got a "
                                "boolean")


def test_two_variables_whose_extremes_break_a_cross_field_rule_are_refused(tmp_path):
    # scale-down 30..70 and scale-up 60..90 are each valid, but down 70 with up 60 is not.
    root = shipped(tmp_path)
    rows = [
        {"variable_id": "pub_down", "scope": "public_tap",
         "path": "autoscaling.scale_down_threshold_pct", "type": "numeric", "unit": "pct",
         "min": "30", "max": "70", "step": "10", "default": "40", "treatment": "random"},
        {"variable_id": "pub_up", "scope": "public_tap",
         "path": "autoscaling.scale_up_threshold_pct", "type": "numeric", "unit": "pct",
         "min": "60", "max": "90", "step": "10", "default": "80", "treatment": "random"},
    ]
    edit_csv(root / VAR_PUB, lambda header, existing: existing.extend(rows))
    code, errors = validate(root)
    assert code == 2
    assert errors == [
        f"{VAR_PUB}:row 9 (pub_up): with pub_down = 70, pub_up = 60: "
        "autoscaling.scale_down_threshold_pct: scale-down threshold 70 must be below the "
        "scale-up threshold 60 (0 < down < up ≤ 100) — narrow the variables' ranges so every "
        "combination is valid"]


# --- case 3: an empty list where one is required ----------------------------------------------


def test_case3_empty_pipelines_list_is_an_input_error(tmp_path):
    root = shipped(tmp_path)
    edit_yaml(root / "params.yaml", set_key("run.pipelines", []))
    assert validate(root) == (2, ["params.yaml:run.pipelines: must not be empty — list at "
                                  "least one item"])


# --- case 4 and its kind: magnitudes ----------------------------------------------------------


def test_case4_1e308_eur_is_refused_by_the_magnitude_guard(tmp_path):
    root = shipped(tmp_path)
    edit_yaml(root / GENERAL, set_key("finance.fixed_costs_monthly_eur.accounting", 1e308))
    assert validate(root) == (2, [
        f"{GENERAL}:finance.fixed_costs_monthly_eur: 1e+308 at .accounting is outside the "
        "magnitude guard (0 or 1e-09..1e+12 in size) — check the unit and the number of zeros"])


def test_a_huge_price_in_a_csv_cell_is_refused(tmp_path):
    root = shipped(tmp_path)
    edit_csv(root / GPU, cell(0, "price_per_gpu_hr", "1e13"))
    code, errors = validate(root)
    assert code == 2
    assert errors == [f"{GPU}:row 2 (RunPod/RTX 4090): price_per_gpu_hr 1e+13 is outside "
                      "the magnitude guard (0 or 1e-09..1e+12 in size) — check the unit and the "
                      "number of zeros"]


def test_a_budget_that_compounds_beyond_1e12_eur_is_refused(tmp_path):
    # 1500 EUR × 1.2 (best scenario) × (1 + 100 %)^59 = 1.04e21 EUR in month 60.
    root = shipped(tmp_path)
    edit_yaml(root / PUBLIC, set_key("acquisition.budget_growth_pct_mom", 100))
    edit_csv(root / VAR_PUB, variable("pub_budget_growth", treatment="fixed", min="2",
                                      max="100", step="1", default="100"))
    edit_yaml(root / "params.yaml", set_key("targets.horizon_months", 60))
    code, errors = validate(root)
    assert code == 2
    assert errors == [
        f"{PUBLIC}:acquisition.budget_growth_pct_mom: the monthly ads budget reaches 1.04e+21 "
        "EUR by month 60 (1500 EUR × 1.2 × (1 + 100 %)^59), beyond the magnitude guard 1e+12 "
        "EUR — lower budget_growth_pct_mom, budget_month0_eur or horizon_months"]


def test_a_horizon_beyond_50_years_is_refused(tmp_path):
    root = shipped(tmp_path)
    edit_yaml(root / "params.yaml", set_key("targets.horizon_months", 601))
    assert validate(root) == (2, ["params.yaml:targets.horizon_months: must be ≤ 600, got 601 "
                                  "— use a value ≤ 600"])


# --- memory guard -----------------------------------------------------------------------------


def test_memory_estimate_is_the_calibrated_line():
    # 0.42 GB + 6 000 × 60 × 800 B = 0.42 + 0.288 = 0.708 GB (measured 0.70)
    assert estimated_peak_memory_gb(6000, 60) == pytest.approx(0.708)
    # + 24 months × 720 h × 60 ticks/h = 1 036 800 ticks × 130 B = 0.134784 GB
    assert estimated_peak_memory_gb(6000, 60, 1_036_800) == pytest.approx(0.842784)
    # 0.42 + 99 000 × 60 × 800 B = 0.42 + 4.752 = 5.172 GB (measured 5.3)
    assert estimated_peak_memory_gb(99_000, 60) == pytest.approx(5.172)
    # percentile_samples: 1 000 000 samples of which 15 000 keep their months:
    # 0.42 + 15 000 × 60 × 800 B + 985 000 × 1 300 B = 0.42 + 0.72 + 1.2805 = 2.4205 GB
    assert estimated_peak_memory_gb(1_000_000, 60, kept_samples=15_000) == \
        pytest.approx(2.4205)


def test_a_plan_that_would_need_more_memory_than_allowed_is_refused(tmp_path):
    # 3 grid points × 4 replicates × 500 = 6 000 samples over max(24, loan term 60) months
    # → 0.843 GB (with the autoscaler's ticks) > 0.5 GB.
    root = shipped(tmp_path)
    edit_yaml(root / "params.yaml", set_key("run.max_memory_gb", 0.5))
    assert validate(root) == (2, [
        "params.yaml:run.max_memory_gb: 6000 samples × 60 months need about 0.8 GB, more than "
        "run.max_memory_gb = 0.5 — set stochastic.percentile_samples (monthly statistics over a "
        "subsample), lower simulations_per_run, random_runs_per_simulation, "
        "horizon_months or the loan term, or raise run.max_memory_gb if the machine has the "
        "memory"])


def test_a_loan_term_of_many_years_counts_in_the_memory_estimate(tmp_path):
    # Every series spans max(horizon, term) = 600 months: 6 000 × 600 × 800 B = 2.88 GB
    # + 0.42 + 0.135 (ticks) = 3.43 GB > 2 GB.
    root = shipped(tmp_path)
    edit_yaml(root / GENERAL, set_key("loan.term_months", 600))
    edit_yaml(root / "params.yaml", set_key("run.max_memory_gb", 2))
    code, errors = validate(root)
    assert code == 2
    assert errors[0].startswith("params.yaml:run.max_memory_gb: 6000 samples × 600 months "
                                "need about 3.4 GB")


def test_an_evaluation_interval_that_does_not_divide_an_hour_is_refused(tmp_path):
    root = shipped(tmp_path)
    edit_yaml(root / PUBLIC, set_key("autoscaling.evaluation_interval_s", 7))
    assert validate(root) == (2, [
        f"{PUBLIC}:autoscaling.evaluation_interval_s: evaluation interval 7 s does not divide an "
        "hour (the simulator replays whole hours of ticks) — use a divisor of 3600, e.g. 15, 30 "
        "or 60"])


@pytest.mark.parametrize("key,value,message", [
    # found by the fuzz test: 1e-300 s → 3.6e303 ticks per hour
    ("autoscaling.evaluation_interval_s", 1e-300, "must be ≥ 1, got 1e-300 — use a value ≥ 1"),
    # sizes the autoscaler's replica stack
    ("autoscaling.max_instances_per_model", 10**9,
     "must be ≤ 10000, got 1000000000 — use a value ≤ 10000"),
])
def test_counts_that_size_arrays_are_bounded(tmp_path, key, value, message):
    root = shipped(tmp_path)
    edit_yaml(root / PUBLIC, set_key(key, value))
    assert validate(root) == (2, [f"{PUBLIC}:{key}: {message}"])


# --- case 5: keys DVC needs -------------------------------------------------------------------


def test_case5_a_key_dvc_yaml_tracks_is_required_in_dvcs_params_file(tmp_path):
    root = shipped(tmp_path, dvc=True)
    text = (root / "params.yaml").read_text()
    (root / "params.yaml").write_text("\n".join(
        line for line in text.splitlines() if "chunk_blocks" not in line) + "\n")
    assert validate(root) == (2, [
        "params.yaml:run.chunk_blocks: required key is missing (dvc.yaml tracks it and DVC has "
        "no defaults) — add it, e.g. `run: {chunk_blocks: 64}` (the default)"])


def test_the_same_key_may_be_omitted_from_a_plan_dvc_does_not_track(tmp_path):
    root = shipped(tmp_path)  # no dvc.yaml beside params.yaml: d3 run fills the default
    text = (root / "params.yaml").read_text()
    (root / "params.yaml").write_text("\n".join(
        line for line in text.splitlines() if "chunk_blocks" not in line) + "\n")
    assert validate(root)[0] == 0


def test_the_repositorys_params_yaml_names_every_key_dvc_tracks():
    from d3.core.validator import dvc_tracked_keys
    from d3.core.variables import node_at
    from d3.io.yaml12 import read_yaml

    data = read_yaml(ROOT / "params.yaml")
    assert [k for k in dvc_tracked_keys() if not node_at(data, k)[0]] == []


# --- case 6: duplicate headers ----------------------------------------------------------------


@pytest.mark.parametrize("rel,column,where", [
    (GPU, "num_gpus", "columns 4, 10"),
    (VAR_PUB, "min", "columns 6, 13"),
])
def test_case6_a_repeated_column_is_an_error_not_last_one_wins(tmp_path, rel, column, where):
    root = shipped(tmp_path)
    path = root / rel
    lines = path.read_text().splitlines()
    path.write_text("\n".join([lines[0] + f",{column}"] + [x + ",4" for x in lines[1:]]) + "\n")
    code, errors = validate(root)
    assert code == 2
    assert errors == [f"{rel}:header: column {column!r} appears 2 times ({where}) — keep one "
                      "column of that name; a repeated column is never silently overridden"]


# --- case 7: booleans are not numbers ---------------------------------------------------------


@pytest.mark.parametrize("rel,key,value,message", [
    ("params.yaml", "stochastic.simulations_per_run", True,
     "params.yaml:stochastic.simulations_per_run: must be a number, got a boolean"),
    ("params.yaml", "stochastic.percentiles", [10, True, 90],
     "params.yaml:stochastic.percentiles: must be a number, got a boolean at [1]"),
    (GENERAL, "finance.fixed_costs_monthly_eur.accounting", False,
     f"{GENERAL}:finance.fixed_costs_monthly_eur: must be a number, got a boolean at "
     ".accounting"),
    (PUBLIC, "autoscaling.max_instances_per_model", True,
     f"{PUBLIC}:autoscaling.max_instances_per_model: must be a number, got a boolean"),
])
def test_case7_a_boolean_is_never_read_as_a_number(tmp_path, rel, key, value, message):
    root = shipped(tmp_path)
    edit_yaml(root / rel, set_key(key, value))
    code, errors = validate(root)
    assert code == 2
    assert errors == [f"{message} — write a number (true/false are not numbers)"]


# --- case 8: the step must reach max ----------------------------------------------------------


def test_case8_a_step_that_skips_max_is_refused(tmp_path):
    # 45 + k × 15 visits 45, 60 and stops: 65 is never visited.
    root = shipped(tmp_path)
    edit_csv(root / VAR_PUB, variable("pub_target_margin", step="15", default="45"))
    assert validate(root) == (2, [
        f"{VAR_PUB}:row 2 (pub_target_margin): max 65 is not on the step grid 45 + k×15 (the "
        "last value would be 60) — use max 60 or 75, or a step that divides 20"])


# --- case 9: delimiters and decimal commas ----------------------------------------------------


def test_case9_a_semicolon_csv_gets_one_diagnosis(tmp_path):
    root = shipped(tmp_path)
    path = root / INSURANCES
    path.write_text(path.read_text().replace(",", ";"))
    assert validate(root) == (2, [
        f"{INSURANCES}:header: this file uses ';' as delimiter, not ',' — save it as "
        "comma-separated CSV (UTF-8)"])


def test_a_german_excel_export_is_named_with_its_decimal_comma(tmp_path):
    root = shipped(tmp_path)
    path = root / GPU
    text = path.read_text().replace(",", ";").replace("0.69", "0,69")
    path.write_text(text)
    assert validate(root) == (2, [
        f"{GPU}:header: this file uses ';' as delimiter and ',' as decimal mark, not ',' — "
        "save it as comma-separated CSV (UTF-8) with '.' as decimal point"])


def test_a_tab_separated_file_is_named(tmp_path):
    root = shipped(tmp_path)
    path = root / INSURANCES
    path.write_text(path.read_text().replace(",", "\t"))
    code, errors = validate(root)
    assert errors == [f"{INSURANCES}:header: this file uses tab as delimiter, not ',' — save "
                      "it as comma-separated CSV (UTF-8)"]


def test_a_quoted_decimal_comma_cell_gets_the_decimal_point_fix(tmp_path):
    root = shipped(tmp_path)
    edit_csv(root / GPU, cell(0, "price_per_gpu_hr", "0,69"))
    code, errors = validate(root)
    assert (code, errors) == (2, [f"{GPU}:row 2 (RunPod/RTX 4090): price_per_gpu_hr must be a "
                                  "number, got '0,69' — use '.' as decimal point: 0.69"])


# --- cases 10 and 11: no cascading errors -----------------------------------------------------


def test_case10_a_bad_cell_does_not_also_make_its_id_unknown(tmp_path):
    root = shipped(tmp_path)
    edit_csv(root / INSURANCES, cell(0, "coverage_eur", "lots"))
    assert validate(root) == (2, [
        f"{INSURANCES}:row 2 (hiscox_pi): coverage_eur must be a number, got 'lots' — write a "
        "plain number such as 12.5"])


def test_a_bad_ads_channel_row_does_not_make_its_allocation_unknown(tmp_path):
    root = shipped(tmp_path)
    edit_csv(root / "inputs/facts/ads_channels.csv", cell(0, "cvr_click_to_customer_frac", "2"))
    code, errors = validate(root)
    assert (code, errors) == (2, [
        "inputs/facts/ads_channels.csv:row 2 (google_search): cvr_click_to_customer_frac must "
        "be ≤ 1, got 2 — use a value ≤ 1"])


def test_a_bad_gpu_offer_row_does_not_make_models_unservable(tmp_path):
    # The only 80 GB offers are H100/A100 rows; breaking one must not add "needs X GB" errors.
    root = shipped(tmp_path)
    edit_csv(root / GPU, cell(0, "num_gpus", "two"))
    code, errors = validate(root)
    assert (code, errors) == (2, [f"{GPU}:row 2 (RunPod/RTX 4090): num_gpus must be a whole "
                                  "number, got 'two' — write an integer such as 12"])


def test_an_invalid_plan_does_not_also_report_missing_seeds(tmp_path):
    root = shipped(tmp_path)
    edit_yaml(root / "params.yaml", set_key("stochastic.simulations_per_run", "many"))
    code, errors = validate(root)
    assert (code, errors) == (2, ["params.yaml:stochastic.simulations_per_run: must be a whole "
                                  "number, got 'many' — write an integer such as 12"])


def test_case11_a_missing_inputs_dir_is_one_error(tmp_path):
    result = invoke("run", "--inputs", str(tmp_path / "nope"), "--out", str(tmp_path / "out"))
    assert result.exit_code == 2
    assert errors_of(result.stderr) == [  # the path as the user passed it
        f"{tmp_path / 'nope'}:(dir): inputs directory not found — pass --inputs DIR pointing "
        "at operator/, variables/, facts/"]
    assert not (tmp_path / "out").exists()


# --- kinds found by a new-user retest ---------------------------------------------------------


def test_the_reference_value_of_a_discrete_integer_key_is_its_median(tmp_path):
    # expiry 6 | 13 random: the mean 9.5 is no month count; the reference path takes 6 (the
    # lower median of two values), and validation passes with it.
    root = shipped(tmp_path)
    edit_csv(root / VAR_PUB, variable("pub_credit_expiry", type="discrete", min="", max="",
                                      step="", default="6", treatment="random",
                                      notes="values=6|13"))
    assert validate(root) == (0, [])
    from d3.core.validator import validated_inputs
    from d3.core.variables import reference_value
    from d3.io.loader import read_inputs_tree

    v = validated_inputs(read_inputs_tree(root / "inputs", root / "params.yaml"))
    expiry = next(x for x in v.variables if x.variable_id == "pub_credit_expiry")
    assert reference_value(expiry) == 6


@pytest.mark.parametrize("cells,value", [
    ({"min": "5", "max": "50", "step": "15", "default": "5", "treatment": "low_to_high"}, "35"),
    ({"min": "5", "max": "50", "step": "15", "default": "5", "treatment": "random"}, "35"),
])
def test_every_value_of_a_small_grid_is_checked_against_non_interval_rules(tmp_path, cells,
                                                                          value):
    # 5, 20, 35, 50 s: 35 does not divide an hour (3600 / 35 = 102.86).
    root = shipped(tmp_path)
    row = {"variable_id": "pub_tick", "scope": "public_tap",
           "path": "autoscaling.evaluation_interval_s", "type": "numeric", "unit": "s", **cells}
    edit_csv(root / VAR_PUB, lambda header, rows: rows.append(row))
    code, errors = validate(root)
    assert code == 2
    assert errors == [f"{VAR_PUB}:row 8 (pub_tick): value {value} is not allowed at "
                      "autoscaling.evaluation_interval_s: evaluation interval 35 s does not "
                      "divide an hour (the simulator replays whole hours of ticks) — keep "
                      "min/max (or values) inside the key's domain (docs/INPUTS.md)"]


def test_cross_field_rules_are_judged_pairwise_beyond_256_corners(tmp_path):
    # 9 varying variables (2^9 = 512 corners > 256): min instances 1..4 with max 2..8 must
    # still be caught (min 4 > max 2).
    root = shipped(tmp_path)
    extra = [("pub_min", "autoscaling.min_instances_per_model", "1", "4", "1"),
             ("pub_max", "autoscaling.max_instances_per_model", "2", "8", "8"),
             ("pub_warm", "autoscaling.warmup_s", "60", "180", "120"),
             ("pub_cool", "autoscaling.cooldown_s", "100", "500", "300"),
             ("pub_peak", "autoscaling.peak_factor", "1", "3", "2")]
    rows = [{"variable_id": vid, "scope": "public_tap", "path": path, "type": "numeric",
             "unit": "x", "min": lo, "max": hi, "step": "1", "default": d,
             "treatment": "random"} for vid, path, lo, hi, d in extra]
    edit_csv(root / VAR_PUB, lambda header, existing: existing.extend(rows))
    code, errors = validate(root)
    assert code == 2
    assert errors == [f"{VAR_PUB}:row 9 (pub_max): with pub_min = 4, pub_max = 2: "
                      "autoscaling.min_instances_per_model: min_instances_per_model 4 is above "
                      "max_instances_per_model 2 — narrow the variables' ranges so every "
                      "combination is valid"]


def test_a_random_variable_with_250_million_values_is_refused(tmp_path):
    root = shipped(tmp_path)
    edit_csv(root / VAR_PUB, variable("pub_tokens_per_conversion", step="1"))
    assert validate(root) == (2, [
        f"{VAR_PUB}:row 5 (pub_tokens_per_conversion): 250000001 values from 50000000 to "
        "300000000 by 1, more than 1000000 for a random variable — use a coarser step"])


def test_two_rows_on_one_key_are_an_error_not_last_one_wins(tmp_path):
    root = shipped(tmp_path)
    row = {"variable_id": "pub_churn2", "scope": "public_tap", "path": "acquisition.churn_pct_mom",
           "type": "numeric", "unit": "pct", "min": "10", "max": "20", "step": "1",
           "default": "10", "treatment": "random"}
    edit_csv(root / VAR_PUB, lambda header, rows: rows.append(row))
    assert validate(root) == (2, [
        f"{VAR_PUB}:row 8 (pub_churn2): path 'acquisition.churn_pct_mom' is already varied by "
        "row 4 (pub_churn) — keep one row per key"])


def test_default_and_max_off_the_step_grid_are_reported_together(tmp_path):
    root = shipped(tmp_path)
    edit_csv(root / VAR_PUB, variable("pub_target_margin", step="15"))  # default 55 stays
    code, errors = validate(root)
    assert code == 2
    assert errors == [
        f"{VAR_PUB}:row 2 (pub_target_margin): default 55 is not on the step grid 45 + k×15 — "
        "use 45 or 60, or change step",
        f"{VAR_PUB}:row 2 (pub_target_margin): max 65 is not on the step grid 45 + k×15 (the "
        "last value would be 60) — use max 60 or 75, or a step that divides 20"]


def test_params_naming_a_directory_is_exit_2(tmp_path):
    root = shipped(tmp_path)
    result = invoke("validate", "--inputs", str(root / "inputs"), "--params",
                    str(root / "inputs"))
    assert result.exit_code == 2
    assert errors_of(result.stderr) == [f"{root / 'inputs'}:(file): is a directory, not a params "
                                        "file — pass --params FILE (a YAML plan such as "
                                        "params.yaml)"]


def test_an_unquoted_decimal_comma_is_one_error_naming_it(tmp_path):
    # 0,43 in a comma-separated file becomes the cells 0 and 43: one error with the fix, no
    # second, false "must be > 0, got 0" for the shifted row.
    root = shipped(tmp_path)
    path = root / GPU
    lines = path.read_text().splitlines()
    lines[1] = lines[1].replace(",0.69,", ",0,69,")
    path.write_text("\n".join(lines) + "\n")
    assert validate(root) == (2, [
        f"{GPU}:row 2: has 10 cells but the header has 9 — quote values that contain commas; a "
        "decimal comma splits a number in two cells (write 0.69, not 0,69)"])


@pytest.mark.parametrize("rel,message", [
    (GPU, f"{GPU}:(file): has no rows — add at least one GPU offer"),
    ("inputs/operator/curated_public_tap_models.csv",
     "inputs/operator/curated_public_tap_models.csv:(file): has no rows — add at least one "
     "model, or run only the private pipeline (run.pipelines: [private])"),
])
def test_an_empty_required_table_is_one_line_naming_it(tmp_path, rel, message):
    root = shipped(tmp_path)
    path = root / rel
    path.write_text(path.read_text().splitlines()[0] + "\n")
    code, errors = validate(root)
    assert code == 2
    assert errors == [message]


def test_an_allocation_to_an_empty_channel_table_says_the_table_is_empty(tmp_path):
    root = shipped(tmp_path)
    path = root / "inputs/facts/ads_channels.csv"
    path.write_text(path.read_text().splitlines()[0] + "\n")
    code, errors = validate(root)
    assert code == 2
    assert errors[0] == (f"{PUBLIC}:acquisition.channel_allocation.google_search: unknown "
                         "channel id 'google_search' — facts/ads_channels.csv has no rows: add "
                         "the channel there, or remove channel_allocation and set cac_base_eur")


# --- kinds found by a code review -----------------------------------------------------------------

GUARD = "is outside the magnitude guard (0 or 1e-09..1e+12 in size) — check the unit and the " \
        "number of zeros"


@pytest.mark.parametrize("rel,key,value,message", [
    # 1e-300 EUR of loan: (1 + r)^-n rounds to 1 and the annuity divides by zero
    (GENERAL, "loan.amount_eur", 1e-300, f"{GENERAL}:loan.amount_eur: 1e-300 {GUARD}"),
    (GENERAL, "loan.interest_rate_pct_flat", 5e-324,
     f"{GENERAL}:loan.interest_rate_pct_flat: 4.94066e-324 {GUARD}"),
    # a 1e12-month asset life sizes a 7 TiB array
    (GENERAL, "depreciation.assets", [{"asset_id": "x", "cost_eur": 100,
                                       "useful_life_months": 10**12}],
     f"{GENERAL}:depreciation.assets[0].useful_life_months: must be ≤ 600, got 1000000000000 — "
     "use a value ≤ 600"),
    # a price step of 1e12 EUR per 1k tokens leaves no price the report can show
    (PUBLIC, "pricing_policy.public_tap.round_increment_eur_per_1k", 1e12,
     f"{PUBLIC}:pricing_policy.public_tap.round_increment_eur_per_1k: must be ≤ 1, got "
     "1000000000000 — use a value ≤ 1"),
])
def test_magnitudes_and_sizes_that_broke_a_validated_run(tmp_path, rel, key, value, message):
    root = shipped(tmp_path)
    edit_yaml(root / rel, set_key(key, value))
    assert validate(root) == (2, [message])


def test_a_subnormal_throughput_in_a_csv_cell_is_refused(tmp_path):
    root = shipped(tmp_path)
    edit_csv(root / "inputs/facts/tps_model_gpu.csv", cell(0, "throughput_tokens_per_s", "5e-324"))
    code, errors = validate(root)
    assert code == 2
    assert errors == ["inputs/facts/tps_model_gpu.csv:row 2 (Llama 3.2 3B Instruct/L4): "
                      f"throughput_tokens_per_s 4.94066e-324 {GUARD}"]


@pytest.mark.parametrize("column,value", [("step", "1e-300"), ("max", "1e308")])
def test_variable_cells_beyond_the_guard_are_refused_before_decimal_arithmetic(
        tmp_path, column, value):
    # (max − min) % 1e-300 exceeds Decimal's 28 digits: it raised DivisionImpossible (exit 3).
    root = shipped(tmp_path)
    edit_csv(root / VAR_PRIV, variable("priv_churn", **{column: value}))
    code, errors = validate(root)
    assert code == 2
    shown = {"1e-300": "1E-300", "1e308": "1E+308"}[value]
    assert errors == [f"{VAR_PRIV}:row 5 (priv_churn): {column} {shown} is outside the magnitude "
                      "guard (0 or 1e-09..1e+12 in size) — check the unit and the number of zeros"]


def test_fixed_defaults_that_break_a_rule_together_are_one_error(tmp_path):
    # Fixed scale-down 70 and fixed scale-up 60: each is a valid percent, together they are not.
    root = shipped(tmp_path)
    rows = [{"variable_id": vid, "scope": "public_tap", "path": path, "type": "numeric",
             "unit": "pct", "min": d, "max": d, "step": "1", "default": d, "treatment": "fixed"}
            for vid, path, d in (("pub_down", "autoscaling.scale_down_threshold_pct", "70"),
                                 ("pub_up", "autoscaling.scale_up_threshold_pct", "60"))]
    edit_csv(root / VAR_PUB, lambda header, existing: existing.extend(rows))
    assert validate(root) == (2, [
        f"{VAR_PUB}:row 9 (pub_up): with the fixed values pub_down = 70, pub_up = 60: "
        "autoscaling.scale_down_threshold_pct: scale-down threshold 70 must be below the "
        "scale-up threshold 60 (0 < down < up ≤ 100) — change the fixed defaults so they "
        "satisfy the rule together"])


def test_a_discrete_growth_variable_is_held_to_the_budget_guard(tmp_path):
    # values 5 | 100 %: 1500 × 1.2 × 2^59 = 1.04e21 EUR by month 60.
    root = shipped(tmp_path)
    edit_csv(root / VAR_PUB, variable("pub_budget_growth", type="discrete", min="", max="",
                                      step="", default="5", distribution="",
                                      notes="values=5|100"))
    edit_yaml(root / "params.yaml", set_key("targets.horizon_months", 60))
    code, errors = validate(root)
    assert code == 2
    assert errors[0].startswith(f"{PUBLIC}:acquisition.budget_growth_pct_mom: the monthly ads "
                                "budget reaches 1.04e+21 EUR by month 60")


@pytest.mark.parametrize("rel,key,value,first", [
    ("params.yaml", "run.pipelines", [], "params.yaml:run.pipelines: must not be empty"),
    (GENERAL, "finance.fixed_costs_monthly_eur.accounting", 1e308,
     f"{GENERAL}:finance.fixed_costs_monthly_eur: 1e+308 at .accounting is outside"),
    ("params.yaml", "stochastic.simulations_per_run", True,
     "params.yaml:stochastic.simulations_per_run: must be a number, got a boolean"),
])
def test_cases_3_4_7_end_d3_run_with_exit_2_and_nothing_written(tmp_path, rel, key, value,
                                                                 first):
    # The issue saw `d3 run` exit 3 with files left behind; the run's validate stage refuses.
    root = shipped(tmp_path)
    edit_yaml(root / rel, set_key(key, value))
    out = tmp_path / "out"
    ran = invoke("run", "--inputs", str(root / "inputs"), "--params", str(root / "params.yaml"),
                 "--out", str(out))
    assert ran.exit_code == 2
    assert errors_of(ran.stderr)[0].startswith(first)
    assert not out.exists() and not list(tmp_path.glob(".out.*"))


@pytest.mark.parametrize("key,value", [
    # loan.amount_eur 0 made every DSCR undefined (NaN), which the reference-path JSON could
    # not hold (exit 3): undefined ratios are written as null.
    ("loan.amount_eur", 0),
    # a 1-month loan in a 6-month plan left the T12 DSCR window (from month 12) empty: the
    # minimum of nothing raised (exit 3); it is undefined (NaN) now.
    ("loan.term_months", 1),
])
def test_loans_the_fuzz_test_broke_now_run(tmp_path, key, value):
    root = shipped(tmp_path)
    edit_yaml(root / GENERAL, set_key(key, value))
    (root / "params.yaml").write_text(
        "run: {random_runs_per_simulation: 1, chunk_blocks: 4}\n"
        "stochastic: {random_seed: 5, simulations_per_run: 2}\ntargets: {horizon_months: 6}\n")
    out = tmp_path / "out"
    ran = invoke("run", "--inputs", str(root / "inputs"), "--params", str(root / "params.yaml"),
                 "--out", str(out))
    assert ran.exit_code == 0, ran.stderr
    import json
    expected = json.loads((out / "intermediate/consolidated_expected.json").read_text())
    if key == "loan.amount_eur":
        assert expected["grid"]["0"]["dscr"][:3] == [None, None, None]


def test_a_percentile_subsample_lets_a_million_samples_fit(tmp_path):
    # 3 grid points × 100 replicates × 3 334 paths = 1 000 200 samples over 60 months:
    # every sample kept → 0.42 + 1 000 200 × 60 × 800 B ≈ 48.4 GB (+ ticks) > 16 GB, refused;
    # percentile_samples 5 000 → ⌈5 000 / 100⌉ = 50 paths per block, 15 000 kept:
    # 0.42 + 0.72 + 985 200 × 1 300 B + ticks ≈ 2.56 GB ≤ 16 GB.
    root = shipped(tmp_path)
    edit_yaml(root / "params.yaml", set_key("run.random_runs_per_simulation", 100))
    edit_yaml(root / "params.yaml", set_key("stochastic.simulations_per_run", 3334))
    code, errors = validate(root)
    assert code == 2 and errors[0].startswith("params.yaml:run.max_memory_gb: 1000200 samples")
    assert "set stochastic.percentile_samples" in errors[0]
    edit_yaml(root / "params.yaml", set_key("stochastic.percentile_samples", 5000))
    code, errors = validate(root)
    assert [e for e in errors if "max_memory_gb" in e] == []
