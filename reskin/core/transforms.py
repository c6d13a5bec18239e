"""Rotations and rigid transforms as numpy arrays: quaternions (x, y, z, w, as glTF stores
them), rotation matrices and 4x4 TRS matrices acting on column vectors (``p' = M @ p``)."""

from __future__ import annotations

import numpy as np


def quat_to_matrix(q: np.ndarray) -> np.ndarray:
    """(..., 4) quaternions (x, y, z, w), any length -> (..., 3, 3) rotation matrices."""
    q = np.asarray(q, np.float64)
    n = np.linalg.norm(q, axis=-1, keepdims=True)
    q = q / np.where(n > 0, n, 1.0)
    x, y, z, w = np.moveaxis(q, -1, 0)
    return np.stack([
        np.stack([1 - 2 * (y * y + z * z), 2 * (x * y - z * w), 2 * (x * z + y * w)], -1),
        np.stack([2 * (x * y + z * w), 1 - 2 * (x * x + z * z), 2 * (y * z - x * w)], -1),
        np.stack([2 * (x * z - y * w), 2 * (y * z + x * w), 1 - 2 * (x * x + y * y)], -1),
    ], -2)


def quat_mul(p: np.ndarray, q: np.ndarray) -> np.ndarray:
    """Hamilton product of (..., 4) xyzw quaternions: apply q, then p."""
    px, py, pz, pw = np.moveaxis(p, -1, 0)
    qx, qy, qz, qw = np.moveaxis(q, -1, 0)
    return np.stack([
        pw * qx + px * qw + py * qz - pz * qy,
        pw * qy - px * qz + py * qw + pz * qx,
        pw * qz + px * qy - py * qx + pz * qw,
        pw * qw - px * qx - py * qy - pz * qz,
    ], axis=-1)


def matrix_to_quat(m: np.ndarray) -> np.ndarray:
    """Unit quaternions (..., 4) (x, y, z, w) of rotation matrices (..., 3, 3).

    Shepperd's method: take the largest of w, x, y, z from the trace so no division is by a
    small number, whatever the rotation.
    """
    m = np.asarray(m, np.float64)
    m00, m11, m22 = m[..., 0, 0], m[..., 1, 1], m[..., 2, 2]
    t = np.stack([1 + m00 + m11 + m22, 1 + m00 - m11 - m22, 1 - m00 + m11 - m22,
                  1 - m00 - m11 + m22], axis=-1)  # 4 w^2, 4 x^2, 4 y^2, 4 z^2
    big = np.argmax(t, axis=-1)
    s = 0.5 / np.sqrt(np.maximum(np.take_along_axis(t, big[..., None], -1)[..., 0], 1e-300))
    q = np.empty(m.shape[:-2] + (4,))
    d21, d02, d10 = m[..., 2, 1] - m[..., 1, 2], m[..., 0, 2] - m[..., 2, 0], m[..., 1, 0] - m[
        ..., 0, 1]
    s21, s02, s10 = m[..., 2, 1] + m[..., 1, 2], m[..., 0, 2] + m[..., 2, 0], m[..., 1, 0] + m[
        ..., 0, 1]
    cases = [
        (0.25 / s, d21 * s, d02 * s, d10 * s),  # w largest
        (d21 * s, 0.25 / s, s10 * s, s02 * s),  # x largest
        (d02 * s, s10 * s, 0.25 / s, s21 * s),  # y largest
        (d10 * s, s02 * s, s21 * s, 0.25 / s),  # z largest
    ]
    for c, (w, x, y, z) in enumerate(cases):
        sel = big == c
        q[sel] = np.stack([x, y, z, w], axis=-1)[sel]
    return q / np.linalg.norm(q, axis=-1, keepdims=True)


def trs_matrix(t: np.ndarray, r: np.ndarray, s: np.ndarray) -> np.ndarray:
    """(..., 4, 4) from translations (..., 3), quaternions (..., 4) and scales (..., 3)."""
    t, s = np.asarray(t, np.float64), np.asarray(s, np.float64)
    m = np.zeros(t.shape[:-1] + (4, 4))
    m[..., :3, :3] = quat_to_matrix(r) * s[..., None, :]
    m[..., :3, 3] = t
    m[..., 3, 3] = 1.0
    return m
