"""Temporal coherence: carry each stylized frame forward and repaint only what is new.

Any per-frame painter becomes coherent through :func:`stylize_sequence`: frame t's output is
followed onto frame t + 1 (by the renderer's exact motion, :func:`exact_backmap`, or by any
other correspondence, e.g. estimated optical flow in the benchmark); pixels that fail the
occlusion checks are handed to the painter as "repaint here", and the result is the kept warp
blended with the fresh paint through a feathered mask. :func:`warp_error` is the coherence
metric of the issue.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np

from reskin.render.stylize.base import FrameSet
from reskin.render.stylize.temporal import masked_blur
from reskin.render.stylize.warp import (
    backward_map,
    feather,
    instance_of,
    sample,
    warp_image,
)

Painter = Callable[[int, np.ndarray | None, np.ndarray | None], np.ndarray]
"""paint(t, known, keep) -> (h, w, 3) float 0..1 for frame t. ``known`` (h, w, 3) is the
previous output warped onto frame t, ``keep`` (h, w) in 0..1 where it is trusted; both None
for a frame painted from scratch."""

BackMap = Callable[[int], tuple[np.ndarray, np.ndarray]]
"""backmap(t) -> (src_xy (h, w, 2), valid (h, w) bool): for each pixel of frame t + 1, its
position in frame t, and whether that correspondence is trusted."""


def exact_backmap(frames: FrameSet) -> BackMap | None:
    """Correspondences from the render's motion pass with depth/instance occlusion tests;
    None when the shot has no motion pass (then frames are stylized independently)."""
    if frames.motion is None:
        return None
    return lambda t: backward_map(frames, t)


def _gather(
    out: np.ndarray, origin: np.ndarray, xy: np.ndarray, ok: np.ndarray,
    labels: np.ndarray | None, want: np.ndarray | None,
) -> tuple[np.ndarray, np.ndarray]:
    """Colours for the ``ok`` pixels from their origin frames: out[origin] at ``xy``.

    out (n, h, w, 3); origin (h, w) int; xy (h, w, 2); labels (n, h, w) or None; want (h, w).
    Returns (h, w, 3) colours and the mask of pixels that got one.
    """
    colour = np.zeros(xy.shape[:2] + (out.shape[-1],), np.float32)
    got = np.zeros(ok.shape, bool)
    for k in np.unique(origin[ok]):
        sel = ok & (origin == k)
        pts = xy[sel][:, None]  # (N, 1, 2)
        if labels is None:
            vals, hit = sample(out[k], pts)
        else:
            vals, hit = sample(out[k], pts, labels[k], want[sel][:, None])
        colour[sel] = vals[:, 0]
        got[sel] = hit[:, 0]
    return colour, got


def stylize_sequence(
    n: int, paint: Painter, backmap: BackMap | None, labels: np.ndarray | None = None,
    refresh: int = 0, reference: np.ndarray | None = None, drift: float = 0.04,
) -> np.ndarray:
    """Paint ``n`` frames; with ``backmap``, each frame keeps what it can of the earlier ones.

    Every kept pixel remembers the frame it was painted in and where, and is fetched from
    there directly: following correspondences costs one resampling, not one per frame, so a
    surface carried for a hundred frames stays as sharp as when it was painted.
    ``labels`` (n, h, w) int (instance ids) keep fetches from crossing silhouettes.
    ``refresh`` > 0: every ``refresh``-th frame kept pixels catch up with lighting changes.
    With ``reference`` (n, h, w, c) float 0..1, what the frames are painted from (the render),
    each kept pixel gets the change of its reference since it was painted
    (:func:`_follow_reference`): the painted look stays, the shading follows, and pixels whose
    render held still do not change at all. Without ``reference`` a refresh takes the
    painter's whole frame.
    Returns (n, h, w, 3) float32 in 0..1.
    """
    first = np.asarray(paint(0, None, None), np.float32)
    h, w = first.shape[:2]
    out = np.empty((n,) + first.shape, np.float32)
    out[0] = first
    ys, xs = np.mgrid[:h, :w].astype(np.float32)
    grid = np.stack([xs, ys], -1)
    origin = np.zeros((h, w), np.int64)  # frame each pixel's colour was painted in
    origin_xy = grid.copy()  # and where, in that frame
    for t in range(1, n):
        if backmap is None:
            out[t] = paint(t, None, None)
            continue
        src, valid = backmap(t - 1)
        sx = np.clip(np.rint(src[..., 0]), 0, w - 1).astype(np.int64)
        sy = np.clip(np.rint(src[..., 1]), 0, h - 1).astype(np.int64)
        # Compose: interpolate origin positions only among taps that share the origin frame
        # (and instance) of the nearest tap; origin maps jump where earlier repaints were.
        tag = origin if labels is None else labels[t - 1].astype(np.int64) * n + origin
        new_xy, ok = sample(origin_xy, src, tag, tag[sy, sx])
        new_origin = origin[sy, sx]
        ok &= valid
        want = None if labels is None else labels[t]
        known, ok = _gather(out, new_origin, new_xy, ok, labels, want)
        renew = bool(refresh) and t % refresh == 0
        moved = None
        if renew and reference is not None:
            known, moved = _follow_reference(known, ok, reference, t, new_origin, new_xy, labels,
                                             drift)
            renew = False
        keep = feather(ok)
        if keep.min() >= 1.0 and not renew:
            fresh = known  # nothing new in view: no need to run the painter
        else:
            fresh = np.asarray(paint(t, known, keep), np.float32)
        if renew:
            keep = np.zeros_like(keep)
        k = keep[..., None]
        out[t] = np.clip(k * known + (1 - k) * fresh, 0.0, 1.0)
        whole = keep >= 1.0
        if moved is not None:
            whole &= ~moved  # updated here: later frames fetch the update, not the original
        origin = np.where(whole, new_origin, t)
        origin_xy = np.where(whole[..., None], new_xy, grid)
    return out


def _follow_reference(
    known: np.ndarray, ok: np.ndarray, reference: np.ndarray, t: int, origin: np.ndarray,
    xy: np.ndarray, labels: np.ndarray | None, drift: float,
) -> tuple[np.ndarray, np.ndarray]:
    """(``known`` (h, w, 3) plus, where ``ok``, the change of ``reference`` (n, h, w, c) between
    the frame and place each pixel was painted (``origin``, ``xy``) and frame ``t``.

    The change is smoothed within each cast member (lighting changes in patches; the render's
    noise, fixed on screen, would otherwise be printed onto the surfaces) and applied only
    where it exceeds ``drift`` (mean over channels), so still surfaces stay exactly as kept;
    the (h, w) bool mask of the pixels it changed)."""
    want = None if labels is None else labels[t]
    was, got = _gather(reference, origin, xy, ok, labels, want)
    tags = np.zeros(ok.shape, np.int64) if want is None else want.astype(np.int64)
    delta = masked_blur(np.where(got[..., None], reference[t] - was, 0.0), tags, 1.0)
    moved = got & (np.abs(delta).mean(-1) > drift)
    out = np.where(moved[..., None], np.clip(known + delta, 0.0, 1.0), known)
    return out.astype(np.float32), moved


def to_uint8(images: np.ndarray) -> np.ndarray:
    """float 0..1 -> uint8 with rounding."""
    return (np.clip(images, 0, 1) * 255 + 0.5).astype(np.uint8)


def warp_error(styled: np.ndarray, frames: FrameSet) -> float:
    """Mean |frame t+1 - frame t warped by the exact motion| over non-occluded cast pixels.

    ``styled`` (f, h, w, 3), uint8 (0..255) or float (0..1); the result is in 0..255 units,
    averaged over every pixel of every frame pair (frames without such pixels add nothing).
    """
    if frames.motion is None:
        raise ValueError("the warp error needs the exact motion pass")
    img = styled.astype(np.float32)
    if styled.dtype != np.uint8:
        img = img * 255.0
    inst = instance_of(frames)
    total, count = 0.0, 0
    for t in range(len(frames) - 1):
        src, valid = backward_map(frames, t)
        warped, ok = warp_image(img[t], src, valid, frames, t)
        m = ok & (inst[t + 1] > 0)
        total += float(np.abs(img[t + 1] - warped)[m].sum()) / 3.0
        count += int(m.sum())
    return total / max(count, 1)
