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

from reskin.assets.mesh import Mesh
from reskin.rigging.skeleton import HUMANOID_JOINTS, Skeleton

_VOXELS_PER_HEIGHT = 250


def _grid_axis(lo: float, hi: float, pitch: float, centred: bool) -> np.ndarray:
    """Cell centres covering [lo, hi] with one empty cell beyond each end.

    ``centred`` places an even number of cells symmetrically about the middle (so a mirror-
    symmetric body gives a mirror-symmetric grid and no ray runs exactly on the mid-plane);
    otherwise cells start at an irrational fraction of a cell so rays rarely graze an edge.
    """
    if centred:
        half = int(math.ceil(0.5 * (hi - lo) / pitch)) + 1
        return 0.5 * (lo + hi) + (np.arange(2 * half) - half + 0.5) * pitch
    n = int(math.ceil((hi - lo) / pitch)) + 3
    return lo + (np.arange(n) - 1 + 0.3137) * pitch


def _parity(
    tri: np.ndarray, grids: tuple[np.ndarray, ...], pitch: float, ray: int
) -> tuple[np.ndarray, np.ndarray]:
    """Inside/outside of every cell by counting surface crossings along axis ``ray``.

    tri : (m, 3, 3) triangles; grids : cell centres along x, y, z
    returns occ (nx, ny, nz) bool and closed (nx, ny, nz) bool: False where the cell's ray
    crossed the surface an odd number of times (a hole), so its parity means nothing.
    """
    order = [k for k in range(3) if k != ray] + [ray]
    t = tri[:, :, order]
    g0, g1, g2 = (grids[k] for k in order)
    # Columns (i, j) whose centre falls in a triangle's projected bounding box.
    i0 = np.ceil((t[:, :, 0].min(axis=1) - g0[0]) / pitch).astype(np.int64)
    i1 = np.floor((t[:, :, 0].max(axis=1) - g0[0]) / pitch).astype(np.int64)
    j0 = np.ceil((t[:, :, 1].min(axis=1) - g1[0]) / pitch).astype(np.int64)
    j1 = np.floor((t[:, :, 1].max(axis=1) - g1[0]) / pitch).astype(np.int64)
    ni, nj = np.maximum(i1 - i0 + 1, 0), np.maximum(j1 - j0 + 1, 0)
    count = ni * nj
    f = np.repeat(np.arange(len(t)), count)
    local = np.arange(int(count.sum())) - np.repeat(np.cumsum(count) - count, count)
    ci = i0[f] + local % ni[f]
    cj = j0[f] + local // ni[f]
    px, py = g0[ci], g1[cj]
    a, b, c = t[f, 0], t[f, 1], t[f, 2]
    det = (b[:, 0] - a[:, 0]) * (c[:, 1] - a[:, 1]) - (c[:, 0] - a[:, 0]) * (b[:, 1] - a[:, 1])
    ok = det != 0
    det = np.where(ok, det, 1.0)
    l1 = ((px - a[:, 0]) * (c[:, 1] - a[:, 1]) - (c[:, 0] - a[:, 0]) * (py - a[:, 1])) / det
    l2 = ((b[:, 0] - a[:, 0]) * (py - a[:, 1]) - (px - a[:, 0]) * (b[:, 1] - a[:, 1])) / det
    hit = ok & (l1 >= 0) & (l2 >= 0) & (l1 + l2 <= 1)
    depth = (1 - l1 - l2) * a[:, 2] + l1 * b[:, 2] + l2 * c[:, 2]
    n0, n1, n2 = len(g0), len(g1), len(g2)
    k = np.clip(np.ceil((depth - g2[0]) / pitch), 0, n2).astype(np.int64)
    flat = (ci[hit] * n1 + cj[hit]) * (n2 + 1) + k[hit]
    crossings = np.bincount(flat, minlength=n0 * n1 * (n2 + 1)).reshape(n0, n1, n2 + 1)
    occ = (np.cumsum(crossings, axis=2)[..., :n2] % 2).astype(bool)
    closed = np.broadcast_to((crossings.sum(axis=2) % 2 == 0)[..., None], occ.shape)
    back = np.argsort(order)
    return occ.transpose(back), closed.transpose(back)


