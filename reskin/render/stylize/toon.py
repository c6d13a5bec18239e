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
- Grain is printed in texture space (the UV pass, :mod:`reskin.render.stylize.grain`).

Without a motion pass (Workbench renders) each frame is stylized on its own.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from scipy import ndimage

from reskin.render.stylize.base import FrameSet
from reskin.render.stylize.temporal import (
    carry_linear,
    carry_nearest,
    correspondences,
    hysteresis,
    masked_blur,
)
from reskin.render.stylize.warp import instance_of

TOON_VERSION = "4"  # 4: carried bands/ink with hysteresis, denoised tone, UV grain
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
    name: str = "toon"

    def key(self) -> dict:
        return {"name": self.name, "version": TOON_VERSION, "background": self.background,
                "levels": self.levels, "ink": self.ink, "grain": self.grain,
                "coherence": self.coherence, "hysteresis": self.hysteresis,
                "memory": self.memory}

    def stylize(self, frames: FrameSet) -> np.ndarray:
        """(f, h, w, 3) uint8 styled frames of ``frames``."""
        inst = instance_of(frames)
        matches = correspondences(frames) if self.coherence == "exact" else None
        n, h, w = inst.shape
        sigma = max(0.8, max(h, w) / 320)
        out = np.empty(frames.beauty.shape, np.uint8)
        tone = bands = ink = None
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
            ink = self._ink(frames, inst, t, ink, match)
            out[t] = self._compose(frames, inst[t], t, rgb, lum, bands, ink)
        return out

    def _ink(self, frames: FrameSet, inst: np.ndarray, t: int, prev: np.ndarray | None,
             match) -> np.ndarray:  # noqa: ANN001
        """(h, w) float32 line strength 0..1 of frame t: silhouettes and cast borders always,
        depth steps and creases with hysteresis (kept lines need only the lower threshold)."""
        a = frames.alpha[t]
        hard = np.hypot(ndimage.sobel(a, 0), ndimage.sobel(a, 1)) * 0.6
        geo = _borders(inst[t])
        strong = weak = None
        if frames.depth is not None or frames.normal is not None:
            step, crease = _geometry_measures(frames, t, inst[t])
            strong = (step > 0.04) | (crease > 1 - np.cos(np.radians(50)))
            weak = (step > 0.025) | (crease > 1 - np.cos(np.radians(38)))
        elif frames.instance is None:
            # Only beauty: strong tone edges inside the cast stand in for creases.
            lum = masked_blur(frames.beauty[t], inst[t], 1.0) @ _LUMA
            grad = np.hypot(ndimage.sobel(lum, 0), ndimage.sobel(lum, 1)) * (a > 0.5)
            strong, weak = grad > 0.5, grad > 0.35
        lines = geo.astype(np.float32)
        if strong is not None:
            on = strong
            if match is not None and prev is not None:
                was, ok = carry_nearest(prev > 0.5, match, inst[t - 1], inst[t])
                on = strong | (was & ok & weak)
            lines = np.maximum(lines, on.astype(np.float32))
        return np.clip(hard + lines * 0.85, 0, 1).astype(np.float32)

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
        h = max(rgb.shape[:2])
        lines = ndimage.grey_dilation(ink, size=(2, 2)) if h >= 400 else ink
        lines = lines * self.ink
        a = frames.alpha[t][..., None]
        composite = cel * a + np.asarray(self.background, np.float32) * (1 - a)
        composite = composite * (1 - lines[..., None]) + 0.08 * lines[..., None]
        return (np.clip(composite, 0, 1) * 255 + 0.5).astype(np.uint8)


def _borders(inst: np.ndarray) -> np.ndarray:
    """(h, w) bool: cast pixels next to a different cast member (one in front of another)."""
    e = np.zeros(inst.shape, bool)
    diff_x = (inst[:, 1:] != inst[:, :-1]) & (inst[:, 1:] > 0) & (inst[:, :-1] > 0)
    diff_y = (inst[1:] != inst[:-1]) & (inst[1:] > 0) & (inst[:-1] > 0)
    e[:, :-1] |= diff_x
    e[:-1] |= diff_y
    return e


def _geometry_measures(frames: FrameSet, t: int, inst: np.ndarray
                       ) -> tuple[np.ndarray, np.ndarray]:
    """(relative depth step to the right/lower neighbour, 1 - cos of the normal turn), both
    (h, w), zero where the pass is missing or off the cast."""
    h, w = inst.shape
    step = np.zeros((h, w), np.float32)
    crease = np.zeros((h, w), np.float32)
    cast = inst > 0
    if frames.depth is not None:
        d = np.where(np.isfinite(frames.depth[t]), frames.depth[t], 1e6).astype(np.float64)
        right = np.abs(d[:, 1:] - d[:, :-1]) / np.minimum(d[:, 1:], d[:, :-1])
        down = np.abs(d[1:] - d[:-1]) / np.minimum(d[1:], d[:-1])
        step[:, :-1] = right
        step[:-1] = np.maximum(step[:-1], down)
        step *= cast
    if frames.normal is not None:
        n = frames.normal[t]
        dots = np.ones((h, w), np.float32)
        dots[:, :-1] = np.sum(n[:, 1:] * n[:, :-1], -1)
        dots[:-1] = np.minimum(dots[:-1], np.sum(n[1:] * n[:-1], -1))
        crease = (1 - dots) * cast
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
