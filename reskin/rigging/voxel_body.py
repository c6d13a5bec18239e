"""The voxelised body that joint fitting measures, and the rules T- and A-pose fits share.

The mesh becomes a solid occupancy grid (:class:`VoxelBody`); the legs (crotch, thighs, knees,
feet) are found the same way whatever the arms do, and :func:`assemble` joins the trunk, found
from the sections between the armpits, with the arm and leg joints into the canonical skeleton.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from reskin.core.mesh import Mesh
from reskin.core.skeleton import HUMANOID_JOINTS, Skeleton

_VOXELS_PER_HEIGHT = 250


@dataclass(frozen=True)
class TrunkRule:
    """Where a rig convention puts the trunk joints, which the body's shape cannot say.

    spine_at, chest_at : share of the way from the hips joint up to the neck joint
    hips_lift          : hips joint above the femoral heads, share of the height
    hips_depth         : hips joint depth in the pelvis section, 0 at the back, 1 at the front;
                         None for the section's centroid
    """

    spine_at: float
    chest_at: float
    hips_lift: float
    hips_depth: float | None


# reskin's own (the generator's construction), and Mixamo's auto-rig convention, which the
# rigs and clips imported characters meet use (measured on the VALID avatars' artist rigs:
# Spine 8-9 %, Spine1 26-28 % of hips->neck, Hips 2.7-3.4 % of the height above the thighs'
# joints and a quarter of the pelvis depth from the back).
TRUNK_RULES = {
    "reskin": TrunkRule(spine_at=0.3, chest_at=0.62, hips_lift=0.005, hips_depth=None),
    "mixamo": TrunkRule(spine_at=0.1, chest_at=0.28, hips_lift=0.03, hips_depth=0.25),
}


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


def silhouette_runs(mask: np.ndarray) -> list[tuple[int, int]]:
    """Half-open index ranges [start, stop) of the True runs of a 1-D boolean array."""
    d = np.diff(np.concatenate([[0], mask.astype(np.int8), [0]]))
    return list(zip(np.flatnonzero(d == 1).tolist(), np.flatnonzero(d == -1).tolist(), strict=True))


def nearest_run(runs: list[tuple[int, int]], row: int) -> tuple[int, int]:
    """The run containing ``row``, else the one whose end is closest to it."""
    return min(
        runs,
        key=lambda r: 0 if r[0] <= row < r[1] else min(abs(r[0] - row), abs(r[1] - 1 - row)) + 1,
    )


class VoxelBody:
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


def fit_error(what: str) -> ValueError:
    return ValueError(
        f"cannot fit a skeleton: {what}; expected one closed humanoid in T- or A-pose, +Y up, "
        "facing +Z, arms spread to the sides along X"
    )



def fit_legs(body: VoxelBody) -> tuple[int, dict[int, dict[str, np.ndarray]]]:
    """Crotch row and per-side leg joints.

    Every measurement here is below the crotch (or at the hips), far below T-pose arms, so
    all columns are used: stout legs may reach further out than the armpits.
    """
    core = np.arange(len(body.xs))
    H, p, xs, ys, zs = body.height, body.pitch, body.xs, body.ys, body.zs
    front = body.front[core]
    start = body.row(body.ymin + 0.25 * H)

    def leg_runs(j):
        return [r for r in silhouette_runs(front[:, j]) if (r[1] - r[0]) * p > 0.02 * H]

    if len(leg_runs(start)) != 2:
        raise fit_error("two separate legs were not found at knee height")
    crotch = start
    while crotch < len(ys) - 1 and len(leg_runs(crotch)) >= 2:
        crotch += 1
    if ys[crotch] - body.ymin > 0.75 * H:
        raise fit_error("the legs do not join a trunk")
    legs: dict[int, dict[str, np.ndarray]] = {}
    for side in (1, -1):
        cols = core[(xs[core] - body.cx) * side > 0]
        # Thigh centre just below the crotch.
        rows = range(body.row(ys[crotch] - 0.12 * H), body.row(ys[crotch] - 0.03 * H) + 1)
        cents = [c[0] for j in rows if (c := body.section_centre(cols, j)) is not None]
        if not cents:
            raise fit_error("a thigh was not found below the crotch")
        # The femoral heads sit about 7 % of the height above the crotch in adult proportions;
        # thigh girth says little about it (stout thighs merge lower without moving the joint).
        hip_y = ys[crotch] + 0.07 * H
        hip = np.array([float(np.median(cents)), hip_y, 0.0])
        # The foot: rows where the leg's section is much deeper (along Z) than wide.
        # Counted only once a foot-long row was seen: a heel or sole edge touching the ground
        # first is a small round patch, not the ankle.
        foot_top, seen_foot = None, False
        for j in range(body.row(body.ymin), body.row(body.ymin + 0.2 * H)):
            ii, kk = np.nonzero(body.occ[cols, j, :])
            if len(ii) == 0:
                continue
            long = (kk.max() - kk.min() + 1) >= 1.5 * (ii.max() - ii.min() + 1)
            seen_foot |= long
            if seen_foot and not long:
                foot_top = j
                break
        if foot_top is None:
            raise fit_error("the feet were not found (no forward-pointing foot at ground level)")
        ankle_y = float(ys[foot_top])
        shin = body.section_centre(cols, body.row(ankle_y + 0.03 * H))
        if shin is None:
            raise fit_error("a shin was not found above the foot")
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
            raise fit_error("a knee was not found between hip and ankle")
        hip[2] = body.section_centre(core, body.row(hip_y))[1]
        legs[side] = {
            "UpperLeg": hip,
            "LowerLeg": np.array([kc[0], knee_y, kc[1]]),
            "Foot": ankle,
            "Toes": toes,
            "_toe_tip": np.array([toes_x, toes[1], z_tip]),
        }
    return crotch, legs



def assemble(
    body: VoxelBody,
    core: np.ndarray,
    arm_j: dict[int, dict[str, np.ndarray]],
    legs: dict[int, dict[str, np.ndarray]],
    rule: TrunkRule = TRUNK_RULES["reskin"],
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
        raise fit_error("no head above the shoulders")
    head_row = int(upper[np.argmax(area[upper])])
    span = np.arange(arm_row + 1, head_row)
    neck_row = int(span[np.argmin(area[span])])
    if area[neck_row] > 0.8 * area[head_row]:
        raise fit_error("no neck between the shoulders and the head")
    base = neck_row
    while base > arm_row and width[base] < 1.6 * width[neck_row]:
        base -= 1
    skull_y = float(ys[neck_row] + 0.45 * (ys[head_row] - ys[neck_row]))

    def trunk(y: float) -> np.ndarray:
        c = body.section_centre(core, body.row(y))
        if c is None:
            raise fit_error(f"the trunk is empty at height {y:.2f}")
        return np.array([body.cx, y, c[1]])

    hips_y = 0.5 * (legs[1]["UpperLeg"][1] + legs[-1]["UpperLeg"][1]) + rule.hips_lift * H
    neck = trunk(float(ys[base]))
    hips = trunk(hips_y)
    if rule.hips_depth is not None:
        kk = np.flatnonzero(body.occ[core, body.row(hips_y), :].any(axis=0))
        hips[2] = body.zs[kk.min()] + rule.hips_depth * (body.zs[kk.max()] - body.zs[kk.min()])
    heads: dict[str, np.ndarray] = {
        "hips": hips,
        "spine": trunk(hips_y + rule.spine_at * (neck[1] - hips_y)),
        "chest": trunk(hips_y + rule.chest_at * (neck[1] - hips_y)),
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
