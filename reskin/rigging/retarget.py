"""Retarget a BVH motion onto a character's canonical skeleton.

1. Names: the source's convention is detected and mapped onto the canonical joints.
2. Frame: the source rest pose gives its left (right hip -> left hip), up (hips -> head) and
   forward axes; a fixed rotation Q turns them into reskin's (+X left, +Y up, +Z forward).
3. Rest-pose alignment: for every mapped joint, the rotation S that swings the target's rest
   bone direction onto the source's rest bone direction (both in world space) is found once.
   A frame's target world rotation is then ``G_t = (Q G_s Q^T) S``, so the target bone points
   where the source bone points, with the source's twist, whatever the two rest poses are
   (T-pose onto A-pose and back). Local rotations follow from the parents' world rotations.
   Source joints between mapped ones (CMU's Spine1) need no special care: their rotation is
   part of the next mapped joint's world rotation.
4. Root motion: hips positions scaled by the ratio of the rest leg lengths (hips above the
   lowest joint); then the whole clip is lifted so its lowest foot joint is at the height the
   character's lowest foot joint has at rest; then planted feet are put on the floor frame by
   frame (:mod:`reskin.rigging.foot_contact`).
"""

from __future__ import annotations

import numpy as np

from reskin.core.clip import Clip
from reskin.core.skeleton import Skeleton, forward_kinematics
from reskin.core.transforms import matrix_to_quat
from reskin.rigging.bvh import BvhMotion
from reskin.rigging.foot_contact import plant_feet
from reskin.rigging.names import map_to_canonical

_FEET = ("leftFoot", "rightFoot", "leftToes", "rightToes")


def _unit(v: np.ndarray) -> np.ndarray:
    n = np.linalg.norm(v, axis=-1, keepdims=True)
    return v / np.where(n > 0, n, 1.0)


