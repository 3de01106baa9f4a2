"""acquisition.budget_policy (issue 13): validation warnings, the guard under a flat budget,
and a run of the minimal fixture with a flat budget on both taps."""

from __future__ import annotations

import csv
from pathlib import Path

import pytest

from tests.helpers import copy_minimal, edit_yaml, invoke

PUBLIC = "inputs/operator/public_tap.yaml"
PRIVATE = "inputs/operator/private_tap.yaml"


def acquisition(**keys):
    def change(data):
        data["acquisition"].update(keys)
    return change


def validate(root: Path, *extra: str):
    result = invoke("validate", "--inputs", str(root / "inputs"), "--params",
                    str(root / "params.yaml"), *extra)
    return result.exit_code, result.stderr.splitlines()


def test_a_flat_budget_of_zero_and_ignored_budget_keys_are_warnings(tmp_path):
    root = copy_minimal(tmp_path)
    edit_yaml(root / PUBLIC, acquisition(budget_policy="flat"))  # growth 5 % stays
    edit_yaml(root / PRIVATE, acquisition(budget_monthly_eur=700))  # policy stays growth
    code, lines = validate(root)
    assert code == 0
    assert [line for line in lines if "budget" in line] == [
        f"warning: {PUBLIC}:acquisition.budget_monthly_eur: budget_policy flat with "
        "budget_monthly_eur 0: no ads budget, so no new customers — set budget_monthly_eur "
        "(EUR per month), or use budget_policy: growth",
        f"warning: {PUBLIC}:acquisition.budget_growth_pct_mom: budget_growth_pct_mom 5 is "
        "ignored under budget_policy flat (the budget is budget_monthly_eur every month) — "
        "set budget_policy: growth to use it, or remove it",
        f"warning: {PRIVATE}:acquisition.budget_monthly_eur: budget_monthly_eur 700 is ignored "
        "under budget_policy growth (the budget is budget_month0_eur × (1 + "
        "budget_growth_pct_mom/100)^(m−1)) — set budget_policy: flat to use it, or remove it"]
    assert validate(root, "--fail-on-warning")[0] == 2


def test_a_set_flat_budget_gives_no_warning(tmp_path):
    root = copy_minimal(tmp_path)
    edit_yaml(root / PUBLIC, acquisition(budget_policy="flat", budget_monthly_eur=1500,
                                         budget_growth_pct_mom=0))
    code, lines = validate(root)
    assert code == 0 and not [line for line in lines if "budget" in line]


def test_an_unknown_policy_is_an_error(tmp_path):
    root = copy_minimal(tmp_path)
    edit_yaml(root / PUBLIC, acquisition(budget_policy="percent"))
    code, lines = validate(root)
    assert code == 2
    assert lines[0] == (f"{PUBLIC}:acquisition.budget_policy: must be one of 'growth', "
                        "'flat' or 'pct_of_inflow', got 'percent' — use one of 'growth', "
                        "'flat' or 'pct_of_inflow'")


def test_the_magnitude_guard_judges_the_flat_budget(tmp_path):
    # 1e12 EUR a month × the best scenario's budget multiplier 1.2 = 1.2e12 > 1e12.
    root = copy_minimal(tmp_path)
    edit_yaml(root / PUBLIC, acquisition(budget_policy="flat", budget_monthly_eur=1e12,
                                         budget_growth_pct_mom=0))
    code, lines = validate(root)
    assert code == 2
    assert lines[0] == (
        f"{PUBLIC}:acquisition.budget_monthly_eur: the monthly ads budget reaches 1.2e+12 EUR "
        "every month (1e+12 EUR × 1.2), beyond the magnitude guard 1e+12 EUR — lower "
        "budget_monthly_eur or the scenarios' budget_multiplier")


def _rows(path: Path) -> list[dict[str, str]]:
    with path.open() as fh:
        return list(csv.DictReader(fh))


