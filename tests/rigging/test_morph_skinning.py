"""Morph targets before skinning: sparse storage, LBS/DQS with morphs equal skinning the morphed
mesh frame by frame, and torch agrees with numpy."""

from __future__ import annotations

import numpy as np
import pytest

from reskin.core.transforms import quat_to_matrix
from reskin.rigging.morphs import apply_morphs, morph_targets
from reskin.rigging.skinning import dqs, lbs, lbs_many, skin_torch, skinning_operator


def _rig_with_morphs(seed: int = 0, f: int = 7, j: int = 6, n: int = 400, k: int = 4, t: int = 5):
    rng = np.random.default_rng(seed)
    mats = np.tile(np.eye(4), (f, j, 1, 1))
    mats[..., :3, :3] = quat_to_matrix(rng.normal(size=(f, j, 4)))
    mats[..., :3, 3] = rng.normal(size=(f, j, 3))
    v = rng.normal(size=(n, 3))
    joints = rng.integers(0, j, (n, k))
    w = rng.random((n, k))
    w = -np.sort(-w / w.sum(axis=1, keepdims=True), axis=1)
    # Each target moves its own small patch, as face shapes do.
    deltas = np.zeros((t, n, 3))
    for i in range(t):
        patch = rng.choice(n // 2, 30, replace=False)
        deltas[i, patch] = rng.normal(scale=0.1, size=(30, 3))
    mw = rng.random((f, t))
    return v, joints, w, mats, morph_targets(deltas, [f"shape{i}" for i in range(t)]), mw


def test_morph_targets_are_stored_on_the_moved_vertices_only():
    v, _, _, _, morphs, mw = _rig_with_morphs()
    dense = morphs.dense()
    assert morphs.count == 5 and morphs.names[0] == "shape0"
    assert set(morphs.index) == set(np.flatnonzero(np.abs(dense).sum(axis=(0, 2))))
    assert len(morphs.index) <= 150 and np.all(morphs.index < len(v) // 2)
    assert morphs.deltas.nnz == np.count_nonzero(dense)
    expected = v + np.einsum("fk,knc->fnc", mw, dense)
    np.testing.assert_allclose(apply_morphs(v, morphs, mw), expected, atol=1e-14)
    np.testing.assert_allclose(apply_morphs(v, morphs, mw[3]), expected[3], atol=1e-14)


@pytest.mark.parametrize("skin", [lbs, dqs], ids=["lbs", "dqs"])
def test_skinning_with_morphs_is_skinning_the_morphed_mesh(skin):
    v, joints, w, mats, morphs, mw = _rig_with_morphs()
    morphed = apply_morphs(v, morphs, mw)
    expected = np.stack([skin(morphed[i], joints, w, mats[i]) for i in range(len(mats))])
    got = skin(v, joints, w, mats, morphs=morphs, morph_weights=mw)
    np.testing.assert_allclose(got, expected, atol=1e-12)
    # One frame, and one set of weights held over every frame.
    np.testing.assert_allclose(skin(v, joints, w, mats[2], morphs=morphs, morph_weights=mw[2]),
                               expected[2], atol=1e-12)
    held = skin(v, joints, w, mats, morphs=morphs, morph_weights=mw[2])
    np.testing.assert_allclose(held[2], expected[2], atol=1e-12)
    # The morphs really move the posed mesh.
    assert np.abs(got - skin(v, joints, w, mats)).max() > 0.05


def test_lbs_many_with_morphs_in_float32():
    v, joints, w, mats, morphs, mw = _rig_with_morphs(f=150)  # more than one frame block
    expected = lbs(v, joints, w, mats, morphs=morphs, morph_weights=mw)
    op = skinning_operator(v, joints, w, mats.shape[1])
    got = lbs_many(op, mats, np.float32, morphs=morphs, morph_weights=mw)
    assert got.dtype == np.float32
    np.testing.assert_allclose(got, expected, atol=1e-4)


@pytest.mark.parametrize("method, numpy_skin", [("lbs", lbs), ("dqs", dqs)])
def test_torch_with_morphs_matches_numpy(method, numpy_skin):
    torch = pytest.importorskip("torch")
    torch.set_num_threads(1)
    v, joints, w, mats, morphs, mw = _rig_with_morphs(f=40)
    expected = numpy_skin(v, joints, w, mats, morphs=morphs, morph_weights=mw)
    got64 = skin_torch(v, joints, w, mats, method=method, dtype=torch.float64, frame_block=16,
                       morphs=morphs, morph_weights=mw)
    np.testing.assert_allclose(got64.numpy(), expected, atol=1e-12)
    got32 = skin_torch(v, joints, w, torch.as_tensor(mats), method=method, morphs=morphs,
                       morph_weights=torch.as_tensor(mw))
    np.testing.assert_allclose(got32.numpy(), expected, atol=1e-4)


def test_rejects_mismatched_morphs():
    v, joints, w, mats, morphs, mw = _rig_with_morphs()
    with pytest.raises(ValueError, match="morph weights"):
        lbs(v, joints, w, mats, morphs=morphs, morph_weights=mw[:, :2])
    with pytest.raises(ValueError, match="without morph_weights"):
        dqs(v, joints, w, mats, morphs=morphs)
    with pytest.raises(ValueError, match="vertices"):
        lbs(v[:10], joints[:10], w[:10], mats, morphs=morphs, morph_weights=mw)
