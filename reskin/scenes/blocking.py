"""Blocking: what a cast member does in a shot (walk to a mark, turn, play a clip, sit), read
from the episode file and resolved into a per-frame canonical pose track.

In the episode, per cast member::

    clip: walk@1            # any clip: procedural (idle, wave, nod), or the library's
    clip_speed: 1.0         # playback rate
    clip_offset: 0.0        # seconds into the clip at the shot's first frame
    loop: false
    actions:
      - {do: walk, to: [0.5, 1.2], speed: 1.1}      # m/s; default: the walk clip's own pace
      - {do: turn, face: theo}                       # a character, a point [x, z] or degrees
      - {do: clip, clip: wave, at: 2.0}              # at: seconds from the shot's start
      - {do: sit, on: chair}                         # a prop of the set (its top is the seat)
      - {do: idle, duration: 1.0}
    sit: {on: chair}        # seated from the first frame

Actions run one after another; ``at:`` starts one at a given time (cutting the one before).
Between actions and after the last one the character stands (idle) or, after a clip or a sit,
holds the clip's last pose. The track (:class:`PoseTrack`) is pure numpy on the character's
canonical skeleton: rotations (f, 21, 4) with the facing in the hips, root (f, 3) in the world
and facing (f,) degrees. The checks that need the whole shot (a turn to a character not in it,
a walk off the floor) name the file and line.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

import numpy as np

from reskin.core.errors import ReskinError
from reskin.core.fields import Fields
from reskin.rigging.procedural_clips import PROCEDURAL_CLIPS

ACTIONS = ("walk", "turn", "clip", "idle", "sit")
BLOCKING_CLIPS = ("sit",)
"""Procedural clips made for blocking only (not baked into skins)."""
BLEND_S = 0.25
"""Cross-fade between one action's pose and the next (seconds)."""
TURN_DEG_PER_S = 180.0
TURN_MIN_S = 0.4
TURN_BEFORE_WALK_DEG = 20.0
"""A walk first turns in place to its heading when it differs by more than this."""
FLOOR_HALF_SIZE = 20.0
"""The set's floor is 40 m square around the origin (the worker's floor quad)."""


@dataclass(frozen=True)
class Action:
    """One step of a cast member's blocking; ``where`` is "file:line|field" for errors."""

    do: str
    at: float | None = None
    to: tuple[float, float] | None = None
    speed: float | None = None
    face: str | float | tuple[float, float] | None = None
    clip: str | None = None
    clip_speed: float = 1.0
    loop: bool = False
    duration: float | None = None
    on: str | None = None
    where: str = ""

    def error(self, message: str) -> ReskinError:
        file, _, fld = self.where.partition("|")
        return ReskinError(message, file=file or None, field=fld or None)


@dataclass(frozen=True)
class Blocking:
    """A cast member's blocking fields (see the module doc); empty when it only plays a clip."""

    clip_speed: float = 1.0
    clip_offset: float = 0.0
    loop: bool | None = None
    actions: tuple[Action, ...] = ()
    sit_on: str | None = None
    clip_where: str = ""
    sit_where: str = ""

    def needs_track(self, clip: str) -> bool:
        """Whether the member needs a per-shot pose track (anything but a skin's baked clip
        played as is)."""
        return bool(self.actions or self.sit_on or clip not in PROCEDURAL_CLIPS
                    or self.clip_speed != 1.0 or self.clip_offset != 0.0
                    or self.loop is not None)


def _where(f: Fields, key: str) -> str:
    line = f.items[key].line if key in f.items else f.line
    return f"{f.file}:{line}|{f._sub(key)}"


def clip_name_ok(v: str) -> str | None:
    import re

    return None if re.match(r"^[A-Za-z0-9][A-Za-z0-9_.-]*(@\d+)?$", v) else \
        "expected a clip name (idle, wave, nod, sit, or a library clip such as walk or walk@1)"


def _action(f: Fields, duration: float) -> Action:
    do = f.get("do", str, choices=ACTIONS)
    at = f.get("at", float, None, check=lambda v: None if 0 <= v < duration else
               f"must be within the shot (0..{duration} s)")
    kw: dict = {}
    if do == "walk":
        kw["to"] = f.numbers("to", 2)
        kw["speed"] = f.get("speed", float, None,
                            check=lambda v: None if 0.1 <= v <= 5 else "must be 0.1..5 m/s")
        kw["clip"] = f.get("clip", str, None, check=clip_name_ok)
        where = _where(f, "to")
    elif do == "turn":
        if not f.has("face"):
            f.error("a turn needs `face:` (a character, a point [x, z] or degrees)", "face")
        value = f.items["face"].value
        if isinstance(value, list):
            kw["face"] = f.numbers("face", 2)
        elif isinstance(value, (int, float)) and not isinstance(value, bool):
            kw["face"] = f.get("face", float)
        else:
            kw["face"] = f.get("face", str)
        where = _where(f, "face")
    elif do == "clip":
        kw["clip"] = f.get("clip", str, check=clip_name_ok)
        kw["clip_speed"] = f.get("clip_speed", float, 1.0,
                                 check=lambda v: None if 0.05 <= v <= 20 else "must be 0.05..20")
        kw["loop"] = f.get("loop", bool, False)
        sit = f.sub("sit", None)
        if sit is not None:
            kw["on"] = sit.get("on", str)
            sit.done()
        where = _where(f, "clip")
    elif do == "sit":
        kw["on"] = f.get("on", str)
        where = _where(f, "on")
    else:
        where = _where(f, "do")
    kw["duration"] = f.get("duration", float, None,
                           check=lambda v: None if 0 < v <= 600 else "must be > 0 s")
    f.done()
    return Action(do=do, at=at, where=where, **kw)


