"""Names are text, never terminal codes (issue 15 item 8): the validator refuses control
characters in every name (model, GPU, provider, YAML keys and values, variable ids), reports
all of them at once as ``FILE:LOCATION: … — …`` with the characters escaped, and exits 2."""

from __future__ import annotations

from d3.core.control_chars import controls_in, document_issues
from d3.core.schema_issues import visible
from tests.helpers import copy_minimal, edit_csv, edit_yaml, invoke

HINT = "remove it: names and values in the inputs are plain text"


def test_control_characters_are_found_and_shown_escaped():
    # ESC (U+001B), DEL (U+007F), NEL (U+0085, C1), RIGHT-TO-LEFT OVERRIDE (U+202E).
    assert controls_in("a\x1bb\x7fc\x85d\u202e") == ["U+001B", "U+007F", "U+0085", "U+202E"]
    assert controls_in("Gemma 3 12B") == []
    assert visible("beta\u202e\x07") == "beta\\u202e\\x07"
    # Prose may hold tabs and line breaks, not other controls.
    assert controls_in("line 1\n\tline 2", prose=True) == []
    assert controls_in("line 1\n\tline 2") == ["U+000A", "U+0009"]
    assert controls_in("red \x1b[31m", prose=True) == ["U+001B"]


def test_yaml_keys_and_values_are_checked_with_their_key_path():
    doc = {"acquisition": {"channel_allocation": {"sea\x7frch": 1.0}},
           "insurances": {"selected": ["ok", "ins\x07"]}, "source": "a\nb"}
    assert [i.line() for i in document_issues("f.yaml", doc)] == [
        "f.yaml:acquisition.channel_allocation.sea\\x7frch: the key 'sea\\x7frch' contains the "
        f"control character U+007F — {HINT}",
        "f.yaml:insurances.selected[1]: the value 'ins\\x07' contains the control character "
        f"U+0007 — {HINT}",
    ]


def test_the_validator_refuses_control_characters_in_every_name_at_once(tmp_path):
    root = copy_minimal(tmp_path / "tree")
    inputs = root / "inputs"

    def models(header, rows):
        rows[0]["Model"] = "Llama\x1b[31m 3.1"

    def offers(header, rows):
        rows[2]["provider"] = "beta\u202e"

    def variables(header, rows):
        rows[1]["variable_id"] = "pub\x00churn"
        rows[0]["notes"] = "grid axis\tmargin"  # a tab in prose is fine

    edit_csv(inputs / "operator/curated_public_tap_models.csv", models)
    edit_csv(inputs / "operator/curated_gpu.csv", offers)
    edit_csv(inputs / "variables/public_tap.csv", variables)
    edit_yaml(inputs / "operator/general.yaml",
              lambda d: d["insurances"].update(selected=["ins_pi\x07"]))
    edit_yaml(inputs / "operator/public_tap.yaml",
              lambda d: d["acquisition"].update(channel_allocation={"sea\x7frch": 0.6,
                                                                    "social": 0.4}))
    result = invoke("validate", "--inputs", str(inputs))
    assert result.exit_code == 2
    lines = result.stderr.splitlines()
    for expected in (
        "inputs/operator/curated_public_tap_models.csv:row 2 (Llama\\x1b[31m 3.1/8B): Model "
        f"'Llama\\x1b[31m 3.1' contains the control character U+001B — {HINT}",
        "inputs/operator/curated_gpu.csv:row 4 (beta\\u202e/RTX 4090): provider 'beta\\u202e' "
        f"contains the control character U+202E — {HINT}",
        "inputs/variables/public_tap.csv:row 3 (pub\\x00churn): variable_id 'pub\\x00churn' "
        f"contains the control character U+0000 — {HINT}",
        "inputs/operator/general.yaml:insurances.selected[0]: the value 'ins_pi\\x07' contains "
        f"the control character U+0007 — {HINT}",
        "inputs/operator/public_tap.yaml:acquisition.channel_allocation.sea\\x7frch: the key "
        f"'sea\\x7frch' contains the control character U+007F — {HINT}",
    ):
        assert expected in lines
    assert not any("notes" in line for line in lines)  # the tab in the prose column passed
    # Nothing printed carries a raw control character to the terminal.
    assert not any(ch in result.stderr for ch in "\x1b\u202e\x00\x07\x7f")
