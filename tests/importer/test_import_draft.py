"""`d3 import-draft` on tests/fixtures/draft_mini: every rename, conversion and drop, checked
against the values written in the fixture (the arithmetic is in the tests)."""

from __future__ import annotations

import re
import shutil

from d3.core.validator import dvc_tracked_keys
from d3.importer.report import import_record
from tests.helpers import MINIMAL, invoke
from tests.importer.conftest import DRAFT_MINI, import_tree


def test_renames_land_on_d3_keys(imported):
    general = imported.yaml("inputs/operator/general.yaml")
    public = imported.yaml("inputs/operator/public_tap.yaml")
    private = imported.yaml("inputs/operator/private_tap.yaml")
    assert general["tax"]["corporate_tax_pct"] == 19.0  # tax.corporate_income_pct
    assert general["loan"]["repayment"] == "annuity"  # loan.repayment_type
    assert general["finance"]["equity_injection_eur"] == 5000  # loan.equity_injection_eur
    assert general["finance"]["contingency_pct_of_costs"] == 5.0  # finance.contingency_pct
    assert general["tax"]["vat_payment_lag_months"] == 1  # working_capital.vat_payment_lag_…
    assert public["acquisition"]["tokens_per_conversion"] == 50000  # …_mean
    assert public["prepaid_policy"]["credits"]["refundable"] is False  # non_refundable: true
    assert private["acquisition"]["hours_per_client_month"] == 10  # …_mean
    assert private["pricing_policy"]["private_tap"]["markup_pct"] == 40.0
    assert private["pricing_policy"]["private_tap"]["billing_unit_minutes"] == 60
    assert "prepaid_policy" not in public or "non_refundable" not in public["prepaid_policy"]
    assert imported.outcome("operator/general.yaml", "tax.corporate_income_pct") == (
        "mapped to `tax.corporate_tax_pct`")
    assert imported.outcome("operator/public_tap.yaml", "prepaid_policy.credits.non_refundable"
                            ) == ("converted from non_refundable: true to refundable: false "
                                  "(`prepaid_policy.credits.refundable`)")


def test_keys_of_features_other_branches_add_are_written(imported):
    general = imported.yaml("inputs/operator/general.yaml")
    assert general["tax"]["social_security_pct"] == 27.65
    assert general["tax"]["dividend_withholding_pct"] == 15.0
    assert general["reserves"] == {
        "reserve_months_target": 6, "emergency_fund_eur": 10000, "founder_draw_policy": "flat",
        # reinvest_pct 50 = 100 − dividend_pct 50: left out, D3 derives it.
        "distribution_policy": {"dividend_pct": 50}}
    assert imported.outcome("operator/general.yaml", "reserves.distribution_policy.reinvest_pct"
                            ) == ("modelled by the distribution policy (reinvested share) "
                                  "(`reserves.distribution_policy.reinvest_pct`): derived: D3 "
                                  "takes it as 100 − dividend_pct = 50, so it is not written (a "
                                  "sweep of dividend_pct alone then stays valid)")
    assert "the draft gives no founder_draw_eur_per_month" in imported.outcome(
        "operator/general.yaml", "reserves.founder_draw_policy")


def test_depreciation_schedule_and_fx_fact(imported):
    general = imported.yaml("inputs/operator/general.yaml")
    # start_month_index 1 is the draft engine's 0-based index → D3 month 2.
    assert general["depreciation"]["assets"] == [
        {"asset_id": "laptop", "cost_eur": 2400, "useful_life_months": 36, "purchase_month": 2}]
    assert "depreciation_assets_eur" not in general["finance"]
    fx = imported.yaml("inputs/facts/market_env.yaml")["finance"]["eur_usd_fx_rate"]
    assert fx == {"value": 1.1, "unit": "USD per EUR", "source": "https://www.ecb.europa.eu",
                  "as_of": "2024-12-31"}
    assert "demographics" not in imported.yaml("inputs/facts/market_env.yaml")


