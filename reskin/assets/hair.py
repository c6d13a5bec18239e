"""Parametric hair styles for the procedural humanoid, as signed distance fields.

Hair is part of the body's implicit surface (a smooth union with the head, labelled ``hair``):
it stays one watertight piece with the head, so the skeleton fit, the bone-heat weights (the
head's) and the atlas treat it like any other part. Each style is a few ellipsoids and round
cones cut by half-spaces (a hairline, the face opening, a hem), sampled by the generator.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

HAIR_STYLES: tuple[str, ...] = ("short", "bob", "long", "ponytail", "bun")
"""The styles ``hair.style`` in character.yaml may name."""


@dataclass(frozen=True)
class HeadFrame:
    """Where the skull is, for fitting hair to it (metres, the generator's frame).

    centre, radii : the cranium ellipsoid; eye_y, chin_y : heights of the eye line and chin;
    hh : head height, crown to chin
    """

    centre: tuple[float, float, float]
    radii: tuple[float, float, float]
    eye_y: float
    chin_y: float
    hh: float


def _ellipsoid(x, y, z, c, r):
    # Bound-corrected ellipsoid distance (as the generator's): exact on the surface.
    px, py, pz = (x - c[0]) / r[0], (y - c[1]) / r[1], (z - c[2]) / r[2]
    k0 = np.sqrt(px * px + py * py + pz * pz)
    k1 = np.sqrt((px / r[0]) ** 2 + (py / r[1]) ** 2 + (pz / r[2]) ** 2)
    return k0 * (k0 - 1.0) / np.maximum(k1, 1e-12)


def _capsule(x, y, z, a, b, ra, rb):
    # A tapered capsule (round cone, approximated by a linear radius along the segment): good
    # enough for a ponytail, whose radius changes slowly.
    a, b = np.asarray(a, float), np.asarray(b, float)
    ba = b - a
    t = np.clip(((x - a[0]) * ba[0] + (y - a[1]) * ba[1] + (z - a[2]) * ba[2]) / (ba @ ba),
                0.0, 1.0)
    dx, dy, dz = x - (a[0] + t * ba[0]), y - (a[1] + t * ba[1]), z - (a[2] + t * ba[2])
    return np.sqrt(dx * dx + dy * dy + dz * dz) - (ra + t * (rb - ra))


def _smax(a, b, k):
    # Smooth intersection: a hairline cut at the voxel scale would be a staircase.
    h = np.clip(0.5 - 0.5 * (b - a) / k, 0.0, 1.0)
    return b + (a - b) * h + k * h * (1.0 - h)


@dataclass(frozen=True)
class HairPiece:
    """One SDF piece of a hairstyle (the generator unions it into the body as part ``hair``)."""

    style: str
    head: HeadFrame
    blend: float
    part: str = "hair"

    def _thickness(self) -> float:
        return 0.075 * self.head.hh

    def _cap(self, x, y, z, grow: float = 1.0):
        """The skull grown by the hair's thickness, above a hairline that runs from the top of
        the forehead down to the nape."""
        h, t = self.head, self._thickness() * grow
        c, r = h.centre, h.radii
        d = _ellipsoid(x, y, z, (c[0], c[1] - 0.8 * t, c[2] - 0.1 * t),
                       (r[0] + t, r[1] + t, r[2] + t))
        y_front = h.eye_y + 0.33 * h.hh  # the hairline at the forehead
        y_back = h.eye_y - 0.32 * h.hh  # ... and at the nape
        slope = (y_front - y_back) / (2.0 * r[2])
        z_front = c[2] + r[2]
        above = (y - y_front - slope * (z - z_front)) / math.sqrt(1.0 + slope * slope)
        return _smax(d, -above, 0.03 * h.hh)

    def _curtain(self, x, y, z, hem_y: float):
        """Hair falling around the head to ``hem_y``, open in front of the face."""
        h, t = self.head, self._thickness()
        c, r = h.centre, h.radii
        top = self._cap(x, y, z, 1.1)
        low = _ellipsoid(x, y, z, (c[0], c[1] - 0.22 * h.hh, c[2] - 0.04 * h.hh),
                         (r[0] + 1.2 * t, r[1] * 0.95, r[2] + 0.9 * t))
        d = np.minimum(top, low)
        # The face opening: nothing in front of the cheeks below the forehead hairline.
        face = np.maximum(c[2] + 0.12 * h.hh - z, y - (h.eye_y + 0.33 * h.hh))
        return _smax(_smax(d, -face, 0.03 * h.hh), hem_y - y, 0.03 * h.hh)

    def sdf(self, x, y, z):
        """Signed distance (negative inside) at broadcastable coordinate arrays."""
        h = self.head
        c, r = h.centre, h.radii
        if self.style == "short":
            return self._cap(x, y, z)
        if self.style == "bob":
            return self._curtain(x, y, z, h.chin_y + 0.12 * h.hh)
        if self.style == "long":
            hem = h.chin_y - 0.3 * h.hh
            d = self._curtain(x, y, z, hem)
            back = _ellipsoid(x, y, z, (c[0], h.chin_y - 0.05 * h.hh, c[2] - 0.3 * h.hh),
                              (r[0] * 0.95, 0.5 * h.hh, 0.16 * h.hh))
            back = np.maximum(back, np.maximum(hem - y, z - (c[2] - 0.12 * h.hh)))
            return np.minimum(d, back)
        if self.style == "ponytail":
            tie = (c[0], c[1] + 0.12 * h.hh, c[2] - r[2] - 0.02 * h.hh)
            tail = _capsule(x, y, z, tie, (c[0], c[1] - 0.55 * h.hh, c[2] - r[2] - 0.28 * h.hh),
                            0.1 * h.hh, 0.05 * h.hh)
            return np.minimum(self._cap(x, y, z), tail)
        if self.style == "bun":
            bun = _ellipsoid(x, y, z, (c[0], c[1] + 0.3 * h.hh, c[2] - r[2] - 0.02 * h.hh),
                             (0.17 * h.hh, 0.15 * h.hh, 0.15 * h.hh))
            return np.minimum(self._cap(x, y, z), bun)
        raise ValueError(f"unknown hair style {self.style!r}; expected one of "
                         f"{', '.join(HAIR_STYLES)}")

    def bounds(self) -> tuple[np.ndarray, np.ndarray]:
        """Axis-aligned box (lo (3,), hi (3,)) holding the piece."""
        h = self.head
        c, r = np.asarray(h.centre), np.asarray(h.radii)
        grow = 0.12 * h.hh
        lo = c - r - grow
        hi = c + r + grow
        lo[2] -= 0.35 * h.hh  # a ponytail or bun behind the head
        lo[1] = min(lo[1], h.chin_y - 0.6 * h.hh)  # long hair down to the shoulders
        return lo, hi


def hair_pieces(style: str, head: HeadFrame, blend: float) -> list[HairPiece]:
    """The SDF pieces of ``style`` on ``head``, joined to it with smooth-union radius ``blend``."""
    if style not in HAIR_STYLES:
        raise ValueError(f"hair_style must be one of {', '.join(HAIR_STYLES)}, got {style!r}")
    return [HairPiece(style, head, blend)]
