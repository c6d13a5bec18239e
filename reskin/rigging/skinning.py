"""Linear blend skinning on arrays (numpy; torch for batches of frames)."""

from __future__ import annotations

import numpy as np


def lbs(
    vertices: np.ndarray, joints: np.ndarray, weights: np.ndarray, matrices: np.ndarray
) -> np.ndarray:
    """Pose rest vertices with linear blend skinning.

    vertices : (n, 3) rest positions
    joints   : (n, k) int joint index per influence
    weights  : (n, k) float, rows sum to 1
    matrices : (j, 4, 4) or (f, j, 4, 4) skinning matrices (world @ inverse bind)
    returns (n, 3) or (f, n, 3) float64 posed positions
    """
    single = matrices.ndim == 3
    mats = matrices[None] if single else matrices
    v = np.asarray(vertices, np.float64)
    w = np.asarray(weights, np.float64)
    # Blend the 3x4 affine parts per vertex, then apply once: cheaper than k transforms.
    blended = np.einsum("nk,fnkij->fnij", w, mats[:, joints, :3, :])  # (f, n, 3, 4)
    out = np.einsum("fnij,nj->fni", blended[..., :3], v) + blended[..., 3]
    return out[0] if single else out
