"""CLI contract: exit codes, JSONL progress, warnings and their promotion, seeds."""

from __future__ import annotations

import json
import subprocess
import sys

import d3.cli
from tests.helpers import ROOT, copy_minimal, edit_csv, edit_yaml, invoke


def _events(stdout: str) -> list[dict]:
    return [json.loads(line) for line in stdout.splitlines() if line.startswith("{")]


def test_run_emits_jsonl_with_ts_level_event(tmp_path):
    root = copy_minimal(tmp_path / "tree")
    result = invoke("run", "--inputs", str(root / "inputs"), "--out", str(tmp_path / "out"))
    assert result.exit_code == 0, result.stderr
    lines = [line for line in result.stdout.splitlines() if line.strip()]
    events = [json.loads(line) for line in lines]  # every stdout line is one JSON object
    assert all({"ts", "level", "event"} <= e.keys() for e in events)
    names = [e["event"] for e in events]
    for expected in ("run_start", "load_start", "load_done", "validate_start", "validate_done",
                     "grid_built", "run_done"):
        assert expected in names
    grid = next(e for e in events if e["event"] == "grid_built")
    # pub_margin 40..60 step 10 → 3 grid points; 2 replicates; 10 MC → 60 samples.
    assert (grid["size"], grid["replicates"], grid["samples"]) == (3, 2, 60)


def test_unknown_flag_is_rejected():
    assert invoke("run", "--no-such-flag").exit_code != 0


def test_module_entry_point_runs():
    proc = subprocess.run([sys.executable, "-m", "d3", "--help"], capture_output=True, text=True,
                          cwd=ROOT, check=False)
    assert proc.returncode == 0 and "run" in proc.stdout and "validate" in proc.stdout


def test_ctrl_c_exits_3(tmp_path, monkeypatch):
    def interrupted(*args, **kwargs):
        raise KeyboardInterrupt

    monkeypatch.setattr(d3.cli, "run_stages", interrupted)
    root = copy_minimal(tmp_path / "tree")
    assert invoke("run", "--inputs", str(root / "inputs"), "--out",
                  str(tmp_path / "o")).exit_code == 3


def test_internal_error_exits_3_with_an_error_event(tmp_path, monkeypatch):
    def broken(*args, **kwargs):
        raise RuntimeError("disk on fire")

    monkeypatch.setattr(d3.cli, "run_stages", broken)
    root = copy_minimal(tmp_path / "tree")
    result = invoke("run", "--inputs", str(root / "inputs"), "--out", str(tmp_path / "o"))
    assert result.exit_code == 3
    assert "internal error: RuntimeError: disk on fire" in result.stderr
    assert _events(result.stdout)[-1]["event"] == "error"


def test_bad_pipelines_value_exits_2(tmp_path):
    root = copy_minimal(tmp_path / "tree")
    result = invoke("run", "--inputs", str(root / "inputs"), "--out", str(tmp_path / "o"),
                    "--pipelines", "public,gpu")
    assert result.exit_code == 2
    assert result.stderr.startswith("--pipelines:value: unknown pipeline(s) ['gpu']")


def _fraction_tree(tmp_path):
    root = copy_minimal(tmp_path / "tree")
    edit_yaml(root / "inputs/operator/general.yaml",
              lambda d: d["finance"].update(contingency_pct_of_costs=0.05))
    return root


def test_fraction_for_percent_is_a_warning(tmp_path):
    root = _fraction_tree(tmp_path)
    result = invoke("validate", "--inputs", str(root / "inputs"))
    assert result.exit_code == 0
    assert ("warning: inputs/operator/general.yaml:finance.contingency_pct_of_costs: value 0.05 "
            "looks like a fraction but this key is a percent (0..100) — write 5 for 5 %") in \
        result.stderr


def test_fail_on_warning_flag_turns_warnings_into_errors(tmp_path):
    root = _fraction_tree(tmp_path)
    result = invoke("validate", "--inputs", str(root / "inputs"), "--fail-on-warning")
    assert result.exit_code == 2
    assert result.stderr.startswith(
        "inputs/operator/general.yaml:finance.contingency_pct_of_costs: value 0.05")


def test_fail_on_warning_from_the_plan(tmp_path):
    root = _fraction_tree(tmp_path)
    edit_yaml(root / "params.yaml", lambda d: d["run"].update(fail_on_warning=True))
    out = tmp_path / "out"
    assert invoke("run", "--inputs", str(root / "inputs"), "--out", str(out)).exit_code == 2
    assert not out.exists()


def test_csv_shadows_yaml_with_a_warning(tmp_path):
    root = copy_minimal(tmp_path / "tree")
    (root / "inputs/facts/insurances.yaml").write_text(
        "- {insurer_id: other, product: x, annual_premium_eur: 1, source: s}\n")
    result = invoke("validate", "--inputs", str(root / "inputs"))
    assert result.exit_code == 0  # the CSV (which has ins_pi, selected in general.yaml) is used
    assert ("warning: inputs/facts/insurances.csv:(file): shadows inputs/facts/insurances.yaml; "
            "the CSV is used") in result.stderr


def test_yaml_dataset_is_used_when_there_is_no_csv(tmp_path):
    root = copy_minimal(tmp_path / "tree")
    (root / "inputs/facts/insurances.csv").unlink()
    (root / "inputs/facts/insurances.yaml").write_text(
        "- {insurer_id: ins_pi, product: PI, annual_premium_eur: 600, source: s}\n"
        "- {insurer_id: ins_cyber, product: Cyber, annual_premium_eur: -1, source: s}\n")
    result = invoke("validate", "--inputs", str(root / "inputs"))
    assert result.exit_code == 2
    assert result.stderr.startswith("inputs/facts/insurances.yaml:item 2 (ins_cyber): "
                                    "annual_premium_eur must be ≥ 0, got -1")


