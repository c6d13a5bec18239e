"""Joint fitting for lowered arms (A-pose), on the voxelised body of
:mod:`reskin.rigging.voxel_body`.

Seen from the front, a lowered arm is separated from the flank by a gap that opens at the armpit
and runs down to the fingertips. Below the armpit the arm is therefore its own connected piece
of the front silhouette. Its voxels, binned by their distance inside the arm from the armpit
cut (a geodesic, so bins stay square to the arm round a bent elbow), give a centre line; the
elbow and wrist are placed on it with the T-pose fit's rules (wrist where the flat hand turns
into the round forearm, elbow at 54.5 % of the way from shoulder to wrist) and the shoulder
joint a fixed share of the height above and outboard of the armpit fold. With the free arms
removed from the solid, legs and trunk are measured exactly as in a T-pose.
"""

from __future__ import annotations

import copy
import math

import numpy as np
from scipy import ndimage
from scipy.sparse import coo_matrix
from scipy.sparse.csgraph import dijkstra

from reskin.core.skeleton import Skeleton
from reskin.rigging.voxel_body import (
    TRUNK_RULES,
    TrunkRule,
    VoxelBody,
    assemble,
    fit_error,
    fit_legs,
    silhouette_runs,
)

_GAP_MIN = 0.04  # the arm-flank gap must run at least this share of the height down
_SLICE = 1.5  # slice thickness along the arm, in voxels
_PIT_TO_SHOULDER = (0.028, 0.042)  # armpit fold to shoulder joint, out and up, share of height
_ROUND = 1.6  # a section this much longer than wide is the flat hand, not the forearm
_MAX_DROP = 75.0  # degrees: arms hanging steeper than this touch the flank, no gap to find


def fit_a_pose(body: VoxelBody, rule: TrunkRule = TRUNK_RULES["reskin"]) -> Skeleton:
    """Fit the canonical skeleton to ``body`` with both arms lowered but clear of the flanks.

    Raises ValueError (``cannot fit a skeleton: ...``) when an arm is not separated from the
    trunk below the armpit, or when legs, feet, neck or head are not found.
    """
    # Skinning a pose can push the lowered upper arm into the flank; ray parity leaves such
    # overlaps as empty pockets inside the solid. Filling them keeps section centres honest.
    occ = ndimage.binary_fill_holes(body.occ)
    solid = copy.copy(body)
    solid.occ = occ
    solid.front = occ.any(axis=2)
    arms = {side: _find_arm(solid, side) for side in (1, -1)}
    arm_j = {side: _arm_joints(solid, side, arms[side]) for side in (1, -1)}
    # Legs and trunk are measured on the solid without the free arms: hanging hands at thigh
    # height would otherwise read as extra legs below the crotch.
    trunk = copy.copy(solid)
    trunk.occ = occ & ~(arms[1]["mask"] | arms[-1]["mask"])[:, :, None]
    trunk.front = trunk.occ.any(axis=2)
    lo_col, hi_col = sorted((arms[-1]["pit_col"], arms[1]["pit_col"]))
    core = np.arange(lo_col + 1, hi_col)
    if len(core) < 4:
        raise fit_error("no trunk between the arms")
    _, legs = fit_legs(trunk)
    # The unfilled solid: a pocket closed off at voxel size (a mouth) is still outside.
    return _inside(assemble(trunk, core, arm_j, legs, rule), body)


def _inside(skeleton: Skeleton, body: VoxelBody) -> Skeleton:
    """Move joints that ended up outside the solid, or within 2 cells of its surface, to the
    nearest cell at least 2 cells deep.

    Section centroids can fall into a pocket open to the outside: a modelled mouth cavity puts
    the head's centroid behind the lips. Tails that were a child's head follow the child.
    """
    depth = ndimage.distance_transform_edt(body.occ)
    _, nearest = ndimage.distance_transform_edt(depth < 2, return_indices=True)
    heads = skeleton.heads.astype(np.float64)
    grid = (body.xs, body.ys, body.zs)
    cell = np.stack([np.clip(np.searchsorted(g, h - 0.5 * body.pitch), 0, len(g) - 1)
                     for g, h in zip(grid, heads.T, strict=True)], axis=1)
    moved = heads.copy()
    for i, (a, b, c) in enumerate(cell):
        if depth[a, b, c] < 2:
            moved[i] = [g[nearest[k, a, b, c]] for k, g in enumerate(grid)]
    tails = skeleton.tails.astype(np.float64).copy()
    for i in range(len(heads)):
        children = np.flatnonzero(skeleton.parents == i)
        if len(children):
            tails[i] = moved[children[0]]
    return Skeleton(skeleton.names, skeleton.parents, moved.astype(np.float32),
                    tails.astype(np.float32))


