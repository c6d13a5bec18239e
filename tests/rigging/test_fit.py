"""Skeleton fitting from the shape of a T-pose body, checked against the generator's joints."""

from __future__ import annotations

import numpy as np
import pytest

from reskin.assets.generator import HumanoidParams, generate_humanoid
from reskin.core.mesh import Mesh
from reskin.core.skeleton import HUMANOID_JOINTS
from reskin.rigging.fit import fit_skeleton

JOINT_TOLERANCE = 0.06  # fraction of height between a fitted joint and the construction's
MIRROR_TOLERANCE = 0.01  # metres

PARAM_SETS = {
    "default": HumanoidParams(),
    "tall_slim": HumanoidParams(
        height=1.9, build=0.8, leg_length=0.52, shoulder_width=0.2, arm_length=0.44
    ),
    "short_stocky_big_head": HumanoidParams(
        height=1.2, build=1.4, leg_length=0.4, head_scale=1.5, shoulder_width=0.27, arm_length=0.36
    ),
}


def winding_number(vertices: np.ndarray, faces: np.ndarray, points: np.ndarray) -> np.ndarray:
    """Generalised winding number (p,) of points (p, 3): ~1 inside a closed outward mesh, ~0
    outside (van Oosterom & Strackee solid angles)."""
    tri = vertices[faces].astype(np.float64)
    out = []
    for p in np.asarray(points, np.float64):
        a, b, c = (tri[:, i] - p for i in range(3))
        la, lb, lc = (np.linalg.norm(x, axis=1) for x in (a, b, c))
        num = np.einsum("ij,ij->i", a, np.cross(b, c))
        den = (
            la * lb * lc
            + np.einsum("ij,ij->i", a, b) * lc
            + np.einsum("ij,ij->i", b, c) * la
            + np.einsum("ij,ij->i", c, a) * lb
        )
        out.append(np.arctan2(num, den).sum() / (2 * np.pi))
    return np.array(out)


@pytest.fixture(scope="module", params=sorted(PARAM_SETS))
def fitted(request):
    params = PARAM_SETS[request.param]
    mesh = generate_humanoid(params)
    return params, mesh, fit_skeleton(mesh)


def test_joints_near_the_construction(fitted):
    params, mesh, skeleton = fitted
    assert skeleton.names == tuple(name for name, _ in HUMANOID_JOINTS)
    landmarks = mesh.meta["landmarks"]
    for i, name in enumerate(skeleton.names):
        err = np.linalg.norm(skeleton.heads[i] - np.array(landmarks[name])) / params.height
        assert err < JOINT_TOLERANCE, f"{name} is {err:.3f} of the height off"


def test_joints_inside_the_body(fitted):
    _, mesh, skeleton = fitted
    inside = winding_number(mesh.vertices, mesh.faces, skeleton.heads) > 0.5
    assert inside.all(), [n for n, ok in zip(skeleton.names, inside, strict=True) if not ok]


def test_left_and_right_mirror(fitted):
    _, _, skeleton = fitted
    for name in skeleton.names:
        i = skeleton.index(name)
        if name.startswith("left"):
            j = skeleton.index("right" + name[4:])
            mirrored = skeleton.heads[j] * np.array([-1, 1, 1])
            assert np.linalg.norm(skeleton.heads[i] - mirrored) < MIRROR_TOLERANCE, name
            assert skeleton.heads[i, 0] > 0  # the character's left is +X
        elif not name.startswith("right"):
            assert abs(skeleton.heads[i, 0]) < MIRROR_TOLERANCE, name


def test_tails(fitted):
    params, mesh, sk = fitted
    for i in range(len(sk.names)):
        children = np.flatnonzero(sk.parents == i)
        if len(children):
            assert np.array_equal(sk.tails[i], sk.heads[children[0]])
        else:
            assert np.linalg.norm(sk.tails[i] - sk.heads[i]) > 0.02 * params.height
    head, hand, toes = sk.index("head"), sk.index("leftHand"), sk.index("leftToes")
    assert sk.tails[head, 1] == pytest.approx(mesh.vertices[:, 1].max(), abs=0.01)
    assert sk.tails[hand, 0] == pytest.approx(mesh.vertices[:, 0].max(), abs=0.01)
    assert sk.tails[toes, 2] > sk.heads[toes, 2]


def test_open_mesh_with_holes_still_fits():
    mesh = generate_humanoid(HumanoidParams(voxels_per_height=120))
    closed = fit_skeleton(mesh)
    keep = np.ones(len(mesh.faces), bool)
    keep[np.random.default_rng(0).choice(len(mesh.faces), 200, replace=False)] = False
    holed = Mesh(
        mesh.vertices,
        mesh.faces[keep],
        mesh.uvs,
        mesh.uv_faces[keep],
        mesh.parts[keep],
        mesh.part_names,
    )
    err = np.linalg.norm(fit_skeleton(holed).heads - closed.heads, axis=1) / mesh.height
    assert err.max() < 0.03


def _transformed(mesh: Mesh, matrix: np.ndarray) -> Mesh:
    v = mesh.vertices @ matrix.T.astype(np.float32)
    v[:, 1] -= v[:, 1].min()
    return Mesh(v, mesh.faces, mesh.uvs, mesh.uv_faces, mesh.parts, mesh.part_names)


@pytest.fixture(scope="module")
def coarse():
    return generate_humanoid(HumanoidParams(voxels_per_height=80))


def test_arms_along_z_are_rejected(coarse):
    quarter_turn = np.array([[0, 0, 1], [0, 1, 0], [-1, 0, 0]], np.float64)
    with pytest.raises(ValueError, match="arm"):
        fit_skeleton(_transformed(coarse, quarter_turn))


def test_upside_down_is_rejected(coarse):
    flip = np.diag([-1.0, -1.0, 1.0])
    with pytest.raises(ValueError, match="cannot fit a skeleton"):
        fit_skeleton(_transformed(coarse, flip))


def test_a_box_is_not_a_humanoid():
    import trimesh

    box = trimesh.creation.box(extents=(0.5, 1.8, 0.3))
    v = np.asarray(box.vertices, np.float32)
    v[:, 1] -= v[:, 1].min()
    f = np.asarray(box.faces, np.int32)
    mesh = Mesh(
        v, f, np.zeros((1, 2), np.float32), np.zeros_like(f), np.zeros(len(f), np.int16), ("body",)
    )
    with pytest.raises(ValueError, match="cannot fit a skeleton"):
        fit_skeleton(mesh)


def test_uses_geometry_not_landmarks(coarse):
    stripped = Mesh(
        coarse.vertices, coarse.faces, coarse.uvs, coarse.uv_faces, coarse.parts, coarse.part_names
    )
    assert stripped.meta == {}
    assert np.array_equal(fit_skeleton(stripped).heads, fit_skeleton(coarse).heads)
