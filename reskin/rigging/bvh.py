"""BVH motion capture files: parse the hierarchy and motion, forward kinematics on arrays.

BVH stores a rest pose as joint offsets (no rest rotations) and, per frame, the channels each
joint lists: Euler angles in degrees applied in the listed order (``Zrotation Yrotation
Xrotation`` means R = Rz @ Ry @ Rx) and, for the root, positions that replace its offset
(position channels on other joints are read as displacements from their offsets). End Sites give
the tip of a chain.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np


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


def read_bvh(path: str | Path) -> BvhMotion:
    """Parse a BVH file. Raises ValueError naming the line on malformed input."""
    text = Path(path).read_text(errors="replace")
    tokens: list[tuple[str, int]] = []
    for lineno, line in enumerate(text.splitlines(), 1):
        tokens += [(t, lineno) for t in line.split()]
    pos = 0

    def take(expect: str | None = None) -> str:
        nonlocal pos
        if pos >= len(tokens):
            raise ValueError(f"{path}: unexpected end of file")
        tok, line = tokens[pos]
        if expect is not None and tok.upper() != expect.upper():
            raise ValueError(f"{path}:{line}: expected {expect!r}, found {tok!r}")
        pos += 1
        return tok

    def number() -> float:
        tok, line = tokens[pos] if pos < len(tokens) else ("<eof>", -1)
        try:
            value = float(take())
        except ValueError:
            raise ValueError(f"{path}:{line}: expected a number, found {tok!r}") from None
        return value

    names: list[str] = []
    parents: list[int] = []
    offsets: list[list[float]] = []
    ends: list[list[float]] = []
    channels: list[list[str]] = []
    take("HIERARCHY")
    stack: list[int] = []
    kind = take()
    while True:
        if kind.upper() in ("ROOT", "JOINT"):
            name = take()
            names.append(name)
            parents.append(stack[-1] if stack else -1)
            ends.append([np.nan] * 3)
            take("{")
            take("OFFSET")
            offsets.append([number(), number(), number()])
            take("CHANNELS")
            count = int(number())
            channels.append([take() for _ in range(count)])
            stack.append(len(names) - 1)
        elif kind.upper() == "END":
            take("Site")
            take("{")
            take("OFFSET")
            ends[stack[-1]] = [number(), number(), number()]
            take("}")
        elif kind == "}":
            stack.pop()
            if not stack:
                break
        else:
            raise ValueError(f"{path}:{tokens[pos - 1][1]}: unexpected {kind!r} in HIERARCHY")
        kind = take()
    take("MOTION")
    take("Frames:")
    frames = int(number())
    take("Frame")
    take("Time:")
    dt = number()
    width = sum(len(c) for c in channels)
    values = np.array([float(t) for t, _ in tokens[pos : pos + frames * width]])
    if len(values) != frames * width or frames < 1 or not dt > 0:
        raise ValueError(f"{path}: expected {frames} frames of {width} channels and a positive "
                         f"frame time, found {len(values)} values, frame time {dt}")
    values = values.reshape(frames, width)
    j = len(names)
    rot = np.tile(np.eye(3), (frames, j, 1, 1))
    trans = np.repeat(np.array(offsets)[None], frames, axis=0)
    col = 0
    for i, chans in enumerate(channels):
        for ch in chans:
            axis, what = ch[0].lower(), ch[1:].lower()
            if axis not in "xyz" or what not in ("rotation", "position"):
                raise ValueError(f"{path}: joint {names[i]!r} has unknown channel {ch!r}")
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
