"""Params are read as DVC reads them: YAML 1.2 with ruamel's safe loader."""

from d3.io.yaml12 import YamlReadError, parse_yaml_text


def test_yaml_1_2_numbers_and_booleans():
    data = parse_yaml_text("a: 1e-3\nb: yes\nc: 0.5\nd: true\ne: null\n")
    # YAML 1.1 (PyYAML) would read a as the string '1e-3' and b as True.
    assert data == {"a": 0.001, "b": "yes", "c": 0.5, "d": True, "e": None}


def test_syntax_error_carries_a_line_number():
    try:
        parse_yaml_text("a: 1\nb: [unclosed\n")
    except YamlReadError as exc:
        assert exc.line is not None and exc.line >= 2
    else:
        raise AssertionError("expected YamlReadError")


def test_duplicate_keys_are_an_error():
    try:
        parse_yaml_text("a: 1\na: 2\n")
    except YamlReadError:
        return
    raise AssertionError("expected YamlReadError")