def test_inflation_by_category_reports_which_category_got_which_rate(imported):
    general = imported.yaml("inputs/operator/general.yaml")
    # office is rent-like (2.0); personal and insurance_admin follow CPI (2.5); no salaries.
    assert general["finance"]["inflation_pct_yoy_by_category"] == {
        "personal": 2.5, "insurance_admin": 2.5, "office": 2.0}
    assert imported.outcome("operator/general.yaml", "inflation.cpi_annual_pct").endswith(
        "personal ← 2.5 %/yr, insurance_admin ← 2.5 %/yr")
    assert imported.outcome("operator/general.yaml", "inflation.rent_growth_annual_pct"
                            ).endswith("office ← 2.0 %/yr")
    assert imported.outcome("operator/general.yaml", "inflation.salary_growth_annual_pct") == (
        "dropped: no salary category among the fixed costs (personal, office, insurance_admin) "
        "to apply it to")


def test_fraction_to_percent_with_the_operator_file_as_evidence(imported):
    row = next(r for r in imported.rows("inputs/variables/public_tap.csv")
               if r["variable_id"] == "target_margin_pct")
    # 0.2..0.8 step 0.05 default 0.55, × 100; public_tap.yaml says 55.0.
    assert (row["min"], row["max"], row["step"], row["default"], row["unit"]) == (
        "20", "80", "5", "55", "percent")
    assert "evidence: default 0.55 × 100 = 55, the operator file's value of the same key" in (
        imported.outcome("variables/public_tap.csv", "row 2 (target_margin_pct)"))


def test_fraction_to_percent_with_the_unit_column_as_evidence(imported):
    row = next(r for r in imported.rows("inputs/variables/public_tap.csv")
               if r["variable_id"] == "acq_budget_growth_mom")
    # 0..0.5 step 0.01 default 0.08, unit fraction → 0..50 step 1 default 8.
    assert (row["min"], row["max"], row["step"], row["default"]) == ("0", "50", "1", "8")
    assert "evidence: its unit column says fraction" in imported.outcome(
        "variables/public_tap.csv", "row 9 (acq_budget_growth_mom)")


def test_fraction_without_evidence_is_kept_with_a_warning(imported):
    row = next(r for r in imported.rows("inputs/variables/public_tap.csv")
               if r["variable_id"] == "autoscale_scale_down")
    assert (row["min"], row["max"], row["default"]) == ("0.3", "0.5", "0.4")
    assert ("warning: inputs/variables/public_tap.csv:row 13 (autoscale_scale_down): values "
            "0.3..0.5 (default 0.4) on the percent key autoscaling.scale_down_threshold_pct look "
            "like fractions, but nothing in the draft says so; kept as written") in imported.stderr


def test_vat_buffer_percent_becomes_the_enum_and_its_variable_row_is_dropped(imported):
    general = imported.yaml("inputs/operator/general.yaml")
    assert general["tax"]["vat_buffer_policy"] == "set_aside_collected"  # 100 % parked aside
    assert imported.outcome("operator/general.yaml", "tax.vat_buffer_policy") == (
        "converted from 100 % of VAT parked aside (the default of variables/general.csv row 4) "
        "to set_aside_collected (`tax.vat_buffer_policy`)")
    ids = [r["variable_id"] for r in imported.rows("inputs/variables/general.csv")]
    assert "vat_buffer_policy" not in ids
    assert imported.outcome("variables/general.csv", "row 4 (vat_buffer_policy)").startswith(
        "dropped: a variable on tax.vat_buffer_policy, an enum in D3: its default is converted "
        "and written as set_aside_collected")


def test_treatments_split_into_treatment_distribution_and_sd(imported):
    public = {r["variable_id"]: r for r in imported.rows("inputs/variables/public_tap.csv")}
    private = {r["variable_id"]: r for r in imported.rows("inputs/variables/private_tap.csv")}
    tokens = public["tokens_per_conv_mean"]
    assert (tokens["path"], tokens["treatment"], tokens["distribution"], tokens["sd"]) == (
        "acquisition.tokens_per_conversion", "random", "lognormal", "5000")
    assert "tokens_per_conv_sd" not in public  # merged into the sd cell
    assert imported.outcome("variables/public_tap.csv", "row 6 (tokens_per_conv_sd)") == (
        "dropped: merged: its default is the sd cell of row 5 (tokens_per_conv_mean)")
    churn = public["churn_pct_mom_public"]
    # Draft beta: mean 3 % = 0.03 on 0..100, k = 50: sd = 100 × √(0.03 × 0.97 / 51)
    # = 100 × √0.000570588… = 2.38870 (6 significant digits).
    assert (churn["treatment"], churn["distribution"], churn["sd"]) == ("random", "beta",
                                                                         "2.3887")
    hours = private["hours_per_client"]  # random_normal without sd: 10 % of 10 = 1
    assert (hours["path"], hours["distribution"], hours["sd"]) == (
        "acquisition.hours_per_client_month", "normal", "1")
    assert public["target_margin_pct"]["treatment"] == "fixed"
    assert public["target_margin_pct"]["distribution"] == ""
    assert imported.outcome("variables/private_tap.csv", "row 6 (cac_triangular)") == (
        "dropped: unknown treatment 'random_triangular'")


