"""Bone-heat skin weights: normalised, sparse, reproducible, on the right bones, robust input."""

from __future__ import annotations

import numpy as np
import pytest
import trimesh

from reskin.assets.generator import PART_NAMES, HumanoidParams, generate_humanoid
from reskin.core.skeleton import Skeleton
from reskin.rigging.fit import fit_skeleton
from reskin.rigging.weights import bind_weights, normalize_top_k

SUM_TOLERANCE = 1e-6


@pytest.fixture(scope="module")
def rigged():
    mesh = generate_humanoid(HumanoidParams())
    skeleton = fit_skeleton(mesh)
    joints, weights = bind_weights(mesh.vertices, mesh.faces, skeleton)
    return mesh, skeleton, joints, weights


def _part_vertices(mesh, part):
    return np.unique(mesh.faces[mesh.parts == PART_NAMES.index(part)])


def _assert_valid(joints, weights, n, k, n_joints):
    assert joints.shape == weights.shape == (n, k)
    assert joints.dtype == np.uint16 and weights.dtype == np.float32
    assert np.isfinite(weights).all()
    assert np.abs(weights.astype(np.float64).sum(axis=1) - 1).max() < SUM_TOLERANCE
    assert (weights >= 0).all() and (np.diff(weights, axis=1) <= 0).all()  # sorted descending
    assert (joints[weights == 0] == 0).all()
    assert joints.max() < n_joints


def test_rows_are_normalised_and_sparse(rigged):
    mesh, skeleton, joints, weights = rigged
    _assert_valid(joints, weights, len(mesh.vertices), 4, len(skeleton.names))
    # Weights blend: many vertices have more than one influence, none is a copy of another slot.
    assert (weights[:, 1] > 0.05).mean() > 0.2
    used = weights > 0
    for row in np.flatnonzero(used.sum(axis=1) > 1)[:500]:
        assert len(set(joints[row, used[row]])) == used[row].sum()


def test_bit_identical_across_runs(rigged):
    mesh, skeleton, joints, weights = rigged
    j2, w2 = bind_weights(mesh.vertices, mesh.faces, skeleton)
    assert np.array_equal(joints, j2) and np.array_equal(weights, w2)


@pytest.mark.parametrize("side, s", [("l", "left"), ("r", "right")])
def test_limbs_follow_their_bones(rigged, side, s):
    mesh, sk, joints, weights = rigged
    names = np.array(sk.names)
    hand = names[joints[_part_vertices(mesh, f"hand_{side}"), 0]]
    assert np.isin(hand, [f"{s}Hand", f"{s}LowerArm"]).all()
    thigh = _part_vertices(mesh, f"thigh_{side}")
    dominant = names[joints[thigh, 0]]
    assert (dominant == f"{s}UpperLeg").mean() > 0.95
    # Away from the crotch's mid-plane and the knee, every thigh vertex is the thigh's.
    hip, knee = sk.heads[sk.index(f"{s}UpperLeg")], sk.heads[sk.index(f"{s}LowerLeg")]
    t = (hip[1] - mesh.vertices[thigh, 1]) / (hip[1] - knee[1])
    mid = (t > 0.25) & (t < 0.75) & (np.abs(mesh.vertices[thigh, 0]) > 0.01)
    assert mid.sum() > 100 and (dominant[mid] == f"{s}UpperLeg").all()
    head = names[joints[_part_vertices(mesh, "head"), 0]]
    assert np.isin(head, ["head", "neck"]).all() and (head == "head").mean() > 0.9


def test_weights_blend_across_the_elbow(rigged):
    mesh, sk, joints, weights = rigged
    elbow = sk.heads[sk.index("leftLowerArm")]
    ring = np.flatnonzero(np.abs(mesh.vertices[:, 0] - elbow[0]) < 0.005)
    assert len(ring) > 10

    def weight_of(name):
        return np.where(joints[ring] == sk.index(name), weights[ring], 0).sum(axis=1)

    upper, lower = weight_of("leftUpperArm"), weight_of("leftLowerArm")
    assert (upper > 0.25).all() and (lower > 0.25).all()
    assert (upper + lower > 0.95).all()


