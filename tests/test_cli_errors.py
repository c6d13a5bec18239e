"""A user's mistakes in series files, through the CLI: one line, file:line and field, exit 2."""

from __future__ import annotations

from pathlib import Path

import pytest
from click.testing import CliRunner

from reskin.cli import main


@pytest.fixture
def series(tmp_path) -> Path:
    root = tmp_path / "s"
    assert CliRunner().invoke(main, ["init", str(root)]).exit_code == 0
    (root / "cast" / "juno").mkdir(parents=True, exist_ok=True)
    (root / "cast" / "juno" / "character.yaml").write_text("params:\n  voxels_per_height: 48\n")
    return root


def _fails(*args: str) -> str:
    result = CliRunner().invoke(main, list(args))
    assert result.exit_code == 2, result.output
    assert "Traceback" not in result.output and len(result.output.strip().splitlines()) == 1
    return result.output.strip()


def test_a_wrong_wardrobe_region(series):
    spec = series / "cast" / "juno" / "ep01.yaml"
    spec.write_text("# juno\nsleeves: long\nregions:\n  top: {color: '#ffffff'}\n"
                    "  jacket:\n    color: '#ffffff'\n")
    assert _fails("skin", "juno", "-e", "ep01", "-s", str(series)) == (
        f"reskin: error: {spec}:5: regions.jacket: unknown region (known: top, bottoms, shoes)")


def test_a_garment_mesh_that_is_not_a_model(series):
    (series / "hat.glb").write_text("<html>not found</html>")
    spec = series / "cast" / "juno" / "ep01.yaml"
    spec.write_text("regions:\n  top: {color: '#ffffff'}\ngarments:\n  - {mesh: hat.glb}\n")
    assert _fails("skin", "juno", "-e", "ep01", "-s", str(series)) == (
        f"reskin: error: {spec}:4: garments[0].mesh: {(series / 'hat.glb').resolve()}: "
        "not a GLB model (its header is not 'glTF')")


def test_a_yaml_syntax_error_in_an_episode(series):
    episode = series / "episodes" / "ep01.yaml"
    episode.parent.mkdir(exist_ok=True)
    episode.write_text("shots:\n  - id: s1\n    duration: 1\n"
                       "    cast: [{character: juno, position: [0, 0]}\n"
                       "    camera: {framing: wide}\n")
    assert _fails("build", str(series), "--dry-run") == (
        f"reskin: error: {episode}:4: unclosed [ (opened on line 4)")