def test_fixed_row_off_its_step_grid_gets_a_finer_step(imported):
    fee = next(r for r in imported.rows("inputs/variables/private_tap.csv")
               if r["variable_id"] == "management_fee")
    # 199 is not on 0 + k × 50; gcd(50, 199 − 0, 1000 − 0) = 1, the value 199 is kept.
    assert (fee["min"], fee["max"], fee["step"], fee["default"]) == ("0", "1000", "1", "199")


def test_channel_allocations_and_ads_channels_are_dropped(imported):
    assert imported.rows("inputs/facts/ads_channels.csv") == []
    assert (imported.dest / "inputs/facts/ads_channels.csv").read_text() == (
        "channel_id,name,billing,currency,cost_per_click,cpm,ctr_frac,"
        "cvr_click_to_customer_frac,source\n")
    public = imported.yaml("inputs/operator/public_tap.yaml")
    assert "channel_allocation" not in public["acquisition"]
    assert imported.outcome("facts/ads_channels.csv", "row 2 (google_search_cpc_nl_est)"
                            ).startswith("dropped: the draft gives cost per click/impression "
                                         "but no click-to-customer conversion rate")
    assert imported.outcome("variables/public_tap.csv", "row 4 (acq_google_ads_share)"
                            ).startswith("dropped: path acquisition.channel_allocation.google_ads")


def test_insurance_premium_times_twelve_and_selected_ids(imported):
    rows = imported.rows("inputs/facts/insurances.csv")
    # 9.40 EUR/month × 12 = 112.80; 10.00 × 12 = 120.00; asr_avb has no premium.
    assert [(r["insurer_id"], r["annual_premium_eur"], r["coverage_eur"]) for r in rows] == [
        ("centraal_beheer_avb", "112.8", ""), ("interpolis_avb", "120", "50000")]
    assert rows[0]["product"] == ("Centraal Beheer: Bedrijfsaansprakelijkheidsverzekering (AVB)")
    assert rows[0]["source"] == "https://www.centraalbeheer.nl/zzp"
    assert imported.outcome("facts/insurances.csv", "row 3 (asr_avb)") == (
        "dropped: no premium (example_premium_eur_per_month is empty), so no annual_premium_eur")
    general = imported.yaml("inputs/operator/general.yaml")
    assert general["insurances"]["selected"] == ["centraal_beheer_avb"]
    assert "'PRO-PL-001' is not an insurer_id with a premium" in imported.outcome(
        "operator/general.yaml", "insurances.selected[1]")


def test_agency_fees_monthly_setup_rows_and_drops(imported):
    rows = imported.rows("inputs/facts/agency_fees.csv")
    assert [(r["agency_id"], r["fee_type"], r["fee_eur"]) for r in rows] == [
        ("virtual_creatives_plus", "monthly", "375"),
        ("virtual_creatives_plus_setup", "one_off", "480"),
        ("websitepromotor_entry", "monthly", "400")]
    assert rows[2]["source"] == ("https://www.websitepromotor.nl/strategie/"
                                 "wat-kost-sea-per-maand-bij-websitepromotor/")
    assert imported.outcome("facts/agency_fees.csv", "row 4 (fingerspitz_rate)") == (
        "dropped: fee model flat_hour (per_hour) has no exact D3 fee type (monthly, one_off, "
        "pct_of_spend)")
    assert imported.outcome("facts/agency_fees.csv", "row 5 (dollar_agency)") == (
        "dropped: currency USD, D3 fees are EUR")


