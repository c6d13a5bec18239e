"""How far garments sink into the body through the character's clips.

Garment vertices and the body are posed with the same skinning the renderer uses (LBS); each
posed garment vertex gets a signed distance to the posed body surface — its distance to the
closest body point, negative when it lies behind the body's (interpolated) normal there. The
depth of the deepest vertex over all sampled frames is the garment's penetration.

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
from reskin.core.skeleton import Skeleton, forward_kinematics, skinning_matrices
from reskin.rigging.skinning import lbs
from reskin.skins.garments import Garment
from reskin.skins.weight_transfer import closest_points_on_triangles

WARN_DEPTH = 0.01
"""Metres of penetration above which the job warns (a centimetre shows at close-up)."""
NEAR = 0.12
"""Only body faces within this distance of a garment's rest bounds can be hit by it."""
CLOSE = 0.04
"""A garment vertex with a body face centre within this distance (metres) is measured exactly
against its ``CANDIDATES`` nearest faces. One farther away is measured against the faces of
its nearest two centres: whether it is in or out is still decided, and if it is in, it is
centimetres deep, far past ``WARN_DEPTH``, so the depth need not be exact."""
CANDIDATES = 12
"""Faces examined per near vertex (nearest by centre: the body's faces are evenly sized)."""
FAR_CANDIDATES = 2
SPREAD = 1000.0
"""Metres between poses laid side by side in one search tree."""


def pose_matrices(skeleton: Skeleton, clip: Clip, frames: Sequence[int]) -> np.ndarray:
    """(f, j, 4, 4) skinning matrices of ``clip`` at ``frames``."""
    rot = clip.for_skeleton(skeleton.names)[list(frames)]
    return skinning_matrices(skeleton, forward_kinematics(
        skeleton, rot, clip.root_translation[list(frames)]))


def sample_poses(skeleton: Skeleton, clips: Sequence[Clip], frames_per_clip: int) -> np.ndarray:
    """(p, j, 4, 4) distinct skinning matrices: the rest pose and ``frames_per_clip`` evenly
    spaced frames of every clip. A pose met twice (a looping clip's first and last frame, a
    clip starting at rest) would give the same depth twice, so each is kept once."""
    mats = [np.tile(np.eye(4), (1, len(skeleton.names), 1, 1))]
    for clip in clips:
        frames = np.unique(np.linspace(0, clip.frames - 1, frames_per_clip).round().astype(int))
        mats.append(pose_matrices(skeleton, clip, frames))
    return np.unique(np.concatenate(mats), axis=0)


def _near_faces(vertices: np.ndarray, faces: np.ndarray, garments: Sequence[Garment]
                ) -> np.ndarray:
    """Body faces with a corner within ``NEAR`` of some garment's rest bounding box."""
    inside = np.zeros(len(vertices), bool)
    for g in garments:
        gv = np.asarray(g.vertices, np.float64)
        lo, hi = gv.min(axis=0) - NEAR, gv.max(axis=0) + NEAR
        inside |= np.all((vertices >= lo) & (vertices <= hi), axis=1)
    return faces[inside[faces].any(axis=1)]


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


def _cross(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """np.cross of (..., 3) arrays without its axis juggling (several times faster here)."""
    out = np.empty(np.broadcast_shapes(a.shape, b.shape))
    ax, ay, az = a[..., 0], a[..., 1], a[..., 2]
    bx, by, bz = b[..., 0], b[..., 1], b[..., 2]
    np.subtract(ay * bz, az * by, out=out[..., 0])
    np.subtract(az * bx, ax * bz, out=out[..., 1])
    np.subtract(ax * by, ay * bx, out=out[..., 2])
    return out


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


def garment_penetration(
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
