"""Directing the face: the per-frame performance the compiler puts into each shot's plan
(expressions, line emotions, seeded blinks, gaze) and its errors in the episode file."""

from __future__ import annotations

import textwrap

import numpy as np
import pytest

from reskin.core.errors import ReskinError
from reskin.rigging.face_names import face_map
from reskin.scenes.compile import ModelRef, compile_episode
from reskin.scenes.episode import load_episode
from reskin.scenes.performance import (
    BLINK_INTERVAL_S,
    EYE_PITCH_LIMIT,
    EYE_YAW_LIMIT,
    blink_curve,
    blink_seed,
    blink_times,
    gaze_angles,
    performance_json,
)
from reskin.scenes.series import SeriesConfig

HEIGHT = 1.7
ARKIT = {"Face": ["eyeBlinkLeft", "eyeBlinkRight", "mouthSmileLeft", "mouthSmileRight",
                  "jawOpen", "eyeLookOutLeft", "eyeLookInLeft", "eyeLookUpLeft",
                  "eyeLookDownLeft", "eyeLookOutRight", "eyeLookInRight", "eyeLookUpRight",
                  "eyeLookDownRight", "browDownLeft", "browDownRight"]}
SHAPES_FACE = face_map(ARKIT).to_json()  # gaze from look shapes: no eye joints
JOINT_FACE = face_map({"Face": [n for n in ARKIT["Face"] if "Look" not in n]},
                      joints=["Head", "LeftEye", "RightEye"]).to_json()  # gaze from eye joints

EPISODE = """\
shots:
  - id: talk
    duration: 4
    cast:
      - {character: mira, position: [-0.5, 0], facing: 30, expression: happy, intensity: 0.6,
         look_at: theo}
      - {character: theo, position: [0.5, 0], facing: -30, look_at: camera, blink: false}
    lines:
      - {speaker: mira, text: "No.", at: 1.5, duration: 1.0, emotion: angry}
"""


def _plans(tmp_path, text=EPISODE, faces=None, fps=24):
    path = tmp_path / "ep01.yaml"
    path.write_text(textwrap.dedent(text))
    episode = load_episode(path, {"mira", "theo"})
    faces = faces or {"mira": JOINT_FACE, "theo": SHAPES_FACE}
    skins = {n: ModelRef(ref=f"{n}@1", glb="", content_hash="0", height=HEIGHT, face=faces[n])
             for n in ("mira", "theo")}
    series = SeriesConfig(root=tmp_path, name="t", fps=fps)
    return compile_episode(series, episode, skins)


def _face(plan, name):
    return next(c["face"] for c in plan.cast if c["name"] == name)


def test_blinks_are_seeded_by_character_and_shot():
    a = blink_times(blink_seed("mira", "s01"), 60.0, 24)
    assert np.array_equal(a, blink_times(blink_seed("mira", "s01"), 60.0, 24))
    assert not np.array_equal(a, blink_times(blink_seed("theo", "s01"), 60.0, 24))
    assert not np.array_equal(a, blink_times(blink_seed("mira", "s02"), 60.0, 24))
    gaps = np.diff(a)
    assert BLINK_INTERVAL_S[0] - 0.05 <= gaps.min() and gaps.max() <= BLINK_INTERVAL_S[1] + 0.05
    assert 10 <= len(a) <= 30  # 10-30 a minute
    # Every blink reads on screen: the lids are fully shut on a frame, open a third of a
    # second either side, and a blink lasts about 0.2 s.
    times = np.arange(60 * 24) / 24
    curve = blink_curve(times, a)
    for tc in a:
        k = int(round(tc * 24))
        assert curve[k] == 1.0 and curve[k - 8] == 0.0 and curve[k + 8] == 0.0
    assert 0.1 < (curve > 0.5).sum() / 24 / len(a) < 0.25


def test_the_same_episode_compiles_to_the_same_face(tmp_path):
    (a,), (b,) = _plans(tmp_path), _plans(tmp_path)
    assert a.key == b.key and a.cast == b.cast
    mira, theo = _face(a, "mira"), _face(a, "theo")
    assert mira["weights"]["blinkLeft"] != [0.0] * a.frame_count
    assert mira["weights"]["blinkLeft"] == mira["weights"]["blinkRight"]
    assert "blinkLeft" not in theo["weights"]  # blink: false


def test_expression_holds_and_a_line_emotion_eases_in_and_out(tmp_path):
    (plan,) = _plans(tmp_path)
    w = _face(plan, "mira")["weights"]
    happy, angry = np.array(w["happy"]), np.array(w["angry"])
    t = np.arange(plan.frame_count) / plan.fps
    assert happy[0] == pytest.approx(0.6) and happy[-1] == pytest.approx(0.6)
    speaking = (t > 1.7) & (t < 2.3)
    assert np.allclose(angry[speaking], 1.0) and np.allclose(happy[speaking], 0.0)
    assert np.all(angry[t < 1.3] == 0) and np.all(angry[t > 2.7] == 0)
    ramp = angry[(t > 1.4) & (t < 1.6)]
    assert np.all(np.diff(ramp) > 0) and 0 < ramp.min() and ramp.max() < 1  # eased, no jump
    # The binds the worker needs come with the performance: the channels that move.
    binds = _face(plan, "mira")["binds"]
    assert set(binds) == {c for c in w if JOINT_FACE["channels"][c]["binds"]}
    assert binds["happy"] == JOINT_FACE["channels"]["happy"]["binds"]


