"""`reskin rig` on something that is not a character says what it is and what to do."""

from __future__ import annotations

from click.testing import CliRunner

from reskin.cli import main
from reskin.pipeline.series_init import init_series


def test_rigging_a_prop_says_it_is_a_prop_and_how_to_import_a_character(tmp_path, shared_data):
    root = init_series(tmp_path / "show")
    model = shared_data / "gltf" / "greenman_hat.glb"
    result = CliRunner().invoke(main, ["asset", "import", str(model), "--name", "lamp",
                                       "--kind", "prop", "--license", "CC0-1.0", "-s", str(root)])
    assert result.exit_code == 0, result.output
    result = CliRunner().invoke(main, ["rig", "lamp", "-s", str(root)])
    assert result.exit_code == 2
    assert result.output.strip() == ("reskin: error: lamp@1 is a prop; rig rigs characters: "
                                     "import it again with --kind character")
