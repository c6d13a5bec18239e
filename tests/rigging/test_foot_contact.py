"""Retargeted walks keep planted feet on the floor (issue 14), toes in range."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from reskin.assets.generator import HumanoidParams, generate_humanoid
from reskin.core.skeleton import forward_kinematics, skinning_matrices
from reskin.core.transforms import quat_to_matrix
from reskin.rigging.bvh import read_bvh
from reskin.rigging.fit import fit_skeleton
from reskin.rigging.retarget import retarget_bvh
from reskin.rigging.skinning import lbs
from reskin.rigging.weights import bind_weights

WALK = Path(__file__).resolve().parents[2] / ".." / "shared" / "data" / "bvh" / "cmu_12_03_walk.bvh"
PLANTED_SPEED = 0.3  # m/s: a foot joint slower than this (horizontally) is on the ground


@pytest.fixture(scope="module")
def walk():
    if not WALK.exists():
        pytest.skip(f"shared sample data not present: {WALK}")
    mesh = generate_humanoid(HumanoidParams())
    sk = fit_skeleton(mesh)
    joints, weights = bind_weights(mesh.vertices, mesh.faces, sk)
    bvh = read_bvh(WALK)
    return mesh, sk, joints, weights, bvh


def _lowest_and_contacts(mesh, sk, joints, weights, clip):
    world = forward_kinematics(sk, clip.rotations, clip.root_translation)
    feet = [sk.index(n) for n in ("leftFoot", "rightFoot", "leftToes", "rightToes")]
    dominant = joints[np.arange(len(joints)), weights.argmax(1)]
    on_feet = np.isin(dominant, feet)
    posed = lbs(mesh.vertices[on_feet], joints[on_feet], weights[on_feet],
                skinning_matrices(sk, world))
    lowest = posed[..., 1].min(axis=1)
    # Ground contact, judged from the motion alone: a foot or toe joint standing still.
    pos = world[:, feet][..., :3, 3]
    speed = np.linalg.norm(np.diff(pos[..., [0, 2]], axis=0), axis=-1) * clip.fps
    contact = (speed < PLANTED_SPEED).any(axis=1)
    return lowest[1:], contact


def test_walk_keeps_planted_feet_on_the_floor(walk):
    mesh, sk, joints, weights, bvh = walk
    floor = float(mesh.vertices[:, 1].min())
    clip = retarget_bvh(bvh, sk)
    lowest, contact = _lowest_and_contacts(mesh, sk, joints, weights, clip)
    assert contact.mean() > 0.5
    on_floor = np.abs(lowest[contact] - floor) < 0.01
    assert on_floor.mean() >= 0.9, f"{on_floor.mean():.0%} of contact frames within 1 cm"
    # Without planting, the same walk floats or sinks (the 52-79% off the floor).
    raw = retarget_bvh(bvh, sk, plant=False)
    lowest_raw, contact_raw = _lowest_and_contacts(mesh, sk, joints, weights, raw)
    assert (np.abs(lowest_raw[contact_raw] - floor) < 0.01).mean() < on_floor.mean() - 0.2


def test_toes_stay_in_range(walk):
    _, sk, _, _, bvh = walk
    clip = retarget_bvh(bvh, sk)
    for side in ("left", "right"):
        q = clip.rotations[:, sk.index(f"{side}Toes")].astype(np.float64)
        angle = np.degrees(2 * np.arccos(np.clip(np.abs(q[:, 3]), 0, 1)))
        assert angle.max() <= 35.5
        assert np.median(angle) < 20.0  # flat on the floor through most of the stride
    assert np.isfinite(quat_to_matrix(clip.rotations)).all()


def test_walk_keeps_an_avatars_planted_feet_on_the_floor(walk):
    """The same walk on an imported avatar (its own rig, mapped onto the canonical joints)."""
    from reskin.assets.arrays import unpack_arrays
    from reskin.assets.importer import prepare
    from reskin.core.mesh import Mesh
    from reskin.rigging.file_rig import rig_own

    *_, bvh = walk
    prepared = prepare(WALK.parents[1] / "avatars" / "White_M_1_Busi.glb")
    mesh = Mesh.from_arrays(unpack_arrays(prepared.blobs["mesh.npz"]))
    rig = rig_own(prepared.blobs["model.glb"], mesh)
    floor = float(mesh.vertices[:, 1].min())
    clip = retarget_bvh(bvh, rig.skeleton)
    lowest, contact = _lowest_and_contacts(mesh, rig.skeleton, rig.joints, rig.weights, clip)
    assert contact.mean() > 0.5
    on_floor = np.abs(lowest[contact] - floor) < 0.01
    assert on_floor.mean() >= 0.9, f"{on_floor.mean():.0%} of contact frames within 1 cm"
