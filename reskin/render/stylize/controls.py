"""ControlNet conditioning images made from the renderer's exact passes (no estimators).

Each function returns (f, h, w, 3) float32 in 0..1, the range diffusers ControlNets take:

- ``depth``:   inverse depth, near bright, background black (the MiDaS look depth ControlNets
               were trained on); normalised over the *whole shot*, not per frame, so the
               conditioning does not flicker when a character walks closer.
- ``normal``:  camera-space normals as colour, r = +x (right), g = +y (up), b = +z (towards
               the camera), ``n * 0.5 + 0.5``; background (0.5, 0.5, 1) faces the camera.
- ``lineart``: white lines on black (the lineart ControlNet input) at silhouettes, instance
               borders, depth steps (creases where one part passes in front of another) and
               normal breaks (hard edges of a surface).

When a pass is missing the control falls back to what is there (coverage for depth and lines,
a flat camera-facing normal), so a shot rendered with beauty and alpha only still stylizes.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np

from reskin.core.lazy import lazy_module
from reskin.render.stylize.base import FrameSet
from reskin.render.stylize.warp import instance_of

ndimage = lazy_module("scipy.ndimage")

CONTROL_KINDS = ("depth", "normal", "lineart")


def depth_control(frames: FrameSet) -> np.ndarray:
    """(f, h, w, 3): inverse depth mapped to 0.1..1 over the shot's cast, 0 on background."""
    if frames.depth is None:
        return np.repeat(frames.alpha[..., None], 3, -1).astype(np.float32)
    d = frames.depth.astype(np.float64)
    fg = np.isfinite(d) & (d > 0)
    if not fg.any():
        return np.zeros(frames.beauty.shape, np.float32)
    inv = np.where(fg, 1.0 / np.where(fg, d, 1.0), 0.0)
    lo, hi = inv[fg].min(), inv[fg].max()
    span = max(hi - lo, 1e-6 * hi)
    # Keep the farthest cast surface clearly above the black background.
    out = np.where(fg, 0.1 + 0.9 * (inv - lo) / span, 0.0)
    return np.repeat(out[..., None], 3, -1).astype(np.float32)


def normal_control(frames: FrameSet) -> np.ndarray:
    """(f, h, w, 3): normals as colour; camera-facing where there is no surface or no pass."""
    out = np.empty(frames.beauty.shape, np.float32)
    out[...] = (0.5, 0.5, 1.0)
    if frames.normal is None:
        return out
    n = frames.normal.astype(np.float32)
    has = np.linalg.norm(n, axis=-1) > 0.5
    out[has] = np.clip(n[has] * 0.5 + 0.5, 0, 1)
    return out


def _edges(a: np.ndarray) -> np.ndarray:
    """(h, w) bool: pixels whose right or lower neighbour differs in ``a`` (h, w) labels."""
    e = np.zeros(a.shape, bool)
    e[:, :-1] |= a[:, 1:] != a[:, :-1]
    e[:-1, :] |= a[1:, :] != a[:-1, :]
    return e


def lineart_control(
    frames: FrameSet, *, depth_step: float = 0.04, crease_deg: float = 50.0
) -> np.ndarray:
    """(f, h, w, 3): lines where instance changes, depth jumps by more than ``depth_step``
    (relative) between neighbours, or the normal turns more than ``crease_deg`` degrees."""
    inst = instance_of(frames)
    f, h, w = inst.shape
    lines = np.zeros((f, h, w), bool)
    cos_crease = np.cos(np.radians(crease_deg))
    for t in range(f):
        e = _edges(inst[t])
        if frames.depth is not None:
            d = np.where(np.isfinite(frames.depth[t]), frames.depth[t], 1e6).astype(np.float64)
            rel = np.zeros((h, w))
            rel[:, :-1] = np.abs(d[:, 1:] - d[:, :-1]) / np.minimum(d[:, 1:], d[:, :-1])
            down = np.abs(d[1:] - d[:-1]) / np.minimum(d[1:], d[:-1])
            rel[:-1, :] = np.maximum(rel[:-1, :], down)
            e |= rel > depth_step
        if frames.normal is not None:
            n = frames.normal[t]
            dots = np.ones((h, w), np.float32)
            dots[:, :-1] = np.sum(n[:, 1:] * n[:, :-1], -1)
            dots[:-1, :] = np.minimum(dots[:-1, :], np.sum(n[1:] * n[:-1], -1))
            e |= (dots < cos_crease) & (inst[t] > 0)
        if frames.depth is None and frames.normal is None and frames.instance is None:
            # Only beauty: strong colour edges inside the cast stand in for creases.
            lum = frames.beauty[t] @ np.array([0.299, 0.587, 0.114], np.float32)
            grad = np.hypot(ndimage.sobel(lum, 0), ndimage.sobel(lum, 1))
            e |= (grad > 0.6) & (inst[t] > 0)
        lines[t] = e
    if max(h, w) >= 384:
        # Keep lines about 1/400 of the image thick, as the ControlNet saw them in training.
        lines = ndimage.binary_dilation(lines, np.ones((1, 2, 2), bool))
    return np.repeat(lines[..., None], 3, -1).astype(np.float32)


BUILDERS: dict[str, Callable[[FrameSet], np.ndarray]] = {
    "depth": depth_control,
    "normal": normal_control,
    "lineart": lineart_control,
}


def control_images(frames: FrameSet, kinds: tuple[str, ...]) -> dict[str, np.ndarray]:
    """{kind: (f, h, w, 3) float32} for each requested kind (see the module docstring)."""
    return {k: BUILDERS[k](frames) for k in dict.fromkeys(kinds)}
