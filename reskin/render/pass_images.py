"""The renderer's passes as pictures a person can look at (the review site's shot pages).

Each function takes one frame's pass in reskin's conventions (:mod:`reskin.render.passes`)
and returns an (h, w, 3) uint8 image:

- depth: near is bright, far is dark, the background (``inf``) black;
- normal: camera-space unit normals as colours, ``(n + 1) / 2`` (right = red, up = green,
  towards the camera = blue), the background black;
- motion: the forward motion as a colour wheel (hue: direction, brightness: speed relative to
  the frame's fastest pixel), standing still black.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

PASS_NAMES = ("depth", "normal", "motion")
"""The passes drawn, in the order a shot page shows them."""


def depth_image(depth: np.ndarray) -> np.ndarray:
    """depth : (h, w) float distance along the camera axis (``inf`` = background)."""
    finite = np.isfinite(depth)
    out = np.zeros(depth.shape, np.float64)
    if finite.any():
        near, far = depth[finite].min(), depth[finite].max()
        span = max(far - near, 1e-6)
        # 1 at the nearest surface, 0.15 at the farthest: the far one stays apart from the void
        out[finite] = 1.0 - 0.85 * (depth[finite] - near) / span
    return _rgb(np.repeat(out[..., None], 3, axis=-1))


def normal_image(normal: np.ndarray) -> np.ndarray:
    """normal : (h, w, 3) camera-space unit normals (zero where nothing was hit)."""
    hit = np.linalg.norm(normal, axis=-1) > 0.5
    return _rgb(np.where(hit[..., None], (normal + 1.0) / 2.0, 0.0))


def motion_image(motion: np.ndarray) -> np.ndarray:
    """motion : (h, w, 2) forward motion in pixels (x right, y down)."""
    speed = np.linalg.norm(motion, axis=-1)
    top = speed.max()
    value = speed / top if top > 1e-6 else np.zeros_like(speed)
    hue = (np.arctan2(motion[..., 1], motion[..., 0]) / (2 * np.pi)) % 1.0
    return _rgb(_hsv_to_rgb(hue, np.ones_like(hue), value))


def _hsv_to_rgb(h: np.ndarray, s: np.ndarray, v: np.ndarray) -> np.ndarray:
    """(h, w) hue, saturation, value in 0..1 each -> (h, w, 3) RGB in 0..1."""
    i = np.floor(h * 6).astype(int) % 6
    f = h * 6 - np.floor(h * 6)
    p, q, t = v * (1 - s), v * (1 - f * s), v * (1 - (1 - f) * s)
    table = [(v, t, p), (q, v, p), (p, v, t), (p, q, v), (t, p, v), (v, p, q)]
    out = np.zeros((*h.shape, 3))
    for k, channels in enumerate(table):
        where = i == k
        for c in range(3):
            out[..., c][where] = channels[c][where]
    return out


def _rgb(x: np.ndarray) -> np.ndarray:
    return (np.clip(x, 0.0, 1.0) * 255 + 0.5).astype(np.uint8)


DRAW = {"depth": depth_image, "normal": normal_image, "motion": motion_image}


def write_pass_images(exr: Path, camera: dict, out: dict[str, Path], *,
                      last: bool = False) -> None:
    """Read one frame's passes from ``exr`` and write the images asked for in ``out``
    (pass name -> PNG path), each through a temporary name. ``camera``: the frame's camera
    (``location``, ``target``), which the normals are turned into; ``last``: the shot's last
    frame, whose motion points past the shot and is drawn still (as read_shot_passes does)."""
    from PIL import Image

    from reskin.core.atomic import atomic_path
    from reskin.render.passes import read_passes

    passes = read_passes(exr, camera)
    if last:
        passes["motion"][:] = 0.0
    for name, path in out.items():
        with atomic_path(path) as tmp:
            Image.fromarray(DRAW[name](passes[name])).save(tmp, format="PNG")
