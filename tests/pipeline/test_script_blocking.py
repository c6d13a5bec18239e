"""Entrances and sitting from a screenplay's action lines, with a walk clip and a seat prop in
the library: "MIRA enters from the left." is a walk from off frame to her mark, "THEO sits."
a sit onto the chair; checked in the episode written and on the compiled plan's joints."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import trimesh
import yaml
from click.testing import CliRunner

from reskin.cli import main
from reskin.core.skeleton import forward_kinematics
from reskin.pipeline.inputs import load_cast
from reskin.pipeline.script_import import import_script
from reskin.pipeline.series_init import create_demo
from reskin.pipeline.speech_stage import SpeechStage, cast_voices
from reskin.rigging.motion_glb import read_json, skin_rig
from reskin.scenes.compile import ModelRef, compile_episode
from reskin.scenes.episode import load_episode
from reskin.scenes.series import load_series
from tests.scenes.test_compile_framing import project

SHARED = Path(__file__).resolve().parents[2] / ".." / "shared" / "data"
WALK = SHARED / "bvh" / "cmu_12_03_walk.bvh"
# Two rigged avatars stand in for the cast's skins: the plan's poses need a skeleton.
SKINS = {"mira": SHARED / "avatars" / "Asian_F_1_Casual.glb",
         "theo": SHARED / "avatars" / "White_M_1_Busi.glb"}
SEAT_H = 0.45
SCRIPT = """\
INT. LIVING ROOM - DAY

MIRA enters from the left.

MIRA
You're home early. They let you go?

THEO sits.

THEO
They let everyone go.

MIRA
Everyone?
"""


@pytest.fixture(scope="module")
def staged(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("blocking")
    root = create_demo(tmp / "s")
    box = trimesh.creation.box((0.45, SEAT_H, 0.45))
    box.apply_translation((0, SEAT_H / 2, 0))
    chair = tmp / "chair.glb"
    chair.write_bytes(box.export(file_type="glb"))
    for args in (["asset", "import", str(chair), "--name", "chair", "--kind", "prop",
                  "--unit", "m"], ["clip", "import", str(WALK), "--name", "walk"]):
        cli = CliRunner().invoke(main, [*args, "-s", str(root)])
        assert cli.exit_code == 0, cli.output
    script = tmp / "living.fountain"
    script.write_text(SCRIPT)
    (result,) = import_script(root, script, episode="ep07")
    series = load_series(root)
    cast = load_cast(series)
    timed = SpeechStage(None).voice_episode(load_episode(result.path, set(cast)),
                                            cast_voices(cast, series))
    skins = {n: ModelRef(ref=f"{n}@1", glb=str(SKINS[n]), content_hash=n,
                         height=float(cast[n].params["height"])) for n in cast}
    props = {"chair": ModelRef(ref="chair@1", glb=str(chair), content_hash="chair",
                               height=0.0)}
    plans = compile_episode(series, timed, skins, props)
    return result, yaml.safe_load(result.path.read_text()), plans, skins


def _shot(doc: dict, name: str, do: str) -> tuple[int, dict]:
    for k, shot in enumerate(doc["shots"]):
        for entry in shot["cast"]:
            if entry["character"] == name and any(a["do"] == do for a in
                                                  entry.get("actions", [])):
                return k, entry
    raise AssertionError(f"no shot where {name} does {do}")


def test_the_action_lines_become_blocking_in_the_episode(staged):
    result, doc, _, _ = staged
    first = doc["shots"][0]  # the establishing shot: mira has not entered, theo not sat
    assert first["cast"] == [{"character": "theo", "position": [0.55, 0], "facing": -25}]
    k, mira = _shot(doc, "mira", "walk")
    assert mira["position"] == [-3.55, 0] and mira["facing"] == 90  # off frame, walking in
    assert mira["actions"] == [{"do": "walk", "to": [-0.55, 0], "speed": 1.2}]
    assert doc["shots"][k]["lines"][0]["at"] == 2.7  # spoken once she is at her mark
    assert doc["shots"][k]["lines"][0]["text"] == "You're home early. They let you go?"
    k, theo = _shot(doc, "theo", "sit")
    # (PyYAML reads a key `on` as True; reskin's loader, as the build reads it, does not)
    (sit,) = load_episode(result.path, {"mira", "theo"}).shots[k].cast[1].blocking.actions
    assert (sit.do, sit.on) == ("sit", "chair")
    assert "{do: sit, on: chair}" in result.path.read_text()
    assert doc["shots"][k]["lines"][0]["speaker"] == "theo"
    (chair,) = doc["shots"][k]["set"]["props"]
    assert chair["asset"] == "chair" and chair["position"][0] == pytest.approx(0.55 + 0.148,
                                                                               abs=0.01)
    # seated in the shots after it
    later = [e for s in doc["shots"][k + 1:] for e in s["cast"] if e["character"] == "theo"]
    assert later and all(e.get("sit") == {True: "chair"} for e in later)


def _joints(plan, name: str, skins) -> tuple[np.ndarray, object]:
    member = next(c for c in plan.cast if c["name"] == name)
    motion = member["motion"]
    sk = skin_rig(read_json(skins[name].glb)).skeleton
    world = forward_kinematics(sk, np.array(motion["rotations"]), np.array(motion["root"]))
    return world[:, :, :3, 3], sk


def test_mira_walks_from_off_frame_into_it(staged):
    result, doc, plans, skins = staged
    k, _ = _shot(doc, "mira", "walk")
    plan = plans[k]
    joints, sk = _joints(plan, "mira", skins)
    head = joints[:, sk.index("head")]
    aspect = plan.width / plan.height
    cams = plan.camera_path or [plan.camera] * len(head)
    u0, _ = project(cams[0], head[0], aspect)
    u1, v1 = project(cams[-1], head[-1], aspect)
    assert u0 < 0.0  # off the left of the frame as the shot opens
    assert 0.05 < u1 < 0.95 and 0.02 < v1 < 0.98  # in it, at her mark, by its end
    assert np.linalg.norm(joints[-1, sk.index("hips"), [0, 2]] - [-0.55, 0]) < 0.1
    assert not plan.warnings


def test_theo_sits_down(staged):
    _, doc, plans, skins = staged
    k, _ = _shot(doc, "theo", "sit")
    plan = plans[k]
    joints, sk = _joints(plan, "theo", skins)
    hips = joints[:, sk.index("hips")]
    assert hips[-1, 1] < hips[0, 1] - 0.3  # from standing down onto the chair
    assert np.all(np.diff(hips[:, 1]) < 1e-6)  # down, never back up
    (chair,) = plan.stage["props"]
    assert np.linalg.norm(hips[-1, [0, 2]] - np.array(chair["position"])[[0, 2]]) < 0.05
    assert SEAT_H < hips[-1, 1] < SEAT_H + 0.2  # the pelvis on the seat, not in it
    feet = joints[:, sk.index("leftFoot"), 1]
    assert abs(feet[-1] - feet[0]) < 0.03  # seated, the feet are back where they stood
