"""Moving stylized pixels from frame t to frame t + 1 with the renderer's exact motion.

The render gives *forward* motion (where the surface at a pixel of frame t lands in frame
t + 1, see :mod:`reskin.render.stylize.base`). To fill frame t + 1 we need the opposite: for
each pixel of t + 1, where was its surface in frame t. :func:`backward_map` inverts the forward
field by z-buffered splatting (the nearest surface wins a target pixel, as in the render),
fills the one-pixel gaps a stretching surface leaves, and then *checks* every match with the
exact passes:

- the motion at the source must bring it back to the target (forward-backward consistency),
- the source must show the same cast member (instance test: no colour crosses a silhouette),
- the source depth must agree with the target depth (depth test: occluded surfaces fail).

Pixels that fail are disoccluded or changed; only those need repainting.
All images are (h, w, ...) arrays, rows top to bottom; coordinates are (x, y) in pixels.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from reskin.core.lazy import lazy_module
from reskin.render.stylize.base import FrameSet

ndimage = lazy_module("scipy.ndimage")


@dataclass(frozen=True)
class WarpTolerances:
    """How strict the match checks are."""

    motion_px: float = 0.75
    """Max distance (px) between the target and where the source's own motion lands."""
    depth_rel: float = 0.08
    """Max relative depth difference; 2D motion does not carry depth change, so be lenient."""
    depth_abs: float = 0.02
    """Plus this many metres, so nearly-flat-on surfaces do not fail on rounding."""


def instance_of(frames: FrameSet) -> np.ndarray:
    """(f, h, w) int16 instance ids; from coverage (0/1) when the pass is missing."""
    if frames.instance is not None:
        return frames.instance.astype(np.int16, copy=False)
    return (frames.alpha > 0.5).astype(np.int16)


def sample(
    img: np.ndarray,
    xy: np.ndarray,
    src_inst: np.ndarray | None = None,
    want_inst: np.ndarray | None = None,
) -> tuple[np.ndarray, np.ndarray]:
    """Bilinear lookup of ``img`` (h, w, c) or (h, w) at ``xy`` (H, W, 2).

    With ``src_inst`` (h, w) and ``want_inst`` (H, W), only taps showing the wanted instance
    contribute (weights renormalised), so a character's colour never bleeds across its
    silhouette. Returns the values (H, W, c) / (H, W) and ``ok`` (H, W) bool: inside the image
    and at least one tap matched.
    """
    h, w = img.shape[:2]
    x = xy[..., 0]
    y = xy[..., 1]
    inside = (x > -0.5) & (x < w - 0.5) & (y > -0.5) & (y < h - 0.5) & np.isfinite(x + y)
    x = np.clip(np.nan_to_num(x), 0, w - 1)
    y = np.clip(np.nan_to_num(y), 0, h - 1)
    x0 = np.minimum(np.floor(x).astype(np.int64), w - 2 if w > 1 else 0)
    y0 = np.minimum(np.floor(y).astype(np.int64), h - 2 if h > 1 else 0)
    x1 = np.minimum(x0 + 1, w - 1)
    y1 = np.minimum(y0 + 1, h - 1)
    fx = (x - x0).astype(np.float32)
    fy = (y - y0).astype(np.float32)
    taps = ((y0, x0, (1 - fx) * (1 - fy)), (y0, x1, fx * (1 - fy)),
            (y1, x0, (1 - fx) * fy), (y1, x1, fx * fy))
    flat = img if img.ndim == 3 else img[..., None]
    acc = np.zeros(xy.shape[:2] + flat.shape[2:], np.float32)
    wsum = np.zeros(xy.shape[:2], np.float32)
    for ty, tx, wt in taps:
        if src_inst is not None and want_inst is not None:
            wt = wt * (src_inst[ty, tx] == want_inst)
        acc += flat[ty, tx].astype(np.float32) * wt[..., None]
        wsum += wt
    ok = inside & (wsum > 1e-6)
    out = np.where(ok[..., None], acc / np.maximum(wsum, 1e-6)[..., None], 0.0)
    out = out.astype(np.float32)
    return (out if img.ndim == 3 else out[..., 0]), ok


def _splat(motion: np.ndarray, depth: np.ndarray | None) -> tuple[np.ndarray, np.ndarray]:
    """Invert forward ``motion`` (h, w, 2) by nearest-pixel splatting, z-buffered by ``depth``.

    Returns ``back`` (h, w, 2): for each target pixel q, its source position in the previous
    frame minus q (a backward displacement), and ``hit`` (h, w) bool: some source landed.
    """
    h, w = motion.shape[:2]
    ys, xs = np.mgrid[:h, :w].astype(np.float32)
    tx = xs + motion[..., 0]
    ty = ys + motion[..., 1]
    qx = np.rint(np.nan_to_num(tx, nan=-1e9)).astype(np.int64)
    qy = np.rint(np.nan_to_num(ty, nan=-1e9)).astype(np.int64)
    ok = (qx >= 0) & (qx < w) & (qy >= 0) & (qy < h)
    target = (qy * w + qx)[ok]
    d = np.zeros(h * w, np.float64) if depth is None else depth.astype(np.float64).ravel()
    d = np.where(np.isfinite(d), d, np.finfo(np.float64).max)[ok.ravel()]
    # Sort by target, then by depth: the first entry per target is the nearest surface.
    order = np.lexsort((d, target))
    t_sorted = target[order]
    first = np.ones(len(order), bool)
    first[1:] = t_sorted[1:] != t_sorted[:-1]
    winners = order[first]
    src_idx = np.flatnonzero(ok.ravel())[winners]
    back = np.zeros((h * w, 2), np.float32)
    hit = np.zeros(h * w, bool)
    q = t_sorted[first]
    # The source of integer target q is p + (q - (p + m)) = q - m(p), assuming m is locally flat.
    back[q] = -motion.reshape(-1, 2)[src_idx]
    hit[q] = True
    return back.reshape(h, w, 2), hit.reshape(h, w)