def test_a_run_with_flat_budgets_on_both_taps(tmp_path):
    root = copy_minimal(tmp_path / "tree")
    edit_yaml(root / PUBLIC, acquisition(budget_policy="flat", budget_monthly_eur=1500,
                                         budget_growth_pct_mom=0))
    edit_yaml(root / PRIVATE, acquisition(budget_policy="flat", budget_monthly_eur=800,
                                          budget_growth_pct_mom=0))
    out = tmp_path / "out"
    result = invoke("run", "--inputs", str(root / "inputs"), "--params",
                    str(root / "params.yaml"), "--out", str(out))
    assert result.exit_code == 0, result.stderr
    public = _rows(out / "public_tap_customers_by_month.csv")
    private = _rows(out / "private_tap_customers_by_month.csv")
    # Every month of every grid point spends the flat budget (budget_month0_eur 1000 / 500
    # unused): public 1500 EUR × 0.011 customers per EUR (CAC 90.91, test_demand_stage) = 16.5
    # expected new customers; private 800 EUR / 400 EUR CAC = 2 expected new clients.
    assert {r["budget_eur"] for r in public} == {"1500.00"}
    assert {round(float(r["expected_new_customers"]), 6) for r in public} == {16.5}
    assert {r["private_budget_eur"] for r in private} == {"800.00"}
    assert {round(float(r["expected_new_clients"]), 6) for r in private} == {2.0}


def test_the_guard_judges_every_policy_a_variable_allows(tmp_path):
    from tests.helpers import edit_csv

    # The YAML keeps growth (so 1e12 EUR under budget_monthly_eur is only ignored, a warning),
    # but a random variable can switch the policy to flat: 1e12 × 1.2 is then refused.
    root = copy_minimal(tmp_path)
    edit_yaml(root / PUBLIC, acquisition(budget_monthly_eur=1e12))
    edit_csv(root / "inputs/variables/public_tap.csv", lambda header, rows: rows.append(
        {"variable_id": "pub_policy", "scope": "public_tap", "path": "acquisition.budget_policy",
         "type": "discrete", "unit": "", "default": "growth", "treatment": "random",
         "notes": "values=growth|flat"}))
    code, lines = validate(root)
    assert code == 2
    assert [line for line in lines if not line.startswith("warning:")] == [
        f"{PUBLIC}:acquisition.budget_monthly_eur: the monthly ads budget reaches 1.2e+12 EUR "
        "every month (1e+12 EUR × 1.2), beyond the magnitude guard 1e+12 EUR — lower "
        "budget_monthly_eur or the scenarios' budget_multiplier"]


def test_validated_json_has_the_budget_keys_only_when_set():
    from d3.models.operator import PrivateAcquisition

    acq = PrivateAcquisition(budget_month0_eur=500, churn_pct_mom=3, hours_per_client_month=100)
    assert "budget_policy" not in acq.model_dump(mode="json")  # earlier runs keep their bytes
    assert acq.model_dump(mode="python")["budget_policy"] == "growth"  # variables can target it
    flat = acq.model_copy(update={"budget_policy": "flat", "budget_monthly_eur": 800.0})
    dumped = flat.model_dump(mode="json")
    assert (dumped["budget_policy"], dumped["budget_monthly_eur"]) == ("flat", 800.0)
    assert PrivateAcquisition.model_validate(dumped) == flat


def test_a_budget_as_a_percent_of_inflow_needs_a_cap(tmp_path):
    root = copy_minimal(tmp_path)
    edit_yaml(root / PUBLIC, acquisition(budget_policy="pct_of_inflow", budget_pct_of_inflow=20,
                                         budget_growth_pct_mom=0))
    code, lines = validate(root)
    assert code == 2
    assert [line for line in lines if not line.startswith("warning:")] == [
        f"{PUBLIC}:acquisition.budget_cap_monthly_eur: budget_policy pct_of_inflow needs a cap: "
        "the budget buys the customers whose sales fund the next budget, which can compound "
        "without bound — set budget_cap_monthly_eur, the most you would spend on ads in a "
        "month (EUR)"]


