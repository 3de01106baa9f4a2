"""The operator rule checks a validation repeats for every probe value (and the solver for
every candidate) are cached by the tree's pickled bytes: equal bytes are an equal tree, so a
cached answer is the answer; any different value — a boolean for 1 included — is a new tree."""

from __future__ import annotations

from d3.core.validator import _operator_errors_of_bytes, _RuleCheck
from d3.core.variables import with_override
from d3.model import model_inputs
from tests.helpers import MINIMAL

FILE = "inputs/operator/public_tap.yaml"


def test_cached_rule_checks_answer_each_tree_as_uncached():
    tree = model_inputs(MINIMAL / "inputs", MINIMAL / "params.yaml").operators["public_tap"]
    rules = _RuleCheck("public_tap", FILE, None)
    # scale-down 85 % is not below scale-up 80 % (the fixture's thresholds: 30 and 80).
    crossed = with_override(tree, "autoscaling.scale_down_threshold_pct", 85)
    as_bool = with_override(tree, "autoscaling.min_instances_per_model", True)
    as_int = with_override(tree, "autoscaling.min_instances_per_model", 2)
    _operator_errors_of_bytes.cache_clear()
    first = [rules.all_errors(t) for t in (tree, crossed, as_bool, as_int)]
    assert first[0] == [] and first[3] == []
    assert [k for k, _ in first[1]] == ["autoscaling.scale_down_threshold_pct"]
    assert [k for k, _ in first[2]] == ["autoscaling.min_instances_per_model"]
    assert "boolean" in first[2][0][1]
    # Asked again (now from the cache, in another order): the same answers.
    again = [rules.all_errors(t) for t in (as_int, as_bool, crossed, tree)]
    assert again == first[::-1]
    info = _operator_errors_of_bytes.cache_info()
    assert (info.hits, info.misses) == (4, 4)
