from __future__ import annotations

import subprocess
import sys

import pytest
from click.testing import CliRunner

from reskin.cli import main


def test_help_is_fast_and_imports_nothing_heavy():
    code = ("import sys, reskin.cli; heavy = [m for m in ('bpy', 'torch', 'numpy', 'trimesh',"
            " 'diffusers') if m in sys.modules]; print(heavy)")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]"
    result = CliRunner().invoke(main, ["--help"])
    assert result.exit_code == 0 and "reskin demo" in result.output


def test_init_creates_the_series_layout(tmp_path):
    root = tmp_path / "show"
    result = CliRunner().invoke(main, ["init", str(root)])
    assert result.exit_code == 0, result.output
    for sub in ("series.yaml", "cast", "episodes", "out", ".reskin/catalog.sqlite"):
        assert (root / sub).exists(), sub
    again = CliRunner().invoke(main, ["init", str(root)])
    assert again.exit_code == 2 and "already exists" in again.output


def test_malformed_series_is_one_line_exit_2(tmp_path):
    root = tmp_path / "show"
    CliRunner().invoke(main, ["init", str(root)])
    (root / "series.yaml").write_text("name: S\nfps: fast\n")
    result = CliRunner().invoke(main, ["build", str(root)])
    assert result.exit_code == 2
    lines = result.output.strip().splitlines()
    where = root / "series.yaml"
    assert lines == [f"reskin: error: {where}:2: fps: expected an integer, got str 'fast'"]
    assert "Traceback" not in result.output


def test_malformed_episode_is_one_line_exit_2(tmp_path):
    root = tmp_path / "show"
    CliRunner().invoke(main, ["init", str(root)])
    (root / "episodes" / "ep01.yaml").write_text("shots:\n  - id: a\n    duration: 0\n")
    result = CliRunner().invoke(main, ["build", str(root), "--json"])
    assert result.exit_code == 2
    assert "ep01.yaml:3: shots[0].duration: must be > 0" in result.output
    assert len(result.output.strip().splitlines()) == 1


def test_build_outside_a_series(tmp_path):
    result = CliRunner().invoke(main, ["build", str(tmp_path)])
    assert result.exit_code == 2 and "series.yaml is missing" in result.output


BAD_EPISODES = {
    "unknown character": ("character: mira", "character: mina", "unknown character 'mina'"),
    "typo in a field": ("duration: 2.0", "duraton: 2.0", "did you mean 'duration'"),
    "negative duration": ("duration: 2.0", "duration: -2.0", "duration: must be > 0"),
    "camera on nobody": ("camera: {framing: medium, yaw: 15}",
                         "camera: {framing: medium, on: theo}",
                         "camera targets 'theo', who is not in this shot"),
    "bad framing": ("framing: medium", "framing: medum", "did you mean 'medium'"),
}


def _demo_copy(tmp_path):
    from reskin.pipeline.series_init import create_demo

    return create_demo(tmp_path / "show")


@pytest.mark.parametrize("case", sorted(BAD_EPISODES))
def test_bad_episode_files_give_one_line_and_exit_2(tmp_path, case):
    old, new, expected = BAD_EPISODES[case]
    root = _demo_copy(tmp_path)
    ep = root / "episodes" / "ep01.yaml"
    assert old in ep.read_text()
    ep.write_text(ep.read_text().replace(old, new, 1))
    before = sorted(p.name for p in (root / ".reskin").rglob("*"))
    result = CliRunner().invoke(main, ["build", str(root)])
    assert result.exit_code == 2, result.output
    (line,) = result.output.strip().splitlines()
    assert line.startswith(f"reskin: error: {ep}:") and expected in line, line
    assert sorted(p.name for p in (root / ".reskin").rglob("*")) == before  # nothing made


def test_missing_skin_for_an_episode(tmp_path):
    root = _demo_copy(tmp_path)
    (root / "cast" / "mira" / "ep02.yaml").unlink()
    result = CliRunner().invoke(main, ["build", str(root)])
    assert result.exit_code == 2
    assert "mira has no wardrobe for ep02" in result.output
    assert len(result.output.strip().splitlines()) == 1