def test_exclude_and_max_influences(rigged):
    mesh, sk, _, _ = rigged
    joints, weights = bind_weights(mesh.vertices, mesh.faces, sk, 2, exclude=("hips",))
    _assert_valid(joints, weights, len(mesh.vertices), 2, len(sk.names))
    assert not (joints[weights > 0] == sk.index("hips")).any()
    joints1, weights1 = bind_weights(mesh.vertices, mesh.faces, sk, 1)
    assert (weights1 == 1).all()
    with pytest.raises(ValueError, match="lacks"):
        bind_weights(mesh.vertices, mesh.faces, sk, exclude=("tail",))


def _chain_skeleton() -> Skeleton:
    heads = np.array([[0, 0, 0], [1, 0, 0], [2, 0, 0]], np.float32)
    tails = np.array([[1, 0, 0], [2, 0, 0], [3, 0, 0]], np.float32)
    return Skeleton(("root", "mid", "end"), np.array([-1, 0, 1], np.int32), heads, tails)


def test_islands_and_non_manifold_soup():
    parts = []
    for i in range(12):
        shape = (
            trimesh.creation.box(extents=(0.3, 0.3, 0.3))
            if i % 2
            else trimesh.creation.icosphere(subdivisions=1, radius=0.2)
        )
        parts.append(shape.apply_translation([0.25 * i, 0.5 * (i % 3) - 0.5, 0.1 * (i % 2)]))
    soup = trimesh.util.concatenate(parts)
    v = np.asarray(soup.vertices, np.float64)
    f = np.asarray(soup.faces, np.int64)
    n = len(v)
    # Three triangles on one edge (non-manifold), duplicated faces, a degenerate face, a
    # zero-area sliver and an unreferenced vertex.
    extra_v = np.array([[5, 0, 0], [5, 1, 0], [6, 0, 0], [4, 0, 0], [5, 0, 1], [9, 9, 9]], float)
    v = np.concatenate([v, extra_v])
    fan = np.array([[n, n + 1, n + 2], [n, n + 1, n + 3], [n, n + 1, n + 4], [n, n, n + 1]])
    sliver = np.array([[0, 1, 0]])
    f = np.concatenate([f, f[:20], fan, sliver])
    sk = _chain_skeleton()
    joints, weights = bind_weights(v, f, sk)
    _assert_valid(joints, weights, len(v), 4, 3)
    # Islands far along the chain belong to the far bone.
    far = v[:, 0] > 2.5
    assert (joints[far, 0] == 2).all()
    j2, w2 = bind_weights(v, f, sk)
    assert np.array_equal(joints, j2) and np.array_equal(weights, w2)


def test_vertices_without_faces():
    v = np.array([[0.5, 0.1, 0], [2.5, 0.2, 0]], float)
    joints, weights = bind_weights(v, np.zeros((0, 3), np.int64), _chain_skeleton())
    assert joints[:, 0].tolist() == [0, 2] and (weights[:, 0] == 1).all()


def test_normalize_top_k():
    dense = np.array([[0.1, 0.5, 0.2, 0.2], [0.0, 0.0, 3.0, 0.0], [1.0, 1.0, 0.0, 0.0]])
    joints, weights = normalize_top_k(dense, 3)
    assert joints.tolist() == [[1, 2, 3], [2, 0, 0], [0, 1, 0]]
    np.testing.assert_allclose(weights, [[5 / 9, 2 / 9, 2 / 9], [1, 0, 0], [0.5, 0.5, 0]])
    joints, weights = normalize_top_k(dense[[0, 2], :2], 4)  # more slots than joints: padding
    assert joints.shape == (2, 4) and (weights[:, 2:] == 0).all() and (joints[:, 2:] == 0).all()
    with pytest.raises(ValueError, match="no positive weight"):
        normalize_top_k(np.array([[0.0, -1.0]]), 2)
    with pytest.raises(ValueError, match="k must be"):
        normalize_top_k(dense, 0)
