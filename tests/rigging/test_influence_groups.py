"""The grouped kernels (vertices sorted into joint-set runs) give the reference paths' results.

The rigs here are coherent, as real ones are: a chain of joints along a body, each vertex
weighted to the joints nearest it, so vertices share joint sets in long runs (and one run is
longer than a task, so it is split)."""

from __future__ import annotations

import numpy as np
import pytest

from reskin.core.transforms import quat_to_matrix
from reskin.rigging.influence_groups import CHUNK, InfluenceGroups, group_influences
from reskin.rigging.morphs import morph_targets
from reskin.rigging.skinning import dqs, lbs
from reskin.rigging.skinning_fast import Skinner, compact_influences


def _chain_rig(k: int, f: int = 6, j: int = 12, n: int = 6000, seed: int = 0):
    """n vertices around a chain of j joints along y; each weighted to its k nearest joints
    by distance (ties and far joints get zero weight), frames of random rigid motion."""
    rng = np.random.default_rng(seed)
    v = np.c_[rng.normal(scale=0.2, size=n), rng.uniform(0, j, n), rng.normal(scale=0.2,
                                                                             size=n)]
    v[: CHUNK + 700, 1] = 0.2  # one long run: more vertices than a task holds
    centres = np.arange(j) + 0.5
    d = np.abs(v[:, 1:2] - centres[None])
    joints = np.argsort(d, axis=1, kind="stable")[:, :k]
    w = np.clip(1.5 - np.take_along_axis(d, joints, 1), 0, None) ** 2
    w[w.sum(1) == 0, 0] = 1
    w /= w.sum(1, keepdims=True)
    order = np.argsort(-w, axis=1, kind="stable")  # heaviest first, as normalize_top_k
    joints, w = np.take_along_axis(joints, order, 1), np.take_along_axis(w, order, 1)
    mats = np.tile(np.eye(4), (f, j, 1, 1))
    mats[..., :3, :3] = quat_to_matrix(rng.normal(size=(f, j, 4)))
    mats[..., :3, 3] = rng.normal(size=(f, j, 3))
    return v, joints, w, mats


def _skinner(v, joints, w, j, morphs=None) -> Skinner:  # noqa: ANN001
    sk = Skinner(v, compact_influences(joints, w, j), morphs)
    rest = np.tile(np.eye(4), (8, j, 1, 1))  # 8 frames: the runs are sorted now
    sk.lbs(rest, None if morphs is None else np.zeros((8, morphs.count)))
    assert isinstance(sk._groups, InfluenceGroups), "the coherent rig should group"
    return sk


def test_a_coherent_rig_falls_into_long_runs_and_random_weights_do_not():
    v, joints, w, _ = _chain_rig(4)
    inf = compact_influences(joints, w, 12)
    g = group_influences(v, inf.index, inf.weight, np.zeros(len(v), np.int32))
    assert g is not None and g.count < len(v) / 50
    sizes = np.diff(g.starts)
    assert sizes.max() <= CHUNK and sizes.sum() == len(v)
    assert np.array_equal(np.sort(g.order), np.arange(len(v)))  # a permutation
    # Every vertex of a run has the run's joints where its weight is not zero.
    run = np.repeat(np.arange(g.count), sizes)
    back = np.empty(len(v), np.int64)
    back[g.order] = np.arange(len(v))
    for i in range(0, len(v), 97):
        mine = inf.index[i][inf.weight[i] > 0]
        assert set(mine) <= set(g.joints[run[back[i]]])
    rng = np.random.default_rng(1)
    scattered = rng.integers(0, 60, (len(v), 4)).astype(np.int32)
    assert group_influences(v, scattered, inf.weight, np.zeros(len(v), np.int32)) is None


@pytest.mark.parametrize("k", [4, 8, 12])
@pytest.mark.parametrize("f", [1, 5, 40])
def test_grouped_lbs_and_dqs_equal_the_reference(k, f):
    v, joints, w, mats = _chain_rig(k, f=f)
    sk = _skinner(v, joints, w, mats.shape[1])
    np.testing.assert_allclose(sk.lbs(mats), lbs(v, joints, w, mats), atol=3e-5)
    np.testing.assert_allclose(sk.dqs(mats), dqs(v, joints, w, mats), atol=6e-5)
    np.testing.assert_array_equal(sk.lbs(mats, threads=1), sk.lbs(mats, threads=2))