def _fill_gaps(back: np.ndarray, hit: np.ndarray, rounds: int = 2) -> np.ndarray:
    """Give unhit pixels the mean displacement of hit neighbours (stretching leaves gaps).

    Whether a filled pixel really came from there is decided by the checks, not here.
    """
    back = back.copy()
    have = hit.astype(np.float32)
    kernel = np.ones((3, 3), np.float32)
    for _ in range(rounds):
        if have.all():
            break
        count = ndimage.convolve(have, kernel, mode="constant")
        for c in range(2):
            s = ndimage.convolve(back[..., c] * have, kernel, mode="constant")
            back[..., c] = np.where(have > 0, back[..., c], s / np.maximum(count, 1))
        have = np.maximum(have, (count > 0).astype(np.float32))
    return back


def backward_map(
    frames: FrameSet,
    t: int,
    *,
    motion: np.ndarray | None = None,
    tol: WarpTolerances = WarpTolerances(),
) -> tuple[np.ndarray, np.ndarray]:
    """Where each pixel of frame ``t + 1`` was in frame ``t``, and whether that is trusted.

    ``motion`` (h, w, 2) overrides ``frames.motion[t]`` (e.g. an estimated flow, for baselines).
    Returns ``src_xy`` (h, w, 2) float32 positions in frame t and ``valid`` (h, w) bool.
    """
    m = frames.motion[t] if motion is None else motion
    if m is None:
        raise ValueError("no motion for this frame")
    h, w = m.shape[:2]
    depth = frames.depth
    inst = instance_of(frames)
    back, hit = _splat(m, None if depth is None else depth[t])
    back = _fill_gaps(back, hit)
    ys, xs = np.mgrid[:h, :w].astype(np.float32)
    src = np.stack([xs + back[..., 0], ys + back[..., 1]], -1)
    want = inst[t + 1]
    # Forward-backward: the source's own motion (sampled from its own instance) must land here.
    m_src, ok = sample(m, src, inst[t], want)
    land = src + m_src
    valid = ok & (np.abs(land[..., 0] - xs) <= tol.motion_px) & (
        np.abs(land[..., 1] - ys) <= tol.motion_px)
    # Instance test at the nearest source pixel.
    sx = np.clip(np.rint(src[..., 0]), 0, w - 1).astype(np.int64)
    sy = np.clip(np.rint(src[..., 1]), 0, h - 1).astype(np.int64)
    valid &= inst[t][sy, sx] == want
    if depth is not None:
        d_src, _ = sample(np.where(np.isfinite(depth[t]), depth[t], 0.0), src, inst[t], want)
        d_dst = depth[t + 1]
        both_far = ~np.isfinite(d_dst) & ~np.isfinite(depth[t][sy, sx])
        with np.errstate(invalid="ignore"):
            close = np.abs(d_src - d_dst) <= tol.depth_rel * np.abs(d_dst) + tol.depth_abs
        valid &= both_far | (np.isfinite(d_dst) & close)
    return src.astype(np.float32), valid


def warp_image(
    prev: np.ndarray, src_xy: np.ndarray, valid: np.ndarray, frames: FrameSet, t: int
) -> tuple[np.ndarray, np.ndarray]:
    """Frame t's image ``prev`` (h, w, c) moved onto frame t + 1 by a :func:`backward_map`.

    Returns the warped image (h, w, c) float32 (zero where not valid) and the final valid mask.
    """
    inst = instance_of(frames)
    out, ok = sample(prev, src_xy, inst[t], inst[t + 1])
    ok &= valid
    return np.where(ok[..., None], out, 0.0).astype(np.float32), ok


def feather(valid: np.ndarray, sigma: float | None = None) -> np.ndarray:
    """(h, w) bool -> (h, w) float32 weight in 0..1 that is 0 off ``valid`` and ramps up inside,
    so repainted regions blend into kept ones without a seam."""
    if sigma is None:
        sigma = max(0.75, max(valid.shape) / 256)
    soft = ndimage.gaussian_filter(valid.astype(np.float32), sigma, mode="nearest")
    # Full weight once 3/4 of the neighbourhood is valid: a lone failed pixel barely dents it.
    return np.clip(soft / 0.75, 0.0, 1.0) * valid
