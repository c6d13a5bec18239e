"""Carrying per-pixel state (smoothed colour, band and ink decisions) from frame to frame.

A stylizer that decides each frame afresh flickers wherever its decision is marginal (a band
threshold, a crease angle) and wherever the render's noise stays put on screen while the
surface moves. The helpers here follow the renderer's motion pass (:func:`correspondences`,
checked for occlusion by :func:`reskin.render.stylize.warp.backward_map`) so that a stylizer
keeps what it decided for a surface point and re-decides only where the point is new
(disoccluded) or the evidence has moved clearly past its threshold (hysteresis).

All images are (h, w, ...) arrays, rows top to bottom; ``src`` (h, w, 2) holds, for each pixel
of frame t + 1, its (x, y) position in frame t.
"""

from __future__ import annotations

import numpy as np

from reskin.core.lazy import lazy_module
from reskin.render.stylize.base import FrameSet
from reskin.render.stylize.warp import backward_map, sample

ndimage = lazy_module("scipy.ndimage")

Correspondence = tuple[np.ndarray, np.ndarray]
"""(src (h, w, 2) float32, valid (h, w) bool) for one frame pair."""


def correspondences(frames: FrameSet) -> list[Correspondence] | None:
    """One occlusion-checked backward map per frame pair (len(frames) - 1 of them); None when
    the shot has no motion pass (then nothing can be carried)."""
    if frames.motion is None or len(frames) < 2:
        return None
    return [backward_map(frames, t) for t in range(len(frames) - 1)]


def carry_linear(
    prev: np.ndarray, match: Correspondence, inst_prev: np.ndarray, inst_now: np.ndarray
) -> tuple[np.ndarray, np.ndarray]:
    """Frame t's continuous image ``prev`` (h, w, c) or (h, w) moved onto frame t + 1.

    Bilinear, only from taps of the same cast member. Returns (values, ok (h, w) bool)."""
    src, valid = match
    vals, ok = sample(prev, src, inst_prev, inst_now)
    return vals, ok & valid


def carry_nearest(
    prev: np.ndarray, match: Correspondence, inst_prev: np.ndarray, inst_now: np.ndarray
) -> tuple[np.ndarray, np.ndarray]:
    """Frame t's label image ``prev`` (h, w) (band index, ink on/off) moved onto frame t + 1
    by its nearest source pixel; a decision is not something to interpolate.
    Returns (values (h, w), ok (h, w) bool)."""
    src, valid = match
    h, w = prev.shape[:2]
    sx = np.clip(np.rint(np.nan_to_num(src[..., 0])), 0, w - 1).astype(np.int64)
    sy = np.clip(np.rint(np.nan_to_num(src[..., 1])), 0, h - 1).astype(np.int64)
    return prev[sy, sx], valid & (inst_prev[sy, sx] == inst_now)


def masked_blur(img: np.ndarray, labels: np.ndarray, sigma: float) -> np.ndarray:
    """Gaussian blur of ``img`` (h, w) or (h, w, c) that never mixes pixels of different
    ``labels`` (h, w) (cast members, background): a normalised convolution per label."""
    if sigma <= 0:
        return img.astype(np.float32, copy=True)
    flat = img if img.ndim == 3 else img[..., None]
    out = np.zeros(flat.shape, np.float32)
    for k in np.unique(labels):
        m = (labels == k).astype(np.float32)
        wsum = ndimage.gaussian_filter(m, sigma, mode="nearest")
        for c in range(flat.shape[-1]):
            s = ndimage.gaussian_filter(flat[..., c] * m, sigma, mode="nearest")
            out[..., c] += np.where(m > 0, s / np.maximum(wsum, 1e-6), 0.0)
    return out if img.ndim == 3 else out[..., 0]


def hysteresis(value: np.ndarray, carried: np.ndarray | None, ok: np.ndarray | None,
               margin: float) -> np.ndarray:
    """Integer decisions (h, w) from a continuous ``value`` (h, w) in decision units.

    Fresh pixels take round(value); a pixel with a ``carried`` decision (where ``ok``) keeps it
    until the value is more than ``0.5 + margin`` away, so a value hovering at a threshold
    does not flip the decision back and forth."""
    fresh = np.floor(value + 0.5)
    if carried is None or ok is None:
        return fresh
    keep = ok & (np.abs(value - carried) < 0.5 + margin)
    return np.where(keep, carried, fresh)

