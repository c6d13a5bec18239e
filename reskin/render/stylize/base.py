"""The stylizer interface: rendered frames and their passes in, styled frames out.

Pass conventions (all arrays per frame, image rows top to bottom, x to the right):

- ``beauty``   (f, h, w, 3) float32 display-referred sRGB colour in 0..1, unpremultiplied
- ``alpha``    (f, h, w) float32 coverage of the cast, 1 where a character is
- ``depth``    (f, h, w) float32 distance along the camera axis in metres; ``inf`` on background
- ``normal``   (f, h, w, 3) float32 unit surface normals in camera space (+x right, +y up,
               +z towards the camera); zero on background
- ``instance`` (f, h, w) int16: 0 background, k for the k-th cast member of the shot (1-based)
- ``motion``   (f, h, w, 2) float32 forward motion in pixels: the surface seen at pixel (x, y)
               in frame t is at (x + dx, y + dy) in frame t + 1 (dy positive downwards); the
               last frame's motion is zero
- ``uv``       (f, h, w, 2) float32 texture coordinates of the surface seen (v up); zero on
               background. With ``instance`` it names a surface point across frames and episodes.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Protocol

import numpy as np


@dataclass(frozen=True)
class FrameSet:
    """A shot's rendered frames and the passes a stylizer may use (see the module docstring)."""

    beauty: np.ndarray
    alpha: np.ndarray
    depth: np.ndarray | None = None
    normal: np.ndarray | None = None
    instance: np.ndarray | None = None
    motion: np.ndarray | None = None
    uv: np.ndarray | None = None

    def __len__(self) -> int:
        return int(self.beauty.shape[0])


class Stylizer(Protocol):
    """Anything that turns a :class:`FrameSet` into styled frames.

    ``key`` names the stylizer and every setting that changes its output, so a shot's styled
    frames are cached under hash(render key, stylizer key).
    """

    name: str

    def key(self) -> dict: ...

    def stylize(self, frames: FrameSet) -> np.ndarray:
        """Return (f, h, w, 3) uint8 sRGB styled frames."""
        ...