def swing(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """(3, 3) the smallest rotation taking unit direction ``a`` onto ``b``."""
    a, b = _unit(np.asarray(a, np.float64)), _unit(np.asarray(b, np.float64))
    v = np.cross(a, b)
    c = float(a @ b)
    if c < -1 + 1e-9:  # opposite: half a turn about any axis perpendicular to a
        p = np.cross(a, np.eye(3)[np.argmin(np.abs(a))])
        p = _unit(p)
        return 2 * np.outer(p, p) - np.eye(3)
    k = np.array([[0, -v[2], v[1]], [v[2], 0, -v[0]], [-v[1], v[0], 0]])
    return np.eye(3) + k + k @ k / (1 + c)


def source_axes(left: np.ndarray, up: np.ndarray) -> np.ndarray:
    """(3, 3) rows: the source's left, up and forward axes (as reskin's x, y, z), from its
    rest pose's right-hip -> left-hip and hips -> head directions.

    Up snaps to the file's nearest axis when within 30 degrees of it: a mocap rest pose
    leans (CMU's head sits 3 degrees behind the hips), but its floor is the axis plane, and an
    up taken from the lean would tip the floor so a long walk drifts up or down by
    centimetres.
    """
    up = _unit(np.asarray(up, np.float64))
    k = int(np.argmax(np.abs(up)))
    if abs(up[k]) > np.cos(np.radians(30)):
        up = np.sign(up[k]) * np.eye(3)[k]
    left = np.asarray(left, np.float64)
    left = _unit(left - (left @ up) * up)
    return np.stack([left, up, np.cross(left, up)])


def _source_direction(bvh: BvhMotion, rest: np.ndarray, s: int, child: int | None) -> np.ndarray:
    """Rest-pose world direction of source joint ``s``'s bone: to the mapped child, else to its
    first child, else along its End Site."""
    eps = 1e-6 * float(np.ptp(rest, axis=0).max())
    # A joint at the same place as the one it points at (CMU's LowerBack sits on the Hips)
    # has no direction: look further down that branch, breadth first.
    queue = [child] if child is not None else list(np.flatnonzero(bvh.parents == s))
    while queue:
        k = queue.pop(0)
        if np.linalg.norm(rest[k] - rest[s]) > eps:
            return rest[k] - rest[s]
        queue += list(np.flatnonzero(bvh.parents == k))
    if not np.isnan(bvh.end_sites[s]).any():
        return bvh.end_sites[s]
    p = bvh.parents[s]
    return rest[s] - rest[p] if p >= 0 else np.array([0.0, 1.0, 0.0])


def retarget_bvh(
    bvh: BvhMotion,
    skeleton: Skeleton,
    *,
    name: str = "mocap",
    convention: str | None = None,
    plant: bool = True,
) -> Clip:
    """The BVH motion as a :class:`Clip` on ``skeleton`` (canonical names, identity rest
    rotations, +Y up, facing +Z), at the BVH's frame rate.

    ``plant`` puts planted feet on the floor (:func:`reskin.rigging.foot_contact.plant_feet`:
    contacts, root height, leg IK, toe limits) where the skeleton has both legs with toes.
    Raises ValueError when the names match no convention or the hips, legs or head are missing.
    """
    mapping = map_to_canonical(bvh.names, convention)  # canonical -> source name
    need = ("hips", "leftUpperLeg", "rightUpperLeg", "head")
    missing = [n for n in need if n not in mapping or n not in skeleton.names]
    if missing:
        raise ValueError(f"cannot retarget: no source joint for {missing}")
    src = {c: bvh.index(s) for c, s in mapping.items() if c in skeleton.names}
    rest_s = bvh.rest_positions()

    # 2. the source's frame -> reskin's frame
    q = source_axes(rest_s[src["leftUpperLeg"]] - rest_s[src["rightUpperLeg"]],
                    rest_s[src["head"]] - rest_s[src["hips"]])
    rot_s, pos_s = bvh.world()
    rot_s = q[None, None] @ rot_s @ q.T[None, None]
    pos_s = pos_s @ q.T
    rest_s = rest_s @ q.T

    # 3. rest-pose alignment, then world -> local
    names = skeleton.names
    heads = skeleton.heads.astype(np.float64)
    tails = skeleton.tails.astype(np.float64)
    f, j = bvh.frames, len(names)
    world = np.tile(np.eye(3), (f, j, 1, 1))
    local = np.tile(np.eye(3), (f, j, 1, 1))
    for i, canon in enumerate(names):
        p = skeleton.parents[i]
        if canon not in src:
            # Unmapped: keep the rest pose relative to the parent.
            world[:, i] = world[:, p] if p >= 0 else np.eye(3)
            continue
        s = src[canon]
        kids = [k for k in np.flatnonzero(skeleton.parents == i) if names[k] in src]
        # The hips point up the spine; limbs at their (first) mapped child; leaves at the tail.
        kid = next((k for k in kids if names[k] in ("spine", "chest")), kids[0] if kids else None)
        d_t = (heads[kid] if kid is not None else tails[i]) - heads[i]
        d_s = _source_direction(bvh, rest_s, s, src[names[kid]] if kid is not None else None)
        align = swing(d_t, d_s) if np.linalg.norm(d_t) > 0 else np.eye(3)
        world[:, i] = rot_s[:, s] @ align
    for i in range(j):
        p = skeleton.parents[i]
        local[:, i] = world[:, i] if p < 0 else np.swapaxes(world[:, p], -1, -2) @ world[:, i]

    # 4. root motion, scaled by leg length, the source's floor on the target's
    def leg(points: np.ndarray, hips: np.ndarray) -> float:
        return float(hips[1] - points[:, 1].min())

    feet_s = [src[n] for n in _FEET if n in src] or list(range(len(bvh.names)))
    scale = leg(heads, heads[skeleton.index("hips")]) / max(
        leg(rest_s, rest_s[src["hips"]]), 1e-9)
    floor_s = float(pos_s[:, feet_s, 1].min())
    feet_t = [skeleton.index(n) for n in _FEET if n in names]
    floor_t = float(heads[feet_t, 1].min()) if feet_t else float(heads[:, 1].min())
    hip_path = pos_s[:, src["hips"]]
    root = np.empty((f, 3))
    root[:, 1] = floor_t + scale * (hip_path[:, 1] - floor_s)
    root[:, [0, 2]] = heads[skeleton.index("hips"), [0, 2]] + scale * (
        hip_path[:, [0, 2]] - hip_path[:1, [0, 2]])
    rotations = matrix_to_quat(local)
    if feet_t:
        # The target's legs are not the source's scaled (thigh, shin and foot proportions
        # differ), so the scaled hips alone leave the feet floating or sunk: lift the clip so
        # its lowest foot joint touches the floor where it does at rest.
        lowest = forward_kinematics(skeleton, rotations, root)[:, feet_t, 1, 3].min()
        root[:, 1] += floor_t - lowest
    if plant and all(f"{s}{b}" in names for s in ("left", "right") for b in (
            "UpperLeg", "LowerLeg", "Foot", "Toes")):
        rotations, root, _ = plant_feet(skeleton, rotations, root, float(bvh.fps))
    return Clip(name=name, fps=float(bvh.fps), joint_names=names,
                rotations=rotations.astype(np.float32), root_translation=root.astype(np.float32))