def test_the_magnitude_guard_judges_the_inflow_budgets_cap(tmp_path):
    # max(budget_month0_eur 1000, cap 1e12) × the best scenario's budget multiplier 1.2.
    root = copy_minimal(tmp_path)
    edit_yaml(root / PUBLIC, acquisition(budget_policy="pct_of_inflow", budget_pct_of_inflow=20,
                                         budget_cap_monthly_eur=1e12, budget_growth_pct_mom=0))
    code, lines = validate(root)
    assert code == 2
    assert lines[0] == (
        f"{PUBLIC}:acquisition.budget_cap_monthly_eur: the monthly ads budget reaches 1.2e+12 "
        "EUR (max of budget_month0_eur 1000 and the cap 1e+12 EUR × 1.2), beyond the magnitude "
        "guard 1e+12 EUR — lower budget_cap_monthly_eur, budget_month0_eur or the scenarios' "
        "budget_multiplier")


def test_a_run_with_budgets_funded_by_inflow_on_both_taps(tmp_path):
    root = copy_minimal(tmp_path / "tree")
    edit_yaml(root / PUBLIC, acquisition(budget_policy="pct_of_inflow", budget_pct_of_inflow=20,
                                         budget_cap_monthly_eur=3000, budget_growth_pct_mom=0))
    edit_yaml(root / PRIVATE, acquisition(budget_policy="pct_of_inflow",
                                          budget_pct_of_inflow=10, budget_cap_monthly_eur=900,
                                          budget_growth_pct_mom=0))
    out = tmp_path / "out"
    result = invoke("run", "--inputs", str(root / "inputs"), "--params",
                    str(root / "params.yaml"), "--out", str(out))
    assert result.exit_code == 0, result.stderr
    public = _rows(out / "public_tap_customers_by_month.csv")
    # Expected path of each grid point: month 1 spends budget_month0_eur 1000; month m ≥ 2
    # spends min(3000, 20 % × the credits sold in month m − 1) (the CSV rounds to cents).
    for g in {r["grid_index"] for r in public}:
        rows = [r for r in public if r["grid_index"] == g]
        assert rows[0]["budget_eur"] == "1000.00"
        for before, row in zip(rows, rows[1:], strict=False):
            wanted = min(3000.0, 0.2 * float(before["credits_sold_eur"]))
            assert float(row["budget_eur"]) == pytest.approx(wanted, abs=0.011)
    private = _rows(out / "private_tap_customers_by_month.csv")
    # Private sales = usage + fees; month 1 spends budget_month0_eur 500.
    for g in {r["grid_index"] for r in private}:
        rows = [r for r in private if r["grid_index"] == g]
        assert rows[0]["private_budget_eur"] == "500.00"
        for before, row in zip(rows, rows[1:], strict=False):
            sales = float(before["usage_revenue_eur"]) + float(before["fee_revenue_eur"])
            wanted = min(900.0, 0.1 * sales)
            assert float(row["private_budget_eur"]) == pytest.approx(wanted, abs=0.011)


def test_an_inflow_budget_that_cannot_start_or_starts_above_its_cap_is_warned(tmp_path):
    root = copy_minimal(tmp_path)
    edit_yaml(root / PUBLIC, acquisition(budget_policy="pct_of_inflow", budget_pct_of_inflow=20,
                                         budget_cap_monthly_eur=500, budget_month0_eur=0,
                                         budget_growth_pct_mom=0))
    edit_yaml(root / PRIVATE, acquisition(budget_policy="pct_of_inflow", budget_pct_of_inflow=10,
                                          budget_cap_monthly_eur=300, budget_growth_pct_mom=0))
    code, lines = validate(root)
    assert code == 0
    assert [line for line in lines if "budget_month0_eur" in line] == [
        f"warning: {PUBLIC}:acquisition.budget_month0_eur: budget_policy pct_of_inflow with "
        "budget_month0_eur 0: no first customers, so no sales to fund any later budget — set "
        "budget_month0_eur, the month-1 ads budget (EUR)",
        # The minimal fixture's private budget_month0_eur is 500 > the cap 300.
        f"warning: {PRIVATE}:acquisition.budget_month0_eur: budget_month0_eur 500 is above "
        "budget_cap_monthly_eur 300; month 1 spends it uncapped — lower it to the cap, or "
        "raise the cap"]
