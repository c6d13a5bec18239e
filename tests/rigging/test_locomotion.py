"""Walks along segments land on their end point without sliding feet; sitting lands the pelvis
on the seat; T-pose calibration frames are found at a mocap take's start."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from reskin.assets.generator import HumanoidParams, generate_humanoid
from reskin.core.skeleton import forward_kinematics, skinning_matrices
from reskin.rigging.bvh import read_bvh
from reskin.rigging.clip_assets import bvh_rest_skeleton, tpose_frames
from reskin.rigging.fit import fit_skeleton
from reskin.rigging.locomotion import walk_cycle, walk_segment
from reskin.rigging.names import detect_convention
from reskin.rigging.retarget import retarget_bvh
from reskin.rigging.sit import sit_clip
from reskin.rigging.skinning import lbs
from reskin.rigging.weights import bind_weights

BVH = Path(__file__).resolve().parents[2] / ".." / "shared" / "data" / "bvh"


@pytest.fixture(scope="module")
def body():
    if not BVH.exists():
        pytest.skip(f"shared sample data not present: {BVH}")
    mesh = generate_humanoid(HumanoidParams(voxels_per_height=64))
    sk = fit_skeleton(mesh)
    joints, weights = bind_weights(mesh.vertices, mesh.faces, sk)
    clip = retarget_bvh(read_bvh(BVH / "cmu_12_03_walk.bvh"), sk)
    return mesh, sk, joints, weights, walk_cycle(sk, clip)


def _slides(mesh, sk, joints, weights, walk) -> list[float]:
    world = forward_kinematics(sk, walk.rotations, walk.root)
    dominant = joints[np.arange(len(joints)), weights.argmax(1)]
    out = []
    for side in ("left", "right"):
        sel = np.isin(dominant, [sk.index(f"{side}Foot"), sk.index(f"{side}Toes")])
        verts = lbs(mesh.vertices[sel], joints[sel], weights[sel], skinning_matrices(sk, world))
        planted = walk.contacts[side]
        edges = np.flatnonzero(np.diff(np.concatenate([[0], planted.astype(np.int8), [0]])))
        for a, b in zip(edges[::2], edges[1::2], strict=True):
            v = int(np.argmin(verts[(a + b - 1) // 2, :, 1]))
            on = np.abs(verts[a:b, v, 1] - mesh.vertices[:, 1].min()) < 0.015
            if on.sum() > 1:
                out.append(float(np.ptp(verts[a:b, v][on][:, [0, 2]], axis=0).max()))
    return out


@pytest.mark.parametrize("distance, degrees", [(2.3, 90), (3.0, 0), (1.4, -135)])
def test_walk_lands_on_its_end_without_sliding(body, distance, degrees):
    mesh, sk, joints, weights, cycle = body
    start = np.array([-1.0, 0.5])
    a = np.radians(degrees)
    end = start + distance * np.array([np.sin(a), np.cos(a)])
    walk = walk_segment(sk, cycle, start, end, 24.0)
    assert np.linalg.norm(walk.root[0, [0, 2]] - start) < 1e-6
    assert np.linalg.norm(walk.root[-1, [0, 2]] - end) < 1e-6
    assert abs(walk.scale - 1) < 0.3
    slides = _slides(mesh, sk, joints, weights, walk)
    assert len(slides) >= 2
    assert max(slides) < 0.02, slides


def test_walk_at_a_given_speed_takes_distance_over_speed(body):
    _, sk, _, _, cycle = body
    walk = walk_segment(sk, cycle, np.zeros(2), np.array([0.0, 2.4]), 24.0, speed=1.2)
    assert len(walk.root) == 2.0 * 24 + 1


@pytest.mark.parametrize("seat", [0.38, 0.45, 0.52])
def test_sit_lands_the_pelvis_on_the_seat(body, seat):
    mesh, sk, joints, weights, _ = body
    clip = sit_clip(sk, 24.0, seat)
    world = forward_kinematics(sk, clip.rotations[-1:], clip.root_translation[-1:])
    verts = lbs(mesh.vertices, joints, weights, skinning_matrices(sk, world))[0]
    hips = world[0, 0, :3, 3]
    pelvis = np.linalg.norm(verts[:, [0, 2]] - hips[[0, 2]], axis=1) < 0.12
    assert abs(verts[pelvis, 1].min() - seat) < 0.03
    feet = world[0, sk.index("leftFoot"), :3, 3]
    assert np.linalg.norm(feet[[0, 2]] - sk.heads[sk.index("leftFoot"), [0, 2]]) < 0.05


def test_tpose_frames_are_found_at_a_takes_start(body):
    for name in ("cmu_12_03_walk", "cmu_09_01_run"):
        bvh = read_bvh(BVH / f"{name}.bvh")
        convention = detect_convention(bvh.names)
        sk, _ = bvh_rest_skeleton(bvh, convention)
        clip = retarget_bvh(bvh, sk, convention=convention, plant=False)
        assert tpose_frames(clip, sk) == (2, 0)
    bvh = read_bvh(BVH / "makehuman_tpose.bvh")  # a T-pose only: nothing to trim
    convention = detect_convention(bvh.names)
    sk, _ = bvh_rest_skeleton(bvh, convention)
    assert tpose_frames(retarget_bvh(bvh, sk, convention=convention, plant=False), sk) == (0, 0)


@pytest.mark.parametrize("seat", [0.38, 0.52])
def test_feet_stay_where_they_stood_all_through_the_sit(body, seat):
    _, sk, _, _, _ = body
    clip = sit_clip(sk, 24.0, seat)
    world = forward_kinematics(sk, clip.rotations, clip.root_translation)
    for side in ("left", "right"):
        ankle = world[:, sk.index(f"{side}Foot"), :3, 3]
        drift = np.linalg.norm(ankle - ankle[0], axis=1)
        assert drift.max() < 0.01, (side, drift.max())
        toes = world[:, sk.index(f"{side}Toes"), 1, 3]
        assert toes.min() > sk.heads[sk.index(f"{side}Toes"), 1] - 0.01
