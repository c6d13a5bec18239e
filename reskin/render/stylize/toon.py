"""The built-in stylizer: cel shading and ink lines from the render and its passes.

It needs no model, so a fresh machine can stylize the sample series; the diffusion stylizer
plugs into the same interface.

Coherent by construction (issue 19): every decision is made from stable quantities and kept
for a surface point while the motion pass follows it.

- Tone comes from the render denoised in space (within each cast member only) and in time
  (averaged along the motion pass), so the few-sample render noise, which stays put on screen
  while the surfaces move, does not reach the band thresholds.
- Band and ink decisions are carried from frame to frame through the motion pass
  (:mod:`reskin.render.stylize.temporal`) with hysteresis: a pixel keeps its band until the
  tone moves clearly past the threshold, so an edge does not flicker between two levels and
  still follows a real lighting change. Only disoccluded pixels are decided afresh.
- Lines are drawn so they can move by fractions of a pixel: silhouettes as an antialiased
  line on the alpha's 0.5 contour, at a width that scales with the frame (``line_width`` px
  at 640 px), so a shrunk shot is the same drawing, not thicker lines on a smaller figure.
  Inner lines mark only jumps of depth or normal that stand out from the neighbouring ones
  (a small limb's steady curvature is not a crease at any resolution) and are drawn lighter.
- Grain is printed in texture space (the UV pass, :mod:`reskin.render.stylize.grain`).

Without a motion pass (Workbench renders) each frame is stylized on its own.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from reskin.core.lazy import lazy_module
from reskin.render.stylize.base import FrameSet
from reskin.render.stylize.temporal import (
    carry_linear,
    carry_nearest,
    correspondences,
    hysteresis,
    masked_blur,
)
from reskin.render.stylize.warp import instance_of

ndimage = lazy_module("scipy.ndimage")

TOON_VERSION = "5"  # 5: antialiased ink at a resolution-aware width
INNER_LINE_WEIGHT = 0.5
"""Width of inner lines (creases, depth steps, cast borders) relative to silhouette lines: the
usual cel line-weight hierarchy. Inner lines are decided per pixel and so step by whole
pixels as they move; lighter, they flicker less."""
_LUMA = np.array([0.299, 0.587, 0.114], np.float32)


@dataclass(frozen=True)
class ToonStylizer:
    background: tuple[float, float, float] = (0.93, 0.89, 0.82)
    levels: int = 4
    ink: float = 1.0
    grain: float = 0.0
    """Strength of the texture-space paper grain, 0..1 (0: none)."""
    coherence: str = "exact"
    """'exact': carry tone, bands and ink along the motion pass; 'none': every frame alone."""
    hysteresis: float = 0.2
    """How far (in bands) the tone must pass a threshold before a kept band changes."""
    memory: float = 0.6
    """Weight of the carried tone in the temporal average (0: none, towards 1: long)."""
    line_width: float = 1.5
    """Ink line width in pixels at 640 px on the frame's long side (scaled with the frame)."""
    name: str = "toon"

    def key(self) -> dict:
        return {"name": self.name, "version": TOON_VERSION, "background": self.background,
                "levels": self.levels, "ink": self.ink, "grain": self.grain,
                "coherence": self.coherence, "hysteresis": self.hysteresis,
                "memory": self.memory, "line_width": self.line_width}

    def stylize(self, frames: FrameSet) -> np.ndarray:
        """(f, h, w, 3) uint8 styled frames of ``frames``."""
        inst = instance_of(frames)
        matches = correspondences(frames) if self.coherence == "exact" else None
        n, h, w = inst.shape
        sigma = max(0.8, max(h, w) / 320)
        out = np.empty(frames.beauty.shape, np.uint8)
        tone = bands = decided = None
        for t in range(n):
            match = None if matches is None or t == 0 else matches[t - 1]
            # Colour keeps the texture's detail (light blur); the tone that picks the band is
            # smoothed more: band thresholds are where noise would show as speckle.
            colour = masked_blur(frames.beauty[t], inst[t], 0.8)
            lum = masked_blur(colour @ _LUMA, inst[t], sigma)
            now = np.concatenate([colour, lum[..., None]], -1)
            if match is not None:
                # Denoise in time along the surface: the render's noise is fixed on screen.
                prev, ok = carry_linear(tone, match, inst[t - 1], inst[t])
                m = (self.memory * ok)[..., None]
                now = m * prev + (1 - m) * now
            tone = now
            rgb, lum = now[..., :3], now[..., 3]
            level = np.clip(lum, 0, 0.999) * self.levels
            carried = ok_b = None
            if match is not None:
                carried, ok_b = carry_nearest(bands, match, inst[t - 1], inst[t])
            bands = hysteresis(level, carried, ok_b, self.hysteresis)
            ink, decided = self._ink(frames, inst, t, decided, match)
            out[t] = self._compose(frames, inst[t], t, rgb, lum, bands, ink)
        return out

    def _ink(self, frames: FrameSet, inst: np.ndarray, t: int, prev: np.ndarray | None,
             match) -> tuple[np.ndarray, np.ndarray]:  # noqa: ANN001
        """((h, w) float32 line strength 0..1, (h, w) bool line decisions) of frame t;
        ``prev`` is frame t - 1's decisions.

        Silhouettes: an antialiased line on the coverage's 0.5 contour, ``line_px`` wide, so it
        slides with the silhouette by fractions of a pixel instead of snapping to the grid.
        Depth steps and creases (cast borders are depth steps too): on/off decisions with
        hysteresis (kept lines need only the lower threshold), drawn softened and thinner
        (:data:`INNER_LINE_WEIGHT`)."""
        a = frames.alpha[t]
        width = self.line_px(a.shape)
        lines = _contour_line(a, width)
        strong = weak = None
        if frames.depth is not None or frames.normal is not None:
            step, crease = _geometry_measures(frames, t, inst[t])
            strong = (step > 0.04) | (crease > np.radians(50))
            weak = (step > 0.025) | (crease > np.radians(38))
        elif frames.instance is None:
            # Only beauty: strong tone edges inside the cast stand in for creases.
            lum = masked_blur(frames.beauty[t], inst[t], 1.0) @ _LUMA
            grad = np.hypot(ndimage.sobel(lum, 0), ndimage.sobel(lum, 1)) * (a > 0.5)
            strong, weak = grad > 0.5, grad > 0.35
        on = _borders(inst[t])
        if strong is not None:
            on = on | strong
            if match is not None and prev is not None:
                was, ok = carry_nearest(prev, match, inst[t - 1], inst[t])
                on = on | (was & ok & weak)
        inner = _soft_line(on, INNER_LINE_WEIGHT * width)
        return np.maximum(lines, inner).astype(np.float32), on

    def line_px(self, shape: tuple[int, ...]) -> float:
        """Ink line width in pixels for a frame of ``shape`` (h, w, ...): ``line_width`` at
        640 px on the long side, scaled with the frame, so a shot reads the same at any size."""
        return self.line_width * max(shape[:2]) / 640.0

    def _compose(self, frames: FrameSet, inst: np.ndarray, t: int, rgb: np.ndarray,
                 lum: np.ndarray, bands: np.ndarray, ink: np.ndarray) -> np.ndarray:
        """One frame's colours: the band's tone with the smoothed hue, grain, backdrop, ink."""
        target = np.maximum(bands, 0.5) / self.levels
        # A light antialiasing of the band map (within each cast member): the render's own
        # edges are antialiased, and a stair-stepped band edge crawls as it moves.
        target = masked_blur(target.astype(np.float32), inst, 0.6)
        scale = np.where(lum > 1e-4, target / np.maximum(lum, 1e-4), 1.0)
        cel = np.clip(rgb * scale[..., None], 0, 1)
        if self.grain > 0 and frames.uv is not None:
            from reskin.render.stylize.grain import uv_grain

            g = uv_grain(frames.uv[t], inst)
            cel = np.clip(cel * (1 + 0.18 * self.grain * g[..., None]), 0, 1)
        lines = ink * self.ink
        a = frames.alpha[t][..., None]
        composite = cel * a + np.asarray(self.background, np.float32) * (1 - a)
        composite = composite * (1 - lines[..., None]) + 0.08 * lines[..., None]
        return (np.clip(composite, 0, 1) * 255 + 0.5).astype(np.uint8)


