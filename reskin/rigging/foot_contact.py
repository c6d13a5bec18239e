"""Feet on the floor for a retargeted clip: contact detection, root height, leg IK, toe limits.

A clip carried onto a body with other leg proportions keeps the source's joint rotations, so
a planted foot floats or sinks by the difference (and a root path scaled by leg length cannot
fix both feet at once). On the canonical skeleton this:

1. measures, per foot and frame, the clearance of its sole: the lowest of the ankle, a heel
   point under the ankle, the toe joint and the toe tip, each relative to its rest height (at
   rest the feet stand flat on the floor, so a clearance of 0 is a sole on the floor);
2. finds contacts: a foot is planted where its sole is slow (horizontal speed under
   :data:`CONTACT_SPEED` leg lengths per second) and low (within :data:`CONTACT_HEIGHT` leg
   lengths of the lowest it gets), runs shorter than :data:`MIN_RUN_S` dropped;
3. moves the root vertically so the higher planted sole sits on the floor (interpolated
   between contacts and smoothed, so nothing pops), then bends each planted leg (two-bone IK
   in the plane of hip, knee and ankle, the foot keeping its world orientation) to put the
   other planted sole on the floor too;
Before 3, each foot and its toes are re-aligned so their average planted pose is the rest
pose (:func:`flatten_stance`), and the toes are limited to :data:`TOE_LIMIT_DEG` from rest.
"""

from __future__ import annotations

import numpy as np

from reskin.core.skeleton import Skeleton, forward_kinematics
from reskin.core.transforms import matrix_to_quat

CONTACT_SPEED = 0.6  # leg lengths per second: a walking foot in swing moves 2-4
CONTACT_HEIGHT = 0.06  # leg lengths above the lowest the sole gets nearby
FLOOR_WINDOW_S = 1.2  # seconds over which the floor is the lowest sole point
MIN_RUN_S = 0.06  # seconds: shorter contacts (or gaps) are noise
SMOOTH_S = 0.04  # seconds: Gaussian sigma of the root height correction
TOE_LIMIT_DEG = 35.0

_SIDES = ("left", "right")