def read_blocking(cf: Fields, duration: float) -> Blocking:
    """The blocking fields of one cast entry (``cf``; the caller reads ``clip`` itself)."""
    actions = tuple(_action(af, duration) for af in cf.list_of_fields("actions", []))
    sit = cf.sub("sit", None)
    sit_on, sit_where = None, ""
    if sit is not None:
        sit_on = sit.get("on", str)
        sit_where = _where(sit, "on")
        sit.done()
    return Blocking(
        clip_speed=cf.get("clip_speed", float, 1.0,
                          check=lambda v: None if 0.05 <= v <= 20 else "must be 0.05..20"),
        clip_offset=cf.get("clip_offset", float, 0.0,
                           check=lambda v: None if 0 <= v <= 3600 else "must be 0..3600 s"),
        loop=cf.get("loop", bool, None),
        actions=actions, sit_on=sit_on,
        clip_where=_where(cf, "clip"), sit_where=sit_where,
    )


def _closest(word: str, options: list[str]) -> str | None:
    import difflib

    match = difflib.get_close_matches(word, options, n=1, cutoff=0.6)
    return match[0] if match else None


def wall_z(spec, positions: list[tuple[float, float]]) -> float | None:
    """The backdrop's z for a shot (as the compiler places it), or None without a wall."""
    if spec.set is None or spec.set.wall is None:
        return None
    return float(min(p[1] for p in positions) - spec.set.wall_distance)


def check_blocking(cast: list, props: list[str], wall_z: float | None) -> None:
    """Checks needing the whole shot: turns face a character of the shot, walks stay on the
    floor (in front of the wall), seats are props of the set. ``cast``: the shot's
    :class:`reskin.scenes.episode.CastEntry` list; ``props``: the set's prop asset names."""
    names = [c.character for c in cast]
    for entry in cast:
        b: Blocking = entry.blocking
        seats = [(a.on, a) for a in b.actions if a.on] + (
            [(b.sit_on, Action("sit", where=b.sit_where))] if b.sit_on else [])
        for on, a in seats:
            if on not in props:
                near = _closest(on, props)
                hint = f"; did you mean {near!r}?" if near else ""
                raise a.error(f"sits on {on!r}, which is not a prop of this shot's set "
                              f"({', '.join(props) or 'no props'}{hint})")
        for a in b.actions:
            if a.do == "turn" and isinstance(a.face, str):
                if a.face == entry.character or a.face not in names:
                    others = [n for n in names if n != entry.character]
                    near = _closest(a.face, others)
                    hint = f"; did you mean {near!r}?" if near else ""
                    raise a.error(f"turns to face {a.face!r}, who is not another character of "
                                  f"this shot ({', '.join(others) or 'nobody else'}, a point "
                                  f"[x, z] or degrees{hint})")
            if a.do == "walk":
                x, z = a.to
                off = max(abs(x), abs(z)) > FLOOR_HALF_SIZE
                if off or (wall_z is not None and z <= wall_z + 0.2):
                    limit = (f"in front of the wall (z > {wall_z + 0.2:.2f})"
                             if not off and wall_z is not None
                             else f"within ±{FLOOR_HALF_SIZE:g} m")
                    raise a.error(f"walks to [{x:g}, {z:g}], off the floor (keep marks {limit})")


@dataclass(frozen=True, eq=False)
class PoseTrack:
    """A cast member's body through a shot, on its canonical skeleton.

    rotations : (f, 21, 4) local rotations (x, y, z, w), the facing in the hips
    root      : (f, 3) hips position in the world (reskin coordinates: metres, +Y up)
    facing    : (f,) degrees about +Y (0 faces +Z, 90 faces +X)
    """

    fps: float
    rotations: np.ndarray
    root: np.ndarray
    facing: np.ndarray
    notes: list[str] = field(default_factory=list)

    @property
    def frames(self) -> int:
        return int(len(self.root))

    def mark(self) -> tuple[np.ndarray, float]:
        """((x, z), facing) where the member stands longest (its mark: where the framing looks
        for a character who enters or exits)."""
        still = np.zeros(self.frames, bool)
        if self.frames > 1:
            speed = np.linalg.norm(np.diff(self.root[:, [0, 2]], axis=0), axis=1) * self.fps
            still[1:] = speed < 0.15
            still[0] = still[1]
        edges = np.flatnonzero(np.diff(np.concatenate([[0], still.astype(np.int8), [0]])))
        runs = list(zip(edges[::2], edges[1::2], strict=True))
        if not runs:
            a, b = 0, self.frames
        else:
            a, b = max(runs, key=lambda r: r[1] - r[0])
        xz = self.root[a:b, [0, 2]].mean(axis=0)
        f = np.radians(self.facing[a:b])
        return xz, math.degrees(math.atan2(np.sin(f).mean(), np.cos(f).mean()))