def _contour_line(cover: np.ndarray, width: float) -> np.ndarray:
    """(h, w) float32 coverage of an antialiased line ``width`` px wide along the 0.5 contour
    of ``cover`` (h, w) in 0..1 (the render's antialiased alpha).

    The contour's distance is read at sub-pixel precision from a smoothed coverage, (s - 0.5)
    / |grad s|, so a line moves by fractions of a pixel with its silhouette. Lines thinner than
    a pixel are drawn faint (a tent of area ``width``), not widened to one pixel."""
    sigma = max(0.7, 0.5 * width)
    s = ndimage.gaussian_filter(cover.astype(np.float32), sigma, mode="nearest")
    gy, gx = np.gradient(s)
    g = np.hypot(gx, gy)
    # Far from any contour g is ~0 and s is ~0 or ~1: the distance comes out large, no line.
    d = np.abs(s - 0.5) / np.maximum(g, 1e-4)
    if width >= 1.0:
        line = np.clip(0.5 * width + 0.5 - d, 0.0, 1.0)
    else:
        line = width * np.clip(1.0 - d, 0.0, 1.0)
    return line.astype(np.float32)


def _soft_line(on: np.ndarray, width: float) -> np.ndarray:
    """(h, w) float32 line strength from per-pixel line decisions ``on`` (h, w) bool: the
    decisions are pixel-aligned, so they are softened (less contrast to jump by a whole pixel
    when the line slides) and drawn at ``width`` px's coverage."""
    soft = ndimage.gaussian_filter(on.astype(np.float32), max(0.6, 0.5 * width), mode="nearest")
    peak = ndimage.gaussian_filter(np.pad(np.ones((1, 1), np.float32), 4),
                                   max(0.6, 0.5 * width))[4, 4]
    # A one-pixel line has strength ``width`` (up to 1) at its centre after softening.
    return np.clip(soft / peak * min(width, 1.0), 0.0, 1.0).astype(np.float32)


