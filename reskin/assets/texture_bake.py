"""Bake surface data into a mesh's UV atlas, so skins can be painted as image operations."""

from __future__ import annotations

import numpy as np
from scipy import ndimage

from reskin.assets.mesh import Mesh


def rasterize_surface(mesh: Mesh, size: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """For every texel of a ``size`` x ``size`` atlas: the rest-pose point and body part it shows.

    Rows run top to bottom (image order) while ``mesh.uvs`` has v pointing up.
    Returns (position (size, size, 3) float32, part (size, size) int16, covered (size, size) bool).
    Texels no face covers take the value of the nearest covered texel (``covered`` is False
    there) so that bilinear filtering at UV seams never samples an unpainted colour.
    """
    uv = mesh.uvs[mesh.uv_faces].astype(np.float64)  # (m, 3, 2)
    px = np.stack([uv[..., 0] * size - 0.5, (1.0 - uv[..., 1]) * size - 0.5], axis=-1)
    pos3 = mesh.vertices[mesh.faces].astype(np.float64)  # (m, 3, 3)
    position = np.zeros((size, size, 3), np.float32)
    part = np.full((size, size), -1, np.int16)
    lo = np.clip(np.floor(px.min(axis=1)).astype(int), 0, size - 1)
    hi = np.clip(np.ceil(px.max(axis=1)).astype(int), 0, size - 1)
    a, b, c = px[:, 0], px[:, 1], px[:, 2]
    area = (b[:, 0] - a[:, 0]) * (c[:, 1] - a[:, 1]) - (b[:, 1] - a[:, 1]) * (c[:, 0] - a[:, 0])
    # Faces are few texels wide, so a per-face loop over a tiny box is cheap and simple.
    for i in np.flatnonzero(np.abs(area) > 1e-12):
        xs = np.arange(lo[i, 0], hi[i, 0] + 1)
        ys = np.arange(lo[i, 1], hi[i, 1] + 1)
        gx, gy = np.meshgrid(xs, ys)
        w1 = ((gx - a[i, 0]) * (c[i, 1] - a[i, 1]) - (gy - a[i, 1]) * (c[i, 0] - a[i, 0])) / area[i]
        w2 = ((b[i, 0] - a[i, 0]) * (gy - a[i, 1]) - (b[i, 1] - a[i, 1]) * (gx - a[i, 0])) / area[i]
        w0 = 1.0 - w1 - w2
        inside = (w0 >= -1e-6) & (w1 >= -1e-6) & (w2 >= -1e-6)
        if not inside.any():
            continue
        p = (w0[inside, None] * pos3[i, 0] + w1[inside, None] * pos3[i, 1]
             + w2[inside, None] * pos3[i, 2])
        position[gy[inside], gx[inside]] = p
        part[gy[inside], gx[inside]] = mesh.parts[i]
    covered = part >= 0
    if covered.any() and not covered.all():
        _, (iy, ix) = ndimage.distance_transform_edt(~covered, return_indices=True)
        position = position[iy, ix]
        part = part[iy, ix]
    return position, part, covered
