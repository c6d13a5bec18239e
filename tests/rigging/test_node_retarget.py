"""Canonical clips played on artists' own skeletons (glTF joint nodes), posed by glTF skinning."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from reskin.assets.gltf import scene as gs
from reskin.assets.gltf.glb import pack_glb, read_glb
from reskin.assets.gltf.node_anim import add_node_animations
from reskin.assets.gltf.read import as_float, load_gltf
from reskin.assets.gltf.validate import errors_of, validate_gltf_bytes
from reskin.assets.safe_io import Limits
from reskin.core.clip import Clip
from reskin.core.skeleton import forward_kinematics
from reskin.core.transforms import trs_matrix
from reskin.rigging.node_skeleton import (
    canonical_skeleton,
    decompose,
    node_mapping,
    node_skeleton,
    pose_world,
    retarget_to_nodes,
    scene_world,
)
from reskin.rigging.procedural_clips import make_clip

DATA = Path(__file__).resolve().parents[2] / ".." / "shared" / "data"
AVATAR = DATA / "avatars" / "Asian_F_1_Casual.glb"
FPS = 15.0
DIRECTION_BOUND = 2.0  # degrees between an artist bone and the canonical bone driving it
HAND_BOUND = 0.02  # metres a hand vertex may move relative to its wrist joint

# CesiumMan's joints follow no name convention reskin knows: the mapping is given by hand.
CESIUM_MAP = {
    "hips": "Skeleton_torso_joint_1", "spine": "Skeleton_torso_joint_2",
    "chest": "torso_joint_3", "neck": "Skeleton_neck_joint_1", "head": "Skeleton_neck_joint_2",
    "leftUpperArm": "Skeleton_arm_joint_L__4_", "leftLowerArm": "Skeleton_arm_joint_L__3_",
    "leftHand": "Skeleton_arm_joint_L__2_", "rightUpperArm": "Skeleton_arm_joint_R",
    "rightLowerArm": "Skeleton_arm_joint_R__2_", "rightHand": "Skeleton_arm_joint_R__3_",
    **{f"{s}{b}": f"leg_joint_{c}_{k}" for s, c in (("left", "L"), ("right", "R"))
       for b, k in (("UpperLeg", 1), ("LowerLeg", 2), ("Foot", 3), ("Toes", 5))},
}


def _load(path: Path):
    if not path.exists():
        pytest.skip(f"shared sample data not present: {path}")
    return load_gltf(path, path.read_bytes(), Limits(), allow_missing=True)


class Character:
    """A loaded rig with its node skeleton, mapping, canonical skeleton and body mesh."""

    def __init__(self, path: Path, names: dict[str, str] | None = None):
        self.path = path
        self.doc = _load(path)
        self.ns = node_skeleton(self.doc)
        self.mapping = (node_mapping(self.ns) if names is None
                        else {c: self.ns.index(a) for c, a in names.items()})
        self.canonical = canonical_skeleton(self.ns, self.mapping)
        js = self.doc.json
        node = next(n for n in js["nodes"] if "mesh" in n and "skin" in n)  # the body
        self.skin = int(node["skin"])
        pos, jnt, wgt = [], [], []
        for prim in js["meshes"][int(node["mesh"])]["primitives"]:
            a = prim["attributes"]
            pos.append(as_float(self.doc, int(a["POSITION"])))
            jnt.append(self.doc.accessors[int(a["JOINTS_0"])].astype(np.int64))
            wgt.append(as_float(self.doc, int(a["WEIGHTS_0"])))
        self.positions, self.joints = np.concatenate(pos), np.concatenate(jnt)
        self.weights = np.concatenate(wgt)
        self.weights /= self.weights.sum(axis=1, keepdims=True)

    def skinned(self, world: np.ndarray) -> np.ndarray:
        """(n, 3) body vertices for one frame of node world matrices (n_nodes, 4, 4)."""
        return gs.skinned_positions(self.positions, self.joints, self.weights,
                                    gs.skin_matrices(self.doc, self.skin, world))


@pytest.fixture(scope="module")
def avatar() -> Character:
    return Character(AVATAR)


@pytest.fixture(scope="module")
def cesium() -> Character:
    return Character(DATA / "gltf" / "CesiumMan.glb", CESIUM_MAP)


def _angle(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    a = a / np.linalg.norm(a, axis=-1, keepdims=True)
    b = b / np.linalg.norm(b, axis=-1, keepdims=True)
    return np.degrees(np.arccos(np.clip((a * b).sum(-1), -1.0, 1.0)))


def test_avatar_skeleton_and_mapping(avatar):
    ns = avatar.ns
    assert len(ns.names) == 114 and ns.parents[0] == -1 and ns.names[0] == "Hips"
    # Mixamo's hips carry a 0.01 scale (centimetre joints) under a metre scene.
    assert np.allclose(decompose(ns.rest_local)[2][0], 0.01)
    names = {c: ns.names[a] for c, a in avatar.mapping.items()}
    assert names["chest"] == "Spine1" and names["leftHand"] == "LeftHand"
    sk = avatar.canonical
    assert sk.heads[sk.index("head"), 1] > 1.4 and sk.heads[sk.index("leftHand"), 0] > 0.5
    np.testing.assert_allclose(sk.heads[sk.index("leftLowerArm")],
                               ns.rest_world[ns.index("LeftForeArm"), :3, 3], atol=1e-6)


def test_missing_joints_are_named(avatar):
    mapping = {c: a for c, a in avatar.mapping.items() if c not in ("leftHand", "hips")}
    with pytest.raises(ValueError, match="no joint for hips, leftHand"):
        canonical_skeleton(avatar.ns, mapping)


def test_chest_and_toes_are_placed_when_unmapped(avatar):
    mapping = {c: a for c, a in avatar.mapping.items()
               if c not in ("chest", "leftToes", "rightToes")}
    sk = canonical_skeleton(avatar.ns, mapping)
    h = {n: sk.heads[sk.index(n)] for n in ("spine", "chest", "neck", "leftFoot", "leftToes")}
    assert h["spine"][1] < h["chest"][1] < h["neck"][1]
    assert h["leftToes"][2] > h["leftFoot"][2] and h["leftToes"][1] < h["leftFoot"][1]


def _check_clip(ch: Character, name: str) -> None:
    clip = make_clip(name, ch.canonical, FPS)
    nclip = retarget_to_nodes(clip, ch.canonical, ch.ns, ch.mapping)
    sk, ns = ch.canonical, ch.ns
    world_c = forward_kinematics(sk, clip.for_skeleton(sk.names), clip.root_translation)
    world_a = pose_world(ns, nclip)
    rest_a = ns.rest_world
    # (a) every mapped artist bone points where its canonical bone does, and turns as it does
    checked = 0
    for c, a in ch.mapping.items():
        ci = sk.index(c)
        delta = world_a[:, a, :3, :3] @ np.linalg.inv(rest_a[a, :3, :3])
        assert np.abs(delta - world_c[:, ci, :3, :3]).max() < 1e-6, c
        for k in np.flatnonzero(sk.parents == ci):
            if sk.names[k] not in ch.mapping:
                continue
            b = ch.mapping[sk.names[k]]
            ours = world_a[:, b, :3, 3] - world_a[:, a, :3, 3]
            theirs = world_c[:, k, :3, 3] - world_c[:, ci, :3, 3]
            assert _angle(ours, theirs).max() < DIRECTION_BOUND, f"{c}->{sk.names[k]}"
            checked += 1
    assert checked >= 16
    # The clip does move the arm (a wave raises the right hand above the head).
    if name == "wave":
        hand, head = ch.mapping["rightHand"], ch.mapping["head"]
        assert (world_a[-1, hand, 1, 3] > world_a[-1, head, 1, 3])
    # (b) hands follow the wrists: vertices mostly on the left hand keep their place relative
    # to the hand joint (only the forearm's small share of their weight can pull them).
    skin_joints = [int(j) for j in ch.doc.json["skins"][ch.skin]["joints"]]
    hand_node = ns.nodes[ch.mapping["leftHand"]]
    hand_slot = skin_joints.index(hand_node)
    on_hand = (ch.weights * (ch.joints == hand_slot)).sum(axis=1) > 0.5
    assert on_hand.sum() > 20
    scene = scene_world(ch.doc.json, ns, nclip)
    rest_scene = gs.world_matrices(ch.doc.json)
    rest_v = ch.skinned(rest_scene)[on_hand]
    worst = 0.0
    for f in range(0, nclip.frames, 4):
        posed = ch.skinned(scene[f])[on_hand]
        carry = scene[f, hand_node] @ np.linalg.inv(rest_scene[hand_node])
        expect = rest_v @ carry[:3, :3].T + carry[:3, 3]
        worst = max(worst, float(np.linalg.norm(posed - expect, axis=1).max()))
    assert worst < HAND_BOUND, f"hand vertices drift {worst * 100:.1f} cm from the wrist"


@pytest.mark.parametrize("name", ["wave", "idle"])
def test_avatar_plays_clips(avatar, name):
    _check_clip(avatar, name)


@pytest.mark.parametrize("name", ["wave", "idle"])
def test_cesium_man_plays_clips(cesium, name):
    # Other names, an A-pose, no shoulder joints, a Z-up armature under matrix nodes.
    _check_clip(cesium, name)


@pytest.mark.parametrize("which", ["avatar", "cesium"])
def test_zero_clip_is_the_bind_pose(request, which):
    ch = request.getfixturevalue(which)
    sk = ch.canonical
    frames = 3
    rot = np.zeros((frames, len(sk.names), 4), np.float32)
    rot[..., 3] = 1.0
    root = np.repeat(sk.heads[:1], frames, 0)
    zero = Clip("zero", FPS, sk.names, rot, root)
    nclip = retarget_to_nodes(zero, sk, ch.ns, ch.mapping)
    _, _, s = decompose(ch.ns.rest_local)
    local = trs_matrix(nclip.translations, nclip.rotations, np.broadcast_to(s, (frames,) + s.shape))
    np.testing.assert_allclose(local, np.broadcast_to(ch.ns.rest_local, local.shape), atol=1e-6)
    rest_scene = gs.world_matrices(ch.doc.json)
    bind = ch.skinned(rest_scene)
    posed = ch.skinned(scene_world(ch.doc.json, ch.ns, nclip)[1])
    assert np.abs(posed - bind).max() < 1e-6


def test_glb_with_animations_validates(avatar):
    clips = [retarget_to_nodes(make_clip(n, avatar.canonical, FPS), avatar.canonical,
                               avatar.ns, avatar.mapping) for n in ("wave", "idle")]
    doc, binary = read_glb(AVATAR.read_bytes())
    before = len(binary)
    added = add_node_animations(doc, binary, avatar.ns.nodes, clips)
    assert added == [0, 1] and len(binary) > before
    glb = pack_glb(doc, binary)
    assert errors_of(validate_gltf_bytes(glb)) == []
    # Read back: the keys reproduce the retargeted pose, finger joints are not animated.
    back = load_gltf(AVATAR, glb, Limits())
    anim = back.json["animations"][0]
    targets = {(c["target"]["node"], c["target"]["path"]) for c in anim["channels"]}
    hips = avatar.ns.nodes[0]
    assert (hips, "translation") in targets
    finger = avatar.ns.nodes[avatar.ns.index("LeftHandIndex1")]
    assert (finger, "rotation") not in targets
    at = np.arange(clips[0].frames) / FPS
    sampled = gs.sample_animation(back, anim, at)
    arm = avatar.ns.index("RightArm")
    q = sampled[avatar.ns.nodes[arm]]["rotation"]
    dots = np.abs((q * clips[0].rotations[:, arm]).sum(-1))
    assert (dots > 1 - 1e-6).all()
