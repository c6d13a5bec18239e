"""The directed face on pixels Blender renders: an imported avatar (own rig, Rocketbox
``h_expressions.*`` shapes, eye joints) in close-up blinks, smiles and looks where the episode
says; shape keys and eye constraints of one shot do not leak into the next."""

from __future__ import annotations

import json

import numpy as np
import pytest
from PIL import Image

from reskin.assets.gltf.scene import world_matrices
from reskin.assets.library import Library
from reskin.pipeline.build import build
from reskin.rigging.file_rig import read_model
from reskin.scenes.performance import blink_seed, blink_times
from tests.conftest import SHARED_DATA
from tests.scenes.test_compile_framing import project

SERIES = """\
name: faces
resolution: [150, 200]
fps: 4
render: {engine: cycles, samples: 16}
style: {stylizer: none}
"""
# A close-up on the face: eyes in the upper part of the frame, the mouth in the lower.
CAMERA = "{location: [0, 1.565, 0.55], target: [0, 1.565, 0.056], lens: 70}"
FPS = 4


def _blinking_shot() -> str:
    """A shot id whose seeded blinks shut hana's eyes on frame 1 of a 2-frame shot (the id is
    searched for, so the test needs no hook into the seeding)."""
    for n in range(1000):
        times = blink_times(blink_seed("hana", f"blink-{n}"), 0.5, FPS)
        if list(times) == [0.25]:
            return f"blink-{n}"
    raise AssertionError("no shot id blinks on frame 1")


BLINK = _blinking_shot()
EPISODE = f"""\
shots:
  - {{id: open, duration: 0.5, cast: [{{character: hana, blink: false}}], camera: {CAMERA}}}
  - {{id: {BLINK}, duration: 0.5, cast: [{{character: hana}}], camera: {CAMERA}}}
  - id: happy
    duration: 0.25
    cast: [{{character: hana, blink: false, expression: happy}}]
    camera: {CAMERA}
  - id: look-right
    duration: 0.25
    cast: [{{character: hana, blink: false, look_at: [-0.35, 1.6, 1]}}]
    camera: {CAMERA}
  - id: look-left
    duration: 0.25
    cast: [{{character: hana, blink: false, look_at: [0.35, 1.6, 1]}}]
    camera: {CAMERA}
  - {{id: after, duration: 0.25, cast: [{{character: hana, blink: false}}], camera: {CAMERA}}}
"""


@pytest.fixture(scope="module")
def built(tmp_path_factory):
    root = tmp_path_factory.mktemp("faces") / "s"
    for d in ("cast/hana", "episodes", "models", "out"):
        (root / d).mkdir(parents=True)
    (root / "series.yaml").write_text(SERIES)
    (root / "models" / "hana.glb").write_bytes(
        (SHARED_DATA / "avatars" / "Asian_F_1_Casual.glb").read_bytes())
    (root / "cast" / "hana" / "character.yaml").write_text("source: models/hana.glb\n")
    (root / "cast" / "hana" / "ep01.yaml").write_text("regions: {}\n")
    (root / "episodes" / "ep01.yaml").write_text(EPISODE)
    Library(root / ".reskin", create=True).close()
    build(root)
    shots = {}
    for render in (root / ".reskin" / "cache" / "render").iterdir():
        plan = json.loads((render / "done.json").read_text())["plan"]
        frames = [np.asarray(Image.open(p).convert("RGBA"), np.float32) / 255
                  for p in sorted(render.glob("beauty_*.png"))]
        perf = json.loads((render / "performance.json").read_text())
        shots[plan["name"].split("/")[1]] = (plan, frames, perf)
    with Library(root / ".reskin") as lib:
        doc = read_model(lib.read_blob(lib.get("hana.ep01").blobs["skin.glb"]))
    world = world_matrices(doc.json)
    eyes = {n["name"]: world[i][:3, 3] for i, n in enumerate(doc.json["nodes"])
            if n.get("name") in ("LeftEye", "RightEye")}
    return shots, eyes


def _pixel(plan: dict, point) -> np.ndarray:
    """(x, y) pixel of a world point through the plan's camera."""
    u, v = project(plan["camera"], point, plan["width"] / plan["height"])
    return np.array([u * plan["width"], v * plan["height"]])


def _disc(plan: dict, centre, radius_m: float) -> np.ndarray:
    """(h, w) bool: pixels within ``radius_m`` (at the point's depth) of a world point."""
    c = _pixel(plan, centre)
    r = np.linalg.norm(_pixel(plan, np.asarray(centre) + [radius_m, 0, 0]) - c)
    yy, xx = np.mgrid[0:plan["height"], 0:plan["width"]] + 0.5
    return (xx - c[0]) ** 2 + (yy - c[1]) ** 2 < r * r