def _outer_run(runs: list[tuple[int, int]], centre_col: int, side: int) -> tuple | None:
    """The trunk run (containing or nearest ``centre_col``) and the nearest run beyond it on
    ``side``, as (trunk, outer) or None when nothing lies beyond the trunk."""
    trunk = min(runs, key=lambda r: 0 if r[0] <= centre_col < r[1] else
                min(abs(r[0] - centre_col), abs(r[1] - 1 - centre_col)) + 1)
    beyond = [r for r in runs if (r[0] >= trunk[1] if side > 0 else r[1] <= trunk[0])]
    if not beyond:
        return None
    return trunk, min(beyond, key=lambda r: abs(r[0] - trunk[1]) if side > 0 else
                      abs(trunk[0] - r[1]))


def _find_arm(body: VoxelBody, side: int) -> dict:
    """The free part of one arm: front-silhouette cells below the armpit that the arm owns.

    side: +1 for the character's left (+X), -1 for its right. Returns the armpit row and column
    (the flank's edge at the armpit), the (nx, ny) bool silhouette ``mask`` of the arm below
    it, and the arm's voxel centres ``points`` (p, 3).
    """
    front, H, p = body.front, body.height, body.pitch
    centre_col = int(np.searchsorted(body.xs, body.cx))
    # Rows from the top of the legs to the chin: a gap beside the trunk here is an arm's.
    rows = range(body.row(body.ymax - 0.12 * H), body.row(body.ymin + 0.3 * H), -1)
    gap = {}
    for j in rows:
        runs = silhouette_runs(front[:, j])
        if runs and (pair := _outer_run(runs, centre_col, side)) is not None:
            gap[j] = pair
    need = max(3, int(_GAP_MIN * H / p))
    pit_row = None
    for j in rows:
        if all(k in gap for k in range(j, j - need, -1)):
            pit_row = j
            break
    if pit_row is None:
        raise fit_error("the arms were not found (no gap between a lowered arm and the flank)")
    trunk_run, outer = gap[pit_row]
    pit_col = trunk_run[1] - 1 if side > 0 else trunk_run[0]
    labels, _ = ndimage.label(front[:, : pit_row + 1])
    lab = labels[outer[0], pit_row]
    mask = np.zeros_like(front)
    mask[:, : pit_row + 1] = labels == lab
    if mask[centre_col].any() or lab == labels[trunk_run[0], pit_row]:
        raise fit_error("an arm touches the trunk or a leg below the armpit (hands on the thighs?)")
    ii, jj, kk = np.nonzero(body.occ & mask[:, :, None])
    points = np.stack([body.xs[ii], body.ys[jj], body.zs[kk]], axis=1)
    reach = float(np.abs(points[:, 0] - body.xs[pit_col]).max())
    if len(points) < 50 or reach < 0.15 * H:
        raise fit_error("the arms were not found (the piece beside the flank is too short "
                        "for an arm)")
    pit = np.array([body.xs[pit_col], body.ys[pit_row], 0.0])
    return {"pit_row": pit_row, "pit_col": pit_col, "pit": pit, "mask": mask, "points": points}


def _geodesic(points: np.ndarray, pitch: float, seeds: np.ndarray) -> np.ndarray:
    """Distance (p,) from the ``seeds`` (bool (p,)) through the voxels ``points`` (p, 3).

    The voxels are joined to their 26 neighbours (steps 1, sqrt 2, sqrt 3 cells). Level sets of
    this distance cut a limb across its local axis even round a bent elbow, where slices across
    one straight axis would cut it obliquely.
    """
    cell = np.round((points - points.min(axis=0)) / pitch).astype(np.int64)
    dims = cell.max(axis=0) + 3
    flat = ((cell[:, 0] + 1) * dims[1] + cell[:, 1] + 1) * dims[2] + cell[:, 2] + 1
    lookup = np.full(int(np.prod(dims)), -1, np.int64)
    lookup[flat] = np.arange(len(points))
    rows, cols, vals = [], [], []
    for off in np.array(np.meshgrid(*[[-1, 0, 1]] * 3, indexing="ij")).reshape(3, -1).T:
        if not off.any() or tuple(off) < (0, 0, 0):
            continue  # each undirected edge once
        nb = lookup[flat + (off[0] * dims[1] + off[1]) * dims[2] + off[2]]
        ok = nb >= 0
        rows.append(np.flatnonzero(ok))
        cols.append(nb[ok])
        vals.append(np.full(int(ok.sum()), math.sqrt(float((off**2).sum()))))
    graph = coo_matrix(
        (np.concatenate(vals), (np.concatenate(rows), np.concatenate(cols))),
        shape=(len(points), len(points)),
    ).tocsr()
    dist = dijkstra(graph, directed=False, indices=np.flatnonzero(seeds), min_only=True)
    return dist * pitch


