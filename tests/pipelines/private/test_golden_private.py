"""Private Tap goldens of the minimal fixture (derivation in tests/fixtures/minimal/README.md)."""

from __future__ import annotations

import csv

import pytest

from tests.helpers import MINIMAL, invoke


@pytest.fixture(scope="module")
def out(tmp_path_factory):
    out = tmp_path_factory.mktemp("golden_private")
    result = invoke("run", "--inputs", str(MINIMAL / "inputs"), "--out", str(out),
                    "--pipelines", "private")
    assert result.exit_code == 0, result.stderr
    return out


@pytest.mark.parametrize("name", ["private_tap_economics.csv",
                                  "private_vendor_recommendation.csv"])
def test_golden_bytes(out, name):
    assert (out / name).read_bytes() == (MINIMAL / "expected" / name).read_bytes()


def test_economics_arithmetic(out):
    with (out / "private_tap_economics.csv").open() as fh:
        rows = {r["gpu"]: r for r in csv.DictReader(fh)}
    med = (0.50 * 0.84 + 0.55 * 0.84) / 2  # median of an even number of providers
    assert float(rows["4090"]["provider_eur_hr_med"]) == pytest.approx(med, abs=1e-6)
    assert float(rows["4090"]["sell_eur_hr"]) == pytest.approx(med * 1.30, abs=1e-6)
    assert float(rows["4090"]["margin_pct"]) == pytest.approx(30 / 130 * 100, abs=1e-4)
    assert rows["4090"]["management_fee_eur_per_month"] == "100.00"
    # Paid to the recommended vendor: 4090 alpha €0.42 → (0.5733 − 0.42)/0.5733 = 26.7399 %;
    # H100 beta €1.848 → (2.5662 − 1.848)/2.5662 = 27.9869 %.
    assert rows["4090"]["vendor_provider"] == "alpha"
    assert float(rows["4090"]["margin_vendor_pct"]) == pytest.approx(
        (med * 1.3 - 0.42) / (med * 1.3) * 100, abs=1e-4)
    assert float(rows["H100 SXM"]["margin_vendor_eur_hr"]) == pytest.approx(2.5662 - 1.848,
                                                                          abs=1e-6)
    assert float(rows["H100 SXM"]["margin_vendor_pct"]) == pytest.approx(27.9869, abs=1e-4)


def test_public_outputs_absent_when_only_private_runs(out):
    assert not (out / "public_tap_prices_per_model.csv").exists()
    assert (out / "run_summary.json").exists()


def test_without_prepaid_blocks_the_expected_path_is_invoiced_monthly(out):
    # The minimal fixture sets no prepaid_policy: block_hours 0 → nothing prepaid, every euro of
    # revenue is invoiced monthly on AR terms.
    with (out / "private_tap_customers_by_month.csv").open() as fh:
        rows = list(csv.DictReader(fh))
    assert all(r["block_purchases_eur"] == r["deferred_eur"] == r["expired_eur"] == "0.00"
               for r in rows)
    assert all(r["invoiced_eur"] == r["revenue_eur"] for r in rows)