def test_implausible_gpu_price_is_a_warning(tmp_path):
    root = copy_minimal(tmp_path / "tree")
    edit_csv(root / "inputs/operator/curated_gpu.csv",
             lambda h, rows: rows[1].update(price_per_gpu_hr="250"))
    result = invoke("validate", "--inputs", str(root / "inputs"))
    assert result.exit_code == 0
    assert ("warning: inputs/operator/curated_gpu.csv:row 3 (alpha/H100 SXM): 250 USD per "
            "GPU-hour is implausible") in result.stderr


def test_allocations_not_summing_to_one_are_renormalised_with_a_warning(tmp_path):
    root = copy_minimal(tmp_path / "tree")
    edit_yaml(root / "inputs/operator/public_tap.yaml",
              lambda d: d["acquisition"].update(channel_allocation={"search": 0.6, "social": 0.6}))
    result = invoke("validate", "--inputs", str(root / "inputs"))
    assert result.exit_code == 0
    assert ("warning: inputs/operator/public_tap.yaml:acquisition.channel_allocation: weights sum "
            "to 1.2, not 1; they are renormalised") in result.stderr


def _plan(out):
    return json.loads((out / "validated/plan.json").read_text())


def test_seed_resolution_order(tmp_path):
    root = copy_minimal(tmp_path / "tree")
    out = tmp_path / "a"
    assert invoke("run", "--inputs", str(root / "inputs"), "--out", str(out)).exit_code == 0
    plan = _plan(out)
    assert plan["seeds"] == {"general": 7, "public_tap": 7, "private_tap": 7}
    assert plan["seed_sources"]["public_tap"] == "stochastic.random_seed"

    out = tmp_path / "b"
    assert invoke("run", "--inputs", str(root / "inputs"), "--out", str(out),
                  "--seed", "99").exit_code == 0
    assert _plan(out)["seeds"] == {"general": 99, "public_tap": 99, "private_tap": 99}

    # Without plan seeds each tap falls back to its meta.seed; general to public_tap's.
    edit_yaml(root / "params.yaml", lambda d: d["stochastic"].update(random_seed=None))
    out = tmp_path / "c"
    assert invoke("run", "--inputs", str(root / "inputs"), "--out", str(out)).exit_code == 0
    assert _plan(out)["seeds"] == {"general": 11, "public_tap": 11, "private_tap": 22}
    assert _plan(out)["seed_sources"]["general"] == "public_tap.meta.seed"


def test_tps_heuristic_is_a_warning_and_an_error_when_disallowed(tmp_path):
    root = copy_minimal(tmp_path / "tree")
    result = invoke("validate", "--inputs", str(root / "inputs"))
    assert result.exit_code == 0
    line = ("warning: inputs/facts/tps_model_gpu.csv:model=Mistral Small 24B,gpu=4090: no "
            "measurement; throughput 933 tokens/s from heuristic:bandwidth")
    assert line in result.stderr
    edit_yaml(root / "inputs/operator/public_tap.yaml",
              lambda d: d["pricing_policy"]["public_tap"].update(allow_tps_heuristic=False))
    result = invoke("validate", "--inputs", str(root / "inputs"))
    assert result.exit_code == 2
    assert result.stderr.startswith("inputs/facts/tps_model_gpu.csv:model=Mistral Small 24B,"
                                    "gpu=4090: no measurement")


def test_model_no_gpu_can_serve_is_an_error(tmp_path):
    root = copy_minimal(tmp_path / "tree")

    # Only 4090s, as 1- and 4-GPU SKUs; the model needs 60 GB.
    def only_single_4090(header, rows):
        rows[:] = [r for r in rows if r["gpu_model"] == "RTX 4090" and r["num_gpus"] == "1"]
        rows.append({"provider": "gamma", "gpu_model": "RTX 4090", "gpu_vram_gb": "24",
                     "num_gpus": "4", "price_usd_hr": "3.0"})
    edit_csv(root / "inputs/operator/curated_gpu.csv", only_single_4090)
    edit_csv(root / "inputs/operator/curated_public_tap_models.csv",
             lambda h, rows: rows[1].update(vram_needed_gb="60"))
    result = invoke("validate", "--inputs", str(root / "inputs"))
    assert result.exit_code == 2
    # k = ⌈60/24⌉ = 3; SKUs of 1 and 4 GPUs cannot host 3-GPU instances.
    assert ("inputs/operator/curated_public_tap_models.csv:model=Mistral Small 24B: no curated "
            "GPU can serve this model") in result.stderr


def test_vendor_weights_not_summing_to_one_are_renormalised_with_a_warning(tmp_path):
    root = copy_minimal(tmp_path / "tree")
    edit_yaml(root / "inputs/operator/private_tap.yaml",
              lambda d: d["pricing_policy"]["private_tap"].update(
                  vendor_weights={"cost": 0.6, "availability": 0.3, "reputation": 0.3}))
    result = invoke("validate", "--inputs", str(root / "inputs"))
    assert result.exit_code == 0
    assert ("warning: inputs/operator/private_tap.yaml:pricing_policy.private_tap.vendor_weights:"
            " weights sum to 1.2, not 1; they are renormalised") in result.stderr
