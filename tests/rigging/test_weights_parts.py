"""Weights that respect parts: islands follow the body part they sit on, rigid pieces stay rigid."""

from __future__ import annotations

import sys
from pathlib import Path

import numpy as np
import pytest
import trimesh

from reskin.assets.generator import HumanoidParams, generate_humanoid
from reskin.core.skeleton import forward_kinematics, skinning_matrices
from reskin.rigging.fit import fit_skeleton
from reskin.rigging.islands import components, find_parts
from reskin.rigging.procedural_clips import axis_angle
from reskin.rigging.skinning import lbs
from reskin.rigging.weights import bind_weights

AVATAR = Path(__file__).resolve().parents[2] / ".." / "shared" / "data" / "avatars" / (
    "White_M_1_Busi.glb")
RIGID_TOLERANCE = 1e-5  # metres a rigid piece's internal distances may change under a pose
STILL_TOLERANCE = 1e-4  # metres an island may move when only bones it does not follow move


def _dense(joints: np.ndarray, weights: np.ndarray, n_joints: int) -> np.ndarray:
    out = np.zeros((len(joints), n_joints))
    np.add.at(out, (np.arange(len(joints))[:, None], joints.astype(np.int64)), weights)
    return out


@pytest.fixture(scope="module")
def dressed():
    """The procedural character with an eye inside its head, a bolt on the side of its head
    and a loose rigid shell around its left forearm, all separate islands."""
    body = generate_humanoid(HumanoidParams())
    skeleton = fit_skeleton(body)
    v = body.vertices.astype(np.float64)
    head = (v[:, 1] > 1.6) & (v[:, 1] < 1.7)
    side = np.flatnonzero(head)[np.argmax(v[head, 0])]
    eye = trimesh.creation.icosphere(2, radius=0.015)
    eye.apply_translation([0.03, 1.66, 0.03])
    bolt = trimesh.creation.box([0.02, 0.02, 0.02])
    bolt.apply_translation(v[side] + [0.012, 0.0, 0.0])
    near_forearm = (v[:, 0] > 0.55) & (v[:, 0] < 0.65)
    radius = np.linalg.norm(v[near_forearm][:, 1:] - [1.391, 0.0], axis=1).max()
    shell = trimesh.creation.cylinder(radius + 0.02, 0.16, sections=24)
    shell.apply_transform(trimesh.transformations.rotation_matrix(np.pi / 2, [0, 1, 0]))
    shell.apply_translation([0.61, 1.391, 0.0])
    pieces = {"body": (v, body.faces), "eye": (eye.vertices, eye.faces),
              "bolt": (bolt.vertices, bolt.faces), "shell": (shell.vertices, shell.faces)}
    verts, faces, where, offset = [], [], {}, 0
    for name, (pv, pf) in pieces.items():
        verts.append(pv)
        faces.append(np.asarray(pf) + offset)
        where[name] = np.arange(offset, offset + len(pv))
        offset += len(pv)
    verts, faces = np.concatenate(verts), np.concatenate(faces)
    joints, weights = bind_weights(verts, faces, skeleton)
    body_joints, body_weights = bind_weights(v, body.faces, skeleton)
    return skeleton, verts, joints, weights, where, (body_joints, body_weights)


def _pose(skeleton, turns):
    rot = np.zeros((1, len(skeleton.names), 4))
    rot[..., 3] = 1.0
    for joint, axis, degrees in turns:
        rot[0, skeleton.index(joint)] = axis_angle(axis, np.radians([degrees]))[0]
    return skinning_matrices(skeleton, forward_kinematics(skeleton, rot))[0]


def test_procedural_character_is_one_body_and_its_face_pieces_ride_on_the_head():
    body = generate_humanoid(HumanoidParams())
    label = components(len(body.vertices), body.faces)
    # One voxel body (hair included) and 13 face pieces: eyeballs, lids, brows, lips, teeth.
    assert label.max() == 13
    skeleton = fit_skeleton(body)
    parts = find_parts(body.vertices, body.faces, skeleton.heads, skeleton.tails,
                       np.arange(len(skeleton.names)), len(skeleton.names))
    assert parts is not None
    voxel = np.unique(body.faces[body.parts <= body.part_names.index("hair")])
    assert set(np.flatnonzero(parts.label == parts.main)) == set(voxel)
    joints, weights = bind_weights(body.vertices, body.faces, skeleton, max_influences=4)
    head = skeleton.index("head")
    n = len(skeleton.names)
    for c in range(1, label.max() + 1):
        w = _dense(joints[label == c], weights[label == c], n)
        assert np.abs(w - w[0]).max() < 1e-6  # rigid
        assert w[0, head] > 0.8, c


