"""Bake surface data into a mesh's UV atlas, so skins can be painted as image operations."""

from __future__ import annotations

import numpy as np
from scipy import ndimage

from reskin.core.mesh import Mesh


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
    ok = np.abs(area) > 1e-12
    extent = hi - lo + 1
    # Faces span a few texels: test faces of similar size at once over a box of candidates;
    # the rare huge ones (few enough to loop over) get a box of their own.
    span = extent.max(axis=1)
    groups, done = [], np.zeros(len(span), bool)
    for box in (4, 8, 16, 32, 64):
        sel = ok & ~done & (span <= box)
        done |= sel
        groups.append((np.flatnonzero(sel), box, box))
    groups += [(np.array([i]), extent[i, 0], extent[i, 1]) for i in np.flatnonzero(ok & ~done)]
    for faces, bw, bh in groups:
        if len(faces) == 0:
            continue
        oy, ox = np.divmod(np.arange(bw * bh), bw)
        gx = lo[faces, 0, None] + ox[None]  # (k, bw*bh)
        gy = lo[faces, 1, None] + oy[None]
        fa, fb, fc, ar = a[faces, None], b[faces, None], c[faces, None], area[faces, None]
        w1 = ((gx - fa[..., 0]) * (fc[..., 1] - fa[..., 1])
              - (gy - fa[..., 1]) * (fc[..., 0] - fa[..., 0])) / ar
        w2 = ((fb[..., 0] - fa[..., 0]) * (gy - fa[..., 1])
              - (fb[..., 1] - fa[..., 1]) * (gx - fa[..., 0])) / ar
        w0 = 1.0 - w1 - w2
        inside = ((w0 >= -1e-6) & (w1 >= -1e-6) & (w2 >= -1e-6)
                  & (gx <= hi[faces, 0, None]) & (gy <= hi[faces, 1, None]))
        k, j = np.nonzero(inside)
        f = faces[k]
        p = (w0[k, j, None] * pos3[f, 0] + w1[k, j, None] * pos3[f, 1]
             + w2[k, j, None] * pos3[f, 2])
        # Faces are processed in index order, so where two share a texel the later one wins,
        # the same as drawing them one by one.
        position[gy[k, j], gx[k, j]] = p
        part[gy[k, j], gx[k, j]] = mesh.parts[f]
    covered = part >= 0
    if covered.any() and not covered.all():
        _, (iy, ix) = ndimage.distance_transform_edt(~covered, return_indices=True)
        position = position[iy, ix]
        part = part[iy, ix]
    return position, part, covered
