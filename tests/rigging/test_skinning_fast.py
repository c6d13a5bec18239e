"""The compiled skinning paths give the reference paths' results (float32 tolerance)."""

from __future__ import annotations

import numpy as np
import pytest

from reskin.core.transforms import quat_to_matrix
from reskin.rigging.morphs import morph_targets
from reskin.rigging.skinning import dqs, lbs
from reskin.rigging.skinning_fast import (
    Skinner,
    compact_influences,
    dqs_fast,
    has_numba,
    lbs_fast,
)


def _rig(seed: int = 0, f: int = 5, j: int = 9, n: int = 700, k: int = 4, zeros: bool = False):
    rng = np.random.default_rng(seed)
    mats = np.tile(np.eye(4), (f, j, 1, 1))
    mats[..., :3, :3] = quat_to_matrix(rng.normal(size=(f, j, 4)))
    mats[..., :3, 3] = rng.normal(size=(f, j, 3))
    v = rng.normal(size=(n, 3))
    joints = rng.integers(0, j, (n, k))
    w = rng.random((n, k))
    if zeros:  # padded influence slots, as 8-influence rigs have on most vertices
        w[:, k // 2 :] *= rng.random((n, k - k // 2)) < 0.3
    w = -np.sort(-w / w.sum(axis=1, keepdims=True), axis=1)
    return v, joints, w, mats


def test_numba_is_there():
    assert has_numba()  # a pinned dependency: without it the fast paths are the slow ones


@pytest.mark.parametrize("f", [1, 5, 70], ids=["one", "few", "blocks"])
@pytest.mark.parametrize("k", [2, 4, 6, 8, 12])
def test_fast_lbs_equals_reference(f, k):
    v, joints, w, mats = _rig(f=f, k=k, zeros=k == 8)
    expected = lbs(v, joints, w, mats)
    got = lbs_fast(v, joints, w, mats)
    assert got.dtype == np.float32 and got.shape == expected.shape
    np.testing.assert_allclose(got, expected, atol=2e-5)
    # One frame given as (j, 4, 4), and precomputed influences.
    inf = compact_influences(joints, w, mats.shape[1])
    np.testing.assert_allclose(lbs_fast(v, None, None, mats[0], influences=inf), expected[0],
                               atol=2e-5)


@pytest.mark.parametrize("f", [1, 40])
@pytest.mark.parametrize("k", [3, 4, 8, 12])
def test_fast_dqs_equals_reference(f, k):
    v, joints, w, mats = _rig(f=f, k=k)
    expected = dqs(v, joints, w, mats)
    np.testing.assert_allclose(dqs_fast(v, joints, w, mats), expected, atol=5e-5)
    # The hemisphere flip matters: negate some joints' quaternions' source (the same rotation).
    assert np.abs(expected - lbs(v, joints, w, mats)).max() > 1e-2


@pytest.mark.parametrize("skin, fast", [(lbs, lbs_fast), (dqs, dqs_fast)], ids=["lbs", "dqs"])
def test_fast_paths_with_morphs_equal_reference(skin, fast):
    v, joints, w, mats = _rig(f=45)
    rng = np.random.default_rng(3)
    deltas = np.zeros((4, len(v), 3))
    for t in range(4):
        patch = rng.choice(len(v) // 2, 40, replace=False)
        deltas[t, patch] = rng.normal(scale=0.1, size=(40, 3))
    morphs = morph_targets(deltas)
    mw = rng.random((len(mats), 4))
    expected = skin(v, joints, w, mats, morphs=morphs, morph_weights=mw)
    np.testing.assert_allclose(fast(v, joints, w, mats, morphs=morphs, morph_weights=mw),
                               expected, atol=5e-5)
    held = skin(v, joints, w, mats, morphs=morphs, morph_weights=mw[7])
    np.testing.assert_allclose(fast(v, joints, w, mats, morphs=morphs, morph_weights=mw[7]),
                               held, atol=5e-5)
    assert np.abs(expected - skin(v, joints, w, mats)).max() > 0.05


def test_single_thread_equals_threaded():
    v, joints, w, mats = _rig(f=33, n=5000)
    np.testing.assert_array_equal(lbs_fast(v, joints, w, mats, threads=1),
                                  lbs_fast(v, joints, w, mats, threads=2))


def test_fast_paths_reject_bad_input():
    v, joints, w, mats = _rig()
    with pytest.raises(ValueError, match="joint indices"):
        lbs_fast(v, joints + 20, w, mats)
    with pytest.raises(ValueError, match="matrices"):
        dqs_fast(v, joints, w, mats[..., :3, :])
    with pytest.raises(ValueError, match="morphs given without"):
        lbs_fast(v, joints, w, mats, morphs=morph_targets(np.ones((1, len(v), 3))))


def test_fast_lbs_writes_into_a_given_array():
    v, joints, w, mats = _rig(f=12)
    out = np.full((12, len(v), 3), np.nan, np.float32)
    got = lbs_fast(v, joints, w, mats, out=out)
    assert got is out
    np.testing.assert_allclose(out, lbs(v, joints, w, mats), atol=2e-5)
    with pytest.raises(ValueError, match="out must be"):
        lbs_fast(v, joints, w, mats, out=out[:3])


def test_a_prepared_skinner_equals_the_reference_and_reuses_its_output():
    v, joints, w, mats = _rig(f=40, k=8, zeros=True)
    rng = np.random.default_rng(4)
    deltas = np.zeros((3, len(v), 3))
    deltas[:, :50] = rng.normal(scale=0.1, size=(3, 50, 3))
    morphs = morph_targets(deltas)
    mw = rng.random((40, 3))
    sk = Skinner(v, compact_influences(joints, w, mats.shape[1]), morphs)
    out = np.empty((40, len(v), 3), np.float32)
    assert sk.lbs(mats, mw, out=out) is out
    np.testing.assert_allclose(out, lbs(v, joints, w, mats, morphs=morphs, morph_weights=mw),
                               atol=5e-5)
    np.testing.assert_allclose(sk.dqs(mats, mw), dqs(v, joints, w, mats, morphs=morphs,
                                                     morph_weights=mw), atol=5e-5)
    for f in (0, 17):  # one frame at a time, as a preview draws
        np.testing.assert_allclose(sk.lbs(mats[f], mw[f]),
                                   lbs(v, joints, w, mats[f], morphs=morphs,
                                       morph_weights=mw[f]), atol=5e-5)
    with pytest.raises(ValueError, match="joint indices"):
        sk.lbs(mats[:, :3])


def test_skinned_normals_turn_with_the_blended_matrix():
    v, joints, w, mats = _rig(f=1, k=4)
    normals = np.random.default_rng(2).normal(size=v.shape).astype(np.float32)
    sk = Skinner(v, compact_influences(joints, w, mats.shape[1]))
    out = np.empty((len(v), 6), np.float32)
    sk.lbs_with_normals(mats[0], normals, out)
    np.testing.assert_allclose(out[:, :3], lbs(v, joints, w, mats[0]), atol=2e-5)
    # The normal is the blended 3x3 on the rest normal: LBS of the normal as a direction.
    blended = np.einsum("nk,nkrc->nrc", w, mats[0][joints][..., :3, :3])
    np.testing.assert_allclose(out[:, 3:], np.einsum("nrc,nc->nr", blended, normals),
                               atol=2e-5)


def test_compiled_dual_quaternions_equal_the_reference_conversion():
    from reskin.rigging.skinning import matrices_to_dual_quats
    from reskin.rigging.skinning_fast import _dual_quats

    rng = np.random.default_rng(3)
    _, _, _, rigid = _rig(f=4, j=63)
    scaled = rigid.copy()  # scale and shear, which the polar factor drops
    scaled[..., :3, :3] *= rng.uniform(0.2, 5.0, (4, 63, 1, 1))
    scaled[..., :3, :3] += rng.normal(scale=0.05, size=(4, 63, 3, 3))
    near = rigid.astype(np.float32).astype(np.float64)  # imported float32 round-off
    half_turns = np.tile(np.diag([1.0, -1.0, -1.0, 1.0]), (1, 3, 1, 1))  # w = 0: x largest
    half_turns[0, 1, :3, :3] = np.diag([-1.0, 1.0, -1.0])
    half_turns[0, 2, :3, :3] = np.diag([-1.0, -1.0, 1.0])
    for mats in (rigid, scaled, near, half_turns):
        real, dual = matrices_to_dual_quats(mats)
        np.testing.assert_allclose(_dual_quats(mats), np.concatenate([real, dual], axis=-1),
                                   atol=2e-7)
    singular = rigid.copy()
    singular[1, 5, :3, :3] = 0.0  # no rotation to take: the SVD path's answer
    real, dual = matrices_to_dual_quats(singular)
    np.testing.assert_allclose(_dual_quats(singular), np.concatenate([real, dual], axis=-1),
                               atol=2e-7)
