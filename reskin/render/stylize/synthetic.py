"""A synthetic shot with exact passes, for tests and benchmarks that must not need Blender.

Two textured spheres spin about the view axis while they slide past each other; the nearer,
smaller one occludes and then reveals the larger one, so the shot has occlusions,
disocclusions and instance changes. Every pass is exact by construction (same conventions as
:mod:`reskin.render.stylize.base`), including the forward motion of each surface point.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from reskin.render.stylize.base import FrameSet

PIXEL_M = 0.01
"""Sphere radius in metres per pixel of screen radius (sets the depth relief)."""


@dataclass(frozen=True)
class Ball:
    center: tuple[float, float]
    """Start position as a fraction of (width, height)."""
    velocity: tuple[float, float]
    """Pixels per frame."""
    radius: float
    """Fraction of the image's smaller side."""
    depth: float
    """Metres from the camera to the centre."""
    spin: float
    """Radians per frame about the view axis."""
    tint: tuple[float, float, float]


DEFAULT_BALLS = (
    Ball((0.38, 0.52), (1.1, 0.3), 0.30, 3.0, 0.07, (0.95, 0.55, 0.35)),
    Ball((0.80, 0.40), (-2.2, 0.4), 0.16, 2.0, -0.12, (0.35, 0.6, 0.95)),
)


def _rot(a: float) -> np.ndarray:
    c, s = np.cos(a), np.sin(a)
    return np.array([[c, -s], [s, c]], np.float64)


def _texture(u: np.ndarray, tint: tuple[float, float, float], scale: float) -> np.ndarray:
    """Albedo (h, w, 3) of object coordinates ``u`` (h, w, 2) in pixels: smooth stripes and
    blobs, detailed enough for optical flow to lock on, smooth enough to resample."""
    a = u[..., 0] / scale
    b = u[..., 1] / scale
    pattern = np.stack([
        0.55 + 0.35 * np.sin(a * 1.7 + 0.5 * np.sin(b * 2.3)),
        0.55 + 0.35 * np.sin(b * 1.9 + 1.0),
        0.55 + 0.35 * np.cos((a + b) * 1.3),
    ], -1)
    return np.clip(pattern * np.asarray(tint), 0, 1)


def moving_shot(
    frames: int = 8, size: tuple[int, int] = (64, 64), balls: tuple[Ball, ...] = DEFAULT_BALLS
) -> FrameSet:
    """A :class:`FrameSet` of ``frames`` frames of (h, w) = ``size`` with every pass exact."""
    h, w = size
    side = min(h, w)
    ys, xs = np.mgrid[:h, :w].astype(np.float64)
    light = np.array([-0.4, 0.5, 0.77])
    light /= np.linalg.norm(light)
    beauty = np.zeros((frames, h, w, 3), np.float32)
    alpha = np.zeros((frames, h, w), np.float32)
    depth = np.full((frames, h, w), np.inf, np.float32)
    normal = np.zeros((frames, h, w, 3), np.float32)
    instance = np.zeros((frames, h, w), np.int16)
    motion = np.zeros((frames, h, w, 2), np.float32)
    for t in range(frames):
        for k, ball in enumerate(balls, start=1):
            r = ball.radius * side
            c = np.array([ball.center[0] * w, ball.center[1] * h]) + np.asarray(ball.velocity) * t
            dx, dy = xs - c[0], ys - c[1]
            rho2 = (dx * dx + dy * dy) / (r * r)
            nz = np.sqrt(np.clip(1 - rho2, 0, 1))
            z = ball.depth - r * PIXEL_M * nz
            front = (rho2 < 1) & (z < depth[t])
            if not front.any():
                continue
            # Object coordinates: undo the spin so the texture is glued to the surface.
            u = np.stack([dx, dy], -1) @ _rot(-ball.spin * t).T
            n = np.stack([dx / r, -dy / r, nz], -1)  # camera space, +y up
            shade = 0.3 + 0.7 * np.clip(n @ light, 0, 1)
            col = _texture(u, ball.tint, side / 16) * shade[..., None]
            # Exact forward motion: p' = c(t + 1) + R(spin) (p - c(t)).
            c1 = c + np.asarray(ball.velocity)
            p1 = np.stack([dx, dy], -1) @ _rot(ball.spin).T + c1
            m = p1 - np.stack([xs, ys], -1)
            beauty[t][front] = col[front]
            alpha[t][front] = 1.0
            depth[t][front] = z[front]
            normal[t][front] = n[front]
            instance[t][front] = k
            motion[t][front] = m[front]
    motion[-1] = 0.0
    return FrameSet(beauty=beauty, alpha=alpha, depth=depth, normal=normal, instance=instance,
                    motion=motion)
