"""The reference penetration check: every test pose's body near the garment in one KD-tree.

What :func:`reskin.skins.penetration.garment_penetration` computes, by the plain method it
replaced (kept here, beside the tests, as the reference they compare it with; nothing in the
package calls it). Garment
vertices and the body are posed with the same skinning the renderer uses (LBS); each posed
garment vertex gets a signed distance to the posed body surface: its distance to the closest
body point, negative when it lies behind the body's (interpolated) normal there. The depth of
the deepest vertex over all sampled frames is the garment's penetration.

Every pose and garment is measured in one batch: the body faces near any garment, posed in
every test pose and laid side by side in one search tree, then closest points among a few
candidate faces per garment vertex.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
from scipy.sparse import csr_matrix
from scipy.spatial import cKDTree

from reskin.core.clip import Clip
from reskin.core.skeleton import Skeleton
from reskin.rigging.skinning import lbs
from reskin.skins.garments import Garment
from reskin.skins.penetration import (
    CANDIDATES,
    CLOSE,
    FAR_CANDIDATES,
    _cross,
    _near_faces,
    sample_poses,
)
from reskin.skins.weight_transfer import closest_points_on_triangles

SPREAD = 1000.0
"""Metres between poses laid side by side in one search tree."""

def _candidates(tree: cKDTree, n_faces: int, points: np.ndarray) -> tuple[np.ndarray, ...]:
    """Candidate faces of ``points`` (q, 3): (near rows, (a, CANDIDATES) faces, far rows,
    (b, FAR_CANDIDATES) faces). Near rows whose list ran short repeat their nearest face."""
    k = min(CANDIDATES, n_faces)
    dist, cand = tree.query(points, k=k, distance_upper_bound=CLOSE)
    cand = cand.reshape(len(points), k)
    near = np.isfinite(dist.reshape(len(points), k)[:, 0])
    cand = cand[near]
    cand = np.where(cand == n_faces, cand[:, :1], cand)
    far = np.flatnonzero(~near)
    far_cand = np.empty((0, min(FAR_CANDIDATES, n_faces)), np.int64)
    if len(far):
        _, far_cand = tree.query(points[far], k=min(FAR_CANDIDATES, n_faces))
        far_cand = far_cand.reshape(len(far), -1)
    return np.flatnonzero(near), cand, far, far_cand


def _signed(points: np.ndarray, tri: np.ndarray, normals: np.ndarray, cand: np.ndarray,
            faces: np.ndarray) -> np.ndarray:
    """(q,) signed distance of points (q, 3) to the nearest of their candidate faces (q, c)
    of one posed mesh with triangles (m, 3, 3) and vertex normals (n, 3)."""
    q, c = cand.shape
    if q == 0:
        return np.zeros(0)
    rep = np.repeat(points, c, axis=0)
    closest, bary = closest_points_on_triangles(rep, tri[cand.ravel()])
    d = np.linalg.norm(closest - rep, axis=1).reshape(q, c)
    best = np.argmin(d, axis=1)
    rows = np.arange(q) * c + best
    face = cand[np.arange(q), best]
    n = np.einsum("qk,qkd->qd", bary[rows], normals[faces[face]])
    inward = np.einsum("qd,qd->q", rep[rows] - closest[rows], n) < 0
    dist = d[np.arange(q), best]
    return np.where(inward, -dist, dist)


def garment_penetration_kdtree(
    body_vertices: np.ndarray, body_faces: np.ndarray, body_joints: np.ndarray,
    body_weights: np.ndarray, skeleton: Skeleton, garments: Sequence[Garment],
    clips: Sequence[Clip], frames_per_clip: int = 5, poses: np.ndarray | None = None,
) -> dict[str, float]:
    """garment name -> deepest penetration in metres (0 when it never enters the body) over
    ``frames_per_clip`` evenly spaced frames of every clip (rest pose included).

    body_vertices (n, 3), body_faces (m, 3), body_joints/body_weights (n, k); each garment
    carries its rest vertices (g, 3) and the joints/weights it is skinned with. ``poses``:
    :func:`sample_poses` of the clips when the caller has them already.
    """
    if not garments:
        return {}
    mats = sample_poses(skeleton, clips, frames_per_clip) if poses is None else poses
    bv = np.asarray(body_vertices, np.float64)
    faces = _near_faces(bv, np.asarray(body_faces, np.int64), garments)
    if len(faces) == 0:  # nothing of the body is within reach of any garment
        return {g.spec.name: 0.0 for g in garments}
    used, local = np.unique(faces, return_inverse=True)
    local = local.reshape(-1, 3)
    posed_body = lbs(bv[used], body_joints[used], body_weights[used], mats)  # (p, u, 3)
    owner = np.concatenate([np.full(len(g.vertices), i) for i, g in enumerate(garments)])
    posed_g = np.concatenate([lbs(np.asarray(g.vertices, np.float64), g.joints, g.weights, mats)
                              for g in garments], axis=1)  # (p, q, 3)
    # Area-weighted vertex normals of every pose at once: a (u, m) incidence matrix times the
    # (m, 3 p) face normals.
    m = len(local)
    incidence = csr_matrix((np.ones(3 * m), (local.T.ravel(), np.tile(np.arange(m), 3))),
                           shape=(len(used), m))
    tri = np.take(posed_body, local, axis=1)  # (p, m, 3, 3), C order (fancy indexing is not)
    fn = _cross(tri[:, :, 1] - tri[:, :, 0], tri[:, :, 2] - tri[:, :, 0])  # (p, m, 3)
    vn = (incidence @ fn.transpose(1, 0, 2).reshape(m, -1)).reshape(len(used), -1, 3)
    # One search tree for all poses: pose p's faces and vertices are moved SPREAD * p metres
    # along x, far beyond any body, so no query can reach another pose's faces.
    n_poses, q = posed_g.shape[:2]
    spread = np.zeros((n_poses, 1, 3))
    spread[:, 0, 0] = SPREAD * np.arange(n_poses)
    centroids = ((tri[:, :, 0] + tri[:, :, 1] + tri[:, :, 2]) / 3 + spread).reshape(-1, 3)
    tree = cKDTree(centroids, balanced_tree=False, compact_nodes=False)
    near, near_cand, far, far_cand = _candidates(tree, len(centroids),
                                                 (posed_g + spread).reshape(-1, 3))
    points = posed_g.reshape(-1, 3)  # (p q, 3), where they are
    flat_tri = tri.reshape(-1, 3, 3)
    flat_normals = vn.transpose(1, 0, 2).reshape(-1, 3)  # (p u, 3): pose p's at p * u
    # Face f of pose p is row p * m + f of flat_tri; its corners are pose p's vertices.
    flat_faces = (local[None] + (np.arange(n_poses) * len(used))[:, None, None]).reshape(-1, 3)
    signed = np.empty(n_poses * q)
    signed[near] = _signed(points[near], flat_tri, flat_normals, near_cand, flat_faces)
    signed[far] = _signed(points[far], flat_tri, flat_normals, far_cand, flat_faces)
    signed = signed.reshape(n_poses, q)
    deepest = np.maximum(-signed.min(axis=0), 0.0)  # (q,) over all poses
    return {g.spec.name: float(deepest[owner == i].max()) for i, g in enumerate(garments)}