def _borders(inst: np.ndarray) -> np.ndarray:
    """(h, w) bool: cast pixels next to a different cast member (one in front of another)."""
    e = np.zeros(inst.shape, bool)
    diff_x = (inst[:, 1:] != inst[:, :-1]) & (inst[:, 1:] > 0) & (inst[:, :-1] > 0)
    diff_y = (inst[1:] != inst[:-1]) & (inst[1:] > 0) & (inst[:-1] > 0)
    e[:, :-1] |= diff_x
    e[:-1] |= diff_y
    return e


def _excess(jump: np.ndarray, axis: int) -> np.ndarray:
    """How far each neighbour-to-neighbour ``jump`` (>= 0, one shorter than the image along
    ``axis``) stands out from the jumps on either side: jump - 2 x the smaller of them.

    A smooth slanted or curved surface changes by similar amounts from pixel to pixel (and by
    more per pixel the smaller it is on screen); a fold or an occluding edge is one jump much
    bigger than its neighbours. Measuring the excess keeps lines on real edges at every
    resolution instead of on every small, strongly curved limb."""
    j = np.moveaxis(jump, axis, 0)
    pad = np.concatenate([j[:1], j, j[-1:]], 0)
    out = j - 2.0 * np.minimum(pad[:-2], pad[2:])
    return np.moveaxis(out, 0, axis)


def _geometry_measures(frames: FrameSet, t: int, inst: np.ndarray
                       ) -> tuple[np.ndarray, np.ndarray]:
    """(relative depth step, normal turn in radians) to the right/lower neighbour, both (h, w),
    as excess over the neighbouring steps (:func:`_excess`); zero where the pass is missing
    and between pixels that are not both cast (silhouettes get their own antialiased line)."""
    h, w = inst.shape
    step = np.zeros((h, w), np.float32)
    crease = np.zeros((h, w), np.float32)
    cast = inst > 0
    both_x = cast[:, 1:] & cast[:, :-1]
    both_y = cast[1:] & cast[:-1]
    if frames.depth is not None:
        d = np.where(np.isfinite(frames.depth[t]), frames.depth[t], 1e6).astype(np.float64)
        right = _excess(np.abs(d[:, 1:] - d[:, :-1]), 1) / np.minimum(d[:, 1:], d[:, :-1])
        down = _excess(np.abs(d[1:] - d[:-1]), 0) / np.minimum(d[1:], d[:-1])
        step[:, :-1] = right * both_x
        step[:-1] = np.maximum(step[:-1], down * both_y)
    if frames.normal is not None:
        n = frames.normal[t].astype(np.float64)
        turn_x = np.arccos(np.clip(np.sum(n[:, 1:] * n[:, :-1], -1), -1, 1))
        turn_y = np.arccos(np.clip(np.sum(n[1:] * n[:-1], -1), -1, 1))
        crease[:, :-1] = _excess(turn_x, 1) * both_x
        crease[:-1] = np.maximum(crease[:-1], _excess(turn_y, 0) * both_y)
    return step, crease


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
