"""BVH motion capture files: parse the hierarchy and motion, forward kinematics on arrays.

BVH stores a rest pose as joint offsets (no rest rotations) and, per frame, the channels each
joint lists: Euler angles in degrees applied in the listed order (``Zrotation Yrotation
Xrotation`` means R = Rz @ Ry @ Rx) and, for the root, positions that replace its offset
(position channels on other joints are read as displacements from their offsets). End Sites give
the tip of a chain.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from reskin.core.errors import ReskinError


@dataclass(frozen=True, eq=False)
class BvhMotion:
    """A parsed BVH file.

    names       : joint names, parents before children
    parents     : (j,) int64, -1 for the root
    offsets     : (j, 3) float64 rest offset from the parent (root: from the origin)
    end_sites   : (j, 3) float64 End Site offset of a joint, NaN where it has none
    fps         : frames per second (1 / Frame Time)
    rotations   : (f, j, 3, 3) float64 local rotation matrices
    translations: (f, j, 3) float64 local translations (the offsets, or position channels)
    """

    names: tuple[str, ...]
    parents: np.ndarray
    offsets: np.ndarray
    end_sites: np.ndarray
    fps: float
    rotations: np.ndarray
    translations: np.ndarray

    @property
    def frames(self) -> int:
        return int(self.rotations.shape[0])

    def index(self, name: str) -> int:
        return self.names.index(name)

    def rest_positions(self) -> np.ndarray:
        """(j, 3) joint positions of the rest pose (offsets only, root at its offset)."""
        pos = np.zeros((len(self.names), 3))
        for i, p in enumerate(self.parents):
            pos[i] = self.offsets[i] + (pos[p] if p >= 0 else 0.0)
        return pos

    def world(self) -> tuple[np.ndarray, np.ndarray]:
        """Global rotations (f, j, 3, 3) and positions (f, j, 3) of every joint, every frame."""
        rot = np.empty_like(self.rotations)
        pos = np.empty_like(self.translations)
        for i, p in enumerate(self.parents):
            if p < 0:
                rot[:, i] = self.rotations[:, i]
                pos[:, i] = self.translations[:, i]
            else:
                rot[:, i] = rot[:, p] @ self.rotations[:, i]
                pos[:, i] = pos[:, p] + np.einsum("fij,fj->fi", rot[:, p],
                                                  self.translations[:, i])
        return rot, pos


def _axis_rotations(axis: str, degrees: np.ndarray) -> np.ndarray:
    """(f, 3, 3) rotations by ``degrees`` (f,) about x, y or z."""
    a = np.radians(degrees)
    c, s = np.cos(a), np.sin(a)
    m = np.zeros(a.shape + (3, 3))
    i, j = {"x": (1, 2), "y": (2, 0), "z": (0, 1)}[axis]
    k = 3 - i - j
    m[..., k, k] = 1.0
    m[..., i, i] = c
    m[..., j, j] = c
    m[..., i, j] = -s
    m[..., j, i] = s
    return m


class BvhError(ReskinError, ValueError):
    """A BVH file that cannot be read or holds values no motion can have. One line naming the
    file (and line) and the joint or field; a ValueError too, for callers that catch those."""


_CHANNEL = re.compile(r"^[XYZ](position|rotation)$", re.IGNORECASE)
# An offset beyond this (in any unit: 10 km in metres, 100 m in centimetres) is no skeleton.
MAX_OFFSET = 1e4
# A bone this many times the median bone is a corrupt offset, not a long limb (the fixtures'
# worst ratio is under 10: MakeHuman's thigh against its face bones).
MAX_BONE_RATIO = 100.0


def read_bvh(path: str | Path) -> BvhMotion:
    """Parse and check a BVH file.

    Raises :class:`BvhError` (one line naming the file, line and joint or field) on malformed
    input: a CHANNELS count that disagrees with the channels listed, motion lines that disagree
    with the frame count or the channel count, a non-numeric value, NaN or Inf anywhere, a joint
    name used twice, or an absurd offset (beyond :data:`MAX_OFFSET`, or a bone longer than
    :data:`MAX_BONE_RATIO` times the median bone).
    """
    try:
        text = Path(path).read_text(errors="replace")
    except OSError as exc:
        raise BvhError(f"cannot read the file ({exc.strerror or exc})", file=path) from None
    tokens: list[tuple[str, int]] = []
    for lineno, line in enumerate(text.splitlines(), 1):
        tokens += [(t, lineno) for t in line.split()]
    pos = 0

    def fail(message: str, line: int | None = None, field: str | None = None) -> BvhError:
        return BvhError(message, file=f"{path}:{line}" if line else path, field=field)

    def take(expect: str | None = None) -> str:
        nonlocal pos
        if pos >= len(tokens):
            raise fail("unexpected end of file")
        tok, line = tokens[pos]
        if expect is not None and tok.upper() != expect.upper():
            raise fail(f"expected {expect!r}, found {tok!r}", line)
        pos += 1
        return tok

    def number(field: str) -> float:
        tok, line = tokens[pos] if pos < len(tokens) else ("<eof>", None)
        try:
            value = float(take())
        except ValueError:
            raise fail(f"expected a number, found {tok!r}", line, field) from None
        if not np.isfinite(value):
            raise fail(f"{tok} is not a finite number", line, field)
        return value

    def offset(field: str) -> list[float]:
        line = tokens[pos][1] if pos < len(tokens) else None
        value = [number(field), number(field), number(field)]
        if max(abs(v) for v in value) > MAX_OFFSET:
            raise fail(f"offset {value} is absurd (beyond {MAX_OFFSET:g} units)", line, field)
        return value

    names: list[str] = []
    parents: list[int] = []
    offsets: list[list[float]] = []
    ends: list[list[float]] = []
    channels: list[list[str]] = []
    lines: list[int] = []  # the OFFSET line of each joint, for the bone-length check
    take("HIERARCHY")
    stack: list[int] = []
    kind = take()
    while True:
        if kind.upper() in ("ROOT", "JOINT"):
            line = tokens[pos][1] if pos < len(tokens) else None
            name = take()
            if name in names:
                raise fail(f"this joint name is used twice (first on line "
                           f"{lines[names.index(name)]})", line, f"joint {name!r}")
            names.append(name)
            parents.append(stack[-1] if stack else -1)
            ends.append([np.nan] * 3)
            take("{")
            lines.append(tokens[pos][1] if pos < len(tokens) else 0)
            take("OFFSET")
            # The root's offset only places the skeleton (its position channels replace it).
            offsets.append(offset(f"joint {name!r} OFFSET") if stack else
                           [number(f"joint {name!r} OFFSET") for _ in range(3)])
            line = tokens[pos][1] if pos < len(tokens) else None
            take("CHANNELS")
            count = number(f"joint {name!r} CHANNELS")
            listed = []
            while pos < len(tokens) and _CHANNEL.match(tokens[pos][0]):
                listed.append(take())
            if count > len(listed) and pos < len(tokens) and tokens[pos][0].upper() not in (
                    "JOINT", "END", "}"):
                raise fail(f"unknown channel {tokens[pos][0]!r} (expected Xposition ... "
                           "Zrotation)", tokens[pos][1], f"joint {name!r} CHANNELS")
            if count != len(listed):
                raise fail(f"CHANNELS says {count:g} but lists {len(listed)} channels "
                           f"({' '.join(listed) or 'none'})", line, f"joint {name!r} CHANNELS")
            channels.append(listed)
            stack.append(len(names) - 1)
        elif kind.upper() == "END":
            if not stack:
                raise fail("End Site outside a joint", tokens[pos - 1][1])
            take("Site")
            take("{")
            take("OFFSET")
            ends[stack[-1]] = offset(f"End Site of {names[stack[-1]]!r} OFFSET")
            take("}")
        elif kind == "}":
            stack.pop()
            if not stack:
                break
        else:
            raise fail(f"unexpected {kind!r} in HIERARCHY", tokens[pos - 1][1])
        kind = take()
    _check_bone_lengths(path, names, offsets, ends, parents, lines)
    take("MOTION")
    take("Frames:")
    frames_line = tokens[pos][1] if pos < len(tokens) else None
    frames = number("Frames")
    if frames != int(frames) or frames < 1:
        raise fail(f"must be a whole number of at least 1, found {frames:g}",
                   frames_line, "Frames")
    frames = int(frames)
    take("Frame")
    take("Time:")
    dt_line = tokens[pos][1] if pos < len(tokens) else None
    dt = number("Frame Time")
    if not dt > 0:
        raise fail(f"must be positive, found {dt:g}", dt_line, "Frame Time")
    width = sum(len(c) for c in channels)
    values = _motion_values(path, tokens[pos:], frames, width, names, channels)
    j = len(names)
    rot = np.tile(np.eye(3), (frames, j, 1, 1))
    trans = np.repeat(np.array(offsets)[None], frames, axis=0)
    col = 0
    for i, chans in enumerate(channels):
        for ch in chans:
            axis, what = ch[0].lower(), ch[1:].lower()
            if what == "rotation":
                rot[:, i] = rot[:, i] @ _axis_rotations(axis, values[:, col])
            elif parents[i] < 0:
                trans[:, i, "xyz".index(axis)] = values[:, col]
            else:
                # Position channels below the root (MakeHuman writes them on most joints, with
                # values near 0) move a joint from its rest offset: they add to it.
                trans[:, i, "xyz".index(axis)] += values[:, col]
            col += 1
    fps = 1.0 / dt
    # Frame times are written rounded (.0083333 for 120 fps): snap to the whole rate they mean.
    if abs(fps - round(fps)) < 1e-4 * fps:
        fps = float(round(fps))
    return BvhMotion(tuple(names), np.array(parents, np.int64), np.array(offsets, np.float64),
                     np.array(ends, np.float64), fps, rot, trans)


def _check_bone_lengths(path: str | Path, names: list[str], offsets: list[list[float]],
                        ends: list[list[float]], parents: list[int], lines: list[int]) -> None:
    """Refuse a bone (a non-root offset or an End Site) longer than MAX_BONE_RATIO times the
    median non-zero bone: a corrupt offset would scale or tear the retargeted skeleton."""
    lengths = [(float(np.linalg.norm(offsets[i])), f"joint {names[i]!r} OFFSET", lines[i])
               for i in range(len(names)) if parents[i] >= 0]
    lengths += [(float(np.linalg.norm(e)), f"End Site of {names[i]!r} OFFSET", None)
                for i, e in enumerate(ends) if not np.isnan(e).any()]
    nonzero = [n for n, _, _ in lengths if n > 0]
    if len(nonzero) < 3:
        return
    median = float(np.median(nonzero))
    for length, field, line in lengths:
        if length > MAX_BONE_RATIO * median:
            raise BvhError(f"bone of length {length:g} is {length / median:.0f} times the "
                           f"median bone ({median:g}); the offset is corrupt",
                           file=f"{path}:{line}" if line else path, field=field)


def _motion_values(path: str | Path, tokens: list[tuple[str, int]], frames: int, width: int,
                   names: list[str], channels: list[list[str]]) -> np.ndarray:
    """(frames, width) float64 motion values; BvhError naming the line and the joint's channel
    of the first value that is missing, extra, non-numeric or not finite.

    Frames are one per line; a writer that wraps a frame over several lines is read as long as
    the total count is right.
    """
    if len(tokens) != frames * width:
        rows: dict[int, int] = {}
        for _, line in tokens:
            rows[line] = rows.get(line, 0) + 1
        for f, (line, n) in enumerate(rows.items()):
            if n != width:
                raise BvhError(f"frame {f + 1} has {n} values but CHANNELS declare {width}",
                               file=f"{path}:{line}", field="MOTION")
        line = list(rows)[frames] if len(rows) > frames else None
        raise BvhError(f"Frames says {frames} but the file has {len(rows)} lines of motion",
                       file=f"{path}:{line}" if line else path, field="MOTION")
    columns = [f"joint {n!r} {ch}" for n, chans in zip(names, channels, strict=True)
               for ch in chans]
    values = np.empty(frames * width)
    for k, (tok, line) in enumerate(tokens):
        try:
            values[k] = float(tok)
        except ValueError:
            raise BvhError(f"frame {k // width + 1}: expected a number, found {tok!r}",
                           file=f"{path}:{line}", field=columns[k % width]) from None
        if not np.isfinite(values[k]):
            raise BvhError(f"frame {k // width + 1}: {tok} is not a finite number",
                           file=f"{path}:{line}", field=columns[k % width])
    return values.reshape(frames, width)
