"""The mapping table: every target is a D3 key, every conversion has its code, the docs show
the current table."""

from __future__ import annotations

import re
import types
import typing

import pytest
from pydantic import BaseModel

from d3.importer import mapping as m
from d3.importer.convert import HANDLERS
from d3.importer.facts import bandwidth_key
from d3.models.facts import MarketEnv
from d3.models.operator import GeneralOperator, PrivateOperator, PublicOperator
from d3.models.plan import Plan
from tests.helpers import ROOT

# Keys that the finance and variables branches of issue 13 add to D3 (social security,
# dividends, reserves and founder draw; the flat acquisition budget). Once merged they are
# schema keys and this list is redundant.
PENDING_D3_KEYS = {
    "tax.social_security_pct", "tax.dividend_withholding_pct", "reserves.reserve_months_target",
    "reserves.emergency_fund_eur", "reserves.founder_draw_policy",
    "reserves.founder_draw_eur_per_month", "reserves.founder_draw_pct_of_profit",
    "reserves.distribution_policy.reinvest_pct", "reserves.distribution_policy.dividend_pct",
    "acquisition.budget_monthly_eur", "finance.salaries_monthly_eur",
}
MODELS = {"simulation.yaml": Plan, "operator/general.yaml": GeneralOperator,
          "operator/public_tap.yaml": PublicOperator,
          "operator/private_tap.yaml": PrivateOperator, "facts/market_env.yaml": MarketEnv}


def _inner(annotation):
    """``X | None`` → X; ``Annotated[X, …]`` → X."""
    args = [a for a in typing.get_args(annotation) if a is not type(None)]
    if typing.get_origin(annotation) is typing.Annotated:
        return _inner(args[0])
    if typing.get_origin(annotation) in (typing.Union, types.UnionType):
        return _inner(args[0])
    return annotation


def schema_has(model: type[BaseModel], key: str) -> bool:
    """Whether the dotted ``key`` (``*`` for a mapping entry, ``[]`` for a list item) names a
    field of ``model``."""
    node = model
    for part in re.sub(r"\[\d*\]", "[]", key).split("."):
        name, is_list = part.removesuffix("[]"), part.endswith("[]")
        if isinstance(node, type) and issubclass(node, BaseModel):
            if name not in node.model_fields:
                return False
            node = _inner(node.model_fields[name].annotation)
        elif typing.get_origin(node) is dict:
            node = _inner(typing.get_args(node)[1])
        else:
            return False
        if is_list:
            if typing.get_origin(node) is not list:
                return False
            node = _inner(typing.get_args(node)[0])
    return True


@pytest.mark.parametrize("rel", sorted(MODELS))
def test_every_target_is_a_d3_key(rel):
    for key, rule in m.KEYS[rel].items():
        if rule.kind == "dropped" or not rule.target:
            continue
        target = rule.target
        # A tap's rule may land in general.yaml (loan.equity_injection_eur → finance.…).
        assert schema_has(MODELS[rel], target) or target in PENDING_D3_KEYS, (rel, key, target)


def test_every_conversion_of_a_yaml_key_has_its_code():
    for rel in MODELS:
        for key, rule in m.KEYS[rel].items():
            if rule.kind == "converted":
                assert (rel, key) in HANDLERS, (rel, key)
    assert all(rule.kind != "dropped" or rule.note for t in (*m.KEYS.values(),
                                                             *m.COLUMNS.values())
               for rule in t.values())


def test_handlers_name_keys_of_the_table():
    for rel, key in HANDLERS:
        assert m.rule_for(m.KEYS[rel], key) is not None, (rel, key)


def test_rule_lookup_patterns():
    assert m.rule_for(m.PLAN, "ui.theme.colour") == m.PLAN["ui.**"]
    assert m.rule_for(m.PLAN, "ui.show_credit_packs") == m.PLAN["ui.show_credit_packs"]
    assert m.rule_for(m.PLAN, "ui") is None
    rule = m.rule_for(m.GENERAL, "depreciation_schedule.assets[3].months")
    assert m.target_key(rule, "depreciation_schedule.assets[3].months") == (
        "depreciation.assets[3].useful_life_months")
    rule = m.rule_for(m.GENERAL, "finance.fixed_costs_monthly_eur.office")
    assert m.target_key(rule, "finance.fixed_costs_monthly_eur.office") == (
        "finance.fixed_costs_monthly_eur.office")
    assert m.rule_for(m.PUBLIC_TAP, "acquisition.channel_allocation.google_ads").kind == (
        "dropped")
    assert m.rule_for(m.PUBLIC_TAP, "acquisition.no_such_key") is None


def test_bandwidth_table_uses_d3_gpu_classes():
    for name in m.MEM_BANDWIDTH_GB_S:
        assert bandwidth_key(name) == name
    assert bandwidth_key("NVIDIA GeForce RTX 4090") == "4090"
    assert bandwidth_key("A100 80G") == "A100 80GB"


def test_docs_show_the_current_mapping_table():
    doc = (ROOT / "docs/INPUTS.md").read_text(encoding="utf-8")
    assert doc == m.with_mapping(doc), "run `python -m d3.importer` to refresh docs"
    for table in (*m.KEYS.values(), *m.COLUMNS.values()):
        for key in table:
            assert f"| `{key.replace('|', chr(92) + '|')}` |" in doc, key
