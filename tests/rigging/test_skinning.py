"""LBS and DQS on arrays: exact maths, torch agrees with numpy, Blender agrees with reskin."""

from __future__ import annotations

import numpy as np
import pytest

from reskin.core.skeleton import forward_kinematics, skinning_matrices
from reskin.core.transforms import matrix_to_quat, quat_to_matrix
from reskin.rigging.skinning import dqs, lbs, skin_torch

BLENDER_TOLERANCE = 1e-4  # fraction of the character's height


def _random_rig(seed: int = 0, f: int = 5, j: int = 6, n: int = 300, k: int = 4):
    rng = np.random.default_rng(seed)
    mats = np.tile(np.eye(4), (f, j, 1, 1))
    mats[..., :3, :3] = quat_to_matrix(rng.normal(size=(f, j, 4)))
    mats[..., :3, 3] = rng.normal(size=(f, j, 3))
    v = rng.normal(size=(n, 3))
    joints = rng.integers(0, j, (n, k))
    w = rng.random((n, k))
    w = -np.sort(-w / w.sum(axis=1, keepdims=True), axis=1)
    return v, joints, w, mats


def test_lbs_matches_the_definition():
    v, joints, w, mats = _random_rig()
    expected = np.zeros((len(mats), len(v), 3))
    for i in range(joints.shape[1]):
        m = mats[:, joints[:, i]]  # (f, n, 4, 4)
        expected += w[:, i, None] * (np.einsum("fnij,nj->fni", m[..., :3, :3], v) + m[..., :3, 3])
    np.testing.assert_allclose(lbs(v, joints, w, mats), expected, atol=1e-12)
    np.testing.assert_allclose(lbs(v, joints, w, mats[2]), expected[2], atol=1e-12)


def test_dqs_is_rigid_for_single_influences_and_keeps_twist_volume():
    v, joints, w, mats = _random_rig()
    one = np.zeros_like(w)
    one[:, 0] = 1.0
    np.testing.assert_allclose(dqs(v, joints, one, mats), lbs(v, joints, one, mats), atol=1e-12)
    # Half-and-half between a rest bone and one twisted 180 degrees about x: LBS collapses the
    # cross-section onto the axis (candy wrapper), DQS keeps its radius.
    twist = np.tile(np.eye(4), (2, 1, 1))
    twist[1, :3, :3] = quat_to_matrix(np.array([1.0, 0.0, 0.0, 1e-3]))
    ring = np.array([[0.0, np.cos(a), np.sin(a)] for a in np.linspace(0, 6, 20)])
    jn = np.tile([0, 1], (20, 1))
    half = np.full((20, 2), 0.5)
    radius_lbs = np.linalg.norm(lbs(ring, jn, half, twist)[:, 1:], axis=1)
    radius_dqs = np.linalg.norm(dqs(ring, jn, half, twist)[:, 1:], axis=1)
    assert radius_lbs.max() < 0.01
    np.testing.assert_allclose(radius_dqs, 1.0, atol=1e-9)


def test_matrix_to_quat_round_trip():
    q = np.random.default_rng(1).normal(size=(500, 4))
    m = quat_to_matrix(q)
    np.testing.assert_allclose(quat_to_matrix(matrix_to_quat(m)), m, atol=1e-12)


@pytest.mark.parametrize("method, numpy_skin", [("lbs", lbs), ("dqs", dqs)])
def test_torch_batch_matches_numpy(method, numpy_skin):
    torch = pytest.importorskip("torch")
    torch.set_num_threads(1)
    v, joints, w, mats = _random_rig(f=40)
    expected = numpy_skin(v, joints, w, mats)
    got64 = skin_torch(v, joints, w, mats, method=method, dtype=torch.float64, frame_block=16)
    np.testing.assert_allclose(got64.numpy(), expected, atol=1e-12)
    got32 = skin_torch(v, joints, w, torch.as_tensor(mats), method=method)
    assert got32.dtype == torch.float32
    np.testing.assert_allclose(got32.numpy(), expected, atol=1e-4)


def test_rejects_bad_shapes():
    v, joints, w, mats = _random_rig()
    with pytest.raises(ValueError, match="matrices"):
        lbs(v, joints, w, mats[..., :3, :])
    with pytest.raises(ValueError, match="joint indices"):
        dqs(v, joints + 10, w, mats)


# ---- against Blender's armature modifier ------------------------------------------------


@pytest.fixture(scope="module")
def blender_character(tmp_path_factory):
    pytest.importorskip("bpy")  # only to know it is installed; it runs in a subprocess
    from reskin.assets.generator import HumanoidParams, generate_humanoid
    from reskin.assets.gltf.character import write_character_glb
    from reskin.rigging.fit import fit_skeleton
    from reskin.rigging.procedural_clips import make_clip
    from reskin.rigging.weights import bind_weights

    mesh = generate_humanoid(HumanoidParams(voxels_per_height=64))
    skeleton = fit_skeleton(mesh)
    joints, weights = bind_weights(mesh.vertices, mesh.faces, skeleton)
    clips = [make_clip(name, skeleton, 24.0, 2.0) for name in ("idle", "wave")]
    path = tmp_path_factory.mktemp("blender") / "character.glb"
    path.write_bytes(write_character_glb(mesh, skeleton, joints, weights, name="c", clips=clips))
    return mesh, skeleton, joints, weights, clips, path


@pytest.mark.parametrize("preserve_volume", [False, True], ids=["lbs", "dqs"])
def test_agrees_with_blender_armature(blender_character, preserve_volume):
    from scipy.spatial import cKDTree

    from reskin.rigging.blender_ref import blender_rig_eval

    mesh, skeleton, joints, weights, clips, path = blender_character
    frames = [0, 7, 20, 33, 48]
    clip = clips[1]
    ref = blender_rig_eval("pose", path, fps=clip.fps, clip=clip.name, frames=frames,
                           preserve_volume=preserve_volume)
    # Blender holds the GLB's vertices (split at UV seams); map each to its welded original.
    dist, index = cKDTree(mesh.vertices).query(ref["rest"])
    assert dist.max() < 1e-6
    mats = skinning_matrices(
        skeleton, forward_kinematics(skeleton, clip.rotations[frames],
                                     clip.root_translation[frames]))
    skin = dqs if preserve_volume else lbs
    ours = skin(mesh.vertices, joints, weights, mats)[:, index]
    error = np.abs(ours - ref["posed"]).max() / mesh.height
    assert error < BLENDER_TOLERANCE
    # The compiled float32 paths agree with Blender as closely: a few frames (per-vertex
    # gathers) and the same frames repeated into frame blocks.
    from reskin.rigging.skinning_fast import dqs_fast, lbs_fast

    fast = dqs_fast if preserve_volume else lbs_fast
    for many in (mats, np.concatenate([mats] * 8)):
        got = fast(mesh.vertices, joints, weights, many)[: len(frames)][:, index]
        assert np.abs(got - ref["posed"]).max() / mesh.height < BLENDER_TOLERANCE
    # The pose really moves the mesh, and LBS and DQS really differ, so the match means something.
    assert np.abs(ref["posed"] - ref["rest"]).max() > 0.2 * mesh.height
    other = (lbs if preserve_volume else dqs)(mesh.vertices, joints, weights, mats)[:, index]
    assert np.abs(other - ref["posed"]).max() / mesh.height > 10 * error