def test_curated_model_rows_are_parsed(imported):
    rows = {f"{r['Model']} {r['Variant']}": r
            for r in imported.rows("inputs/operator/curated_public_tap_models.csv")}
    gpt = rows["GPT-OSS 20B"]  # notes: total_params_b=21; active_params_b=3.6; MoE
    assert (gpt["params_b"], gpt["active_params_b"], gpt["architecture"], gpt["quantization"],
            gpt["vram_needed_gb"], gpt["context_k"], gpt["hf_id"]) == (
        "21", "3.6", "moe", "mxfp4", "16", "128", "openai/gpt-oss-20b")
    gemma = rows["Gemma 3 1B"]  # "~4-6" → 6; 32000 tokens → 32 k
    assert (gemma["params_b"], gemma["architecture"], gemma["quantization"],
            gemma["vram_needed_gb"], gemma["context_k"]) == ("1", "dense", "4bit", "6", "32")
    assert rows["Mistral 7B 7.3B"]["params_b"] == "7.3"  # "7.3B"
    assert rows["Mistral 7B 7.3B"]["context_k"] == "8.192"  # 8192 / 1000
    assert rows["CodeLlama 7B"]["vram_needed_gb"] == "3.912"  # "see card": 3.26 × 1.2
    assert "Mystery 3B" not in rows and "Oddball base" not in rows
    assert imported.outcome("operator/curated_public_tap_models.csv", "row 6 (Mystery 3B)") == (
        "dropped: no VRAM figure: Typical_VRAM 'n/a' is not a number or range and "
        "weights_vram_4bit_gb_est is empty")
    assert imported.outcome("operator/curated_public_tap_models.csv", "row 7 (Oddball base)"
                            ).startswith("dropped: no parameter count")


def test_throughput_rows(imported):
    rows = imported.rows("inputs/facts/tps_model_gpu.csv")
    koyeb = "Koyeb vLLM harness (https://github.com/vllm-project/vllm)"
    assert [tuple(r.values()) for r in rows] == [
        # single_stream: batch 1 is the measured request, not the instance's slots → empty
        ("Gemma 3 1B", "google/gemma-3-1b-it", "L4", "1", "single_stream", "95.5", "", koyeb),
        ("Gemma 3 1B", "google/gemma-3-1b-it", "L4", "1", "aggregate", "1500.25", "32", koyeb),
        # 12 cells for 13 columns, repaired: the missing cell is one of the empty ones
        ("Mistral 7B", "mistralai/Mistral-7B-Instruct-v0.3", "RTX 4090", "1", "aggregate",
         "7850.4", "", "Community-reported benchmarks (Reddit/Forums) "
         "(https://www.reddit.com/r/LocalLLaMA/)"),
    ]
    assert imported.outcome("facts/tps_model_gpu.csv", "row 5 (Mixtral 8x7B/H100)").startswith(
        "dropped: measurement_type per_user_stream")
    assert imported.outcome("facts/tps_model_gpu.csv", "row 8 (Gemma 3 1B/RTX 4090)") == (
        "dropped: 14 cells for 13 columns (an unquoted comma?)")
    assert "missing empty cell in batch, input_tokens, output_tokens" in imported.outcome(
        "facts/tps_model_gpu.csv", "row 7 (Mistral 7B/RTX 4090)")
    assert imported.outcome("facts/tps_sources.yaml", "UNUSED.name") == (
        "dropped: no imported measurement uses this source_tag")


def test_gpu_specs_from_baselines_vram_and_datasheets(imported):
    rows = imported.rows("inputs/facts/gpu_specs.csv")
    assert [(r["gpu"], r["vram_gb"], r["mem_bandwidth_gb_s"], r["baseline_tps_8b"])
            for r in rows] == [("RTX 4090", "24", "1008", "225"), ("L4", "24", "300", "100")]
    assert rows[0]["source"] == (
        "vram_gb: curated_gpu.csv; mem_bandwidth_gb_s: NVIDIA datasheets; baseline_tps_8b: "
        "gpu_baselines.yaml 'RTX 4090' (the draft's tokens/s per instance, taken as an 8B dense "
        "model)")
    assert imported.outcome("facts/gpu_baselines.yaml", "4090") == (
        "dropped: shadowed for RTX 4090 by an earlier pattern (the draft takes the first match "
        "in file order)")
    assert imported.outcome("facts/gpu_baselines.yaml", "L40S").startswith(
        "dropped: matches no GPU of curated_gpu.csv")


