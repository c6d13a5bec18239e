"""Walking along straight segments with a walk clip's own cycle, and the pose arithmetic
blocking needs (sampling clips at any time, slerps, turns about the vertical).

A mocap walk is not a loop: it starts from standing, drifts sideways and speeds up. From it
:func:`walk_cycle` cuts one steady gait cycle (left mid-stance to the next left mid-stance, so a
walk starts and stops with the feet passing under the body, the stance that blends best with
standing), turns it to head exactly +Z, closes the small pose mismatch between its ends, and
splits the root path into straight progress plus a periodic sway.

:func:`walk_segment` plays whole steps of that cycle from one point to another: the number of
steps is the one whose stride is nearest the clip's, the progress is scaled to land exactly on
the end point, and each planted foot is then held by two-bone leg IK where the unscaled walk
would have put it for that step, so the feet do not slide by the scaling (:func:`leg_ik`).

Poses here are on the canonical skeleton with the facing *baked* into the hips rotation:
rotations (f, j, 4) (x, y, z, w) and root (f, 3) in the world, ready for forward kinematics.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from reskin.core.clip import Clip
from reskin.core.skeleton import Skeleton, forward_kinematics
from reskin.core.transforms import quat_mul, quat_to_matrix
from reskin.rigging.foot_contact import detect_contacts, leg_ik

SIDES = ("left", "right")


def yaw_quat(angle: np.ndarray) -> np.ndarray:
    """(f,) angles in radians about +Y (0 faces +Z, +90 degrees faces +X) -> (f, 4)."""
    half = np.asarray(angle, np.float64) / 2
    z = np.zeros_like(half)
    return np.stack([z, np.sin(half), z, np.cos(half)], axis=-1)


def turn_xz(v: np.ndarray, angle: np.ndarray) -> np.ndarray:
    """(..., 3) vectors turned about +Y by ``angle`` (broadcast over the leading axes)."""
    c, s = np.cos(angle), np.sin(angle)
    out = np.array(v, np.float64)
    out[..., 0] = c * v[..., 0] + s * v[..., 2]
    out[..., 2] = -s * v[..., 0] + c * v[..., 2]
    return out


def slerp(a: np.ndarray, b: np.ndarray, t: np.ndarray) -> np.ndarray:
    """(..., 4) quaternions from ``a`` towards ``b`` by ``t`` (broadcast: (...,) or (..., 1))."""
    a, b = np.asarray(a, np.float64), np.asarray(b, np.float64)
    t = np.asarray(t, np.float64)
    if t.ndim == a.ndim - 1:
        t = t[..., None]
    t = np.broadcast_to(t, a.shape[:-1] + (1,))
    dot = (a * b).sum(-1, keepdims=True)
    b = np.where(dot < 0, -b, b)
    dot = np.abs(dot).clip(0, 1)
    theta = np.arccos(dot)
    sin = np.sin(theta)
    small = sin < 1e-6
    wa = np.where(small, 1 - t, np.sin((1 - t) * theta) / np.where(small, 1, sin))
    wb = np.where(small, t, np.sin(t * theta) / np.where(small, 1, sin))
    q = wa * a + wb * b
    return q / np.linalg.norm(q, axis=-1, keepdims=True)


def smoothstep(x: np.ndarray) -> np.ndarray:
    x = np.clip(np.asarray(x, np.float64), 0, 1)
    return x * x * (3 - 2 * x)


def sample_frames(rotations: np.ndarray, root: np.ndarray, frames: np.ndarray
                  ) -> tuple[np.ndarray, np.ndarray]:
    """Poses at fractional ``frames`` (n,) of arrays (f, j, 4) / (f, 3), clamped to the ends:
    rotations slerped, root lerped between the two nearest frames."""
    f = len(rotations)
    x = np.clip(np.asarray(frames, np.float64), 0, f - 1)
    i = np.minimum(np.floor(x).astype(np.int64), max(f - 2, 0))
    j = np.minimum(i + 1, f - 1)
    u = x - i
    rot = slerp(rotations[i], rotations[j], u[:, None])
    r = root[i] + (root[j] - root[i]) * u[:, None]
    return rot, r


def sample_clip(clip: Clip, names: tuple[str, ...], times: np.ndarray, *, loop: bool = False
                ) -> tuple[np.ndarray, np.ndarray]:
    """``clip`` at ``times`` (n,) seconds from its start: rotations (n, len(names), 4) in
    ``names`` order and root (n, 3) in the clip's model space. Past the end a clip holds its
    last frame, or with ``loop`` starts again (the root's horizontal travel carries on, so a
    looped walk keeps walking)."""
    rot_all = clip.for_skeleton(names).astype(np.float64)
    root_all = clip.root_translation.astype(np.float64)
    t = np.asarray(times, np.float64) * clip.fps
    span = clip.frames - 1
    if not loop or span < 1:
        return sample_frames(rot_all, root_all, t)
    laps = np.floor(t / span)
    rot, root = sample_frames(rot_all, root_all, t - laps * span)
    travel = root_all[-1] - root_all[0]
    travel[1] = 0.0
    return rot, root + laps[:, None] * travel


@dataclass(frozen=True, eq=False)
class WalkCycle:
    """One gait cycle of a walk clip on a character, heading +Z.

    rotations : (c, j, 4) local rotations, frame c-1 leading smoothly into frame 0
    sway      : (c, 3) root minus straight progress: x sway, y height, z surge; model space
    stride    : metres of progress per cycle (two steps)
    period    : seconds per cycle at the clip's rate
    contacts  : side -> (c,) bool, the frames that foot is planted
    """

    fps: float
    rotations: np.ndarray
    sway: np.ndarray
    stride: float
    period: float
    contacts: dict[str, np.ndarray]

    @property
    def speed(self) -> float:
        return self.stride / self.period


def _mid_stances(planted: np.ndarray) -> np.ndarray:
    """Frame in the middle of each run of True in ``planted`` (f,)."""
    edges = np.flatnonzero(np.diff(np.concatenate([[0], planted.astype(np.int8), [0]])))
    return (edges[::2] + edges[1::2] - 1) // 2


def walk_cycle(skeleton: Skeleton, clip: Clip) -> WalkCycle:
    """The steadiest full gait cycle of ``clip`` (on ``skeleton``, feet planted).

    Raises ValueError when the clip has fewer than two left-foot contacts (not a walk).
    """
    rot = clip.for_skeleton(skeleton.names).astype(np.float64)
    root = clip.root_translation.astype(np.float64)
    world = forward_kinematics(skeleton, rot, root)
    contacts = detect_contacts(skeleton, world, clip.fps)
    mids = _mid_stances(contacts["left"])
    if len(mids) < 2:
        raise ValueError("the clip has fewer than two steps of the left foot (is it a walk?)")
    # The steadiest cycle: its progress nearest the median of all (mocap starts from standing).
    lengths = [np.linalg.norm((root[b] - root[a])[[0, 2]]) / (b - a)
               for a, b in zip(mids[:-1], mids[1:], strict=True)]
    k = int(np.argmin(np.abs(np.array(lengths) - np.median(lengths))))
    a, b = int(mids[k]), int(mids[k + 1])
    d = root[b] - root[a]
    heading = np.arctan2(d[0], d[2])
    n = b - a
    cyc_rot = rot[a:b].copy()
    cyc_rot[:, 0] = quat_mul(yaw_quat(np.full(n, -heading)), cyc_rot[:, 0])
    # Close the loop: the pose at b (one cycle on) should equal the pose at a; spread the
    # small difference over the cycle so playing it round and round never pops.
    end = rot[b].copy()
    end[0] = quat_mul(yaw_quat(np.array([-heading]))[0], end[0])
    u = np.arange(n) / n
    ident = np.zeros_like(cyc_rot[0])
    ident[:, 3] = 1.0
    # correction c(u) = slerp(1, start * end^-1, u) applied on the left: c(1) end = start.
    to_start = quat_mul(cyc_rot[0], end * np.array([-1.0, -1.0, -1.0, 1.0]))
    corr = slerp(np.broadcast_to(ident, (n,) + ident.shape),
                 np.broadcast_to(to_start, (n,) + ident.shape), u[:, None])
    cyc_rot = quat_mul(corr, cyc_rot)
    path = turn_xz(root[a:b] - root[a], -heading)
    stride = float(np.linalg.norm(d[[0, 2]]))
    sway = path.copy()
    sway[:, 2] -= u * stride
    sway[:, 1] = root[a:b, 1] - (root[b, 1] - root[a, 1]) * u  # level: no climb per cycle
    return WalkCycle(fps=float(clip.fps), rotations=cyc_rot, sway=sway, stride=stride,
                     period=n / clip.fps,
                     contacts={s: contacts[s][a:b].copy() for s in SIDES})


def _cycle_at(cycle: WalkCycle, phase: np.ndarray) -> tuple[np.ndarray, np.ndarray,
                                                                  dict[str, np.ndarray]]:
    """Cycle pose at ``phase`` (n,) in cycles (any real): rotations, sway, contacts."""
    c = len(cycle.rotations)
    x = np.mod(phase, 1.0) * c
    i = np.floor(x).astype(np.int64) % c
    j = (i + 1) % c
    u = (x - np.floor(x))[:, None]
    rot = slerp(cycle.rotations[i], cycle.rotations[j], u[..., None])
    sway = cycle.sway[i] + (cycle.sway[j] - cycle.sway[i]) * u
    near = np.rint(x).astype(np.int64) % c
    return rot, sway, {s: cycle.contacts[s][near] for s in SIDES}


@dataclass(frozen=True, eq=False)
class Walk:
    """A synthesised walk: rotations (n, j, 4) with the heading in the hips, root (n, 3) world,
    heading (n,) radians, contacts side -> (n,) bool, steps taken and the stride scale used."""

    rotations: np.ndarray
    root: np.ndarray
    heading: np.ndarray
    contacts: dict[str, np.ndarray]
    steps: int
    scale: float


def walk_frames(cycle: WalkCycle, distance: float, fps: float, speed: float | None = None
                ) -> tuple[int, int]:
    """(steps, frames) of a walk of ``distance`` metres at ``speed`` m/s (None: the cycle's)."""
    step = cycle.stride / 2
    steps = max(1, int(round(distance / step)))
    seconds = distance / speed if speed else steps * cycle.period / 2
    return steps, max(2, int(round(seconds * fps)) + 1)


def walk_segment(skeleton: Skeleton, cycle: WalkCycle, start: np.ndarray, end: np.ndarray,
                 fps: float, speed: float | None = None, *, start_phase: float = 0.0) -> Walk:
    """Walk from ``start`` to ``end`` (x, z) in whole steps of ``cycle`` at ``fps``.

    Frame 0 is at ``start``, the last frame at ``end`` (root exactly over them, at mid-stance);
    ``speed`` in m/s sets the duration (None: the cycle's own cadence). Planted feet are held
    where the unscaled cycle puts them for that step.
    """
    start, end = np.asarray(start, np.float64), np.asarray(end, np.float64)
    d = end - start
    distance = float(np.linalg.norm(d))
    heading = float(np.arctan2(d[0], d[1]))
    steps, n = walk_frames(cycle, distance, fps, speed)
    scale = distance / (steps * cycle.stride / 2)
    phase = start_phase + np.linspace(0.0, steps / 2, n)
    rot, sway, contacts = _cycle_at(cycle, phase)
    hd = np.full(n, heading)
    rot[:, 0] = quat_mul(yaw_quat(hd), rot[:, 0])
    progress = (phase - start_phase) * cycle.stride  # metres along the heading, unscaled

    def world_root(s: float) -> np.ndarray:
        local = sway.copy()
        # The sway at the last frame (half a cycle on, it is not zero sideways) is taken out
        # gradually, so the root lands exactly on the end point.
        local[:, [0, 2]] -= np.linspace(0.0, 1.0, n)[:, None] * sway[-1, [0, 2]]
        local[:, 2] += progress * s
        out = turn_xz(local, hd)
        out[:, 0] += start[0]
        out[:, 2] += start[1]
        return out

    root = world_root(scale)
    rot = lock_feet(skeleton, rot, root, contacts, fps)
    return Walk(rotations=rot, root=root, heading=hd, contacts=contacts, steps=steps,
                scale=scale)


def lock_feet(skeleton: Skeleton, rotations: np.ndarray, root: np.ndarray,
              contacts: dict[str, np.ndarray], fps: float) -> np.ndarray:
    """(f, j, 4) rotations with each planted foot rolling on the floor without sliding.

    While a foot is planted (``contacts``), its sole point nearest the floor (heel, ball or toe
    tip, whichever is lowest in that frame) must not move sideways from one frame to the next:
    the horizontal slip of that point is taken off the ankle, accumulated over the contact, and
    the leg bent to put the ankle there (:func:`leg_ik`, the foot keeping its orientation). After
    the contact the offset fades out over the swing, before the foot lands again.
    """
    from reskin.rigging.foot_contact import _sole_points

    out = np.array(rotations, np.float64)
    world = forward_kinematics(skeleton, out, root)
    f = len(out)
    fade = max(2, int(round(0.15 * fps)))
    for side in SIDES:
        pts, _ = _sole_points(skeleton, side)
        pos = np.stack([world[:, j, :3, :3] @ off + world[:, j, :3, 3] for j, off in pts], 1)
        ankle = skeleton.index(f"{side}Foot")
        offset = np.zeros((f, 3))
        weight = np.zeros(f)
        planted = contacts[side]
        for k in range(1, f):
            if planted[k] and planted[k - 1]:
                pivot = int(np.argmin(pos[k, :, 1]))
                slip = pos[k, pivot] - pos[k - 1, pivot]
                slip[1] = 0.0
                offset[k] = offset[k - 1] - slip
                weight[k] = 1.0
            elif not planted[k]:
                # Swing: the offset fades out before the next landing.
                offset[k] = offset[k - 1] * max(0.0, 1 - 1 / fade)
                weight[k] = 1.0 if np.abs(offset[k]).max() > 1e-5 else 0.0
        if weight.any():
            target = world[:, ankle, :3, 3] + offset
            leg_ik(skeleton, out, world, side, target, weight)
            world = forward_kinematics(skeleton, out, root)
    return out


def _runs(mask: np.ndarray) -> list[tuple[int, int]]:
    edges = np.flatnonzero(np.diff(np.concatenate([[0], mask.astype(np.int8), [0]])))
    return list(zip(edges[::2].tolist(), edges[1::2].tolist(), strict=True))


def _ease(weight: np.ndarray, r: int) -> np.ndarray:
    """A 0/1 weight (n,) with its edges ramped over ``r`` frames outside each run."""
    out = weight.copy()
    for k in range(1, r + 1):
        w = 1 - k / (r + 1)
        out[:-k] = np.maximum(out[:-k], weight[k:] * w)
        out[k:] = np.maximum(out[k:], weight[:-k] * w)
    return out


def hips_yaw(rotations: np.ndarray) -> np.ndarray:
    """(f,) the heading (radians about +Y) of the hips' forward axis for (f, j, 4) rotations."""
    fwd = quat_to_matrix(rotations[:, 0])[:, :, 2]
    return np.arctan2(fwd[:, 0], fwd[:, 2])