def _diff(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    return np.abs(a[..., :3] - b[..., :3]).max(axis=2)


def test_performance_json_beside_the_frames(built):
    shots, _ = built
    plan, _, perf = shots[BLINK]
    hana = perf["characters"]["hana"]
    assert perf["fps"] == FPS
    assert hana["weights"]["blinkLeft"] == [0.0, 1.0] == hana["weights"]["blinkRight"]
    assert shots["look-left"][2]["characters"]["hana"]["gaze"] == [[0.35, 1.6, 1.0]]
    assert "blinkLeft" not in shots["open"][2]["characters"]["hana"]["weights"]


def test_a_blink_changes_the_eyes_and_nothing_else(built):
    shots, eyes = built
    plan, blink, _ = shots[BLINK]
    _, opened, _ = shots["open"]
    # Frame 1 of both shots: the same idle pose, the eyes shut in one and open in the other.
    diff = _diff(blink[1], opened[1])
    eye_region = _disc(plan, eyes["LeftEye"], 0.022) | _disc(plan, eyes["RightEye"], 0.022)
    for name in ("LeftEye", "RightEye"):
        assert (diff[_disc(plan, eyes[name], 0.015)] > 0.15).sum() >= 15, name
    changed = diff > 0.15
    assert (changed & ~eye_region).sum() <= 0.002 * changed.size, (changed & ~eye_region).sum()
    assert float(diff[~eye_region].mean()) < 0.01
    # Frame 0 of the blinking shot has the eyes open: the same picture as the open shot's.
    assert (_diff(blink[0], opened[0]) > 0.15).sum() <= 0.002 * diff.size


def _iris_x(frame: np.ndarray, opening: np.ndarray) -> float:
    """Image x of the iris: the pixels of the eye's ``opening`` well below its mean brightness
    (iris and pupil against the white of the eye; not the lids' softer shading)."""
    luma = frame[..., :3] @ [0.2126, 0.7152, 0.0722]
    dark = opening & (luma < 0.6 * luma[opening].mean())
    return float(np.nonzero(dark)[1].mean())


def test_look_at_turns_both_eyes_towards_the_point(built):
    shots, eyes = built
    plan, opened, _ = shots["open"]
    # The eye's opening: what a blink covers (frame 1: the blinking shot's lids are shut).
    shut = _diff(shots[BLINK][1][1], opened[1]) > 0.2
    rest = opened[0]
    # A point at image left is to the character's right (she faces the camera), and back.
    right, left = shots["look-right"][1][0], shots["look-left"][1][0]
    for name in ("LeftEye", "RightEye"):
        region = _disc(plan, eyes[name], 0.016) & shut
        assert region.sum() > 60, name
        x_rest, x_r, x_l = (_iris_x(f, region) for f in (rest, right, left))
        assert x_r < x_rest - 2.0, (name, x_r, x_rest)  # ~4 px at 20°
        assert x_l > x_rest + 2.0, (name, x_l, x_rest)


def _mouth(plan: dict, eyes: dict) -> np.ndarray:
    """(h, w) bool: a box around the mouth, 7 cm below the eyes' midpoint and 8 cm wide."""
    mid = (eyes["LeftEye"] + eyes["RightEye"]) / 2
    (x0, y0), (x1, y1) = (_pixel(plan, mid + d) for d in ([-0.04, -0.045, 0.03],
                                                          [0.04, -0.095, 0.03]))
    yy, xx = np.mgrid[0:plan["height"], 0:plan["width"]] + 0.5
    return (xx > x0) & (xx < x1) & (yy > y0) & (yy < y1)


def test_happy_changes_the_mouth_and_the_next_shot_is_neutral_again(built):
    shots, eyes = built
    plan, opened, _ = shots["open"]
    mouth = _mouth(plan, eyes)
    assert mouth.sum() > 200
    happy = _diff(shots["happy"][1][0], opened[0])
    assert (happy[mouth] > 0.1).sum() > 0.15 * mouth.sum()
    assert float(happy[mouth].mean()) > 4 * float(happy[~mouth].mean())
    # The smile's keys belong to its shot: a later neutral shot has the open shot's mouth,
    # and its eyes look ahead again.
    after = _diff(shots["after"][1][0], opened[0])
    assert (after > 0.15).sum() <= 0.002 * after.size
