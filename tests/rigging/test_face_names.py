"""The canonical face: characters' morph targets (ARKit, Oculus, Rocketbox, VRM binds, ...) map
onto one set of channels, and a face lacking shapes degrades (jaw shape or joint, eye joints)
or says what it is missing; `reskin asset show --json` reports it under ``face``."""

from __future__ import annotations

import json

import numpy as np
import pytest
from click.testing import CliRunner

from reskin.assets.gltf.accessors import BufferBuilder
from reskin.assets.gltf.glb import pack_glb, split_glb
from reskin.assets.gltf.validate import errors_of, validate_gltf_bytes
from reskin.cli import main
from reskin.pipeline.series_init import init_series
from reskin.rigging import face_names
from reskin.rigging.face_names import (
    ARKIT_52,
    CHANNELS,
    RPM_EXTRAS,
    VISEMES,
    face_map,
    gltf_face_map,
)

AVATARS = ("Asian_F_1_Casual.glb", "White_M_1_Busi.glb", "Black_F_2_Casual.glb")


def _glb(meshes: dict[str, list[str]], extensions: dict | None = None) -> bytes:
    """A GLB with one triangle mesh (and node) per entry, each with one named morph target per
    name (target k lifts vertex k % 3 by (k + 1) mm, so every target differs)."""
    doc: dict = {"asset": {"version": "2.0"}, "scene": 0, "scenes": [{"nodes": []}],
                 "nodes": [], "meshes": [], "buffers": [{}]}
    bb = BufferBuilder(doc)
    tri = np.array([[0, 0, 0], [1, 0, 0], [0, 1, 0]], np.float32)
    for m, (name, targets) in enumerate(meshes.items()):
        pos = bb.accessor(tri + np.float32(m), target=34962, bounds=True)
        morphs = []
        for k in range(len(targets)):
            delta = np.zeros((3, 3), np.float32)
            delta[k % 3, 2] = 0.001 * (k + 1)
            morphs.append({"POSITION": bb.accessor(delta, bounds=True)})
        prim = {"attributes": {"POSITION": pos}, "mode": 4}
        if morphs:
            prim["targets"] = morphs
        mesh = {"name": name, "primitives": [prim]}
        if targets:
            mesh["extras"] = {"targetNames": list(targets)}
        doc["meshes"].append(mesh)
        doc["nodes"].append({"name": name, "mesh": m})
        doc["scenes"][0]["nodes"].append(m)
    if extensions:
        doc["extensions"] = extensions
        doc["extensionsUsed"] = sorted(extensions)
    return pack_glb(doc, bytes(bb.data))


def _json(glb: bytes) -> dict:
    return json.loads(split_glb(glb)[0])


@pytest.mark.parametrize("name", AVATARS)
def test_shared_avatars_map_visemes_and_blinks(shared_data, name):
    js = _json((shared_data / "avatars" / name).read_bytes())
    face = gltf_face_map(js)
    assert face.conventions == ("rocketbox",)
    assert sum(face.has(v) for v in VISEMES) >= 12
    assert face.has("blinkLeft") and face.has("blinkRight")
    heads = [m for m in js["meshes"] if m["name"] == "H_DDS_HighRes"]
    names = heads[0]["extras"]["targetNames"]
    assert face.channels["blinkLeft"] == (("H_DDS_HighRes",
                                          names.index("h_expressions.LeyeClose_h"), 1.0),)
    assert face.sources["blinkRight"] == "from h_expressions.ReyeClose_h"
    # The open vowel drives the head and the lower teeth's own shape together.
    assert {m for m, _, _ in face.channels["aa"]} == {"H_DDS_HighRes", "h_TeethDown"}
    for ch in ("happy", "sad", "angry", "surprised", "browUp", "browDown", "jawOpen"):
        assert face.channels[ch], ch
    # No look shapes: gaze comes from the eye joints.
    assert face.eye_joints == ("LeftEye", "RightEye")
    assert face.sources["lookLeft"] == "from eye joints LeftEye, RightEye"


