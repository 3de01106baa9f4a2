"""Golden outputs of the minimal fixture, checked byte for byte and re-derived by hand
(the full derivation is in tests/fixtures/minimal/README.md)."""

from __future__ import annotations

import csv
import json
import math

import pytest

from tests.helpers import MINIMAL, run_minimal


@pytest.fixture(scope="module")
def out(tmp_path_factory):
    return run_minimal(tmp_path_factory.mktemp("golden"))


@pytest.mark.parametrize("name", ["public_vendor_choice.csv", "public_tap_prices_per_model.csv"])
def test_golden_bytes(out, name):
    assert (out / name).read_bytes() == (MINIMAL / "expected" / name).read_bytes()


def _rows(path):
    with path.open() as fh:
        return {r["model"] if "model" in r else r["gpu"]: r for r in csv.DictReader(fh)}


def test_vendor_choice_arithmetic(out):
    rows = _rows(out / "public_vendor_choice.csv")
    # eur_hr = usd_hr × (1 + 5/100) / 1.25
    assert rows["4090"]["provider"] == "alpha"
    assert float(rows["4090"]["eur_hr"]) == pytest.approx(0.50 * 1.05 / 1.25, abs=1e-6)
    assert rows["H100 SXM"]["provider"] == "beta"
    assert float(rows["H100 SXM"]["eur_hr"]) == pytest.approx(2.20 * 1.05 / 1.25, abs=1e-6)


def test_price_arithmetic(out):
    rows = _rows(out / "public_tap_prices_per_model.csv")
    llama, mistral = rows["Llama 3.1 8B"], rows["Mistral Small 24B"]
    llama_cost = 0.42 / (1800 * 3600 / 1e6)  # €/h ÷ (tok/h ÷ 1M)
    assert float(llama["cost_eur_per_1M"]) == pytest.approx(llama_cost, abs=1e-6)
    assert math.ceil(llama_cost / 0.5 / 1000 / 0.00001) * 0.00001 == pytest.approx(0.00013)
    assert float(llama["sell_eur_per_1k"]) == 0.00015  # floor beats 0.00013
    assert float(llama["margin_pct"]) == pytest.approx((0.15 - llama_cost) / 0.15 * 100, abs=1e-4)

    mistral_tps = 100 * 20 * 0.70 * 1000 / 3000 * 2  # single stream → per GPU × bandwidth × k
    mistral_cost = 2 * 0.55 * 0.84 / (mistral_tps * 3600 / 1e6)
    assert mistral["tps_source"] == "heuristic:bandwidth"
    assert float(mistral["tps"]) == pytest.approx(mistral_tps, abs=0.01)
    assert float(mistral["cost_eur_per_1M"]) == pytest.approx(mistral_cost, abs=1e-6)
    assert mistral_cost == pytest.approx(0.275)
    assert float(mistral["rounded_sell_eur_per_1k"]) == 0.00055  # exact multiple, not 0.00056
    assert float(mistral["sell_eur_per_1k"]) == 0.0005  # cap
    assert float(mistral["margin_pct"]) == pytest.approx(45.0, abs=1e-4)

    llama_stress = (0.5 * 1.1 * 1.10 / 1.25) / (1800 * 0.9 * 3600 / 1e6)
    assert float(llama["margin_pct_stress"]) == pytest.approx(
        (0.15 - llama_stress) / 0.15 * 100, abs=1e-4)


def test_blended_price_and_cap_warning(out):
    card = json.loads((out / "intermediate/public_price_card.json").read_text())
    assert card["blended_sell_eur_per_1k"] == pytest.approx((0.00015 + 0.0005) / 2)
    assert [w["code"] for w in card["warnings"]] == ["cap_below_target"]
    assert card["warnings"][0]["location"] == "model=Mistral Small 24B"


def test_run_summary_lists_the_heuristic_and_the_cap_warning(out):
    summary = json.loads((out / "run_summary.json").read_text())
    assert [(h["model"], h["gpu"], h["tps_source"]) for h in summary["heuristics"]] == [
        ("Mistral Small 24B", "4090", "heuristic:bandwidth")]
    codes = [w["code"] for w in summary["warnings"]]
    assert "tps_heuristic" in codes and "cap_below_target" in codes
