"""Imported rigs: read a glTF skin, weight it with reskin on its own skeleton, compare with the
artist's weights (and with Blender's automatic weights) over the model's own animations."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from reskin.rigging.bones import rig_weights
from reskin.rigging.gltf_rig import load_gltf_rig
from reskin.rigging.quality import blender_auto_weights, model_height, weight_deviation
from reskin.rigging.skinning import lbs

ROOT = Path(__file__).resolve().parents[2]
GLTF = ROOT / ".." / "shared" / "data" / "gltf"
MEAN_TARGET, P95_TARGET = 0.01, 0.04  # fractions of the model's height
MODELS = ("RiggedFigure", "CesiumMan", "Fox", "greenman")


def _rig(name: str):
    path = GLTF / f"{name}.glb"
    if not path.exists():
        pytest.skip(f"shared sample data not present: {path}")
    return load_gltf_rig(path), path


def test_reader_poses_the_rest_mesh_like_the_scene_graph():
    rig, _ = _rig("CesiumMan")
    assert rig.vertices.shape == (3273, 3) and rig.faces.shape == (4672, 3)
    assert len(rig.joint_names) == 19 and (rig.joint_parents >= -1).all()
    np.testing.assert_allclose(rig.weights.sum(axis=1), 1.0, atol=1e-6)
    # At rest every joint is at its bind pose, so skinning only applies the scene's own
    # transform (CesiumMan is Z-up inside a Y-up scene): the mesh stands along +Y, 1.5 m.
    rest = lbs(rig.vertices, rig.joints, rig.weights, rig.skin_matrices()[0])
    assert abs(np.ptp(rest[:, 1]) - 1.507) < 0.01
    # Sampling between keys moves vertices continuously, and the clip really moves them.
    t = np.linspace(0.0, rig.duration(0), 7)
    posed = lbs(rig.vertices, rig.joints, rig.weights, rig.skin_matrices(0, t))
    assert np.abs(posed - rest).max() > 0.1


@pytest.mark.parametrize("name", MODELS)
def test_reskin_weights_close_to_the_artists(name):
    rig, _ = _rig(name)
    joints, weights, deforms = rig_weights(rig.vertices, rig.faces, rig.bind_matrices,
                                           rig.joint_parents, rig.joint_names)
    assert np.abs(weights.astype(np.float64).sum(axis=1) - 1).max() < 1e-6
    assert deforms[np.unique(joints[weights > 0])].all()
    dev = weight_deviation(rig, joints, weights) / model_height(rig)
    assert dev.mean() < MEAN_TARGET and np.percentile(dev, 95) < P95_TARGET
    j2, w2, _ = rig_weights(rig.vertices, rig.faces, rig.bind_matrices, rig.joint_parents,
                            rig.joint_names)
    assert np.array_equal(joints, j2) and np.array_equal(weights, w2)


def test_control_joints_get_no_weight():
    rig, _ = _rig("greenman")
    _, _, deforms = rig_weights(rig.vertices, rig.faces, rig.bind_matrices, rig.joint_parents,
                                rig.joint_names)
    off = {n for n, d in zip(rig.joint_names, deforms, strict=True) if not d}
    assert off == {"root", "socket_hat", "socket_hand_L", "socket_hand_R"}


def test_better_than_blender_auto_weights_on_fox():
    pytest.importorskip("bpy")
    rig, path = _rig("Fox")
    h = model_height(rig)
    joints, weights, _ = rig_weights(rig.vertices, rig.faces, rig.bind_matrices,
                                     rig.joint_parents, rig.joint_names)
    ours = weight_deviation(rig, joints, weights) / h
    theirs = weight_deviation(rig, *blender_auto_weights(rig, path)) / h
    assert ours.mean() < theirs.mean()
