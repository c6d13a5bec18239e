"""Blocking, built for real (issue 17): a character enters from off-frame left, walks to a
mark, turns to the other, who sits on a crate; an imported CMU walk plays in its own shot.
Checked on the compiled poses (skinned with the character's own mesh) and on Cycles frames."""

from __future__ import annotations

import json
import math
from pathlib import Path

import numpy as np
import pytest
import trimesh
from click.testing import CliRunner

from reskin.assets.library import Library
from reskin.cli import main
from reskin.core.skeleton import forward_kinematics, skinning_matrices
from reskin.pipeline.build import build
from reskin.render.passes import read_shot_passes
from reskin.rigging.foot_contact import detect_contacts
from reskin.rigging.locomotion import hips_yaw
from reskin.rigging.rigged import load_rigged
from reskin.rigging.skinning import lbs
from tests.render.series import sample_cast_series

WALK = Path(__file__).resolve().parents[2] / ".." / "shared" / "data" / "bvh" / "cmu_12_03_walk.bvh"
FPS = 12
MARK = (-0.45, 0.45)
START = (-3.0, 0.45)
SPEED = 1.0  # m/s: the walk ends at 2.55 s
SEAT = 0.45  # the crate's top
SERIES = f"""\
name: blocking
resolution: [48, 72]
fps: {FPS}
render: {{engine: cycles, samples: 1, passes: [instance]}}
style: {{stylizer: none}}
"""
EPISODE = f"""\
shots:
  - id: enter
    duration: 4.0
    cast:
      - character: mira
        position: [{START[0]}, {START[1]}]
        actions:
          - {{do: walk, to: [{MARK[0]}, {MARK[1]}], speed: {SPEED}}}
          - {{do: turn, face: theo}}
      - character: theo
        position: [0.6, 0.3]
        facing: -40
        actions:
          - {{do: sit, on: crate, at: 1.5}}
    camera: {{location: [0, 1.0, 3.6], target: [0, 0.85, 0]}}
    set:
      props:
        - {{asset: crate, position: [0.6, -0.1]}}
    lines:
      - {{speaker: mira, text: "Hi.", at: 2.7}}
      - {{speaker: theo, text: "Hey."}}
  - id: mocap
    duration: 0.5
    cast: [{{character: mira, clip: walk@1}}]
    camera: {{framing: wide}}
"""


@pytest.fixture(scope="module")
def series(tmp_path_factory):
    if not WALK.exists():
        pytest.skip(f"shared sample data not present: {WALK}")
    root = sample_cast_series(tmp_path_factory.mktemp("blocking") / "s", SERIES, EPISODE)
    box = trimesh.creation.box((0.45, SEAT, 0.45))
    box.apply_translation((0, SEAT / 2, 0))
    glb = root.parent / "crate.glb"
    glb.write_bytes(box.export(file_type="glb"))
    for args in (["asset", "import", str(glb), "--name", "crate", "--kind", "prop", "--unit", "m"],
                 ["clip", "import", str(WALK), "--name", "walk"]):
        result = CliRunner().invoke(main, [*args, "-s", str(root)])
        assert result.exit_code == 0, result.output
    build(root)
    return root


def _render(series: Path, shot: str) -> tuple[Path, dict]:
    for d in (series / ".reskin" / "cache" / "render").iterdir():
        plan = json.loads((d / "done.json").read_text())["plan"]
        if plan["name"] == f"ep01/{shot}":
            return d, plan
    raise AssertionError(f"no render of {shot}")


def _rig(series: Path, name: str):
    with Library(series / ".reskin") as lib:
        record = [r for r in lib.list("character") if r.name == name and "rig.npz" in r.blobs][-1]
        return load_rigged(lib, record)