def test_grouped_dqs_flips_onto_the_first_influence_hemisphere():
    v, joints, w, mats = _chain_rig(4, f=3)
    flipped = mats.copy()
    # Every other joint turned a further half turn: neighbours' quaternions end up on
    # opposite hemispheres, where blending without the sign flip goes the long way round.
    flipped[:, 1::2, :3, :3] = np.diag([1.0, -1.0, -1.0]) @ mats[:, 1::2, :3, :3]
    sk = _skinner(v, joints, w, mats.shape[1])
    expected = dqs(v, joints, w, flipped)
    np.testing.assert_allclose(sk.dqs(flipped), expected, atol=6e-5)
    assert np.abs(expected - lbs(v, joints, w, flipped)).max() > 1e-2


def test_grouped_paths_with_morphs_equal_the_reference():
    v, joints, w, mats = _chain_rig(8, f=20)
    rng = np.random.default_rng(3)
    deltas = np.zeros((3, len(v), 3))
    deltas[:, 100:400] = rng.normal(scale=0.1, size=(3, 300, 3))
    morphs = morph_targets(deltas)
    mw = rng.random((len(mats), 3))
    sk = _skinner(v, joints, w, mats.shape[1], morphs)
    kw = {"morphs": morphs, "morph_weights": mw}
    np.testing.assert_allclose(sk.lbs(mats, mw), lbs(v, joints, w, mats, **kw), atol=5e-5)
    np.testing.assert_allclose(sk.dqs(mats, mw), dqs(v, joints, w, mats, **kw), atol=6e-5)
    np.testing.assert_allclose(sk.lbs(mats[4], mw[4]),
                               lbs(v, joints, w, mats[4], morphs=morphs, morph_weights=mw[4]),
                               atol=5e-5)


@pytest.mark.parametrize("k", [4, 8])
def test_grouped_normals_equal_the_blended_matrix_on_the_rest_normal(k):
    v, joints, w, mats = _chain_rig(k, f=1)
    normals = np.random.default_rng(2).normal(size=v.shape).astype(np.float32)
    sk = _skinner(v, joints, w, mats.shape[1])
    out = np.empty((len(v), 6), np.float32)
    sk.lbs_with_normals(mats[0], normals, out)
    np.testing.assert_allclose(out[:, :3], lbs(v, joints, w, mats[0]), atol=3e-5)
    blended = np.einsum("nk,nkrc->nrc", w, mats[0][joints][..., :3, :3])
    np.testing.assert_allclose(out[:, 3:], np.einsum("nrc,nc->nr", blended, normals),
                               atol=3e-5)


def test_new_rest_positions_reach_the_grouped_paths():
    # A preview replaces the rest positions every frame (the face's morph weights applied).
    v, joints, w, mats = _chain_rig(4, f=2)
    sk = _skinner(v, joints, w, mats.shape[1])
    moved = v + np.random.default_rng(5).normal(scale=0.05, size=v.shape)
    sk.vertices = moved
    np.testing.assert_allclose(sk.lbs(mats), lbs(moved, joints, w, mats), atol=3e-5)
    out = np.empty((len(v), 6), np.float32)
    sk.lbs_with_normals(mats[1], np.ones_like(v, np.float32), out)
    np.testing.assert_allclose(out[:, :3], lbs(moved, joints, w, mats[1]), atol=3e-5)
    with pytest.raises(ValueError, match="rest positions"):
        sk.vertices = moved[:10]


def test_runs_that_weigh_four_slots_skip_the_others_with_the_same_result():
    # An 8-slot rig where most vertices weigh only three or four joints (as exported rigs
    # pad): those runs take one pass, and the result is the reference's.
    v, joints, w, mats = _chain_rig(8, f=3)
    w = 1.0 / (1.0 + np.arange(8))[None].repeat(len(v), 0)  # the nearest eight, all weighed
    few = v[:, 1] > 6
    w[few, 4:] = 0
    w[few, 1:3] *= np.array([1, 0])[None]  # a zero in the middle of the slots, too
    w /= w.sum(1, keepdims=True)
    sk = _skinner(v, joints, w, mats.shape[1])
    g = sk._groups
    assert set(np.unique(g.used)) == {4, 8}
    run = np.repeat(np.arange(g.count), np.diff(g.starts))
    assert np.all(g.used[run][np.isin(g.order, np.flatnonzero(few))] == 4)
    np.testing.assert_allclose(sk.lbs(mats), lbs(v, joints, w, mats), atol=3e-5)
    np.testing.assert_allclose(sk.dqs(mats), dqs(v, joints, w, mats), atol=6e-5)
    out = np.empty((len(v), 6), np.float32)
    sk.lbs_with_normals(mats[0], np.ones_like(v, np.float32), out)
    np.testing.assert_allclose(out[:, :3], lbs(v, joints, w, mats[0]), atol=3e-5)
