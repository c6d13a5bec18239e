"""The import normalisation: metres, +Y up, feet on the ground at the origin, as one matrix.

glTF is metres and +Y up by definition. OBJ, PLY and STL carry no units or axes, so those are
guessed from the shape (and recorded as guesses); ``--unit`` and ``--up`` override the guess.
"""

from __future__ import annotations

import numpy as np

UNITS = {"m": 1.0, "dm": 0.1, "cm": 0.01, "mm": 0.001, "in": 0.0254, "ft": 0.3048}
# (x, y, z) -> (x, z, -y): a Z-up file stood upright in a Y-up world.
Z_UP_TO_Y_UP = np.array([[1, 0, 0, 0], [0, 0, 1, 0], [0, -1, 0, 0], [0, 0, 0, 1]], np.float64)
HUMAN_HEIGHT_M = 1.7


FLOOR_TOLERANCE = 0.02
"""A side of the bounding box within this fraction of the model's size of 0 is "on the floor"."""
NEAR_FLOOR = 0.1
"""Within this fraction of the model's extent along an axis, its minimum is "near the floor":
soles, a base or a stray vertex a little below 0 still stand on it."""
STANDING_RATIO = 2.0
"""Taller along one axis than the other by this much is a standing figure, not a slab."""


def guess_up(lo: np.ndarray, hi: np.ndarray, file_format: str) -> tuple[str, bool, str]:
    """(axis 'y' or 'z', certain, why) for a bounding box ``lo``..``hi`` (3,) in file units.

    glTF is always Y-up. Otherwise two hypotheses, Y-up and Z-up, are scored by what an
    authored model usually shows: its feet on the floor (the axis whose minimum is at 0 while
    the model extends above it) and its height (taller along up than along the other of y, z;
    x is left out, a T-pose is as wide as it is tall). The guess is certain when both agree, or
    when one is clearly taller; STL (CAD) breaks a tie towards Z.

    The floor alone does not outvote height: a Y-up figure whose soles dip a little below
    y = 0 and whose back happens to sit at z = 0 is on the "z floor" only by accident. When the
    axis it is clearly taller along is near the floor too (within :data:`NEAR_FLOOR` of its
    extent), height decides. A slab lying on the floor (a rug, a board) is far from the floor
    along its long side, so the floor still wins there.
    """
    if file_format in ("glb", "gltf"):
        return "y", True, "glTF is +Y up"
    extent = hi - lo
    size = float(extent.max()) or 1.0
    axes = (("y", 1), ("z", 2))
    floor = {a: abs(float(lo[i])) <= FLOOR_TOLERANCE * size and float(hi[i]) > 0
             for a, i in axes}
    near = {a: abs(float(lo[i])) <= NEAR_FLOOR * float(extent[i]) and float(hi[i]) > 0
            for a, i in axes}
    tall = {"y": float(extent[1]), "z": float(extent[2])}
    taller = "z" if tall["z"] > tall["y"] else "y"
    ratio = max(tall.values()) / max(min(tall.values()), 1e-12 * size)
    clearly = ratio > 1.2
    if floor["y"] != floor["z"]:
        axis = "y" if floor["y"] else "z"
        if taller == axis or not clearly:
            return axis, True, f"feet at {axis} = 0 and tallest along {axis}"
        if near[taller]:
            return taller, ratio > STANDING_RATIO, (
                f"feet near {taller} = 0 and {ratio:.1f} times taller along {taller} than "
                f"along {axis}" + ("" if ratio > STANDING_RATIO else
                                   f"; pass --up {axis} if it lies down"))
        return axis, False, (f"feet at {axis} = 0 but taller along {taller}; "
                             f"pass --up {taller} if it lies down")
    if clearly:
        return taller, True, f"clearly tallest along {taller}"
    default = "z" if file_format == "stl" else "y"
    other = "y" if default == "z" else "z"
    return default, False, (f"about as tall along y as along z, assumed {default} "
                            f"({file_format.upper()} default); pass --up {other} if it lies down")


def guess_unit(extent: np.ndarray, up_height: float, file_format: str, kind: str | None) -> str:
    """The unit name a file's numbers are most likely in.

    extent : (3,) bounding-box size in file units; up_height : its size along the up axis.
    Characters: the unit that makes them closest to human height. Others: by overall size,
    with STL read as millimetres when large (the CAD convention).
    """
    if file_format in ("glb", "gltf"):
        return "m"
    size = float(np.max(extent))
    if kind == "character" and up_height > 0:
        return min(UNITS, key=lambda u: abs(np.log(up_height * UNITS[u] / HUMAN_HEIGHT_M)))
    if size <= 100:
        return "m"
    if file_format == "stl" or size > 10_000:
        return "mm"
    return "cm"


def normalization(points: np.ndarray, *, file_format: str, kind: str | None,
                  unit: str = "auto", up: str = "auto") -> tuple[np.ndarray, dict]:
    """(4, 4) matrix taking file coordinates to metres, +Y up, feet at the origin, and a record.

    points : (n, 3) world-space rest positions of everything in the file. The origin goes to the
    centre of the footprint (x, z) at the lowest point (y = 0).
    """
    lo, hi = points.min(axis=0), points.max(axis=0)
    extent = hi - lo
    if up == "auto":
        up_used, up_certain, up_reason = guess_up(lo, hi, file_format)
    else:
        up_used, up_certain, up_reason = up, True, "--up"
    rot = Z_UP_TO_Y_UP if up_used == "z" else np.eye(4)
    up_height = float(extent[2] if up_used == "z" else extent[1])
    unit_used = guess_unit(extent, up_height, file_format, kind) if unit == "auto" else unit
    scale = UNITS[unit_used]
    m = np.diag([scale, scale, scale, 1.0]) @ rot
    moved = points @ m[:3, :3].T
    lo2, hi2 = moved.min(axis=0), moved.max(axis=0)
    shift = np.array([-(lo2[0] + hi2[0]) / 2, -lo2[1], -(lo2[2] + hi2[2]) / 2])
    m[:3, 3] = shift
    record = {
        "matrix": [[float(x) for x in row] for row in m],
        "unit": unit_used, "unit_guessed": unit == "auto" and file_format not in ("glb", "gltf"),
        "up": up_used, "up_guessed": up == "auto" and file_format not in ("glb", "gltf"),
        "up_certain": up_certain, "up_reason": up_reason,
        "source_bounds": [[float(x) for x in lo], [float(x) for x in hi]],
        "size_m": [float(x) for x in (hi2 - lo2)],
    }
    return m, record


def apply(matrix: np.ndarray, points: np.ndarray) -> np.ndarray:
    """(n, 3) points transformed by the (4, 4) ``matrix``."""
    return points @ matrix[:3, :3].T + matrix[:3, 3]
