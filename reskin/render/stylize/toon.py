"""The built-in stylizer: cel shading and ink lines from the render and its coverage pass.

It needs no model, so a fresh machine can stylize the sample series; the diffusion stylizer
plugs into the same interface.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from scipy import ndimage

from reskin.render.stylize.base import FrameSet

TOON_VERSION = "3"  # 3: median-filtered bands; 2: ink from the geometry passes


@dataclass(frozen=True)
class ToonStylizer:
    background: tuple[float, float, float] = (0.93, 0.89, 0.82)
    levels: int = 4
    ink: float = 1.0
    name: str = "toon"

    def key(self) -> dict:
        return {"name": self.name, "version": TOON_VERSION, "background": self.background,
                "levels": self.levels, "ink": self.ink}

    def stylize(self, frames: FrameSet) -> np.ndarray:
        # With the renderer's passes, ink follows the geometry (silhouettes, depth jumps,
        # creases, one character in front of another) instead of guessing from colour.
        geometric = None
        if frames.depth is not None or frames.normal is not None:
            from reskin.render.stylize.controls import lineart_control

            geometric = lineart_control(frames)[..., 0]
        out = np.empty(frames.beauty.shape, np.uint8)
        for i in range(len(frames.beauty)):
            lines = None if geometric is None else geometric[i]
            out[i] = self._frame(frames.beauty[i], frames.alpha[i], lines)
        return out

    def _frame(self, rgb: np.ndarray, alpha: np.ndarray,
               geometric: np.ndarray | None = None) -> np.ndarray:
        """rgb (h, w, 3) float 0..1, alpha (h, w), geometric (h, w) line mask or None
        -> (h, w, 3) uint8."""
        # Cel shading: quantise brightness into bands, keep the hue and saturation.
        lum = rgb @ np.array([0.299, 0.587, 0.114], np.float32)
        # A median keeps band edges crisp while removing the few-sample render noise that
        # would otherwise flicker across band thresholds as speckles.
        lum_s = ndimage.uniform_filter(ndimage.median_filter(lum, size=5), size=3)
        bands = np.floor(np.clip(lum_s, 0, 0.999) * self.levels + 0.5) / self.levels
        scale = np.where(lum_s > 1e-4, np.maximum(bands, 0.5 / self.levels) / np.maximum(lum_s,
                         1e-4), 1.0)
        cel = np.clip(rgb * scale[..., None], 0, 1)
        # Ink: the silhouette (coverage edges) and strong colour edges inside the character.
        h = max(rgb.shape[:2])
        edge_alpha = np.hypot(ndimage.sobel(alpha, 0), ndimage.sobel(alpha, 1))
        if geometric is not None:
            lines = np.clip(edge_alpha * 0.6 + geometric * 0.85, 0, 1)
        else:
            edge_lum = np.hypot(ndimage.sobel(lum_s, 0), ndimage.sobel(lum_s, 1)) * (alpha > 0.5)
            lines = np.clip(edge_alpha * 0.6 + np.clip(edge_lum - 0.35, 0, None) * 1.5, 0, 1)
        if h >= 400:
            lines = ndimage.grey_dilation(lines, size=(2, 2))
        lines *= self.ink
        a = alpha[..., None]
        composite = cel * a + np.asarray(self.background, np.float32) * (1 - a)
        composite = composite * (1 - lines[..., None]) + 0.08 * lines[..., None]
        return (np.clip(composite, 0, 1) * 255 + 0.5).astype(np.uint8)


class PassThrough:
    """No stylization: the render composited over the backdrop."""

    name = "none"

    def __init__(self, background: tuple[float, float, float]):
        self.background = background

    def key(self) -> dict:
        return {"name": self.name, "background": self.background}

    def stylize(self, frames: FrameSet) -> np.ndarray:
        a = frames.alpha[..., None]
        out = frames.beauty * a + np.asarray(self.background, np.float32) * (1 - a)
        return (np.clip(out, 0, 1) * 255 + 0.5).astype(np.uint8)
