"""Fit the canonical humanoid skeleton to a T-pose body from its shape alone.

The mesh is voxelised into a solid occupancy grid; joints come from landmarks that any T-pose
humanoid shows in that solid: the arms are the long horizontal runs of the front silhouette,
the armpit is where an arm's underside drops into the flank, the crotch is where the two legs'
cross-sections merge, the neck is the narrowest section between chest and head, the feet are
where a leg's section becomes long in depth. Joints between landmarks are placed at
proportional positions and pulled onto the centre of the local cross-section, so they lie inside.
"""

from __future__ import annotations

import math

import numpy as np

from reskin.core.mesh import Mesh
from reskin.core.skeleton import Skeleton
from reskin.rigging.fit_apose import fit_a_pose
from reskin.rigging.voxel_body import (
    TRUNK_RULES,
    TrunkRule,
    VoxelBody,
    assemble,
    fit_error,
    fit_legs,
    nearest_run,
    silhouette_runs,
)


def _trace_arm(body: VoxelBody, side: int) -> dict[str, object]:
    """Follow one arm of the front silhouette from its tip towards the body centre.

    side: +1 for the character's left (+X), -1 for its right. Returns the armpit column, the
    per-column vertical runs, and the tip column.
    """
    front, H = body.front, body.height
    filled = np.flatnonzero(front.any(axis=1))
    tip = int(filled.max() if side > 0 else filled.min())
    centre_col = int(np.searchsorted(body.xs, body.cx))
    cols = range(tip, centre_col, -side)
    track: list[tuple[int, int, int]] = []  # (column, bottom row, top row exclusive)
    y_prev = None
    for i in cols:
        runs = silhouette_runs(front[i])
        if not runs:
            break
        # Start on the tip's longest run, then follow the run nearest the previous centre.
        r = max(runs, key=lambda s: s[1] - s[0]) if y_prev is None else nearest_run(runs, y_prev)
        track.append((i, r[0], r[1]))
        if (r[1] - r[0]) * body.pitch > 0.3 * H:
            break
        y_prev = (r[0] + r[1]) // 2
    reach = abs(body.xs[tip] - body.cx)
    dist = np.array([abs(body.xs[tip] - body.xs[c]) for c, _, _ in track])
    thick = np.array([t - b for _, b, t in track]) * body.pitch
    bottom = np.array([b for _, b, _ in track])
    ref = (dist > 0.12 * reach) & (dist < 0.35 * reach)
    if ref.sum() < 3:
        raise fit_error("the arms were not found (no horizontal limb at the sides)")
    t_ref = float(np.median(thick[ref]))
    b_ref = float(np.median(bottom[ref]))
    dropped = np.flatnonzero((bottom < b_ref - 1.2 * t_ref / body.pitch) & (dist > 0.2 * reach))
    if len(dropped) == 0 or t_ref > 0.12 * H:
        raise fit_error("the arms were not found (no armpit where an arm meets the torso)")
    k = int(dropped[0])
    return {"tip": tip, "track": track[:k], "armpit_col": track[k - 1][0], "thickness": t_ref}


def _arm_joints(body: VoxelBody, side: int, arm: dict) -> dict[str, np.ndarray]:
    xs, ys, zs, p = body.xs, body.ys, body.zs, body.pitch
    track = arm["track"]
    tip_x = float(xs[arm["tip"]])
    pit_x = float(xs[arm["armpit_col"]])
    length = abs(tip_x - pit_x)
    # Arm axis: a line through the run centres of the forearm and elbow region, where no
    # shoulder mass or hand widening shifts the centre.
    cx_arr = np.array([xs[c] for c, _, _ in track])
    cy_arr = np.array([0.5 * (ys[b] + ys[t - 1]) for _, b, t in track])
    frac = np.abs(cx_arr - pit_x) / length
    sel = (frac > 0.3) & (frac < 0.75)
    slope, icept = np.polyfit(cx_arr[sel], cy_arr[sel], 1) if sel.sum() >= 2 else (0.0, cy_arr[0])
    zc = []
    for c, b, t in track:
        kk = np.flatnonzero(body.occ[c, b:t, :].any(axis=0))
        zc.append(zs[kk].mean())
    z_axis = float(np.median(np.array(zc)[sel])) if sel.any() else float(np.median(zc))

    def on_axis(x: float) -> np.ndarray:
        return np.array([x, slope * x + icept, z_axis])

    # The hand is flat (palm down) and wide in depth, the forearm round: the wrist is where,
    # coming in from the tip, the section's depth/height ratio falls back towards 1.
    wrist_x = None
    for c, b, t in track:
        d = abs(xs[c] - tip_x)
        if d < 2 * p or d > 0.45 * length:
            continue
        kk = np.flatnonzero(body.occ[c, b:t, :].any(axis=0))
        depth = (kk.max() - kk.min() + 1) if len(kk) else 0
        if depth < 1.35 * (t - b):
            wrist_x = float(xs[c])
            break
    if wrist_x is None:
        wrist_x = tip_x - side * 0.24 * length
    shoulder_x = pit_x + side * 0.6 * arm["thickness"]
    elbow_x = shoulder_x + 0.545 * (wrist_x - shoulder_x)
    return {
        "UpperArm": on_axis(shoulder_x),
        "LowerArm": on_axis(elbow_x),
        "Hand": on_axis(wrist_x),
        "_tip": on_axis(tip_x),
        "_thickness": np.array(arm["thickness"]),
    }