def test_arkit_recipes_name_only_arkit_and_ready_player_me_shapes():
    assert len(set(ARKIT_52)) == 52
    used = {t.name for alts in face_names._PARSED[[c for c, _ in face_names._PARSED]
                                                  .index("arkit")][1].values()
            for terms in alts for t in terms}
    assert used <= set(ARKIT_52) | set(RPM_EXTRAS)


def test_arkit_file_maps_visemes_blinks_and_emotions():
    glb = _glb({"Face": list(ARKIT_52), "Body": []})
    assert errors_of(validate_gltf_bytes(glb)) == []
    js = _json(glb)
    face = gltf_face_map(js)
    idx = {n: i for i, n in enumerate(ARKIT_52)}
    assert face.conventions == ("arkit",)
    assert face.missing == ()
    assert face.channels["blinkLeft"] == (("Face", idx["eyeBlinkLeft"], 1.0),)
    assert face.channels["jawOpen"] == (("Face", idx["jawOpen"], 1.0),)
    happy = {i: w for _, i, w in face.channels["happy"]}
    assert happy[idx["mouthSmileLeft"]] == happy[idx["mouthSmileRight"]] == 0.7
    assert happy[idx["cheekSquintLeft"]] == 0.3
    assert face.sources["happy"].startswith("from 0.7 mouthSmileLeft + 0.7 mouthSmileRight")
    # Visemes from the mouth shapes: the rounded ones pucker/funnel, the open one opens the jaw.
    assert idx["mouthPucker"] in {i for _, i, _ in face.channels["U"]}
    assert idx["mouthFunnel"] in {i for _, i, _ in face.channels["O"]}
    assert ("Face", idx["jawOpen"], 0.6) in face.channels["aa"]
    assert {i for _, i, _ in face.channels["lookLeft"]} == {idx["eyeLookOutLeft"],
                                                            idx["eyeLookInRight"]}
    # Deterministic and JSON-able.
    again = gltf_face_map(_json(glb)).to_json()
    assert json.dumps(again) == json.dumps(face.to_json())
    assert again["visemes"] == 15 and list(again["channels"]) == list(CHANNELS)


def test_prefixed_and_recased_names_match():
    # Unity/Maya exports prefix the mesh ("CC_Game_Body.jawOpen"); engines re-case ARKit names.
    face = face_map({"Head": ["Head.EyeBlinkLeft", "Head.EyeBlinkRight", "Head.JawOpen"]})
    assert face.conventions == ("arkit",)
    assert face.sources["blinkLeft"] == "from Head.EyeBlinkLeft"
    assert face.channels["jawOpen"] == (("Head", 2, 1.0),)


def test_oculus_visemes_win_and_span_meshes():
    # Ready Player Me: ARKit and Oculus visemes on the head, visemes again on the teeth.
    visemes = [f"viseme_{v}" for v in VISEMES]
    face = face_map({"Wolf3D_Head": visemes + list(ARKIT_52), "Wolf3D_Teeth": visemes})
    assert face.conventions == ("oculus", "arkit")
    assert face.channels["aa"] == (("Wolf3D_Head", 10, 1.0), ("Wolf3D_Teeth", 10, 1.0))
    assert face.sources["aa"] == "from viseme_aa"
    assert face.sources["blinkLeft"] == "from eyeBlinkLeft"


def test_character_creator_4_names():
    names = ["V_Open", "V_Explosive", "V_Dental_Lip", "V_Tight_O", "V_Tight", "V_Wide",
             "V_Affricate", "V_Lip_Open", "Eye_Blink_L", "Eye_Blink_R", "Mouth_Smile_L",
             "Mouth_Smile_R", "Jaw_Open"]
    face = face_map({"CC_Base_Body": names})
    assert face.conventions == ("cc4",)
    assert sum(face.has(v) for v in VISEMES) == 15
    assert face.sources["PP"] == "from V_Explosive"
    assert face.sources["blinkRight"] == "from Eye_Blink_R"
    assert face.has("happy") and not face.has("angry")