def test_plan_holds_every_tracked_key_and_the_mapped_values(imported):
    plan = imported.yaml("params.yaml")
    for key in dvc_tracked_keys():
        node = plan
        for part in key.split("."):
            node = node[part]
    assert plan["run"]["random_seed"] == 4242
    assert plan["run"]["random_runs_per_simulation"] == 2
    assert plan["stochastic"]["simulations_per_run"] == 5
    assert plan["logging"]["level"] == "info"  # INFO lower-cased
    assert plan["targets"]["private_growth_required"] is False
    assert plan["targets"]["autoscaling_util_tolerance_pct"] == 25
    assert "output_dir" not in plan["run"] and "ui" not in plan
    assert imported.outcome("simulation.yaml", "run.max_concurrency").startswith(
        "dropped: a runtime option")


def test_report_counts(imported):
    counts = import_record((imported.dest / "IMPORT_REPORT.md").read_bytes())["counts"]
    table_rows = [line for line in imported.report.splitlines()
                  if re.match(r"^\| (`|column |row |line )", line)]
    outcomes = [line.split(" | ")[1].split(" ")[0].rstrip(":") for line in table_rows]
    assert counts == {k: outcomes.count(k) for k in ("mapped", "converted", "modelled",
                                                     "dropped")} | {"total": sum(
        outcomes.count(k) for k in ("mapped", "converted", "modelled", "dropped"))}
    # simulation.yaml, counted by hand from the fixture: 26 keys — mapped: run.random_seed,
    # pipelines, fail_on_warning, random_runs_per_simulation, 3 stochastic, 3 stress,
    # overhead_allocation_driver, 5 targets (16); converted: logging.level (1); modelled:
    # include_loan_in_cashflow, report_percentiles, halt_at_zero_simulation,
    # write_run_summary, require_monotonic_growth_public… (5); dropped: output_dir,
    # max_concurrency, grid_samples, show_credit_packs (4).
    assert "| inputs/simulation.yaml | 16 | 1 | 5 | 4 |" in imported.report
    # Comments are reported as comments, not data: 1 in general.csv, 2 in public_tap.csv.
    assert "Not data: 3 comment row(s)" in imported.report
    assert "comment (not data): `# Growth & churn model inputs (public)`" in imported.outcome(
        "variables/public_tap.csv", "line 8")


def test_every_drop_is_a_warning_on_stderr(imported):
    dropped = [line for line in imported.report.splitlines() if " | dropped: " in line]
    warnings = [line for line in imported.stderr.splitlines() if ": dropped — " in line]
    # Identical drops of one file are one line that says how many ("N in all").
    counted = [int(m.group(1)) if (m := re.search(r" \((\d+) in all, each in IMPORT_REPORT"
                                                  r"\.md\): dropped — ", line)) else 1
               for line in warnings]
    assert len(dropped) == sum(counted) == import_record(
        (imported.dest / "IMPORT_REPORT.md").read_bytes())["counts"]["dropped"]
    assert ("warning: inputs/operator/general.yaml:finance.depreciation_assets_eur: dropped — "
            "superseded by depreciation_schedule") in imported.stderr
    assert ("warning: inputs/operator/general.yaml:finance.mystery_knob: dropped — not a key of "
            "the original draft format (not in the import mapping table)") in imported.stderr


def test_importing_twice_gives_identical_bytes(imported, tmp_path):
    again = import_tree(DRAFT_MINI, tmp_path / "again")
    files = sorted(p.relative_to(imported.dest) for p in imported.dest.rglob("*") if p.is_file())
    assert files == sorted(p.relative_to(again.dest) for p in again.dest.rglob("*")
                           if p.is_file())
    assert len(files) == 16
    for rel in files:
        assert (imported.dest / rel).read_bytes() == (again.dest / rel).read_bytes(), rel
    # Re-importing into the same directory replaces the earlier import, byte for byte.
    import_tree(DRAFT_MINI, again.dest)
    for rel in files:
        assert (imported.dest / rel).read_bytes() == (again.dest / rel).read_bytes(), rel
    assert "/tmp" not in imported.report and str(DRAFT_MINI) not in imported.report


