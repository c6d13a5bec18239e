"""BVH import, name maps and retargeting onto the canonical skeleton of a generated character."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from reskin.assets.generator import HumanoidParams, generate_humanoid
from reskin.core.skeleton import forward_kinematics
from reskin.rigging.bvh import read_bvh
from reskin.rigging.fit import fit_skeleton
from reskin.rigging.names import CANONICAL, NAME_MAPS, detect_convention, map_to_canonical
from reskin.rigging.retarget import retarget_bvh, source_axes, swing

BVH = Path(__file__).resolve().parents[2] / ".." / "shared" / "data" / "bvh"
LIMB_BOUND = 2.0  # degrees: a limb bone points where the source's does
HUB_BOUND = 20.0  # degrees: spine, neck, clavicles (skeletons differ there, and in between)
LIMBS = ("UpperArm", "LowerArm", "Hand", "UpperLeg", "LowerLeg", "Foot", "Toes")


def _bvh(name):
    path = BVH / name
    if not path.exists():
        pytest.skip(f"shared sample data not present: {path}")
    return read_bvh(path)


@pytest.fixture(scope="module")
def skeleton():
    return fit_skeleton(generate_humanoid(HumanoidParams(voxels_per_height=64)))


def _unit(v):
    return v / np.linalg.norm(v, axis=-1, keepdims=True)


@pytest.mark.parametrize("name, convention, fps, frames", [
    ("cmu_12_03_walk.bvh", "motionbuilder", 120.0, 566),
    ("cmu_10_01_soccerkick_30fps.bvh", "biovision", 30.0, 201),
])
def test_retargeted_bones_follow_the_source(skeleton, name, convention, fps, frames):
    bvh = _bvh(name)
    assert detect_convention(bvh.names) == convention
    assert bvh.frames == frames and abs(bvh.fps - fps) < 1e-3
    # Unplanted: planting bends the legs on purpose (tests/rigging/test_foot_contact.py).
    clip = retarget_bvh(bvh, skeleton, name="m", plant=False)
    assert clip.frames == frames and clip.fps == pytest.approx(fps)
    assert np.isfinite(clip.rotations).all()
    heads = forward_kinematics(skeleton, clip.rotations, clip.root_translation)[..., :3, 3]

    mapping = map_to_canonical(bvh.names)
    src = {c: bvh.index(s) for c, s in mapping.items()}
    _, pos = bvh.world()
    rest = bvh.rest_positions()
    axes = source_axes(rest[src["leftUpperLeg"]] - rest[src["rightUpperLeg"]],
                       rest[src["head"]] - rest[src["hips"]])
    pos = pos @ axes.T  # source -> reskin axes (up on the file's vertical axis)
    checked = 0
    for i, parent in enumerate(skeleton.names):
        for k in np.flatnonzero(skeleton.parents == i):
            child = skeleton.names[k]
            if parent == "hips" or parent not in src or child not in src:
                continue  # the hips' children hang off the pelvis, not off a bone
            if np.linalg.norm(rest[src[child]] - rest[src[parent]]) < 1e-6:
                continue
            ours = _unit(heads[:, k] - heads[:, i])
            theirs = _unit(pos[:, src[child]] - pos[:, src[parent]])
            angle = np.degrees(np.arccos(np.clip((ours * theirs).sum(-1), -1, 1))).max()
            bound = LIMB_BOUND if child.endswith(LIMBS) else HUB_BOUND
            assert angle < bound, f"{parent}->{child} off by {angle:.1f} degrees"
            checked += 1
    assert checked >= 12
    # Root motion at the character's scale: the hips stay between knee and shoulder height.
    sk_h = skeleton.heads[:, 1]
    y = clip.root_translation[:, 1]
    assert (y > sk_h[skeleton.index("leftLowerLeg")]).all()
    assert (y < sk_h[skeleton.index("leftUpperArm")]).all()


def test_walk_travels_at_a_walking_speed(skeleton):
    clip = retarget_bvh(_bvh("cmu_12_03_walk.bvh"), skeleton)
    path = clip.root_translation[:, [0, 2]]
    speed = np.linalg.norm(path[-1] - path[0]) / clip.duration
    assert 0.5 < speed < 2.5  # m/s for a 1.75 m character


def test_makehuman_t_pose_lands_on_a_t_pose(skeleton):
    bvh = _bvh("makehuman_tpose.bvh")
    assert len(bvh.names) == 173 and detect_convention(bvh.names) == "makehuman"
    clip = retarget_bvh(bvh, skeleton)
    heads = forward_kinematics(skeleton, clip.rotations, clip.root_translation)[0, :, :3, 3]
    rest = skeleton.heads.astype(np.float64)
    for side in ("left", "right"):
        for a, b in (("UpperArm", "LowerArm"), ("LowerArm", "Hand")):
            i, k = skeleton.index(side + a), skeleton.index(side + b)
            cos = _unit(heads[k] - heads[i]) @ _unit(rest[k] - rest[i])
            assert np.degrees(np.arccos(min(cos, 1.0))) < 5.0


def test_name_maps():
    for convention, mapping in NAME_MAPS.items():
        assert set(mapping) <= set(CANONICAL) and len(mapping) >= 19, convention
        assert detect_convention(mapping.values()) == convention
    mixamo = [f"mixamorig:{n}" for n in NAME_MAPS["mixamo"].values()]
    assert detect_convention(mixamo) == "mixamo"
    assert map_to_canonical(mixamo)["leftLowerArm"] == "mixamorig:LeftForeArm"
    assert map_to_canonical(NAME_MAPS["rigify"].values())["rightUpperLeg"] == "DEF-thigh.R"
    assert map_to_canonical(NAME_MAPS["biped"].values())["leftHand"] == "Bip01 L Hand"
    with pytest.raises(ValueError, match="no known convention"):
        detect_convention(["a", "b", "c"])


def test_swing():
    rng = np.random.default_rng(3)
    for a, b in rng.normal(size=(20, 2, 3)):
        r = swing(a, b)
        np.testing.assert_allclose(r @ _unit(a), _unit(b), atol=1e-12)
        np.testing.assert_allclose(r @ r.T, np.eye(3), atol=1e-12)
    r = swing(np.array([1.0, 0, 0]), np.array([-1.0, 0, 0]))
    np.testing.assert_allclose(r @ [1, 0, 0], [-1, 0, 0], atol=1e-12)


def test_malformed_bvh_names_the_line(tmp_path):
    bad = tmp_path / "bad.bvh"
    bad.write_text("HIERARCHY\nROOT Hips\n{\n OFFSET 0 0 zero\n")
    with pytest.raises(ValueError, match=r"bad.bvh:4"):
        read_bvh(bad)
