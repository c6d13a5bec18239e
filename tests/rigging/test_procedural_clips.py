"""Procedural clips move an A-pose rig's arms exactly as a T-pose rig's."""

from __future__ import annotations

from dataclasses import replace

import numpy as np
import pytest

from reskin.core.skeleton import Skeleton, forward_kinematics
from reskin.rigging.procedural_clips import make_clip

ARM = ("UpperArm", "LowerArm", "Hand")


def _t_pose() -> Skeleton:
    from reskin.assets.generator import HumanoidParams, generate_humanoid
    from reskin.rigging.fit import fit_skeleton

    return fit_skeleton(generate_humanoid(HumanoidParams(voxels_per_height=64)))


def _lowered(sk: Skeleton, degrees: float) -> Skeleton:
    """``sk`` with both arms (and everything below them) swung ``degrees`` down about each
    shoulder joint's head: an A-pose skeleton of the same proportions."""
    heads, tails = sk.heads.astype(np.float64), sk.tails.astype(np.float64)
    for side, sign in (("left", -1.0), ("right", 1.0)):
        top = sk.index(side + "UpperArm")
        chain = [top] + [i for i in range(len(sk.names)) if _descends(sk, i, top)]
        a = np.radians(degrees) * sign
        rot = np.array([[np.cos(a), -np.sin(a), 0], [np.sin(a), np.cos(a), 0], [0, 0, 1]])
        pivot = heads[top].copy()
        heads[chain] = (heads[chain] - pivot) @ rot.T + pivot
        tails[chain] = (tails[chain] - pivot) @ rot.T + pivot
    return replace(sk, heads=heads.astype(np.float32), tails=tails.astype(np.float32))


def _descends(sk: Skeleton, i: int, top: int) -> bool:
    p = sk.parents[i]
    while p >= 0:
        if p == top:
            return True
        p = sk.parents[p]
    return False


def _bone_world_directions(sk: Skeleton, clip) -> dict[str, np.ndarray]:
    """Unit world direction of every arm bone, (f, 3), through ``clip``."""
    world = forward_kinematics(sk, clip.for_skeleton(sk.names), clip.root_translation)
    out = {}
    for side in ("left", "right"):
        for bone in ARM:
            i = sk.index(side + bone)
            kids = np.flatnonzero(sk.parents == i)
            end = sk.heads[kids[0]] if len(kids) else sk.tails[i]
            d = world[:, i, :3, :3] @ (end - sk.heads[i]).astype(np.float64)
            out[side + bone] = d / np.linalg.norm(d, axis=1, keepdims=True)
    return out


@pytest.fixture(scope="module")
def t_pose() -> Skeleton:
    return _t_pose()


@pytest.mark.parametrize("degrees", [30.0, 50.0])
@pytest.mark.parametrize("name", ["idle", "wave", "nod"])
def test_an_a_pose_rig_moves_its_arms_like_a_t_pose_rig(t_pose, name, degrees):
    a_pose = _lowered(t_pose, degrees)
    t_dirs = _bone_world_directions(t_pose, make_clip(name, t_pose, 8.0))
    a_dirs = _bone_world_directions(a_pose, make_clip(name, a_pose, 8.0))
    for bone, d in t_dirs.items():
        angle = np.degrees(np.arccos(np.clip(np.sum(d * a_dirs[bone], axis=1), -1, 1)))
        assert angle.max() < 0.05, (bone, angle.max())
    # the relaxed stance really lowers the arms: hands well below the shoulders
    assert (a_dirs["leftUpperArm"][:, 1] < -0.5).any()


def test_unaligned_clips_would_differ(t_pose):
    """The check above can fail: the same local rotations on an A-pose rig point elsewhere."""
    a_pose = _lowered(t_pose, 45.0)
    clip = make_clip("idle", t_pose, 8.0)
    t_dirs = _bone_world_directions(t_pose, clip)
    a_dirs = _bone_world_directions(a_pose, clip)  # the T-pose's rotations, not realigned
    angle = np.degrees(np.arccos(np.clip(np.sum(
        t_dirs["leftUpperArm"] * a_dirs["leftUpperArm"], axis=1), -1, 1)))
    assert angle.min() > 40