def test_missing_source_exits_2(tmp_path):
    result = invoke("import-draft", str(tmp_path / "nope"), "--to", str(tmp_path / "out"))
    assert result.exit_code == 2
    assert result.stderr == (f"{tmp_path / 'nope'}:(dir): draft inputs directory not found — "
                             "pass the draft's inputs/ directory (simulation.yaml, operator/, "
                             "variables/, facts/)\n")
    assert not (tmp_path / "out").exists()


def test_missing_draft_file_exits_2_naming_it(tmp_path):
    src = shutil.copytree(DRAFT_MINI, tmp_path / "inputs")
    (src / "operator/general.yaml").unlink()
    result = invoke("import-draft", str(src), "--to", str(tmp_path / "out"))
    assert result.exit_code == 2
    assert result.stderr.startswith("inputs/operator/general.yaml:(file): file not found — ")


def test_a_d3_tree_or_an_unrelated_destination_is_refused(tmp_path):
    result = invoke("import-draft", str(MINIMAL / "inputs"), "--to",
                    str(tmp_path / "out"))
    assert result.exit_code == 2
    assert "inputs/facts/gpu_specs.csv:(file): this is a D3 inputs tree" in result.stderr
    (tmp_path / "dest" / "inputs").mkdir(parents=True)
    result = invoke("import-draft", str(DRAFT_MINI), "--to", str(tmp_path / "dest"))
    assert result.exit_code == 2
    assert "exists and is not from an earlier import" in result.stderr
    # A plan of the user's own in --to is not overwritten either (found by a review).
    (tmp_path / "dest2").mkdir()
    (tmp_path / "dest2" / "params.yaml").write_text("mine\n")
    result = invoke("import-draft", str(DRAFT_MINI), "--to", str(tmp_path / "dest2"))
    assert result.exit_code == 2
    assert f"{tmp_path / 'dest2' / 'params.yaml'}:(--to): exists and is not from an earlier " \
        "import" in result.stderr
    assert (tmp_path / "dest2" / "params.yaml").read_text() == "mine\n"


def test_an_employee_side_social_security_rate_is_carried_with_a_warning(imported):
    # The fixture's 27.65 % (AOW 17.90 + Anw 0.10 + Wlz 9.65 = 27.65, the employee-side
    # premium) is above the 25 % no Dutch employer's charge reaches: carried, and warned about.
    assert imported.yaml("inputs/operator/general.yaml")["tax"]["social_security_pct"] == 27.65
    assert ("warning: inputs/operator/general.yaml:tax.social_security_pct: 27.65 % looks like "
            "the employee-side national insurance premium, which is withheld from wages; D3 "
            "books tax.social_security_pct as the employer's charge on top of them — use the "
            "employer's rate (NL ≈ 18–20 %; a director-shareholder only the 6.51 % Zvw levy)"
            ) in imported.stderr.splitlines()


def test_marketing_as_a_percent_of_inflow_is_dropped_with_how_to_switch_it_on(imported):
    assert imported.outcome("operator/general.yaml",
                            "finance.marketing_allocation_pct_of_inflow").startswith(
        "dropped: the draft's engine only quoted it in its report text")
    assert "budget_policy: pct_of_inflow" in imported.outcome(
        "operator/general.yaml", "finance.marketing_allocation_pct_of_inflow")


def test_every_import_warning_is_also_a_jsonl_event_on_stdout(imported):
    import json as _json

    events = [_json.loads(line) for line in imported.stdout.splitlines() if line.startswith("{")]
    warnings = [e for e in events if e["event"] == "import_warning"]
    counts = next(e for e in events if e["event"] == "draft_imported")
    assert len(warnings) == counts["warnings"] > 0
    assert all(w["level"] == "warning" and w["file"] and w["message"] for w in warnings)
    dropped = [w for w in warnings if w["message"] == "dropped"]
    assert len(dropped) == counts["dropped"]
