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


def _dot(ax: np.ndarray, ay: np.ndarray, az: np.ndarray, bx: np.ndarray, by: np.ndarray,
         bz: np.ndarray) -> np.ndarray:
    """Row dot products from coordinate arrays, summed in the order numpy's einsum
    ``"ij,ij->i"`` sums three terms ((x + z) + y), so both give the same bits."""
    return (ax * bx + az * bz) + ay * by


def in_box(x: np.ndarray, y: np.ndarray, z: np.ndarray, lo: np.ndarray, hi: np.ndarray
           ) -> np.ndarray:
    """(n,) bool: the points given by coordinate rows x, y, z (n,) inside the box lo..hi (3,)
    (by component: (n,) rows are several times faster than (n, 3) ones)."""
    return (x >= lo[0]) & (x <= hi[0]) & (y >= lo[1]) & (y <= hi[1]) & (z >= lo[2]) & (z <= hi[2])


def lengths(off: np.ndarray) -> np.ndarray:
    """(k,) lengths of the vectors off (3, k), summed in np.linalg.norm's order, so they are
    the bits the (k, 3) rows' norms gave."""
    return np.sqrt((off[0] * off[0] + off[1] * off[1]) + off[2] * off[2])


def closest_points_soa(p: np.ndarray, t: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Closest point on each triangle to each point (Ericson, Real-Time Collision Detection
    5.1.5), coordinates laid out by component: p (3, k) the points, t (9, k) the triangles'
    corners (a, b, c, each x, y, z). Returns (closest (3, k), barycentric (3, k)) float64.

    Every operation runs on contiguous (k,) rows, where (k, 3) rows made numpy loop over
    threes; the barycentrics of each Voronoi region are computed on that region's rows only.
    The same arithmetic, in the same order, as on (k, 3) rows: the same bits.
    """
    px, py, pz = np.asarray(p, np.float64)
    ax, ay, az, bx, by, bz, cx, cy, cz = np.asarray(t, np.float64)
    abx, aby, abz = bx - ax, by - ay, bz - az
    acx, acy, acz = cx - ax, cy - ay, cz - az
    apx, apy, apz = px - ax, py - ay, pz - az
    d1, d2 = _dot(abx, aby, abz, apx, apy, apz), _dot(acx, acy, acz, apx, apy, apz)
    bpx, bpy, bpz = px - bx, py - by, pz - bz
    d3, d4 = _dot(abx, aby, abz, bpx, bpy, bpz), _dot(acx, acy, acz, bpx, bpy, bpz)
    cpx, cpy, cpz = px - cx, py - cy, pz - cz
    d5, d6 = _dot(abx, aby, abz, cpx, cpy, cpz), _dot(acx, acy, acz, cpx, cpy, cpz)
    va = d3 * d6 - d5 * d4
    vb = d5 * d2 - d1 * d6
    vc = d1 * d4 - d3 * d2
    # The region of the closest point: inside (0), on edge bc, ac, ab (1-3), at corner c, b,
    # a (4-6); a later test wins, as in Ericson's order of early returns read backwards.
    region = np.zeros(len(px), np.int8)
    region[(va <= 0) & (d4 - d3 >= 0) & (d5 - d6 >= 0)] = 1
    region[(vb <= 0) & (d2 >= 0) & (d6 <= 0)] = 2
    region[(vc <= 0) & (d1 >= 0) & (d3 <= 0)] = 3
    region[(d6 >= 0) & (d5 <= d6)] = 4
    region[(d3 >= 0) & (d4 <= d3)] = 5
    region[(d1 <= 0) & (d2 <= 0)] = 6
    bary = np.zeros((3, len(px)))
    s = np.flatnonzero(region == 0)
    denom = va[s] + vb[s] + vc[s]
    safe = np.where(np.abs(denom) > 1e-30, denom, 1.0)
    v, w = vb[s] / safe, vc[s] / safe
    bary[0, s], bary[1, s], bary[2, s] = 1 - v - w, v, w
    for r, i, j, num, den in ((1, 1, 2, d4 - d3, d5 - d6), (2, 0, 2, d2, -d6),
                              (3, 0, 1, d1, -d3)):
        s = np.flatnonzero(region == r)
        if len(s):
            with np.errstate(divide="ignore", invalid="ignore"):  # a degenerate edge: t = 0
                e = num[s] / (num[s] + den[s])
            e = np.clip(np.where(np.isfinite(e), e, 0.0), 0.0, 1.0)
            bary[i, s], bary[j, s] = 1 - e, e
    bary[2, region == 4] = 1.0
    bary[1, region == 5] = 1.0
    bary[0, region == 6] = 1.0
    u, v, w = bary
    closest = np.stack([(u * ax + v * bx) + w * cx, (u * ay + v * by) + w * cy,
                        (u * az + v * bz) + w * cz])
    return closest, bary


def closest_points_on_triangles(
    points: np.ndarray, triangles: np.ndarray
) -> tuple[np.ndarray, np.ndarray]:
    """Closest point on each triangle to each point (:func:`closest_points_soa` on rows).

    points : (k, 3); triangles : (k, 3, 3) one triangle per point.
    Returns (closest (k, 3), barycentric (k, 3)) in float64.
    """
    p = np.asarray(points, np.float64)
    t = np.asarray(triangles, np.float64).reshape(len(p), 9)
    closest, bary = closest_points_soa(p.T, t.T)
    return np.ascontiguousarray(closest.T), np.ascontiguousarray(bary.T)


def nearest_faces(points: np.ndarray, vertices: np.ndarray, faces: np.ndarray, k: int,
                  margin: float | None = None) -> tuple[np.ndarray, np.ndarray]:
    """The ``k`` faces with the nearest centroids to each point, nearest first.

    points (q, 3); vertices (n, 3); faces (m, 3). ``margin`` (metres) first looks only among
    faces whose centroid lies within that distance of the points' bounding box; a point whose
    ``k`` candidates are all found within ``margin`` (plus its depth inside the points' box)
    has them from the whole mesh too (no face outside can be nearer). The others look again in
    a box as much wider as their k-th candidate was far (its k found are real faces: the true
    ones are no farther), so a second search answers them all. A garment queries a small part
    of a body. Without ``margin`` the whole mesh is searched.
    Returns (distances (q, k) float64, faces (q, k) int64).
    """
    v = np.asarray(vertices, np.float64)
    p = np.asarray(points, np.float64)
    faces = np.asarray(faces, np.int64)
    k = min(k, len(faces))
    dist = np.zeros((len(p), k))
    cand = np.zeros((len(p), k), np.int64)
    pending = np.arange(len(p))
    vx, vy, vz = np.ascontiguousarray(v.T) if margin is not None else (None,) * 3
    f0, f1, f2 = np.ascontiguousarray(faces.T) if margin is not None else (None,) * 3
    while margin is not None and len(pending):
        pts = p[pending]
        inner_lo, inner_hi = pts.min(axis=0), pts.max(axis=0)
        lo, hi = inner_lo - margin, inner_hi + margin
        # A centroid is inside the box only if some corner is (for faces smaller than the
        # margin): test corners first, so only the centroids of the part near the points get
        # computed.
        corner_in = in_box(vx, vy, vz, lo, hi)
        sub = np.flatnonzero(corner_in[f0] | corner_in[f1] | corner_in[f2])
        if len(sub) == len(faces):
            break
        a, b, c = f0[sub], f1[sub], f2[sub]
        cx, cy, cz = ((w[a] + w[b] + w[c]) / 3 for w in (vx, vy, vz))
        inside = np.flatnonzero(in_box(cx, cy, cz, lo, hi))
        sub = sub[inside]
        centroids = np.stack([cx[inside], cy[inside], cz[inside]], axis=1)  # = mean of corners
        if len(sub) < k:
            margin *= 2
            continue
        d, near = cKDTree(centroids, balanced_tree=False, compact_nodes=False).query(pts, k=k)
        d, near = d.reshape(len(pts), k), near.reshape(len(pts), k)
        # An excluded centroid lies past the box along some axis, so farther from a point
        # than margin plus the point's least depth inside the points' own box: it cannot
        # beat a k-th candidate within that reach.
        depth = np.minimum(pts - inner_lo, inner_hi - pts).min(axis=1)
        ok = d[:, -1] <= margin + depth
        dist[pending[ok]], cand[pending[ok]] = d[ok], sub[near[ok]]
        if not ok.all():  # > margin: the box grows
            margin = float(d[~ok, -1].max())
        pending = pending[~ok]
    if len(pending):
        d, near = cKDTree(v[faces].mean(axis=1)).query(p[pending], k=k)
        dist[pending] = d.reshape(len(pending), k)
        cand[pending] = near.reshape(len(pending), k)
    return dist, cand


def closest_on_mesh(
    points: np.ndarray, vertices: np.ndarray, faces: np.ndarray, k: int = CANDIDATE_FACES,
    margin: float | None = None, candidates: np.ndarray | None = None,
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Closest surface point of a triangle mesh to each query point.

    points (q, 3); vertices (n, 3); faces (m, 3). Candidates are the ``k`` faces with the nearest
    centroids (:func:`nearest_faces`, ``margin`` as there), which is exact for meshes of evenly
    sized faces like the generated body; ``candidates`` (q, >= k) are those faces when the
    caller has found them already (nearest first: the first ``k`` columns are used; fewer
    columns are ignored, and the faces searched for).
    Returns (closest (q, 3), face (q,) int64, barycentric (q, 3)).
    """
    v = np.asarray(vertices, np.float64)
    p = np.asarray(points, np.float64)
    faces = np.asarray(faces, np.int64)
    k = min(k, len(faces))
    if candidates is not None and np.shape(candidates)[1] >= k:
        cand = np.asarray(candidates, np.int64)[:, :k]
    else:
        _, cand = nearest_faces(p, v, faces, k, margin)
    # Every (point, candidate) pair, by component: (3, q k) points and (9, q k) corners.
    q = np.repeat(p.T, k, axis=1)
    tri = v[faces[cand.ravel()].T].transpose(0, 2, 1).reshape(9, -1)  # (corner, xyz, pair)
    closest, bary = closest_points_soa(q, tri)
    d = lengths(closest - q).reshape(-1, k)
    best = np.argmin(d, axis=1)
    rows = np.arange(len(points)) * k + best
    return (np.ascontiguousarray(closest[:, rows].T), cand[np.arange(len(points)), best],
            np.ascontiguousarray(bary[:, rows].T))


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
    candidates: np.ndarray | None = None,
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Robust skin weight transfer from a body to a garment.

    body_vertices (n, 3), body_faces (m, 3), body_joints/body_weights (n, k) its influences;
    garment_vertices (g, 3), garment_faces (h, 3) in the same rest pose.
    A garment vertex is *matched* when its closest body point lies within ``max_distance``
    metres and the normals there differ by less than ``max_angle_deg`` (either orientation,
    since imported garments are often single-sided or flipped). Unmatched vertices solve
    L_uu W_u = -L_um W_m per connected piece; a piece with no match falls back to raw
    closest-point weights. ``candidates`` (g, >= CANDIDATE_FACES): each garment vertex's
    nearest body faces by centroid (:func:`nearest_faces`), when the caller has them.
    Returns (joints (g, max_influences) uint16, weights (g, max_influences) float32,
    matched (g,) bool).
    """
    gv = np.asarray(garment_vertices, np.float64)
    gf = np.asarray(garment_faces, np.int64)
    bv = np.asarray(body_vertices, np.float64)
    bf = np.asarray(body_faces, np.int64)
    closest, face, bary = closest_on_mesh(gv, bv, bf, margin=max_distance,
                                          candidates=candidates)
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
