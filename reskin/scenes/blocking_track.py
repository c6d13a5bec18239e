"""Resolve a cast member's blocking (:mod:`reskin.scenes.blocking`) into a :class:`PoseTrack`.

The shot is built segment by segment on the frame grid: a standing idle between actions, a
turn in place, a walk (:func:`reskin.rigging.locomotion.walk_segment`), a clip, a sit. Each
segment starts where the one before left the character (position and facing), so the root
path is continuous; its first :data:`BLEND_S` seconds cross-fade from the last pose before it
(joint rotations slerped, the root eased), except a walk at the shot's very first frame, which
is already under way (an entrance from off-frame).
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from reskin.core.clip import Clip
from reskin.core.skeleton import Skeleton
from reskin.core.transforms import quat_mul
from reskin.rigging.locomotion import (
    sample_clip,
    slerp,
    smoothstep,
    turn_xz,
    walk_cycle,
    walk_segment,
    yaw_quat,
)
from reskin.scenes.blocking import (
    BLEND_S,
    TURN_BEFORE_WALK_DEG,
    TURN_DEG_PER_S,
    TURN_MIN_S,
    Action,
    Blocking,
    PoseTrack,
)
from reskin.scenes.clip_source import ClipSource

DEFAULT_WALK = "walk"


@dataclass(frozen=True)
class Seat:
    """A prop to sit on: its floor position (x, z) and seat height (m)."""

    xz: tuple[float, float]
    height: float


class _Builder:
    def __init__(self, skeleton: Skeleton, key: str, fps: float, frames: int,
                 clips: ClipSource, position: tuple[float, float], facing_deg: float):
        self.sk, self.key, self.fps, self.frames, self.clips = skeleton, key, fps, frames, clips
        self.rot: list[np.ndarray] = []
        self.root: list[np.ndarray] = []
        self.yaw: list[np.ndarray] = []
        self.pos = np.array(position, np.float64)
        self.facing = math.radians(facing_deg)
        self.hold: tuple[np.ndarray, np.ndarray] | None = None  # (rot (21,4), root (3,))
        self.rest_hips = skeleton.heads[skeleton.index("hips")].astype(np.float64)
        self.idle = clips.for_skeleton("idle", skeleton, fps, "", key)

    @property
    def n(self) -> int:
        return sum(len(r) for r in self.rot)

    def place(self, clip_rot: np.ndarray, clip_root: np.ndarray, yaw: np.ndarray
              ) -> tuple[np.ndarray, np.ndarray]:
        """Clip-space poses (model space, facing +Z) at the current position, turned by
        ``yaw`` (n,): the facing goes into the hips rotation, the root into the world."""
        rot = clip_rot.copy()
        rot[:, 0] = quat_mul(yaw_quat(yaw), rot[:, 0])
        local = clip_root - [self.rest_hips[0], 0.0, self.rest_hips[2]]
        root = turn_xz(local, yaw)
        root[:, 0] += self.pos[0]
        root[:, 2] += self.pos[1]
        return rot, root

    def push(self, rot: np.ndarray, root: np.ndarray, yaw: np.ndarray, blend: bool = True,
             until: int | None = None) -> None:
        """Append frames (cut at ``until`` / the shot's end), cross-fading from the last."""
        stop = min(self.frames, until if until is not None else self.frames)
        room = stop - self.n
        if room <= 0:
            return
        rot, root, yaw = rot[:room].copy(), root[:room].copy(), yaw[:room].copy()
        if blend and self.rot:
            k = min(len(rot), max(1, int(round(BLEND_S * self.fps))))
            w = smoothstep((np.arange(k) + 1) / (k + 1))
            last_rot, last_root = self.rot[-1][-1], self.root[-1][-1]
            rot[:k] = slerp(np.broadcast_to(last_rot, rot[:k].shape), rot[:k], w[:, None])
            root[:k] = last_root + (root[:k] - last_root) * w[:, None]
        self.rot.append(rot)
        self.root.append(root)
        self.yaw.append(yaw)

    def rest(self, count: int, until: int | None = None) -> None:
        """Stand (idle) or hold the last clip's final pose for ``count`` frames."""
        if count <= 0:
            return
        yaw = np.full(count, self.facing)
        if self.hold is not None:
            rot = np.repeat(self.hold[0][None], count, 0)
            root = np.repeat(self.hold[1][None], count, 0)
            self.push(rot, root, yaw, until=until)
            return
        t = (self.n + np.arange(count)) / self.fps
        r, p = sample_clip(self.idle, self.sk.names, t, loop=True)
        p[:, [0, 2]] = self.idle.root_translation[0, [0, 2]]  # idle sways in place
        self.push(*self.place(r, p, yaw), yaw, until=until)

    def turn(self, target: float, until: int | None) -> None:
        delta = (target - self.facing + math.pi) % (2 * math.pi) - math.pi
        if abs(delta) < 1e-3:
            return
        seconds = max(TURN_MIN_S, abs(math.degrees(delta)) / TURN_DEG_PER_S)
        count = max(2, int(round(seconds * self.fps)))
        yaw = self.facing + delta * smoothstep(np.arange(1, count + 1) / count)
        t = (self.n + np.arange(count)) / self.fps
        r, p = sample_clip(self.idle, self.sk.names, t, loop=True)
        p[:, [0, 2]] = self.idle.root_translation[0, [0, 2]]
        self.hold = None
        self.push(*self.place(r, p, yaw), yaw, until=until)
        self.facing = float(yaw[-1])

    def walk(self, a: Action, until: int | None, first: bool) -> None:
        ref = a.clip or DEFAULT_WALK
        clip = self.clips.for_skeleton(ref, self.sk, self.fps, a.where, self.key)
        cycle = _cycle(self.clips, ref, self.sk, self.key, clip, a)
        end = np.array(a.to, np.float64)
        d = end - self.pos
        if np.linalg.norm(d) < 0.05:
            return
        heading = math.atan2(d[0], d[1])
        if first:  # already walking when the shot starts: no turn, no fade in
            self.facing = heading
        elif abs(math.degrees((heading - self.facing + math.pi) % (2 * math.pi) - math.pi)
                 ) > TURN_BEFORE_WALK_DEG:
            self.turn(heading, until)
        w = walk_segment(self.sk, cycle, self.pos, end, self.fps, a.speed)
        self.hold = None
        self.push(w.rotations, w.root, w.heading, blend=not first, until=until)
        self.pos = end.copy()
        self.facing = heading

    def play(self, a: Action, ref: str, speed: float, offset: float, loop: bool,
             seconds: float | None, until: int | None, seat: Seat | None = None) -> None:
        if ref == "sit" or (a.do == "sit"):
            from reskin.rigging.sit import sit_clip

            clip = sit_clip(self.sk, self.fps, seat.height if seat else 0.45)
        else:
            clip = self.clips.for_skeleton(ref, self.sk, self.fps, a.where, self.key)
        length = seconds if seconds is not None else (
            (clip.duration - offset) / speed if not loop else None)
        stop = self.frames if length is None else self.n + max(1, int(round(length * self.fps)))
        count = min(stop, until if until is not None else self.frames) - self.n
        if count <= 0:
            return
        t = offset + np.arange(count) / self.fps * speed
        r, p = sample_clip(clip, self.sk.names, t, loop=loop)
        # The clip's travel is relative to where it starts (the character's position).
        p[:, [0, 2]] -= clip.root_translation[0, [0, 2]] - self.rest_hips[[0, 2]]
        yaw = np.full(count, self.facing)
        rot, root = self.place(r, p, yaw)
        if seat is not None:
            self._onto(seat, root, library_clip=ref != "sit" and a.do != "sit")
        self.push(rot, root, yaw, until=until)
        self.pos = root[-1, [0, 2]].copy()
        self.hold = None if loop else (rot[-1].copy(), root[-1].copy())

    def _onto(self, seat: Seat, root: np.ndarray, library_clip: bool) -> None:
        """Bend a sitting root path (n, 3), in place, so the hips end over the seat and, for
        a library clip, its lowest hips height lands on the seat."""
        start = root[0].copy()
        drop = start[1] - root[:, 1]
        if len(root) == 1:
            u = np.ones(1)
        elif drop.max() > 1e-3:
            u = np.clip(drop / drop.max(), 0, 1) ** 0.5  # back early, down late
        else:
            u = smoothstep(np.arange(len(root)) / (len(root) - 1))
        root[:, [0, 2]] = start[[0, 2]] + u[:, None] * (np.array(seat.xz) - start[[0, 2]])
        if library_clip:
            from reskin.rigging.sit import seat_clearance

            low = float(root[:, 1].min())
            target = seat.height + seat_clearance(self.sk)
            root[:, 1] += (target - low) * np.clip(drop / max(drop.max(), 1e-6), 0, 1)


def _cycle(clips: ClipSource, ref: str, sk: Skeleton, key: str, clip: Clip, a: Action):
    """The walk cycle of ``clip`` (``ref`` on skeleton ``key``), once per compile."""
    cache = ("walk-cycle", ref, key)
    if cache not in clips.derived:
        try:
            clips.derived[cache] = walk_cycle(sk, clip)
        except ValueError as exc:
            raise a.error(f"clip {ref!r} cannot drive a walk: {exc}") from None
    return clips.derived[cache]


def resolve_track(character: str, clip: str, blocking: Blocking, position: tuple[float, float],
                  facing_deg: float, skeleton: Skeleton, skeleton_key: str, fps: float,
                  frames: int, clips: ClipSource, marks: dict[str, tuple[float, float]],
                  seats: dict[str, Seat]) -> PoseTrack:
    """The pose track of one cast member over ``frames`` frames at ``fps``.

    ``marks``: every cast member's final mark (x, z), for turns that face a character;
    ``seats``: the set's props by asset name.
    """
    b = _Builder(skeleton, skeleton_key, fps, frames, clips, position, facing_deg)
    if blocking.sit_on:
        seat = seats[blocking.sit_on]
        b.play(Action("sit", where=blocking.sit_where), "sit", 1.0, 1e9, False, 1.0 / fps,
               None, seat)
    elif not blocking.actions:
        loop = blocking.loop if blocking.loop is not None else clip in ("idle", "wave", "nod")
        b.play(Action("clip", where=blocking.clip_where), clip, blocking.clip_speed,
               blocking.clip_offset, loop, None, None)
    starts = [int(round(a.at * fps)) if a.at is not None else None for a in blocking.actions]
    for i, a in enumerate(blocking.actions):
        begin = starts[i]
        if begin is not None and begin > b.n:
            b.rest(begin - b.n)
        until = next((s for s in starts[i + 1:] if s is not None), None)
        first = b.n == 0
        if a.do == "walk":
            b.walk(a, until, first)
        elif a.do == "turn":
            b.turn(_face(a, b.pos, marks), until)
        elif a.do == "idle":
            b.hold = None
            b.rest(int(round((a.duration or 1.0) * fps)) if a.duration else
                   (until or frames) - b.n, until)
        elif a.do == "clip":
            seat = seats.get(a.on) if a.on else None
            b.play(a, a.clip, a.clip_speed, 0.0, a.loop, a.duration, until, seat)
        elif a.do == "sit":
            b.play(a, "sit", 1.0, 0.0, False, a.duration, until, seats[a.on])
    b.rest(frames - b.n)
    rot = np.concatenate(b.rot)[:frames]
    root = np.concatenate(b.root)[:frames]
    yaw = np.concatenate(b.yaw)[:frames]
    return PoseTrack(fps=float(fps), rotations=rot, root=root, facing=np.degrees(yaw))


def _face(a: Action, pos: np.ndarray, marks: dict[str, tuple[float, float]]) -> float:
    if isinstance(a.face, float):
        return math.radians(a.face)
    target = np.array(marks[a.face] if isinstance(a.face, str) else a.face, np.float64)
    d = target - pos
    return math.atan2(d[0], d[1])


def final_mark(position: tuple[float, float], facing_deg: float, blocking: Blocking,
               starts: dict[str, tuple[float, float]],
               seats: dict[str, tuple[float, float]] | None = None
               ) -> tuple[tuple[float, float], float]:
    """Where a member ends up and which way it faces, from the blocking alone (no poses): the
    end of its last walk or the seat it last sits on (facing along the walk, or as its later
    turns say), else where it starts. ``starts``: the others' marks (or start positions) for
    turns that face them; ``seats``: the set's props (x, z) by asset name."""
    seats = seats or {}
    pos = np.array(position, np.float64)
    facing = math.radians(facing_deg)
    if blocking.sit_on in seats:
        pos = np.array(seats[blocking.sit_on], np.float64)
    for a in blocking.actions:
        if a.on in seats:
            pos = np.array(seats[a.on], np.float64)
        if a.do == "walk":
            d = np.array(a.to) - pos
            if np.linalg.norm(d) >= 0.05:
                facing = math.atan2(d[0], d[1])
                pos = np.array(a.to, np.float64)
        elif a.do == "turn":
            facing = _face(a, pos, starts)
    return (float(pos[0]), float(pos[1])), math.degrees(facing)