def _vrm1(targets: list[str]) -> bytes:
    expr = {"aa": {"morphTargetBinds": [{"node": 1, "index": 0, "weight": 1.0}]},
            "blink": {"morphTargetBinds": [{"node": 1, "index": 2, "weight": 1.0}]},
            "happy": {"morphTargetBinds": [{"node": 1, "index": 3, "weight": 0.8},
                                           {"node": 1, "index": 4, "weight": 0.4}]},
            "lookUp": {"morphTargetBinds": [{"node": 7, "index": 0, "weight": 1.0}]}}
    ext = {"VRMC_vrm": {"specVersion": "1.0", "expressions": {"preset": expr}}}
    return _glb({"Body": [], "Face": targets}, ext)


def test_vrm1_expressions_map_through_the_extension():
    # The names say nothing (and one lies); the extension's binds decide.
    js = _json(_vrm1(["m0", "m1", "eyeBlinkLeft", "m3", "m4"]))
    face = gltf_face_map(js)
    assert face.conventions[0] == "vrm1"
    assert face.channels["aa"] == (("Face", 0, 1.0),)
    assert face.sources["aa"] == "from VRM expression aa"
    # The both-eyes blink goes half on each side; the named eyeBlinkLeft does not override it.
    assert face.channels["blinkLeft"] == face.channels["blinkRight"] == (("Face", 2, 0.5),)
    assert face.channels["happy"] == (("Face", 3, 0.8), ("Face", 4, 0.4))
    assert not face.has("lookUp")  # bound to a node that does not exist: dropped
    # Consonants from the one vowel it has, sil/PP as the rest pose.
    assert face.sources["PP"] == "rest pose"


def test_vrm0_blend_shape_master_maps_percent_weights():
    groups = [{"name": "A", "presetName": "a", "binds": [{"mesh": 1, "index": 0, "weight": 100}]},
              {"name": "Joy", "presetName": "joy",
               "binds": [{"mesh": 1, "index": 1, "weight": 50}]},
              {"name": "Blink", "presetName": "blink",
               "binds": [{"mesh": 1, "index": 2, "weight": 100}]},
              {"name": "Blink_R", "presetName": "blink_r",
               "binds": [{"mesh": 1, "index": 3, "weight": 100}]},
              {"name": "Surprised", "presetName": "unknown",
               "binds": [{"mesh": 1, "index": 4, "weight": 100}]}]
    ext = {"VRM": {"specVersion": "0.0", "blendShapeMaster": {"blendShapeGroups": groups}}}
    face = gltf_face_map(_json(_glb({"Body": [], "Face": ["a", "b", "c", "d", "e"]}, ext)))
    assert face.conventions == ("vrm0",)
    assert face.channels["aa"] == (("Face", 0, 1.0),)
    assert face.channels["happy"] == (("Face", 1, 0.5),)
    assert face.channels["blinkRight"] == (("Face", 3, 1.0),)  # the one-eye blink wins
    assert face.channels["blinkLeft"] == (("Face", 2, 0.5),)
    assert face.sources["surprised"] == "from VRM 0.x blend shape Surprised"


def test_only_jaw_open_degrades_to_jaw_driven_visemes():
    face = face_map({"head": ["jawOpen"]})
    assert face.conventions == ()
    assert all(face.has(v) for v in VISEMES)
    assert face.channels["aa"] == (("head", 0, 0.7),)
    assert face.sources["aa"] == "from 0.7 jawOpen"
    assert face.channels["PP"] == () and face.sources["PP"] == "rest pose (jaw closed)"
    # No lids: no blink.
    assert face.sources["blinkLeft"] == face.sources["blinkRight"] == "missing"


def test_jaw_and_eye_joints_without_shapes():
    face = face_map({}, joints=["Hips", "Head", "Jaw", "Jaw_end", "LeftEye", "RightEye"])
    assert face.jaw_joint == "Jaw" and face.jaw_open["aa"] == 0.7
    assert face.sources["O"] == "from jaw joint Jaw (open 0.5)"
    assert face.eye_joints == ("LeftEye", "RightEye")
    assert not face.has("blinkLeft") and not face.has("happy")


