"""The reference closest-point routines: the plain numpy ones the package's replaced.

What :func:`reskin.skins.weight_transfer.closest_points_on_triangles` and
:func:`~reskin.skins.weight_transfer.closest_on_mesh` computed before they were rewritten for
speed (kept here, beside the tests, as the reference they compare with; nothing in the package
calls them): the triangle's Voronoi regions on (k, 3) rows, and the nearest-centroid search a
new search tree per margin.
"""

from __future__ import annotations

import numpy as np
from scipy.spatial import cKDTree

CANDIDATE_FACES = 24


def closest_points_on_triangles_reference(
    points: np.ndarray, triangles: np.ndarray
) -> tuple[np.ndarray, np.ndarray]:
    """Closest point on each triangle to each point (Ericson, Real-Time Collision Detection 5.1.5).

    points : (k, 3); triangles : (k, 3, 3) one triangle per point.
    Returns (closest (k, 3), barycentric (k, 3)) in float64.
    """
    p = np.asarray(points, np.float64)
    a, b, c = (np.asarray(triangles[:, i], np.float64) for i in range(3))
    ab, ac, ap = b - a, c - a, p - a
    d1, d2 = np.einsum("ij,ij->i", ab, ap), np.einsum("ij,ij->i", ac, ap)
    bp = p - b
    d3, d4 = np.einsum("ij,ij->i", ab, bp), np.einsum("ij,ij->i", ac, bp)
    cp = p - c
    d5, d6 = np.einsum("ij,ij->i", ab, cp), np.einsum("ij,ij->i", ac, cp)
    va = d3 * d6 - d5 * d4
    vb = d5 * d2 - d1 * d6
    vc = d1 * d4 - d3 * d2
    bary = np.empty((len(p), 3))
    denom = va + vb + vc
    safe = np.where(np.abs(denom) > 1e-30, denom, 1.0)
    v, w = vb / safe, vc / safe
    bary[:] = np.stack([1 - v - w, v, w], axis=1)  # inside the face (default)

    def put(sel: np.ndarray, value: np.ndarray) -> None:
        bary[sel] = value[sel] if value.ndim == 2 else value

    def lerp(sel: np.ndarray, t: np.ndarray, i: int, j: int) -> None:
        t = np.clip(np.where(np.isfinite(t), t, 0.0), 0.0, 1.0)
        val = np.zeros((len(p), 3))
        val[:, i], val[:, j] = 1 - t, t
        put(sel, val)

    with np.errstate(divide="ignore", invalid="ignore"):
        edge_bc = (va <= 0) & (d4 - d3 >= 0) & (d5 - d6 >= 0)
        lerp(edge_bc, (d4 - d3) / ((d4 - d3) + (d5 - d6)), 1, 2)
        edge_ac = (vb <= 0) & (d2 >= 0) & (d6 <= 0)
        lerp(edge_ac, d2 / (d2 - d6), 0, 2)
        edge_ab = (vc <= 0) & (d1 >= 0) & (d3 <= 0)
        lerp(edge_ab, d1 / (d1 - d3), 0, 1)
    put((d6 >= 0) & (d5 <= d6), np.array([0.0, 0.0, 1.0]))
    put((d3 >= 0) & (d4 <= d3), np.array([0.0, 1.0, 0.0]))
    put((d1 <= 0) & (d2 <= 0), np.array([1.0, 0.0, 0.0]))
    closest = bary[:, :1] * a + bary[:, 1:2] * b + bary[:, 2:] * c
    return closest, bary


def closest_on_mesh_reference(
    points: np.ndarray, vertices: np.ndarray, faces: np.ndarray, k: int = CANDIDATE_FACES,
    margin: float | None = None,
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Closest surface point of a triangle mesh to each query point.

    points (q, 3); vertices (n, 3); faces (m, 3). Candidates are the ``k`` faces with the nearest
    centroids, which is exact for meshes of evenly sized faces like the generated body.
    ``margin`` (metres) first looks only among faces whose centroid lies within that distance
    of the points' bounding box; a point whose ``k`` candidates are all found within
    ``margin`` has them from the whole mesh too (no face outside can be nearer); the others
    look again with twice the margin, and so on. A garment queries a small part of a body.
    Returns (closest (q, 3), face (q,) int64, barycentric (q, 3)).
    """
    v = np.asarray(vertices, np.float64)
    p = np.asarray(points, np.float64)
    faces = np.asarray(faces, np.int64)
    k = min(k, len(faces))
    cand = np.zeros((len(p), k), np.int64)
    pending = np.arange(len(p))
    # Search a box around the points that still need an answer, doubling its margin until
    # every point's k candidates lie within it (a few garment vertices hang far off the body).
    while margin is not None and len(pending):
        pts = p[pending]
        lo, hi = pts.min(axis=0) - margin, pts.max(axis=0) + margin
        # A centroid is inside the box only if some corner is: test corners first, so only
        # the centroids of the part of a large mesh near the points get computed.
        corner_in = np.all((v >= lo) & (v <= hi), axis=1)
        sub = np.flatnonzero(corner_in[faces].any(axis=1))
        if len(sub) == len(faces):
            break
        centroids = v[faces[sub]].mean(axis=1)
        inside = np.all((centroids >= lo) & (centroids <= hi), axis=1)
        sub, centroids = sub[inside], centroids[inside]
        if len(sub) >= k:
            dist, near = cKDTree(centroids, balanced_tree=False,
                                 compact_nodes=False).query(pts, k=k)
            # An excluded centroid is over ``margin`` from the box along some axis, so farther
            # than margin from every point: it cannot beat a k-th candidate within margin.
            ok = dist.reshape(len(pts), k)[:, -1] <= margin
            cand[pending[ok]] = sub[near.reshape(len(pts), k)[ok]]
            pending = pending[~ok]
        margin *= 2
    if len(pending):
        _, near = cKDTree(v[faces].mean(axis=1)).query(p[pending], k=k)
        cand[pending] = near.reshape(len(pending), k)
    q = np.repeat(p, k, axis=0)
    closest, bary = closest_points_on_triangles_reference(q, v[faces[cand.ravel()]])
    d = np.linalg.norm(closest - q, axis=1).reshape(-1, k)
    best = np.argmin(d, axis=1)
    rows = np.arange(len(points)) * k + best
    return closest[rows], cand[np.arange(len(points)), best], bary[rows]
