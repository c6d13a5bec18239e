"""The format docs name every key the parsers read (they are written by hand from the code)."""

from __future__ import annotations

import dataclasses
import re
from pathlib import Path

import pytest

from reskin.assets.generator import HumanoidParams

ROOT = Path(__file__).resolve().parents[1]
READS = re.compile(r"\.(?:get|sub|numbers|list_of_fields|has)\(\s*\"([a-z_]+)\"")


def keys_read(module: str) -> set[str]:
    """Every key a parser module asks a Fields for."""
    return set(READS.findall((ROOT / module).read_text()))


@pytest.mark.parametrize("module, doc", [
    ("reskin/scenes/series.py", "docs/series-format.md"),
    ("reskin/assets/character_spec.py", "docs/character-format.md"),
])
def test_every_key_the_parser_reads_is_in_the_doc(module, doc):
    text = (ROOT / doc).read_text()
    keys = keys_read(module)
    assert len(keys) >= 7
    missing = sorted(k for k in keys if f"`{k}`" not in text)
    assert not missing, f"{doc} lacks {missing}"
    assert f"`{doc}`" in (ROOT / "README.md").read_text()


def test_every_generator_parameter_and_its_default_is_in_the_character_doc():
    text = (ROOT / "docs/character-format.md").read_text()
    for f in dataclasses.fields(HumanoidParams):
        row = next((ln for ln in text.splitlines() if ln.startswith(f"| `{f.name}` |")), None)
        assert row is not None, f.name
        assert f"`{f.default}`" in row or f"`{f.default:.2f}`" in row, (f.name, row)
