"""Paper grain glued to the surfaces: value noise looked up in texture space (the UV pass).

Screen-space grain stays put while the characters move through it (the "shower door"); grain
indexed by (cast member, u, v) moves with the skin it is printed on, so a carried or re-painted
pixel gets the same grain in every frame.
"""

from __future__ import annotations

import numpy as np


def _hash(ix: np.ndarray, iy: np.ndarray, seed: np.ndarray) -> np.ndarray:
    """Deterministic pseudo-random values in -1..1 for integer lattice points (any shape)."""
    h = (ix.astype(np.uint64) * np.uint64(73856093)) ^ (iy.astype(np.uint64) * np.uint64(
        19349663)) ^ (seed.astype(np.uint64) * np.uint64(83492791))
    h ^= h >> np.uint64(13)
    h *= np.uint64(0x5BD1E995)
    h ^= h >> np.uint64(15)
    return (h & np.uint64(0xFFFF)).astype(np.float32) / 32767.5 - 1.0


def uv_grain(uv: np.ndarray, instance: np.ndarray, cells: float = 96.0) -> np.ndarray:
    """(h, w) grain in about -1..1 from ``uv`` (h, w, 2) and ``instance`` (h, w); ``cells``
    lattice cells across the 0..1 texture square. Zero on background (instance 0)."""
    with np.errstate(over="ignore", invalid="ignore"):
        x = np.nan_to_num(uv[..., 0]) * cells
        y = np.nan_to_num(uv[..., 1]) * cells
        x0 = np.floor(x)
        y0 = np.floor(y)
        fx = x - x0
        fy = y - y0
        # Smoothstep between lattice values: continuous grain, no blocky cells.
        fx = fx * fx * (3 - 2 * fx)
        fy = fy * fy * (3 - 2 * fy)
        ix = (x0.astype(np.int64) % 65536).astype(np.int64)
        iy = (y0.astype(np.int64) % 65536).astype(np.int64)
        seed = instance.astype(np.int64)
        v00 = _hash(ix, iy, seed)
        v10 = _hash(ix + 1, iy, seed)
        v01 = _hash(ix, iy + 1, seed)
        v11 = _hash(ix + 1, iy + 1, seed)
    g = (v00 * (1 - fx) + v10 * fx) * (1 - fy) + (v01 * (1 - fx) + v11 * fx) * fy
    return np.where(instance > 0, g, 0.0).astype(np.float32)


def uv_noise(uv: np.ndarray, instance: np.ndarray, channels: int, seed: int,
             cells: float = 128.0) -> np.ndarray:
    """(channels, h, w) float32 standard-normal noise that belongs to surface points:
    one independent value per (cast member, UV cell, channel), the same in every frame.
    ``uv`` (h, w, 2), ``instance`` (h, w); zero on background (instance 0)."""
    with np.errstate(over="ignore", invalid="ignore"):
        ix = (np.floor(np.nan_to_num(uv[..., 0]) * cells).astype(np.int64) % 65536)
        iy = (np.floor(np.nan_to_num(uv[..., 1]) * cells).astype(np.int64) % 65536)
        out = np.empty((channels,) + instance.shape, np.float32)
        for c in range(channels):
            tag = (instance.astype(np.int64) * 64 + c) * 1000003 + int(seed) % 1000003
            u1 = (_hash(ix, iy, tag) + 1.0) * 0.5
            u2 = (_hash(ix, iy, tag + 7919) + 1.0) * 0.5
            # Box-Muller: two uniforms -> one standard normal.
            out[c] = np.sqrt(-2.0 * np.log(np.clip(u1, 1e-6, 1.0))) * np.cos(2 * np.pi * u2)
    return np.where(instance[None] > 0, out, 0.0).astype(np.float32)
