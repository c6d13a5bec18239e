"""How far garments sink into the body through the character's clips.

Garment vertices and the body are posed with the same skinning the renderer uses (LBS); each
posed garment vertex gets a signed distance to the posed body surface: its distance to the
closest body point among its candidate faces, negative when it lies behind the body's
(interpolated) normal there. The depth of the deepest vertex over all sampled frames is the
garment's penetration.

The candidates are those of the reference method (:mod:`reskin.skins.penetration_kdtree`):
the ``CANDIDATES`` faces with the nearest centres within ``CLOSE`` of the vertex, or else its
``FAR_CANDIDATES`` nearest. What makes it cheap is searching only where an answer can be:

- in each pose, only the body faces whose centre lies within ``REACH`` of some posed garment
  vertex enter the search tree (a grid of ``REACH``-sized cells finds them; a scarf reaches a
  few thousand of the neck's faces, not the whole upper body). Every centre within ``CLOSE``
  of a vertex is among them, so near vertices get the reference's candidates; a far vertex
  whose nearest centres are past ``REACH`` is searched again against its pose's whole body;
- of a vertex's candidates, only those whose centre is within the face's radius of the
  nearest centre can hold the closest point (a face lies in the ball of its radius about its
  centre), so only those are measured exactly;
- vertex normals are summed only at the corners of candidate faces.

The result is the reference's up to ties between equally near faces (tested against it).
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
BIND_CANDIDATES = 48
"""Faces a garment vertex may meet in any pose: its nearest by centre in the bind pose. The
garment moves with the body under it (its weights are the body's there, or its joint is the
body's), so the faces nearest it in a pose are among the few dozen nearest at rest."""


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


def _cross(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """np.cross of (..., 3) arrays without its axis juggling (several times faster here)."""
    out = np.empty(np.broadcast_shapes(a.shape, b.shape))
    ax, ay, az = a[..., 0], a[..., 1], a[..., 2]
    bx, by, bz = b[..., 0], b[..., 1], b[..., 2]
    np.subtract(ay * bz, az * by, out=out[..., 0])
    np.subtract(az * bx, ax * bz, out=out[..., 1])
    np.subtract(ax * by, ay * bx, out=out[..., 2])
    return out



def _signed(points: np.ndarray, cand: np.ndarray, centre_dist: np.ndarray, tri: np.ndarray,
            radius: np.ndarray, normals: np.ndarray, local: np.ndarray, u: int) -> np.ndarray:
    """(r,) signed distance of points (r, 3) to the nearest of their candidate faces (r, c)
    (pose * m + face, nearest centre first, ``centre_dist`` (r, c) away): tri (p m, 3, 3) and
    radius (p m,) every pose's triangles and their reach from their centres, normals (p u, 3)
    its vertex normals, local (m, 3) the faces into the pose's u vertices."""
    r, c = cand.shape
    if r == 0:
        return np.zeros(0)
    m = len(local)
    # The first few candidates are measured exactly; a later one can only be nearer if its
    # centre is within its radius of the nearest found (a face lies in that ball), which few
    # are: the others are not measured.
    first = min(3, c)
    keep = np.zeros((r, c), bool)
    keep[:, :first] = True
    pair = np.flatnonzero(keep.ravel())
    rep = points[pair // c]
    closest, bary = closest_points_on_triangles(rep, tri[cand.ravel()[pair]])
    d = np.full(r * c, np.inf)
    d[pair] = np.linalg.norm(closest - rep, axis=1)
    found = d.reshape(r, c).min(axis=1)
    more = (centre_dist - radius[cand] <= found[:, None] + 1e-12) & ~keep
    more[:, 1:] &= cand[:, 1:] != cand[:, :1]  # a short list's repeats of the nearest
    extra = np.flatnonzero(more.ravel())
    rep2 = points[extra // c]
    closest2, bary2 = closest_points_on_triangles(rep2, tri[cand.ravel()[extra]])
    d[extra] = np.linalg.norm(closest2 - rep2, axis=1)
    pair = np.concatenate([pair, extra])
    closest, bary = np.concatenate([closest, closest2]), np.concatenate([bary, bary2])
    best = np.argmin(d.reshape(r, c), axis=1)
    at = np.empty(r * c, np.int64)
    at[pair] = np.arange(len(pair))
    at = at[np.arange(r) * c + best]  # the chosen pair's row in closest, bary
    chosen = cand[np.arange(r), best]
    corners = (chosen // m)[:, None] * u + local[chosen % m]  # (r, 3) rows of ``normals``
    n = np.einsum("rk,rkd->rd", bary[at], normals[corners])
    inward = np.einsum("rd,rd->r", points - closest[at], n) < 0
    dist = d.reshape(r, c)[np.arange(r), best]
    return np.where(inward, -dist, dist)


def _ring(faces: np.ndarray, n_vertices: int, chosen: np.ndarray
          ) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """The faces a normal at the corners of faces ``chosen`` needs: (used vertices (u,),
    faces (r, 3) into them, which of ``faces`` (r,), where each of ``faces`` went (m,),
    -1 if not kept). faces (m, 3) into n_vertices vertices; chosen (c,) into faces."""
    corner = np.zeros(n_vertices, bool)
    corner[faces[chosen].ravel()] = True
    ring = np.flatnonzero(corner[faces].any(axis=1))  # every face touching such a corner
    where = np.full(len(faces), -1)
    where[ring] = np.arange(len(ring))
    keep = np.zeros(n_vertices, bool)
    keep[faces[ring].ravel()] = True
    return np.flatnonzero(keep), (np.cumsum(keep) - 1)[faces[ring]], ring, where


def _pose_candidates(centre_dist: np.ndarray, cand: np.ndarray) -> tuple[np.ndarray, ...]:
    """The faces of each posed point chosen as the reference chooses among all faces: the
    ``CANDIDATES`` nearest centres within ``CLOSE`` (a short list repeats the nearest), or,
    with none that close, the ``FAR_CANDIDATES`` nearest. centre_dist (r, k) posed distances
    to candidates cand (r, k). Returns (near (r,) bool, near faces (a, CANDIDATES) and their
    centres' distances, far faces (r - a, FAR_CANDIDATES) and theirs), nearest first."""
    order = np.argsort(centre_dist, axis=1)
    dist = np.take_along_axis(centre_dist, order, axis=1)
    ranked = np.take_along_axis(cand, order, axis=1)
    near = dist[:, 0] <= CLOSE
    kn, kf = min(CANDIDATES, cand.shape[1]), min(FAR_CANDIDATES, cand.shape[1])
    close = dist[near, :kn] <= CLOSE
    near_cand = np.where(close, ranked[near, :kn], ranked[near, :1])
    near_dist = np.where(close, dist[near, :kn], dist[near, :1])
    return near, near_cand, near_dist, ranked[~near, :kf], dist[~near, :kf]


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
    rest = np.concatenate([np.asarray(g.vertices, np.float64) for g in garments])  # (q, 3)
    owner = np.concatenate([np.full(len(g.vertices), i) for i, g in enumerate(garments)])
    # Once, in the bind pose: each garment vertex's nearest faces (one tree, never rebuilt).
    k = min(BIND_CANDIDATES, len(faces))
    _, cand = cKDTree(bv[faces].mean(axis=1)).query(rest, k=k)
    cand = cand.reshape(len(rest), k)
    used, local, _, where = _ring(faces, len(bv), np.unique(cand))
    cand = where[cand]  # into ``local``
    u, m = len(used), len(local)
    posed_body = lbs(bv[used], body_joints[used], body_weights[used], mats)  # (p, u, 3)
    posed_g = np.concatenate([lbs(np.asarray(g.vertices, np.float64), g.joints, g.weights, mats)
                              for g in garments], axis=1)  # (p, q, 3)
    n_poses, q = posed_g.shape[:2]
    # Centres and area-weighted vertex normals of the few faces kept, in every pose at once
    # ((m, u) corner-averaging and (u, m) incidence matrices times (.., 3 p)).
    by_pose = posed_body.transpose(1, 0, 2).reshape(u, -1)  # (u, 3 p)
    corner_avg = csr_matrix((np.full(3 * m, 1 / 3), (np.repeat(np.arange(m), 3), local.ravel())),
                            shape=(m, u))
    centres = (corner_avg @ by_pose).reshape(m, n_poses, 3).transpose(1, 0, 2)  # (p, m, 3)
    tri = np.take(posed_body, local, axis=1)  # (p, m, 3, 3)
    fn = _cross(tri[:, :, 1] - tri[:, :, 0], tri[:, :, 2] - tri[:, :, 0])  # (p, m, 3)
    incidence = csr_matrix((np.ones(3 * m), (local.T.ravel(), np.tile(np.arange(m), 3))),
                           shape=(u, m))
    normals = (incidence @ fn.transpose(1, 0, 2).reshape(m, -1)).reshape(u, n_poses, 3)
    normals = normals.transpose(1, 0, 2).reshape(-1, 3)  # (p u, 3): pose p's at p * u
    radius = np.sqrt(np.einsum("pmkd,pmkd->pmk", *(tri - centres[:, :, None],) * 2).max(axis=2))
    flat_cand = (cand[None] + (np.arange(n_poses) * m)[:, None, None]).reshape(-1, k)
    off = centres.reshape(-1, 3)[flat_cand] - posed_g.reshape(-1, 1, 3)  # (p q, k, 3)
    centre_dist = np.sqrt(np.einsum("rkd,rkd->rk", off, off))  # to each candidate's centre
    near, near_cand, near_dist, far_cand, far_dist = _pose_candidates(centre_dist, flat_cand)
    points = posed_g.reshape(-1, 3)
    signed = np.empty(len(points))
    flat_tri = tri.reshape(-1, 3, 3)
    radius = radius.ravel()
    signed[near] = _signed(points[near], near_cand, near_dist, flat_tri, radius, normals,
                           local, u)
    signed[~near] = _signed(points[~near], far_cand, far_dist, flat_tri, radius, normals,
                            local, u)
    deepest = np.maximum(-signed.reshape(n_poses, q).min(axis=0), 0.0)  # (q,) over all poses
    return {g.spec.name: float(deepest[owner == i].max()) for i, g in enumerate(garments)}