def _swing_many(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """(f, 3, 3) the smallest rotations taking directions a (f, 3) onto b (f, 3)."""
    a = a / np.linalg.norm(a, axis=-1, keepdims=True)
    b = b / np.linalg.norm(b, axis=-1, keepdims=True)
    v = np.cross(a, b)
    c = np.clip((a * b).sum(-1), -1 + 1e-9, None)
    k = np.zeros(a.shape[:-1] + (3, 3))
    k[..., 0, 1], k[..., 0, 2], k[..., 1, 2] = -v[..., 2], v[..., 1], -v[..., 0]
    k[..., 1, 0], k[..., 2, 0], k[..., 2, 1] = v[..., 2], -v[..., 1], v[..., 0]
    return np.eye(3) + k + k @ k / (1 + c)[..., None, None]


def _runs(mask: np.ndarray, value: bool, shorter: int) -> np.ndarray:
    """``mask`` with runs of ``value`` shorter than ``shorter`` frames flipped."""
    out = mask.copy()
    edges = np.flatnonzero(np.diff(np.concatenate([[False], mask == value, [False]])
                                   .astype(np.int8)))
    for start, stop in zip(edges[::2], edges[1::2], strict=True):
        if stop - start < shorter:
            out[start:stop] = not value
    return out


def _sole_points(skeleton: Skeleton, side: str) -> tuple[list[tuple[int, np.ndarray]], float]:
    """[(joint, offset from it in its rest frame)] of a foot's sole points, and the lowest rest
    height among them (the floor of the rest pose)."""
    foot, toes = skeleton.index(f"{side}Foot"), skeleton.index(f"{side}Toes")
    heads = skeleton.heads.astype(np.float64)
    toe_y = float(min(heads[toes, 1], skeleton.tails[toes, 1]))
    # The heel is under the ankle and a little behind it: a quarter of the ankle-to-toe run.
    back = heads[foot] - heads[toes]
    back[1] = 0.0
    heel = np.array([0.0, toe_y - heads[foot, 1], 0.0])
    pts = [(foot, np.zeros(3)), (foot, heel), (foot, heel + 0.3 * back), (toes, np.zeros(3)),
           (toes, skeleton.tails[toes].astype(np.float64) - heads[toes])]
    return pts, toe_y


def _clearance(skeleton: Skeleton, world: np.ndarray, side: str) -> tuple[np.ndarray, np.ndarray]:
    """(f,) sole clearance of one foot and (f, p, 3) its sole points."""
    pts, _ = _sole_points(skeleton, side)
    heads = skeleton.heads.astype(np.float64)
    pos = np.stack([world[:, j, :3, :3] @ off + world[:, j, :3, 3] for j, off in pts], 1)
    rest_y = np.array([heads[j, 1] + off[1] for j, off in pts])
    return (pos[..., 1] - rest_y).min(axis=1), pos


def detect_contacts(skeleton: Skeleton, world: np.ndarray, fps: float) -> dict[str, np.ndarray]:
    """side -> (f,) bool: frames where that foot is planted (slow and low), from FK ``world``
    (f, j, 4, 4) of ``skeleton``."""
    leg = _leg_length(skeleton)
    sole = {side: _clearance(skeleton, world, side) for side in _SIDES}
    r = max(1, int(round(FLOOR_WINDOW_S * fps / 2)))
    out = {}
    for side in _SIDES:
        clear, pos = sole[side]
        # Its floor: the lowest this sole gets within about a stride, so a source whose floor
        # is uneven or whose root drifts (before :func:`plant_feet` fixes it) still has its
        # contacts found.
        floor = np.lib.stride_tricks.sliding_window_view(
            np.pad(clear, r, mode="edge"), 2 * r + 1).min(axis=1)
        speed = np.zeros(len(clear))
        if len(clear) > 1:
            # The slowest sole point: a foot rolling onto its toes is planted at the toes.
            step = np.linalg.norm(np.diff(pos[..., [0, 2]], axis=0), axis=2).min(axis=1) * fps
            speed[1:] = step
            speed[0] = step[0]
            speed[1:-1] = np.minimum(step[:-1], step[1:])  # either neighbour slow: still planted
        mask = (speed < CONTACT_SPEED * leg) & (clear < floor + CONTACT_HEIGHT * leg)
        shortest = max(1, int(round(MIN_RUN_S * fps)))
        out[side] = _runs(_runs(mask, True, shortest), False, shortest)
    return out


def _leg_length(skeleton: Skeleton) -> float:
    h = skeleton.heads.astype(np.float64)
    return float(sum(np.linalg.norm(h[skeleton.index(f"left{b}")] - h[skeleton.index(f"left{a}")])
                     for a, b in (("UpperLeg", "LowerLeg"), ("LowerLeg", "Foot"))))


def _smooth(y: np.ndarray, sigma: float) -> np.ndarray:
    if sigma < 0.5 or len(y) < 3:
        return y
    r = int(3 * sigma)
    k = np.exp(-0.5 * (np.arange(-r, r + 1) / sigma) ** 2)
    k /= k.sum()
    return np.convolve(np.pad(y, r, mode="edge"), k, mode="valid")


def leg_ik(skeleton: Skeleton, rotations: np.ndarray, world: np.ndarray, side: str,
           target: np.ndarray, weight: np.ndarray) -> None:
    """Bend one leg so its ankle moves towards ``target`` (f, 3) by ``weight`` (f,) 0..1, the
    knee staying in its plane and the foot keeping its world orientation. ``world``: FK of
    ``rotations`` (f, j, 4, 4); ``rotations`` is edited in place (hip, knee, ankle)."""
    hip, knee, ankle = (skeleton.index(f"{side}{b}") for b in ("UpperLeg", "LowerLeg", "Foot"))
    parent = skeleton.parents[hip]
    h, k, a = (world[:, i, :3, 3] for i in (hip, knee, ankle))
    goal = a + weight[:, None] * (np.asarray(target, np.float64) - a)
    la, lb = np.linalg.norm(k - h, axis=1), np.linalg.norm(a - k, axis=1)
    to = goal - h
    d = np.clip(np.linalg.norm(to, axis=1), np.abs(la - lb) + 1e-6, la + lb - 1e-6)
    u = to / np.linalg.norm(to, axis=1, keepdims=True)
    nrm = (k - h) - ((k - h) * u).sum(1, keepdims=True) * u  # keep the knee's plane
    nrm /= np.maximum(np.linalg.norm(nrm, axis=1, keepdims=True), 1e-12)
    cos_a = np.clip((la ** 2 + d ** 2 - lb ** 2) / (2 * la * d), -1, 1)
    k_new = h + la[:, None] * (cos_a[:, None] * u + np.sqrt(1 - cos_a ** 2)[:, None] * nrm)
    a_new = h + d[:, None] * u
    s_thigh = _swing_many(k - h, k_new - h)
    thigh = s_thigh @ world[:, hip, :3, :3]
    shin_dir = np.einsum("fab,fb->fa", s_thigh, a - k)
    shin = _swing_many(shin_dir, a_new - k_new) @ s_thigh @ world[:, knee, :3, :3]
    foot = world[:, ankle, :3, :3]
    up = world[:, parent, :3, :3]
    t = np.swapaxes
    moved = weight > 0
    rotations[moved, hip] = matrix_to_quat(t(up, -1, -2) @ thigh)[moved]
    rotations[moved, knee] = matrix_to_quat(t(thigh, -1, -2) @ shin)[moved]
    rotations[moved, ankle] = matrix_to_quat(t(shin, -1, -2) @ foot)[moved]


def _mean_rotation(r: np.ndarray) -> np.ndarray:
    """(3, 3) the rotation nearest the mean of rotations (n, 3, 3)."""
    u, _, vt = np.linalg.svd(r.sum(axis=0))
    return u @ np.diag([1.0, 1.0, np.sign(np.linalg.det(u @ vt))]) @ vt


def flatten_stance(skeleton: Skeleton, rotations: np.ndarray, world: np.ndarray,
                   contacts: dict[str, np.ndarray]) -> np.ndarray:
    """(f, j, 4) rotations with each foot and its toes turned (by one fixed rotation each, on
    the joint's own side) so that in its average planted pose the foot stands flat as at rest,
    heading where the source's foot heads.

    A mocap file's rest pose need not be a standing pose for the feet (CMU's toes rest bent),
    so aligning rest onto rest leaves a planted foot tipped and its toes curled; aligning the
    planted pose onto the rest pose instead is what keeps soles on the floor.
    """
    out = np.array(rotations, np.float64)
    heads = skeleton.heads.astype(np.float64)
    up = np.array([0.0, 1.0, 0.0])
    for side in _SIDES:
        planted = contacts[side]
        if planted.sum() < 2:
            continue
        foot, toes = skeleton.index(f"{side}Foot"), skeleton.index(f"{side}Toes")
        lower = skeleton.parents[foot]
        d = heads[toes] - heads[foot]
        flat = d - (d @ up) * up
        mean_foot = _mean_rotation(world[planted, foot, :3, :3])
        seen = mean_foot @ d
        seen = seen - (seen @ up) * up
        if np.linalg.norm(flat) < 1e-9 or np.linalg.norm(seen) < 1e-9:
            continue
        heading = _swing_many(flat[None], seen[None])[0]  # a turn about up only
        c_foot = mean_foot.T @ heading
        c_toes = _mean_rotation(world[planted, toes, :3, :3]).T @ heading
        g_foot = world[:, foot, :3, :3] @ c_foot
        g_toes = world[:, toes, :3, :3] @ c_toes
        t = np.swapaxes
        out[:, foot] = matrix_to_quat(t(world[:, lower, :3, :3], -1, -2) @ g_foot)
        out[:, toes] = matrix_to_quat(t(g_foot, -1, -2) @ g_toes)
    return out


def limit_toes(skeleton: Skeleton, rotations: np.ndarray, limit_deg: float = TOE_LIMIT_DEG
               ) -> np.ndarray:
    """(f, j, 4) rotations with each toe joint's rotation from rest cut to ``limit_deg``."""
    out = np.array(rotations, np.float64)
    for side in _SIDES:
        i = skeleton.index(f"{side}Toes")
        q = out[:, i] * np.where(out[:, i, 3:] < 0, -1.0, 1.0)
        angle = 2 * np.arccos(np.clip(q[:, 3], -1, 1))
        cut = angle > np.radians(limit_deg)
        if cut.any():
            axis = q[cut, :3] / np.linalg.norm(q[cut, :3], axis=1, keepdims=True)
            half = np.radians(limit_deg) / 2
            q[cut] = np.concatenate([axis * np.sin(half), np.full((cut.sum(), 1), np.cos(half))],
                                    axis=1)
        out[:, i] = q
    return out


def plant_feet(skeleton: Skeleton, rotations: np.ndarray, root: np.ndarray, fps: float
               ) -> tuple[np.ndarray, np.ndarray, dict[str, np.ndarray]]:
    """Feet on the floor: returns (rotations (f, j, 4), root (f, 3), contacts side -> (f,)).

    ``skeleton`` must have both feet and toes; the floor is the lowest sole point at rest.
    """
    root = np.array(root, np.float64)
    world = forward_kinematics(skeleton, rotations, root)
    contacts = detect_contacts(skeleton, world, fps)
    rotations = limit_toes(skeleton, flatten_stance(skeleton, rotations, world, contacts))
    world = forward_kinematics(skeleton, rotations, root)
    clear = {s: _clearance(skeleton, world, s)[0] for s in _SIDES}
    # The root goes where the *higher* planted sole touches the floor: the other planted leg
    # then bends to meet the floor too, which IK can always do (a straight leg cannot reach
    # further down).
    planted = np.where(contacts["left"], clear["left"], -np.inf)
    planted = np.maximum(planted, np.where(contacts["right"], clear["right"], -np.inf))
    has = np.isfinite(planted)
    if has.any():
        frames = np.arange(len(root))
        shift = np.interp(frames, frames[has], -planted[has])
        root[:, 1] += _smooth(shift, SMOOTH_S * fps)
        world = forward_kinematics(skeleton, rotations, root)
        for side in _SIDES:
            # Ease the IK in and out over a few frames around each contact.
            weight = _smooth(contacts[side].astype(np.float64), SMOOTH_S * fps)
            residual = _clearance(skeleton, world, side)[0]
            lift = -residual * np.clip(weight * 2, 0, 1)
            if np.abs(lift).max() > 1e-6:
                ankle = world[:, skeleton.index(f"{side}Foot"), :3, 3]
                leg_ik(skeleton, rotations, world, side,
                       ankle + lift[:, None] * np.array([0.0, 1.0, 0.0]), np.ones(len(lift)))
    return rotations, root, contacts
