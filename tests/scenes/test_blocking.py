"""Blocking in episode files: bad actions are one line naming the file and line; unknown clips
are checked against the library with a suggestion."""

from __future__ import annotations

from pathlib import Path

import pytest

from reskin.assets.library import Library
from reskin.core.errors import ReskinError
from reskin.rigging.clip_assets import import_bvh_clip
from reskin.scenes.clip_source import ClipSource
from reskin.scenes.compile import ModelRef, compile_episode
from reskin.scenes.episode import load_episode
from reskin.scenes.series import SeriesConfig

WALK = Path(__file__).resolve().parents[2] / ".." / "shared" / "data" / "bvh" / "cmu_12_03_walk.bvh"
GOOD = """\
shots:
  - id: a
    duration: 3
    cast:
      - character: mira
        position: [-2, 0.5]
        actions:
          - {do: walk, to: [0, 0.5], speed: 1.0}
          - {do: turn, face: theo}
          - {do: clip, clip: wave, at: 2.5}
      - {character: theo, position: [1, 0]}
"""


def write(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "ep01.yaml"
    path.write_text(text)
    return path


def test_good_blocking_loads(tmp_path):
    ep = load_episode(write(tmp_path, GOOD), {"mira", "theo"})
    actions = ep.shots[0].cast[0].blocking.actions
    assert [a.do for a in actions] == ["walk", "turn", "clip"]
    assert actions[0].to == (0.0, 0.5) and actions[2].at == 2.5


@pytest.mark.parametrize("old, new, line, expected", [
    ("to: [0, 0.5]", "to: [0, 40]", 8, r"walks to \[0, 40\], off the floor"),
    ("face: theo", "face: zed", 9, r"turns to face 'zed', who is not another character"),
    ("face: theo", "face: mira", 9, r"turns to face 'mira'"),
    ("do: turn", "do: spin", 9, r"'spin' is not one of walk, turn"),
    ("speed: 1.0", "speed: 9", 8, r"speed: must be 0.1..5 m/s"),
])
def test_bad_action_is_one_line_with_file_and_line(tmp_path, old, new, line, expected):
    path = write(tmp_path, GOOD.replace(old, new))
    with pytest.raises(ReskinError, match=expected) as info:
        load_episode(path, {"mira", "theo"})
    message = str(info.value)
    assert "\n" not in message
    assert message.startswith(f"{path}:{line}: shots[0].cast[0].actions[")


def test_off_the_floor_behind_the_wall(tmp_path):
    text = GOOD.replace("to: [0, 0.5]", "to: [0, -3]") + "    set: {wall_distance: 2}\n"
    with pytest.raises(ReskinError, match=r":8: .*off the floor \(keep marks in front of the wall"):
        load_episode(write(tmp_path, text), {"mira", "theo"})


def test_unknown_clip_is_checked_against_the_library(tmp_path, shared_data):
    root = tmp_path / "series"
    (root / ".reskin").mkdir(parents=True)
    with Library(root / ".reskin", create=True) as lib:
        import_bvh_clip(lib, WALK, "walk")
    text = GOOD.replace("clip: wave", "clip: wakl@1")
    ep = load_episode(write(tmp_path, text), {"mira", "theo"})
    skins = {n: ModelRef(ref=f"{n}-ep01@1", glb="", content_hash="x", height=1.7)
             for n in ("mira", "theo")}
    with pytest.raises(ReskinError, match=r"ep01.yaml:10: shots\[0\].cast\[0\].actions\[2\]"
                       r".clip: unknown clip 'wakl@1' .*did you mean 'walk'\?") as info:
        compile_episode(SeriesConfig(root=root, name="s"), ep, skins)
    assert "\n" not in str(info.value)
    # A library clip by name or exact version keys the shot; a dry run needs no GLB.
    ep = load_episode(write(tmp_path, GOOD.replace("clip: wave", "clip: walk@1")),
                      {"mira", "theo"})
    clips = ClipSource(root / ".reskin")
    (plan,) = compile_episode(SeriesConfig(root=root, name="s"), ep, skins, clips=clips)
    clips.close()
    mira = plan.cast[0]
    assert mira["clip"] is None and mira["motion_key"] and "motion" not in mira
    assert mira["position"] == [0.0, 0.0, 0.5]  # framed at its mark