def _arm_joints(body: VoxelBody, side: int, arm: dict) -> dict[str, np.ndarray]:
    """Shoulder, elbow and wrist (3,) on the arm's centre line, plus its fingertip and thickness.

    The centre line is the centroids of the arm's voxels (p, 3) binned by their distance inside
    the arm from its top cut at the armpit row (see :func:`_geodesic`).
    """
    pts, p, H = arm["points"], body.pitch, body.height
    top = pts[:, 1] >= body.ys[arm["pit_row"]] - 0.5 * p
    s = _geodesic(pts, p, top)
    reached = np.isfinite(s)
    pts, s = pts[reached], s[reached]
    step = _SLICE * p
    bins = np.floor(s / step).astype(np.int64)
    centre, arc, ratio = [], [], []
    for b in np.unique(bins):
        q = pts[bins == b]
        if len(q) < 3:
            continue
        centre.append(q.mean(axis=0))
        arc.append((b + 0.5) * step)
        # Section shape: the spread of the level set's voxels in its two widest directions.
        ev = np.linalg.eigvalsh(np.cov((q - q.mean(axis=0)).T))
        ratio.append(math.sqrt(max(ev[2], 1e-12) / max(ev[1], 1e-12)))
    centre, arc, ratio = np.array(centre), np.array(arc), np.array(ratio)
    if len(centre) < 8:
        raise fit_error("the arms were not found (too short to follow)")
    d = centre[-1] - centre[0]
    drop = math.degrees(math.atan2(-d[1], math.hypot(d[0], d[2])))
    if not 0 < drop < _MAX_DROP:
        raise fit_error(f"an arm points {drop:.0f} degrees below the horizontal, not lowered "
                        "sideways")
    # The shoulder joint sits above and a little outboard of the armpit fold, by adult
    # proportions (checked on MakeHuman's joint markers and on skinned A-poses of the generated
    # bodies). The fold's geometry alone cannot say more: skin folds and soft tissue fill the
    # armpit differently on every mesh, while the joint itself does not move as the arm drops.
    shoulder = np.array(
        [arm["pit"][0] + side * _PIT_TO_SHOULDER[0] * H,
         arm["pit"][1] + _PIT_TO_SHOULDER[1] * H,
         centre[0][2]]
    )
    # Arc length along the centre line, starting at the shoulder joint.
    line = np.concatenate([shoulder[None], centre])
    length = np.concatenate([[0.0], np.cumsum(np.linalg.norm(np.diff(line, axis=0), axis=1))])
    total = float(length[-1] + (s.max() - arc[-1]))  # to the fingertip

    def at(a: float) -> np.ndarray:
        return np.array([np.interp(a, length, line[:, k]) for k in range(3)])

    # Wrist: coming in from the fingertip, the flat hand (a section far wider one way than the
    # other) turns into the round forearm.
    wrist = None
    for k in range(len(centre) - 1, -1, -1):
        a = length[k + 1]
        if a > total - 2 * p:
            continue
        if a < 0.55 * total:
            break
        if ratio[k] < _ROUND:
            wrist = a
            break
    if wrist is None:
        wrist = 0.76 * total
    tip_dir = centre[-1] - centre[max(len(centre) - 4, 0)]
    tip_dir /= max(np.linalg.norm(tip_dir), 1e-12)
    section = (s >= arc[0] - 0.5 * step) & (s < arc[min(6, len(arc) - 1)])
    # A round section of diameter D has a standard deviation of D / 4 across it.
    thick = 4.0 * float(np.sqrt(np.linalg.eigvalsh(np.cov(pts[section].T))[1:].mean()))
    return {
        "UpperArm": shoulder,
        "LowerArm": at(0.545 * wrist),
        "Hand": at(wrist),
        "_tip": centre[-1] + (s.max() - arc[-1]) * tip_dir,
        "_thickness": np.array(thick),
    }
