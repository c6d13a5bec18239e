"""The stylizer interface: rendered frames and their passes in, styled frames out."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Protocol

import numpy as np


@dataclass(frozen=True)
class FrameSet:
    """A shot's rendered frames and the passes a stylizer may use.

    beauty : (f, h, w, 3) float32 linear-ish sRGB colour in 0..1 (as rendered, unpremultiplied)
    alpha  : (f, h, w) float32 coverage of the cast (1 where a character is)
    """

    beauty: np.ndarray
    alpha: np.ndarray


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
