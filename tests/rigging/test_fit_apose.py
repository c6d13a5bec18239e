"""Skeleton fitting with lowered arms (A-pose): MakeHuman's base mesh, skinned generated bodies."""

from __future__ import annotations

import functools
import math
from pathlib import Path

import numpy as np
import pytest

from reskin.assets.generator import HumanoidParams, generate_humanoid
from reskin.core.mesh import Mesh
from reskin.core.skeleton import Skeleton, forward_kinematics, skinning_matrices
from reskin.rigging.body import body_mask
from reskin.rigging.fit import fit_skeleton
from reskin.rigging.skinning import lbs
from reskin.rigging.weights import bind_weights
from tests.rigging.test_body import read_obj_groups
from tests.rigging.test_fit import winding_number

HM08 = Path("meshes") / "humanoid" / "makehuman_base_hm08.obj"
MIRROR_TOLERANCE = 0.02  # fraction of the height
POSED_TOLERANCE = 0.05  # fraction of the height between the re-fit and the posed joints


def _mesh(vertices: np.ndarray, faces: np.ndarray) -> Mesh:
    """A Mesh of the faces' vertices only (unused vertices dropped), without UVs or parts."""
    used, faces = np.unique(faces, return_inverse=True)
    f = faces.reshape(-1, 3).astype(np.int32)
    return Mesh(np.asarray(vertices, np.float32)[used], f, np.zeros((1, 2), np.float32),
                np.zeros_like(f), np.zeros(len(f), np.int16), ("body",))


@functools.cache
def _hm08_fit(path: Path) -> tuple[Mesh, Skeleton]:
    v, f, _ = read_obj_groups(path)
    body = _mesh(v, f[body_mask(v, f)])
    return body, fit_skeleton(body)


@pytest.fixture
def hm08(shared_data) -> tuple[Mesh, Skeleton]:
    path = shared_data / HM08
    if not path.exists():
        pytest.skip(f"sample mesh not present: {path}")
    return _hm08_fit(path)


def test_hm08_joints_inside_the_body(hm08):
    body, sk = hm08
    inside = winding_number(body.vertices, body.faces, sk.heads) > 0.5
    assert inside.all(), [n for n, ok in zip(sk.names, inside, strict=True) if not ok]


def test_hm08_left_and_right_mirror(hm08):
    body, sk = hm08
    for name in sk.names:
        if name.startswith("left"):
            i, j = sk.index(name), sk.index("right" + name[4:])
            mirrored = sk.heads[j] * np.array([-1, 1, 1])
            assert np.linalg.norm(sk.heads[i] - mirrored) < MIRROR_TOLERANCE * body.height, name
            assert sk.heads[i, 0] > 0  # the character's left is +X


def test_hm08_arms_and_legs_in_order(hm08):
    body, sk = hm08
    H = body.height
    for side in ("left", "right"):
        sh, el, wr = (sk.heads[sk.index(side + k)] for k in ("UpperArm", "LowerArm", "Hand"))
        tip = sk.tails[sk.index(side + "Hand")]
        # An A-pose: the arm runs down and out from the shoulder.
        assert wr[1] < el[1] < sh[1] and abs(wr[0]) > abs(el[0]) > abs(sh[0])
        # The elbow lies between shoulder and wrist, near the line joining them.
        u = wr - sh
        f = float((el - sh) @ u / (u @ u))
        assert 0.3 < f < 0.7
        assert np.linalg.norm(sh + f * u - el) < 0.06 * H
        # The wrist is near the arm's far end: a hand's length (5-15 % of the height) short of
        # the fingertip, which is the arm's lowest outmost reach.
        assert 0.04 * H < np.linalg.norm(tip - wr) < 0.15 * H
        arm_x = body.vertices[:, 0] * (1 if side == "left" else -1)
        assert abs(tip[0]) > 0.9 * arm_x.max()
        hip, knee, ankle = (sk.heads[sk.index(side + k)] for k in ("UpperLeg", "LowerLeg", "Foot"))
        assert hip[1] > knee[1] > ankle[1]
    assert sk.heads[sk.index("head"), 1] > sk.heads[sk.index("neck"), 1] > sk.heads[
        sk.index("leftUpperArm"), 1]


def test_hm08_hands_are_skinned_to_hands(hm08):
    body, sk = hm08
    joints, weights = bind_weights(body.vertices, body.faces, sk)
    hand_x = 0.85 * body.vertices[:, 0].max()  # the outermost 15 %: hands and fingers
    for side, name in ((1, "left"), (-1, "right")):
        hand = side * body.vertices[:, 0] > hand_x
        assert hand.sum() > 100
        ours = np.isin(joints[hand], [sk.index(name + "Hand"), sk.index(name + "LowerArm")])
        share = (weights[hand] * ours).sum(axis=1)
        assert np.median(share) > 0.95 and (share > 0.5).mean() > 0.95, name


def _lower_arms(mesh: Mesh, degrees: float) -> tuple[Mesh, np.ndarray]:
    """The T-pose ``mesh`` with both upper arms rotated ``degrees`` down by reskin's own rig.

    returns the posed mesh and the posed joint positions (j, 3) of its T-pose fit
    """
    sk = fit_skeleton(mesh)
    joints, weights = bind_weights(mesh.vertices, mesh.faces, sk)
    rot = np.zeros((1, len(sk.names), 4))
    rot[..., 3] = 1.0
    half = math.radians(degrees) / 2
    for name, sign in (("leftUpperArm", -1), ("rightUpperArm", 1)):  # about Z, tips downward
        rot[0, sk.index(name)] = [0.0, 0.0, sign * math.sin(half), math.cos(half)]
    world = forward_kinematics(sk, rot)
    v = lbs(mesh.vertices, joints, weights, skinning_matrices(sk, world)[0]).astype(np.float32)
    posed = Mesh(v, mesh.faces, mesh.uvs, mesh.uv_faces, mesh.parts, mesh.part_names)
    return posed, world[0, :, :3, 3]


@pytest.mark.parametrize("name,params", [
    ("default", HumanoidParams(voxels_per_height=120)),
    ("short_stocky", HumanoidParams(height=1.2, build=1.4, leg_length=0.4, head_scale=1.5,
                                    shoulder_width=0.27, arm_length=0.36, voxels_per_height=120)),
])
def test_skinned_a_pose_recovers_the_joints(name, params):
    posed, expected = _lower_arms(generate_humanoid(params), 40.0)
    sk = fit_skeleton(posed)
    err = np.linalg.norm(sk.heads - expected, axis=1) / posed.height
    worst = int(np.argmax(err))
    assert err.max() < POSED_TOLERANCE, f"{name}: {sk.names[worst]} off by {err[worst]:.3f}"
    hand = sk.heads[sk.index("leftHand")] - sk.heads[sk.index("leftUpperArm")]
    assert math.degrees(math.atan2(-hand[1], hand[0])) == pytest.approx(40.0, abs=8.0)
