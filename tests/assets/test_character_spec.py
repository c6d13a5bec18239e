"""cast/<name>/character.yaml: one-line errors."""

from __future__ import annotations

import pytest

from reskin.assets.character_spec import load_character
from reskin.core.errors import ReskinError


def test_unknown_generator_parameter_suggests_the_close_one(tmp_path):
    path = tmp_path / "character.yaml"
    path.write_text("params:\n  heigth: 1.7\n")
    with pytest.raises(ReskinError) as err:
        load_character(path)
    msg = err.value.one_line()
    assert msg.startswith(f"{path}:2: params.heigth: unknown generator parameter (known: height")
    assert msg.endswith("; did you mean 'height'?)")
