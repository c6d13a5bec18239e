from __future__ import annotations

import textwrap

import pytest

from reskin.core.errors import ReskinError
from reskin.scenes.episode import load_episode
from reskin.scenes.series import load_series

GOOD = """\
title: Pilot
shots:
  - id: a
    duration: 2
    cast:
      - {character: mira, clip: wave}
    camera: {framing: closeup}
"""


def write(tmp_path, text, name="ep01.yaml"):
    path = tmp_path / name
    path.write_text(textwrap.dedent(text))
    return path


def test_good_episode_parses(tmp_path):
    ep = load_episode(write(tmp_path, GOOD), {"mira"})
    assert ep.id == "ep01" and ep.title == "Pilot"
    (shot,) = ep.shots
    assert shot.duration == 2.0 and shot.camera.framing == "closeup"
    assert shot.cast[0].clip == "wave" and shot.cast[0].position == (0.0, 0.0)


@pytest.mark.parametrize(
    "old, new, expected",
    [
        ("duration: 2", "duration: -1", r"ep01.yaml:4: shots\[0\].duration: must be > 0"),
        ("character: mira", "character: bob", r"shots\[0\].cast\[0\].character: unknown character"),
        ("framing: closeup", "framing: closup", r"did you mean 'closeup'"),
        ("duration: 2", "durration: 2", r"shots\[0\].durration: unknown field \(did you mean"),
        ("framing: closeup", "framing: closeup, on: zed", r"camera targets 'zed', who is not in"),
        ("duration: 2", "duration: soon", r"duration: expected a number, got str"),
    ],
)
def test_bad_episode_names_file_line_and_field(tmp_path, old, new, expected):
    path = write(tmp_path, GOOD.replace(old, new))
    with pytest.raises(ReskinError, match=expected) as info:
        load_episode(path, {"mira"})
    assert "\n" not in str(info.value)


def test_unknown_field_is_a_typo(tmp_path):
    path = write(tmp_path, GOOD + "    lights: three-point\n    lihgts: x\n")
    with pytest.raises(ReskinError, match=r"ep01.yaml:9: shots\[0\].lihgts: unknown field"):
        load_episode(path, {"mira"})


def test_broken_yaml_names_the_line(tmp_path):
    path = write(tmp_path, "shots:\n  - id: a\n    duration: [1,\n")
    with pytest.raises(ReskinError, match=r"ep01.yaml:3: unclosed \[ \(opened on line 3\)"):
        load_episode(path, {"mira"})


def test_duplicate_shot_ids(tmp_path):
    path = write(tmp_path, GOOD + GOOD.split("shots:\n")[1])
    with pytest.raises(ReskinError, match="used twice"):
        load_episode(path, {"mira"})


def test_series_defaults_and_errors(tmp_path):
    (tmp_path / "series.yaml").write_text("name: S\n")
    s = load_series(tmp_path)
    assert (s.width, s.height, s.fps) == (1080, 1920, 24)
    (tmp_path / "series.yaml").write_text("name: S\nresolution: [1080, 1921]\n")
    with pytest.raises(ReskinError, match="series.yaml:2: resolution: .*even"):
        load_series(tmp_path)
    (tmp_path / "series.yaml").write_text("name: S\nrender: {engine: blender}\n")
    with pytest.raises(ReskinError, match="render.engine: 'blender' is not one of"):
        load_series(tmp_path)
