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


def test_a_series_folder_that_does_not_exist_says_so(tmp_path):
    missing = tmp_path / "nowhere"
    for args in (["build", str(missing)], ["render", "ep01", "-s", str(missing)],
                 ["asset", "list", "-s", str(missing)]):
        result = CliRunner().invoke(main, args)
        assert result.exit_code == 2, result.output
        assert result.output.strip().splitlines() == [
            f"reskin: error: no series at {missing} (the folder does not exist)"]


def test_commands_find_the_series_from_a_subfolder(tmp_path, monkeypatch):
    root = _demo_copy(tmp_path)
    monkeypatch.chdir(root / "episodes")
    dry = CliRunner().invoke(main, ["build", "--dry-run"])
    assert dry.exit_code == 0, dry.output
    assert "render  ep01/s01-medium" in dry.output
    listed = CliRunner().invoke(main, ["asset", "list", "--json"])
    assert listed.exit_code == 0, listed.output
    assert not (root / "episodes" / ".reskin").exists()
    lock = CliRunner().invoke(main, ["lock", "ep09", "--release"])
    assert lock.exit_code == 0 and lock.output == "ep09 was not locked\n"


def test_dry_run_honours_episode(tmp_path):
    root = _demo_copy(tmp_path)
    result = CliRunner().invoke(main, ["build", str(root), "--dry-run", "-e", "ep02"])
    assert result.exit_code == 0, result.output
    shots = [line.split()[1] for line in result.output.strip().splitlines()]
    assert shots == ["ep02/s01-two-shot", "ep02/s02-closeup"]
    bad = CliRunner().invoke(main, ["build", str(root), "--dry-run", "-e", "ep09"])
    assert bad.exit_code == 2
    assert bad.output.strip().splitlines() == [f"reskin: error: {root}: no episode 'ep09'"]


def test_dry_run_refuses_a_missing_prop_as_the_build_does(tmp_path):
    root = _demo_copy(tmp_path)
    ep = root / "episodes" / "ep01.yaml"
    ep.write_text(ep.read_text().replace(
        "    lights: three-point\n",
        "    lights: three-point\n    set: {props: [{asset: barrel, position: [0.5, 0]}]}\n", 1))
    dry = CliRunner().invoke(main, ["build", str(root), "--dry-run"])
    real = CliRunner().invoke(main, ["build", str(root)])
    assert dry.exit_code == real.exit_code == 2, dry.output
    expected = (f"reskin: error: {ep}:9: shots[0].set.props[0].asset: "
                "no asset 'barrel' in the library")
    assert dry.output.strip().splitlines() == real.output.strip().splitlines() == [expected]


def test_force_needs_shot(tmp_path):
    root = _demo_copy(tmp_path)
    result = CliRunner().invoke(main, ["build", str(root), "--force"])
    assert result.exit_code == 2
    assert result.output.strip().splitlines() == [
        "reskin: error: --force: --force needs --shot SHOT (the shots to render again)"]
    unknown = CliRunner().invoke(main, ["build", str(root), "--dry-run", "-e", "ep01",
                                        "--shot", "s09", "--force"])
    assert unknown.exit_code == 2
    assert unknown.output.strip().splitlines() == [
        "reskin: error: --shot: no shot 's09' (shots: s01-medium, s02-closeup)"]


def test_ctrl_c_during_a_build_exits_130_with_one_line(tmp_path, monkeypatch):
    from reskin.pipeline.build import Builder

    def interrupted(self, cast, wardrobes):
        raise KeyboardInterrupt

    monkeypatch.setattr(Builder, "skins", interrupted)
    root = _demo_copy(tmp_path)
    result = CliRunner().invoke(main, ["build", str(root), "--json"])  # no progress lines
    assert result.exit_code == 130, result.output
    assert result.output.strip().splitlines() == [
        "reskin: interrupted; `reskin build` again resumes the build at the first missing frame"]


def _commands(group, path=("reskin",)):
    import click

    for name, cmd in sorted(group.commands.items()):
        if cmd.hidden:
            continue
        yield (*path, name), cmd
        if isinstance(cmd, click.Group):
            yield from _commands(cmd, (*path, name))


def test_every_command_help_ends_with_an_example():
    for path, _ in [(("reskin",), main), *_commands(main)]:
        result = CliRunner().invoke(main, [*path[1:], "--help"])
        assert result.exit_code == 0, (path, result.output)
        lines = [ln.strip() for ln in result.output.splitlines()]
        assert any(ln.startswith("reskin ") for ln in lines), " ".join(path)
