"""`reskin rig` on something that is not a character says what it is and what to do."""

from __future__ import annotations

import shlex

from click.testing import CliRunner

from reskin.assets.library import Library
from reskin.cli import main
from reskin.pipeline.series_init import init_series


def test_rigging_a_prop_says_it_is_a_prop_and_how_to_import_a_character(tmp_path, shared_data):
    root = init_series(tmp_path / "show")
    model = shared_data / "gltf" / "greenman_hat.glb"
    result = CliRunner().invoke(main, ["asset", "import", str(model), "--name", "lamp",
                                       "--kind", "prop", "--license", "CC0-1.0", "-s", str(root)])
    assert result.exit_code == 0, result.output
    with Library(root / ".reskin") as lib:
        assert "mesh.npz" in lib.get("lamp").blobs  # a prop with a mesh, not one without
    result = CliRunner().invoke(main, ["rig", "lamp", "-s", str(root)])
    assert result.exit_code == 2
    command = f"reskin asset import {model.resolve()} --name lamp-character --kind character"
    assert result.output.strip() == (
        "reskin: error: lamp@1 is a prop, and rig rigs characters; import the file again as a "
        f"character under a new name: {command}")
    # The command it gives works as written.
    again = CliRunner().invoke(main, shlex.split(command)[1:] + ["-s", str(root)])
    assert again.exit_code == 0, again.output
    with Library(root / ".reskin") as lib:
        assert lib.get("lamp-character").kind == "character"
