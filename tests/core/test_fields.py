"""The YAML field reader: mapping-keyed fields and plain-words syntax errors."""

from __future__ import annotations

import pytest

from reskin.core.errors import ReskinError
from reskin.core.fields import load_yaml


def _error(tmp_path, text: str, name: str = "f.yaml") -> str:
    path = tmp_path / name
    path.write_text(text)
    with pytest.raises(ReskinError) as err:
        f = load_yaml(path, display=name)
        if f.has("regions"):
            f.sub("regions").keys(("top", "bottoms", "shoes"), "region")
    return err.value.one_line()


def test_unknown_key_of_a_named_mapping_lists_the_known_and_suggests(tmp_path):
    msg = _error(tmp_path, "regions:\n  top: {color: red}\n  shose: {color: blue}\n")
    assert msg == ("f.yaml:3: regions.shose: unknown region "
                   "(known: top, bottoms, shoes; did you mean 'shoes'?)")
    msg = _error(tmp_path, "regions:\n  jacket:\n    color: red\n")
    assert msg == "f.yaml:2: regions.jacket: unknown region (known: top, bottoms, shoes)"


def test_a_mapping_where_a_choice_is_expected_never_prints_internals(tmp_path):
    path = tmp_path / "f.yaml"
    path.write_text("pattern: {a: 1}\n")
    with pytest.raises(ReskinError) as err:
        load_yaml(path, display="f.yaml").get("pattern", (str, dict), choices=("solid",))
    assert err.value.one_line() == "f.yaml:1: pattern: expected one of solid, got a mapping"


@pytest.mark.parametrize("text, message", [
    ("a: 1\nb: {x: 1, y: 2\nc: 3\n", "f.yaml:2: unclosed { (opened on line 2)"),
    ("a: 1\nb: {x: 1, y: 2\n", "f.yaml:2: unclosed { (opened on line 2)"),
    ("a: 1\nb: [1, 2\nc: 3\n", "f.yaml:2: unclosed [ (opened on line 2)"),
    ("shots:\n  - {id: s1, cast: [{character: mira}\n  - {id: s2}\n",
     "f.yaml:2: unclosed [ (opened on line 2)"),
    ('a: 1\nb: "hello\nc: 3\n', 'f.yaml:2: unclosed " (opened on line 2)'),
    ("a: 1\nb: 'hello\n", "f.yaml:2: unclosed ' (opened on line 2)"),
    ("a:\n\tb: 1\n", "f.yaml:2: a tab character cannot indent YAML (indent with spaces)"),
    ("a:\n  b: 1\n c: 2\n", "f.yaml:3: bad indentation: this line does not line up with the "
                            "lines above (the block starts on line 1)"),
    ("a: 1\nb: 2\n c: 3\n",
     "f.yaml:3: bad indentation: this line is indented more than the key above it"),
    ("a: 1\nb: : 2\n", "f.yaml:2: a value is missing after ':'"),
    ("a: b: c\n", "f.yaml:1: a second ':' on this line: put a value that holds ': ' in quotes"),
    ("a: 1\nduration:2\nb: 3\n", "f.yaml:2: a space is missing after ':' (write 'key: value')"),
    ("a: [1, 2]]\n", "f.yaml:1: a ] without its opening ["),
    ("a: *x\n", "f.yaml:1: found undefined alias 'x'"),
])
def test_syntax_errors_in_plain_words_at_the_right_line(tmp_path, text, message):
    assert _error(tmp_path, text) == message