def fit_skeleton(mesh: Mesh, *, trunk: str = "reskin") -> Skeleton:
    """Fit :data:`HUMANOID_JOINTS` to a closed humanoid in T- or A-pose (+Y up, facing +Z, arms
    spread to the sides along X).

    Only the geometry is used. Heads are joint positions (j, 3) float32 inside the body; tails
    point at the first child, or at the crown, fingertip and toe tip for the leaves.
    Raises ValueError when no arms, legs, feet or neck can be found.

    Arms within ~20 degrees of horizontal take the T-pose rules (tuned on horizontal arms, whose
    front silhouette is one long run per column); lowered arms take the A-pose rules of
    :mod:`reskin.rigging.fit_apose`, which follow each arm along its own axis.

    trunk : the convention for the joints the shape cannot place (spine and chest height, hips
    depth): "reskin" (the generator's construction) or "mixamo" (imported characters); see
    :data:`reskin.rigging.voxel_body.TRUNK_RULES`.
    """
    if trunk not in TRUNK_RULES:
        raise ValueError(f"unknown trunk convention {trunk!r}; known: {', '.join(TRUNK_RULES)}")
    rule = TRUNK_RULES[trunk]
    body = VoxelBody(mesh)
    t_error: ValueError | None = None
    t_fit: Skeleton | None = None
    try:
        t_fit = _fit_t_pose(body, rule)
    except ValueError as exc:
        t_error = exc
    if t_fit is not None and _arm_drop_degrees(t_fit) < _T_POSE_MAX_DROP:
        return t_fit
    try:
        return fit_a_pose(body, rule)
    except ValueError:
        # A body the T-pose rules managed (arms a little low) keeps that fit; otherwise report
        # the error of the rules the silhouette looked most like: T-pose for a wide span.
        if t_fit is not None:
            return t_fit
        if t_error is not None and "arm span" not in str(t_error):
            raise t_error from None
        raise


_T_POSE_MAX_DROP = 20.0  # degrees below horizontal up to which arms count as a T-pose


def _arm_drop_degrees(skeleton: Skeleton) -> float:
    """Mean angle (degrees) of the shoulder-to-wrist lines below the horizontal."""
    drops = []
    for name in ("left", "right"):
        d = skeleton.heads[skeleton.index(f"{name}Hand")] - skeleton.heads[
            skeleton.index(f"{name}UpperArm")]
        drops.append(math.degrees(math.atan2(-float(d[1]), float(np.hypot(d[0], d[2])))))
    return float(np.mean(drops))


def _fit_t_pose(body: VoxelBody, rule: TrunkRule) -> Skeleton:
    """The T-pose rules: arms traced column by column along X from the fingertips in."""
    H, xs = body.height, body.xs
    filled = xs[body.front.any(axis=1)]
    if np.ptp(filled) < 0.7 * H:
        raise fit_error(f"the arm span ({np.ptp(filled):.2f}) is far less than the height "
                        f"({H:.2f})")
    arms = {side: _trace_arm(body, side) for side in (1, -1)}
    arm_j = {side: _arm_joints(body, side, arms[side]) for side in (1, -1)}
    # Trunk columns: strictly between the armpits, so arms never enter trunk measurements.
    lo_col, hi_col = sorted((arms[-1]["armpit_col"], arms[1]["armpit_col"]))
    core = np.arange(lo_col + 1, hi_col)
    if len(core) < 4:
        raise fit_error("no trunk between the arms")
    _, legs = fit_legs(body)
    return assemble(body, core, arm_j, legs, rule)