def _posed(rig, motion: dict, select: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    rot, root = np.array(motion["rotations"]), np.array(motion["root"])
    world = forward_kinematics(rig.skeleton, rot, root)
    verts = lbs(rig.mesh.vertices[select], rig.joints[select], rig.weights[select],
                skinning_matrices(rig.skeleton, world))
    return world, verts


def _member(plan: dict, name: str) -> dict:
    return next(c for c in plan["cast"] if c["name"] == name)


def test_walker_reaches_the_mark_at_the_planned_time(series):
    _, plan = _render(series, "enter")
    root = np.array(_member(plan, "mira")["motion"]["root"])
    arrive = round(math.dist(START, MARK) / SPEED * FPS)
    assert np.linalg.norm(root[arrive, [0, 2]] - MARK) < 0.05
    assert np.linalg.norm(root[-1, [0, 2]] - MARK) < 0.05
    assert abs(root[0, 0] - START[0]) < 0.05  # it starts where the episode says


def test_planted_feet_do_not_slide(series):
    _, plan = _render(series, "enter")
    motion = _member(plan, "mira")["motion"]
    rig = _rig(series, "mira")
    sk = rig.skeleton
    arrive = round(math.dist(START, MARK) / SPEED * FPS)
    dominant = rig.joints[np.arange(len(rig.joints)), rig.weights.argmax(1)]
    floor = float(rig.mesh.vertices[:, 1].min())
    slides = []
    for side in ("left", "right"):
        feet = [sk.index(f"{side}Foot"), sk.index(f"{side}Toes")]
        world, verts = _posed(rig, motion, np.isin(dominant, feet))
        planted = detect_contacts(sk, world, FPS)[side][:arrive + 1]
        edges = np.flatnonzero(np.diff(np.concatenate([[0], planted.astype(np.int8), [0]])))
        for a, b in zip(edges[::2], edges[1::2], strict=True):
            mid = (a + b - 1) // 2
            v = int(np.argmin(verts[mid, :, 1]))  # the lowest foot vertex of this step
            on = np.abs(verts[a:b, v, 1] - floor) < 0.015
            if on.sum() > 1:
                slides.append(float(np.ptp(verts[a:b, v][on][:, [0, 2]], axis=0).max()))
    assert len(slides) >= 3, slides
    assert max(slides) < 0.02, slides


def test_after_the_turn_the_walker_faces_the_other(series):
    _, plan = _render(series, "enter")
    motion = _member(plan, "mira")["motion"]
    theo = np.array(_member(plan, "theo")["motion"]["root"])[-1]
    want = math.degrees(math.atan2(theo[0] - MARK[0], theo[2] - MARK[1]))
    body = math.degrees(hips_yaw(np.array(motion["rotations"])[-1:])[0])
    for got in (motion["facing_deg"][-1], body):
        assert abs((got - want + 180) % 360 - 180) < 10


def test_the_sitter_lands_on_the_seat(series):
    _, plan = _render(series, "enter")
    motion = _member(plan, "theo")["motion"]
    rig = _rig(series, "theo")
    world, verts = _posed(rig, {k: [v[-1]] for k, v in motion.items() if k in (
        "rotations", "root")}, np.ones(len(rig.mesh.vertices), bool))
    hips = world[0, 0, :3, 3]
    pelvis = np.linalg.norm(verts[0][:, [0, 2]] - hips[[0, 2]], axis=1) < 0.12
    assert abs(verts[0][pelvis, 1].min() - SEAT) < 0.03
    assert np.linalg.norm(hips[[0, 2]] - [0.6, -0.1]) < 0.05  # over the crate


def test_the_walker_enters_from_off_frame(series):
    render, plan = _render(series, "enter")
    passes = read_shot_passes(sorted(render.glob("passes_*.exr")), [plan["camera"]])
    inst = passes["instance"]
    mira = 1 + [c["name"] for c in plan["cast"]].index("mira")
    assert (inst[0] == mira).sum() == 0, "mira is in frame on the first frame"
    assert (inst[-1] == mira).sum() > 20, "mira is not in frame at her mark"
    assert (inst[-1] == 3 - mira).sum() > 20, "theo is not in frame"
    assert not any("leaves the frame" in w for w in plan.get("warnings", []))


def test_cmu_walk_plays_without_its_tpose(series):
    render, plan = _render(series, "mocap")
    motion = _member(plan, "mira")["motion"]
    rig = _rig(series, "mira")
    sk = rig.skeleton
    world = forward_kinematics(sk, np.array(motion["rotations"]), np.array(motion["root"]))
    for side in ("left", "right"):
        d = world[:, sk.index(f"{side}LowerArm"), :3, 3] - world[:, sk.index(
            f"{side}UpperArm"), :3, 3]
        assert (d[:, 1] / np.linalg.norm(d, axis=1) < -0.7).all(), "arms held out (T-pose)"
    root = np.array(motion["root"])
    assert np.linalg.norm(root[-1, [0, 2]] - root[0, [0, 2]]) > 0.2  # it walks (from standing)
    assert len(list(render.glob("beauty_*.png"))) == plan["frame_count"]
    with Library(series / ".reskin") as lib:
        assert lib.get("walk@1").meta["trimmed"] == [2, 0]


def test_motion_glb_is_valid_gltf(series):
    from reskin.assets.gltf.validate import errors_of, validate_gltf_bytes
    from reskin.rigging.motion_glb import motion_glb, read_json, skin_rig

    _, plan = _render(series, "enter")
    member = _member(plan, "mira")
    skin = Path(member["glb"])
    rig = skin_rig(read_json(skin))
    motion = member["motion"]
    data = motion_glb(skin.read_bytes(), rig, np.array(motion["rotations"]),
                      np.array(motion["root"]), FPS, "enter")
    assert errors_of(validate_gltf_bytes(data)) == []


def test_both_exchange_a_line_after_the_walk(series):
    """The lines of the blocked shot are spoken after the walk, and the speaker's mouth moves."""
    for render in (series / ".reskin" / "cache" / "render").iterdir():
        perf = render / "performance.json"
        plan = json.loads((render / "done.json").read_text())["plan"]
        if plan["name"].endswith("/enter"):
            break
    else:
        raise AssertionError("no render of the enter shot")
    data = json.loads(perf.read_text())
    lines = data["lines"]
    assert [ln["speaker"] for ln in lines] == ["mira", "theo"]
    assert lines[0]["start"] >= 2.55 - 1e-6 and lines[1]["start"] > lines[0]["start"]
    jaw = np.asarray(data["characters"]["mira"]["weights"].get("jawOpen", [0.0]))
    first = int(round(lines[0]["start"] * FPS))
    last = int(round((lines[0]["start"] + lines[0]["duration"]) * FPS))
    assert jaw[first:last + 1].max() > 0.1 and jaw[:first - 2].max() < 0.05