def test_gaze_targets_and_eye_angles(tmp_path):
    (plan,) = _plans(tmp_path)
    mira, theo = _face(plan, "mira"), _face(plan, "theo")
    # mira looks at theo's head; theo at the camera, frame by frame.
    assert np.allclose(mira["gaze"][0], [0.5, 0.93 * HEIGHT, 0.0])
    assert np.allclose(theo["gaze"], [c["location"] for c in [plan.camera] * plan.frame_count])
    # mira faces 30° towards theo, who stands to her left (+x at facing 0): ~60° left of her
    # nose, clamped to what eyes do.
    assert np.allclose(mira["eyes"][0], [EYE_YAW_LIMIT, 0.0])
    assert mira["eye_joints"] == ["LeftEye", "RightEye"]
    assert not any(k.startswith("look") for k in mira["weights"])  # eye joints do it
    # theo has look shapes and no eye joints: they carry the gaze.
    yaw, pitch = theo["eyes"][0]
    assert yaw > 0  # the camera is to his left: he faces 30° to its right
    assert theo["weights"]["lookLeft"][0] == pytest.approx(min(1, yaw / EYE_YAW_LIMIT), abs=1e-4)
    assert "lookRight" not in theo["weights"]


def test_eye_angles_are_relative_to_facing_and_clamped():
    head = np.array([0.0, 1.6, 0.0])
    pts = np.array([[0, 1.6, 1], [1, 1.6, 1], [-1, 1.6, 1], [0, 2.6, 1], [0, 1.6, -1]])
    yaw, pitch = gaze_angles(head, 0.0, pts).T
    assert yaw[0] == 0 and yaw[1] == EYE_YAW_LIMIT and yaw[2] == -EYE_YAW_LIMIT
    assert pitch[3] == EYE_PITCH_LIMIT
    turned = gaze_angles(head, 45.0, pts[1:2])  # facing the point: straight ahead
    assert np.allclose(turned, 0.0, atol=1e-9)


def test_performance_json_has_every_character_and_frame(tmp_path):
    (plan,) = _plans(tmp_path, fps=8)
    out = performance_json(plan.cast, plan.fps)
    assert set(out["characters"]) == {"mira", "theo"}
    mira = out["characters"]["mira"]
    assert len(mira["gaze"]) == plan.frame_count
    assert all(len(w) == plan.frame_count for w in mira["weights"].values())


def test_the_face_is_in_the_cache_key(tmp_path):
    (a,) = _plans(tmp_path)
    (b,) = _plans(tmp_path, EPISODE.replace("intensity: 0.6", "intensity: 0.5"))
    (c,) = _plans(tmp_path, EPISODE.replace('text: "No."', 'text: "Yes."'))
    assert a.key != b.key  # a different face, different pixels
    assert a.key == c.key  # dialogue text alone changes no pixel


@pytest.mark.parametrize(
    "old, new, expected",
    [
        ("expression: happy", "expression: hapy",
         r"ep01.yaml:5: shots\[0\].cast\[0\].expression: 'hapy' is not one of neutral, happy.*"
         r"did you mean 'happy'"),
        ("look_at: theo", "look_at: thea",
         r"ep01.yaml:6: shots\[0\].cast\[0\].look_at: looks at 'thea', who is not in this shot"
         r".*did you mean 'theo'"),
        ("look_at: theo", "look_at: mira", r"cast\[0\].look_at: 'mira' cannot look at"),
        ("look_at: theo", "look_at: [1, 2]", r"cast\[0\].look_at: expected a list of 3 numbers"),
        ("intensity: 0.6", "intensity: 2", r"ep01.yaml:5: .*cast\[0\].intensity: must be 0..1"),
        ("blink: false", "blink: maybe", r"ep01.yaml:7: .*cast\[1\].blink: expected true/false"),
        ("emotion: angry", "emotion: furious",
         r"ep01.yaml:9: shots\[0\].lines\[0\].emotion: 'furious' is not one of"),
        ("look_at: camera", "look_at: camra", r"cast\[1\].look_at: .*did you mean 'camera'"),
    ],
)
def test_bad_face_directions_name_file_line_and_field(tmp_path, old, new, expected):
    path = tmp_path / "ep01.yaml"
    path.write_text(EPISODE.replace(old, new))
    with pytest.raises(ReskinError, match=expected) as info:
        load_episode(path, {"mira", "theo"})
    assert "\n" not in str(info.value)