def test_islands_do_not_change_the_body(dressed):
    skeleton, _, joints, weights, where, (bj, bw) = dressed
    n = len(skeleton.names)
    ours = _dense(joints[where["body"]], weights[where["body"]], n)
    alone = _dense(bj, bw, n)
    assert np.abs(ours - alone).max() < 1e-4


@pytest.mark.parametrize("island", ["eye", "bolt"])
def test_head_islands_take_the_head_weights_as_one_piece(dressed, island):
    skeleton, verts, joints, weights, where, _ = dressed
    n = len(skeleton.names)
    w = _dense(joints[where[island]], weights[where[island]], n)
    assert np.abs(w - w[0]).max() < 1e-6  # one constant vector: it moves as one piece
    head, neck = skeleton.index("head"), skeleton.index("neck")
    # The head's surface there (heat blends a little neck and shoulder into it), no arm.
    assert w[0, head] > 0.8 and w[0, head] + w[0, neck] > 0.95
    arm = [skeleton.index(f"{side}{bone}") for side in ("left", "right")
           for bone in ("UpperArm", "LowerArm", "Hand")]
    assert w[0, arm].sum() < 1e-3
    # Raising both arms leaves it where it was; turning the head carries it with the head.
    arms = _pose(skeleton, [("leftUpperArm", (0, 0, 1), 80), ("rightUpperArm", (0, 0, 1), -80)])
    still = lbs(verts[where[island]], joints[where[island]], weights[where[island]], arms)
    assert np.linalg.norm(still - verts[where[island]], axis=1).max() < STILL_TOLERANCE
    turn = _pose(skeleton, [("head", (0, 1, 0), 60)])
    moved = lbs(verts[where[island]], joints[where[island]], weights[where[island]], turn)
    pivot = skeleton.heads[head]
    assert np.linalg.norm(moved - verts[where[island]], axis=1).min() > 0.3 * np.linalg.norm(
        (verts[where[island]] - pivot)[:, [0, 2]], axis=1).min()


def test_rigid_forearm_shell_follows_the_forearm_without_bending(dressed):
    skeleton, verts, joints, weights, where, _ = dressed
    n = len(skeleton.names)
    w = _dense(joints[where["shell"]], weights[where["shell"]], n)
    forearm = skeleton.index("leftLowerArm")
    assert np.allclose(w[:, forearm], 1.0)
    bend = _pose(skeleton, [("leftLowerArm", (0, 1, 0), -90), ("leftUpperArm", (0, 0, 1), -30)])
    rest = verts[where["shell"]]
    posed = lbs(rest, joints[where["shell"]], weights[where["shell"]], bend)

    def pairwise(p):
        return np.linalg.norm(p[:, None] - p[None], axis=2)
    assert np.abs(pairwise(posed) - pairwise(rest)).max() < RIGID_TOLERANCE


@pytest.mark.skipif(not AVATAR.exists(), reason="needs ../shared/data/avatars")
def test_avatar_eyes_and_teeth_are_rigid_and_eyes_follow_their_eye_bones():
    sys.path.insert(0, str(Path(__file__).resolve().parents[2] / "bench"))
    from rig_weights import end_sites, load_avatar

    av = load_avatar(AVATAR)
    s = av.skeleton
    joints, weights = bind_weights(av.vertices, av.faces, s, exclude=end_sites(s))
    n = len(s.names)
    for p, name in enumerate(av.part_names):
        sel = av.part == p
        w = _dense(joints[sel], weights[sel], n)
        if name.endswith("eye"):
            bone = s.index("LeftEye" if "_L_" in name else "RightEye")
            assert np.allclose(w[:, bone], 1.0), name  # as the artist weighted them
        if "Teeth" in name:
            # Rigid islands (the lower teeth are three pieces): few distinct weight rows.
            assert len(np.unique(w.round(6), axis=0)) <= 3, name
