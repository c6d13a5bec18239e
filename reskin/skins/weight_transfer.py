"""Skin weights for a garment, transferred from the body it is worn on.

After Abdrashitov et al., "Robust Skin Weights Transfer via Weight Inpainting" (SIGGRAPH Asia
2023): a garment vertex takes the body's weights at its closest body point where that match is
trustworthy (close enough, and the surfaces face the same way); every other vertex (a skirt
between the legs, a scarf's far side) gets weights inpainted smoothly from the matched ones by
solving a Laplace problem on the garment's own surface. Plain closest-point transfer would bind
the inside of a skirt to whichever leg happens to be nearer and tear it apart in a stride.
"""

from __future__ import annotations

import numpy as np
from scipy.sparse import coo_matrix, diags
from scipy.sparse.linalg import spsolve
from scipy.spatial import cKDTree

from reskin.rigging.weights import normalize_top_k

CANDIDATE_FACES = 24
"""Body faces examined per query point (nearest by centroid); enough for garment-scale meshes."""


def closest_points_on_triangles(
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


def closest_on_mesh(
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
    closest, bary = closest_points_on_triangles(q, v[faces[cand.ravel()]])
    d = np.linalg.norm(closest - q, axis=1).reshape(-1, k)
    best = np.argmin(d, axis=1)
    rows = np.arange(len(points)) * k + best
    return closest[rows], cand[np.arange(len(points)), best], bary[rows]


def uniform_laplacian(n: int, faces: np.ndarray) -> coo_matrix:
    """(n, n) graph Laplacian (degree - adjacency) of a triangle mesh's edges.

    The graph Laplacian is an M-matrix on any soup (no cotangent can go negative), so inpainted
    weights stay inside the range of the matched ones.
    """
    f = np.asarray(faces, np.int64)
    i = np.concatenate([f[:, 0], f[:, 1], f[:, 2]])
    j = np.concatenate([f[:, 1], f[:, 2], f[:, 0]])
    adj = coo_matrix((np.ones(2 * len(i)), (np.r_[i, j], np.r_[j, i])), shape=(n, n)).tocsr()
    adj.data[:] = 1.0  # an edge shared by two faces counts once
    return (diags(np.asarray(adj.sum(axis=1)).ravel()) - adj).tocoo()


def dense_weights(joints: np.ndarray, weights: np.ndarray, n_joints: int) -> np.ndarray:
    """(n, k) influences -> (n, n_joints) float64 dense weights."""
    n = len(joints)
    cell = (np.arange(n)[:, None] * n_joints + joints.astype(np.int64)).ravel()
    # bincount adds in input order, as np.add.at did (row by row, slot by slot): same sums.
    dense = np.bincount(cell, weights=np.asarray(weights, np.float64).ravel(),
                        minlength=n * n_joints)
    return dense.reshape(n, n_joints)


def transfer_weights(
    body_vertices: np.ndarray,
    body_faces: np.ndarray,
    body_joints: np.ndarray,
    body_weights: np.ndarray,
    n_joints: int,
    garment_vertices: np.ndarray,
    garment_faces: np.ndarray,
    *,
    max_distance: float = 0.05,
    max_angle_deg: float = 35.0,
    max_influences: int = 4,
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Robust skin weight transfer from a body to a garment.

    body_vertices (n, 3), body_faces (m, 3), body_joints/body_weights (n, k) its influences;
    garment_vertices (g, 3), garment_faces (h, 3) in the same rest pose.
    A garment vertex is *matched* when its closest body point lies within ``max_distance``
    metres and the normals there differ by less than ``max_angle_deg`` (either orientation,
    since imported garments are often single-sided or flipped). Unmatched vertices solve
    L_uu W_u = -L_um W_m per connected piece; a piece with no match falls back to raw
    closest-point weights.
    Returns (joints (g, max_influences) uint16, weights (g, max_influences) float32,
    matched (g,) bool).
    """
    gv = np.asarray(garment_vertices, np.float64)
    gf = np.asarray(garment_faces, np.int64)
    bv = np.asarray(body_vertices, np.float64)
    bf = np.asarray(body_faces, np.int64)
    closest, face, bary = closest_on_mesh(gv, bv, bf, margin=max_distance)
    corners = bf[face]  # (g, 3) body vertices whose weights are interpolated
    used, local = np.unique(corners, return_inverse=True)
    src = dense_weights(np.asarray(body_joints)[used], np.asarray(body_weights)[used], n_joints)
    at_point = np.einsum("qk,qkj->qj", bary, src[local.reshape(corners.shape)])  # (g, J)
    dist = np.linalg.norm(closest - gv, axis=1)
    body_n = _face_normals(bv, bf[face])
    garment_n = _vertex_normals(gv, gf)
    cos = np.abs(np.einsum("ij,ij->i", body_n, garment_n))
    matched = (dist <= max_distance) & (cos >= np.cos(np.radians(max_angle_deg)))
    result = at_point.copy()
    unknown = ~matched
    if unknown.any() and matched.any() and len(gf):
        lap = uniform_laplacian(len(gv), gf).tocsr()
        # Pieces of the garment that hold no matched vertex cannot be inpainted (the system
        # would be singular there); they keep closest-point weights.
        from scipy.sparse.csgraph import connected_components

        _, label = connected_components(lap, directed=False)
        anchored = np.isin(label, np.unique(label[matched]))
        solve = unknown & anchored
        if solve.any():
            u, m = np.flatnonzero(solve), np.flatnonzero(~solve)
            l_uu = lap[u][:, u].tocsc()
            rhs = -(lap[u][:, m] @ result[m])
            result[u] = np.asarray(spsolve(l_uu, rhs)).reshape(len(u), -1)
    joints, weights = normalize_top_k(np.clip(result, 0.0, None), max_influences)
    return joints, weights, matched


def _face_normals(v: np.ndarray, f: np.ndarray) -> np.ndarray:
    n = np.cross(v[f[:, 1]] - v[f[:, 0]], v[f[:, 2]] - v[f[:, 0]])
    return n / np.maximum(np.linalg.norm(n, axis=1, keepdims=True), 1e-20)


def _vertex_normals(v: np.ndarray, f: np.ndarray) -> np.ndarray:
    fn = np.cross(v[f[:, 1]] - v[f[:, 0]], v[f[:, 2]] - v[f[:, 0]])
    vn = np.zeros_like(v)
    for k in range(3):
        np.add.at(vn, f[:, k], fn)
    return vn / np.maximum(np.linalg.norm(vn, axis=1, keepdims=True), 1e-20)