def test_no_face_shapes_reports_everything_missing():
    face = face_map({"body": ["fat", "thin"], "shirt": ["tuck"]})
    assert face.missing == CHANNELS
    assert face.to_json()["visemes"] == 0
    assert all(b == () for b in face.channels.values())


def test_asset_show_json_lists_the_face_of_an_imported_avatar(shared_data, tmp_path):
    series = init_series(tmp_path / "show")
    runner = CliRunner()
    r = runner.invoke(main, ["asset", "import", str(shared_data / "avatars" / AVATARS[1]),
                             "--name", "ava", "-s", str(series)])
    assert r.exit_code == 0, r.output
    r = runner.invoke(main, ["asset", "show", "ava", "--json", "-s", str(series)])
    assert r.exit_code == 0, r.output
    face = json.loads(r.output)[0]["face"]
    assert face["conventions"] == ["rocketbox"] and face["visemes"] >= 12
    assert face["channels"]["blinkLeft"]["source"] == "from h_expressions.LeyeClose_h"
    assert face["channels"]["lookUp"]["source"].startswith("from eye joints")
    r = runner.invoke(main, ["asset", "show", "ava", "-s", str(series)])
    assert r.exit_code == 0, r.output
    assert "15/15 visemes (rocketbox)" in r.output


@pytest.mark.parametrize("names, convention, channel, source", [
    (["A14_Eye_Blink_Left", "A15_Eye_Blink_Right", "A25_Jaw_Open"], "cc3plus", "blinkLeft",
     "from A14_Eye_Blink_Left"),
    (["Open", "Explosive", "Tight-O", "Eye_Blink"], "cc3", "O", "from Tight-O"),
    (["Fcl_MTH_A", "Fcl_MTH_I", "Fcl_EYE_Close_L", "Fcl_ALL_Joy"], "vroid", "happy",
     "from Fcl_ALL_Joy"),
    (["A", "I", "U", "E", "O", "Blink"], "vrm-names", "blinkRight", "from 0.5 Blink"),
    (["vrc.v_aa", "vrc.v_oh", "vrc.v_ih"], "vrchat", "O", "from vrc.v_oh"),
    (["JawDrop", "LeftUpperLidClosed", "RightUpperLidClosed", "LipsKiss"], "makehuman", "U",
     "from 0.9 LipsKiss + 0.1 JawDrop"),
])
def test_each_convention_is_detected(names, convention, channel, source):
    face = face_map({"head": names})
    assert convention in face.conventions
    assert face.sources[channel] == source


def test_vrm_only_vowels_give_consonants_by_mixing():
    face = face_map({"head": ["Fcl_MTH_A", "Fcl_MTH_I", "Fcl_MTH_U", "Fcl_MTH_E", "Fcl_MTH_O"]})
    assert all(face.has(v) for v in VISEMES)
    assert face.sources["FF"] == "from 0.3 I + 0.2 U (viseme mix)"
    assert face.channels["FF"] == (("head", 1, 0.3), ("head", 2, 0.2))


@pytest.mark.parametrize("ext", [
    {"VRMC_vrm": {"expressions": [1, 2]}},
    {"VRMC_vrm": {"expressions": {"preset": {"aa": {"morphTargetBinds": {"node": 0}}}}}},
    {"VRMC_vrm": {"expressions": {"preset": {"aa": {"morphTargetBinds": [
        {"node": True, "index": 0}, {"node": 1, "index": 99}, {"node": 1, "index": "0"}]}}}}},
    {"VRM": {"blendShapeMaster": {"blendShapeGroups": [None, {"presetName": 3, "binds": 7}]}}},
    {"VRM": {"blendShapeMaster": {"blendShapeGroups": [
        {"presetName": "a", "binds": [{"mesh": 1, "index": 0, "weight": "x"}]}]}}},
])
def test_broken_vrm_expressions_are_ignored(ext):
    face = gltf_face_map(_json(_glb({"Body": [], "Face": ["m0"]}, ext)))
    assert face.missing == CHANNELS
