"""docs/INPUTS.md documents every input key: its generated block must match the schemas."""

from d3.models.reference import with_reference
from tests.helpers import ROOT


def test_inputs_reference_is_current():
    doc = (ROOT / "docs/INPUTS.md").read_text(encoding="utf-8")
    assert doc == with_reference(doc), "run `python -m d3.models.reference` to refresh docs"