def _voxelize(
    vertices: np.ndarray, faces: np.ndarray, pitch: float
) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Solid occupancy of a mesh by ray parity.

    vertices : (n, 3) float, faces : (m, 3) int
    returns occ (nx, ny, nz) bool and the cell-centre coordinates xs (nx,), ys (ny,), zs (nz,)

    A closed mesh needs rays along one axis. When some rays see an odd number of crossings
    (holes, open seams) rays along all three axes vote and rays through a hole abstain
    (Nooruddin & Turk 2003), so a hole does not smear a streak through the body.
    """
    v = np.asarray(vertices, np.float64)
    lo, hi = v.min(axis=0), v.max(axis=0)
    grids = (
        _grid_axis(lo[0], hi[0], pitch, centred=True),
        _grid_axis(lo[1], hi[1], pitch, centred=False),
        _grid_axis(lo[2], hi[2], pitch, centred=False),
    )
    tri = v[faces]
    occ, closed = _parity(tri, grids, pitch, ray=2)
    if closed.all():
        return occ, *grids
    inside = np.where(closed, occ, False).astype(np.int8)
    valid = closed.astype(np.int8)
    for ray in (0, 1):
        o, c = _parity(tri, grids, pitch, ray)
        inside += o & c
        valid += c
    return 2 * inside > valid, *grids


def _runs(mask: np.ndarray) -> list[tuple[int, int]]:
    """Half-open index ranges [start, stop) of the True runs of a 1-D boolean array."""
    d = np.diff(np.concatenate([[0], mask.astype(np.int8), [0]]))
    return list(zip(np.flatnonzero(d == 1).tolist(), np.flatnonzero(d == -1).tolist(), strict=True))


def _nearest_run(runs: list[tuple[int, int]], row: int) -> tuple[int, int]:
    """The run containing ``row``, else the one whose end is closest to it."""
    return min(
        runs,
        key=lambda r: 0 if r[0] <= row < r[1] else min(abs(r[0] - row), abs(r[1] - 1 - row)) + 1,
    )


class _Body:
    """The voxelised body and the measurements the joint rules share."""

    def __init__(self, mesh: Mesh):
        v = np.asarray(mesh.vertices, np.float64)
        if len(v) < 4 or len(mesh.faces) < 4:
            raise ValueError("cannot fit a skeleton: the mesh is empty")
        self.ymin, self.ymax = float(v[:, 1].min()), float(v[:, 1].max())
        self.height = self.ymax - self.ymin
        if not self.height > 0:
            raise ValueError("cannot fit a skeleton: the mesh has no height along +Y")
        self.pitch = self.height / _VOXELS_PER_HEIGHT
        self.occ, self.xs, self.ys, self.zs = _voxelize(v, mesh.faces, self.pitch)
        self.front = self.occ.any(axis=2)  # (nx, ny) silhouette seen from +Z
        self.cx = 0.5 * (self.xs[0] + self.xs[-1])

    def row(self, y: float) -> int:
        return int(np.clip(np.round((y - self.ys[0]) / self.pitch), 0, len(self.ys) - 1))

    def section_centre(self, cols: np.ndarray, row: int) -> tuple[float, float] | None:
        """(x, z) centroid of the solid in columns ``cols`` at ``row``, None when empty."""
        ii, kk = np.nonzero(self.occ[cols, row, :])
        if len(ii) == 0:
            return None
        return float(self.xs[cols][ii].mean()), float(self.zs[kk].mean())


def _fail(what: str) -> ValueError:
    return ValueError(
        f"cannot fit a skeleton: {what}; expected one closed humanoid in T- or A-pose, +Y up, "
        "facing +Z, arms spread to the sides along X"
    )


def _trace_arm(body: _Body, side: int) -> dict[str, object]:
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
        runs = _runs(front[i])
        if not runs:
            break
        # Start on the tip's longest run, then follow the run nearest the previous centre.
        r = max(runs, key=lambda s: s[1] - s[0]) if y_prev is None else _nearest_run(runs, y_prev)
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
        raise _fail("the arms were not found (no horizontal limb at the sides)")
    t_ref = float(np.median(thick[ref]))
    b_ref = float(np.median(bottom[ref]))
    dropped = np.flatnonzero((bottom < b_ref - 1.2 * t_ref / body.pitch) & (dist > 0.2 * reach))
    if len(dropped) == 0 or t_ref > 0.12 * H:
        raise _fail("the arms were not found (no armpit where an arm meets the torso)")
    k = int(dropped[0])
    return {"tip": tip, "track": track[:k], "armpit_col": track[k - 1][0], "thickness": t_ref}


def _arm_joints(body: _Body, side: int, arm: dict) -> dict[str, np.ndarray]:
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


def _legs(body: _Body) -> tuple[int, dict[int, dict[str, np.ndarray]]]:
    """Crotch row and per-side leg joints.

    Every measurement here is below the crotch (or at the hips), far below T-pose arms, so
    all columns are used: stout legs may reach further out than the armpits.
    """
    core = np.arange(len(body.xs))
    H, p, xs, ys, zs = body.height, body.pitch, body.xs, body.ys, body.zs
    front = body.front[core]
    start = body.row(body.ymin + 0.25 * H)

    def leg_runs(j):
        return [r for r in _runs(front[:, j]) if (r[1] - r[0]) * p > 0.02 * H]

    if len(leg_runs(start)) != 2:
        raise _fail("two separate legs were not found at knee height")
    crotch = start
    while crotch < len(ys) - 1 and len(leg_runs(crotch)) >= 2:
        crotch += 1
    if ys[crotch] - body.ymin > 0.75 * H:
        raise _fail("the legs do not join a trunk")
    legs: dict[int, dict[str, np.ndarray]] = {}
    for side in (1, -1):
        cols = core[(xs[core] - body.cx) * side > 0]
        # Thigh centre just below the crotch.
        rows = range(body.row(ys[crotch] - 0.12 * H), body.row(ys[crotch] - 0.03 * H) + 1)
        cents = [c[0] for j in rows if (c := body.section_centre(cols, j)) is not None]
        if not cents:
            raise _fail("a thigh was not found below the crotch")
        # The femoral heads sit about 7 % of the height above the crotch in adult proportions;
        # thigh girth says little about it (stout thighs merge lower without moving the joint).
        hip_y = ys[crotch] + 0.07 * H
        hip = np.array([float(np.median(cents)), hip_y, 0.0])
        # The foot: rows where the leg's section is much deeper (along Z) than wide.
        foot_top = None
        for j in range(body.row(body.ymin), body.row(body.ymin + 0.2 * H)):
            ii, kk = np.nonzero(body.occ[cols, j, :])
            if len(ii) == 0:
                continue
            if (kk.max() - kk.min() + 1) < 1.5 * (ii.max() - ii.min() + 1):
                foot_top = j
                break
        if foot_top is None:
            raise _fail("the feet were not found (no forward-pointing foot at ground level)")
        ankle_y = float(ys[foot_top])
        shin = body.section_centre(cols, body.row(ankle_y + 0.03 * H))
        if shin is None:
            raise _fail("a shin was not found above the foot")
        ankle = np.array([shin[0], ankle_y, shin[1]])
        ii, jj, kk = np.nonzero(body.occ[cols, : foot_top + 1, :])
        z_tip = float(zs[kk].max())
        toes_z = ankle[2] + 0.6 * (z_tip - ankle[2])
        near = zs[kk] > toes_z - 2 * p
        toes_x = float(xs[cols][ii[near]].mean())
        toes = np.array([toes_x, body.ymin + 0.4 * (ankle_y - body.ymin), toes_z])
        knee_y = ankle_y + 0.5 * (hip_y - ankle_y)
        kc = body.section_centre(cols, body.row(knee_y))
        if kc is None:
            raise _fail("a knee was not found between hip and ankle")
        hip[2] = body.section_centre(core, body.row(hip_y))[1]
        legs[side] = {
            "UpperLeg": hip,
            "LowerLeg": np.array([kc[0], knee_y, kc[1]]),
            "Foot": ankle,
            "Toes": toes,
            "_toe_tip": np.array([toes_x, toes[1], z_tip]),
        }
    return crotch, legs


def fit_skeleton(mesh: Mesh) -> Skeleton:
    """Fit :data:`HUMANOID_JOINTS` to a closed humanoid in T- or A-pose (+Y up, facing +Z, arms
    spread to the sides along X).

    Only the geometry is used. Heads are joint positions (j, 3) float32 inside the body; tails
    point at the first child, or at the crown, fingertip and toe tip for the leaves.
    Raises ValueError when no arms, legs, feet or neck can be found.

    Arms within ~20 degrees of horizontal take the T-pose rules (tuned on horizontal arms, whose
    front silhouette is one long run per column); lowered arms take the A-pose rules of
    :mod:`reskin.rigging.fit_apose`, which follow each arm along its own axis.
    """
    from reskin.rigging.fit_apose import fit_a_pose

    body = _Body(mesh)
    t_error: ValueError | None = None
    t_fit: Skeleton | None = None
    try:
        t_fit = _fit_t_pose(body)
    except ValueError as exc:
        t_error = exc
    if t_fit is not None and _arm_drop_degrees(t_fit) < _T_POSE_MAX_DROP:
        return t_fit
    try:
        return fit_a_pose(body)
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


def _fit_t_pose(body: _Body) -> Skeleton:
    """The T-pose rules: arms traced column by column along X from the fingertips in."""
    H, xs = body.height, body.xs
    filled = xs[body.front.any(axis=1)]
    if np.ptp(filled) < 0.7 * H:
        raise _fail(f"the arm span ({np.ptp(filled):.2f}) is far less than the height ({H:.2f})")
    arms = {side: _trace_arm(body, side) for side in (1, -1)}
    arm_j = {side: _arm_joints(body, side, arms[side]) for side in (1, -1)}
    # Trunk columns: strictly between the armpits, so arms never enter trunk measurements.
    lo_col, hi_col = sorted((arms[-1]["armpit_col"], arms[1]["armpit_col"]))
    core = np.arange(lo_col + 1, hi_col)
    if len(core) < 4:
        raise _fail("no trunk between the arms")
    _, legs = _legs(body)
    return _assemble(body, core, arm_j, legs)


def _assemble(
    body: _Body,
    core: np.ndarray,
    arm_j: dict[int, dict[str, np.ndarray]],
    legs: dict[int, dict[str, np.ndarray]],
) -> Skeleton:
    """Trunk joints from the sections of the ``core`` columns (between the armpits), joined with
    the arm and leg joints (keyed by side, +1 left) into the canonical skeleton."""
    ys = body.ys
    H = body.height
    # Neck: the narrowest trunk section between the shoulders and the head's fullest section;
    # its base is where the section widens into the shoulders, the skull base a little under
    # half way from the narrowest section to the fullest (the chin).
    y_arm = 0.5 * (arm_j[1]["UpperArm"][1] + arm_j[-1]["UpperArm"][1])
    area = body.occ[core].sum(axis=(0, 2))
    width = np.array([np.ptp(np.flatnonzero(c)) + 1 if c.any() else 0 for c in body.front[core].T])
    top = int(np.flatnonzero(area).max())
    arm_row = body.row(y_arm)
    upper = np.arange(body.row(y_arm + 0.5 * (body.ymax - y_arm)), top + 1)
    if len(upper) < 2 or arm_row + 2 >= upper[np.argmax(area[upper])]:
        raise _fail("no head above the shoulders")
    head_row = int(upper[np.argmax(area[upper])])
    span = np.arange(arm_row + 1, head_row)
    neck_row = int(span[np.argmin(area[span])])
    if area[neck_row] > 0.8 * area[head_row]:
        raise _fail("no neck between the shoulders and the head")
    base = neck_row
    while base > arm_row and width[base] < 1.6 * width[neck_row]:
        base -= 1
    skull_y = float(ys[neck_row] + 0.45 * (ys[head_row] - ys[neck_row]))

    def trunk(y: float) -> np.ndarray:
        c = body.section_centre(core, body.row(y))
        if c is None:
            raise _fail(f"the trunk is empty at height {y:.2f}")
        return np.array([body.cx, y, c[1]])

    hips_y = 0.5 * (legs[1]["UpperLeg"][1] + legs[-1]["UpperLeg"][1]) + 0.005 * H
    neck = trunk(float(ys[base]))
    heads: dict[str, np.ndarray] = {
        "hips": trunk(hips_y),
        "spine": trunk(hips_y + 0.3 * (neck[1] - hips_y)),
        "chest": trunk(hips_y + 0.62 * (neck[1] - hips_y)),
        "neck": neck,
        "head": trunk(skull_y),
    }
    tips = {"head": np.array([body.cx, body.ymax, heads["head"][2]])}
    for side, name in ((1, "left"), (-1, "right")):
        a, leg = arm_j[side], legs[side]
        upper_arm = a["UpperArm"]
        heads[f"{name}Shoulder"] = np.array(
            [
                body.cx + 0.17 * (upper_arm[0] - body.cx),
                upper_arm[1] + 0.15 * float(a["_thickness"]),
                heads["chest"][2] + 0.5 * (upper_arm[2] - heads["chest"][2]),
            ]
        )
        for key in ("UpperArm", "LowerArm", "Hand"):
            heads[f"{name}{key}"] = a[key]
        for key in ("UpperLeg", "LowerLeg", "Foot", "Toes"):
            heads[f"{name}{key}"] = leg[key]
        tips[f"{name}Hand"] = a["_tip"]
        tips[f"{name}Toes"] = leg["_toe_tip"]

    names = tuple(n for n, _ in HUMANOID_JOINTS)
    parents = np.array([names.index(par) if par else -1 for _, par in HUMANOID_JOINTS], np.int32)
    head_arr = np.array([heads[n] for n in names], np.float64)
    tail_arr = np.empty_like(head_arr)
    for i, n in enumerate(names):
        children = np.flatnonzero(parents == i)
        tail_arr[i] = head_arr[children[0]] if len(children) else tips[n]
    return Skeleton(
        names=names,
        parents=parents,
        heads=head_arr.astype(np.float32),
        tails=tail_arr.astype(np.float32),
    )
