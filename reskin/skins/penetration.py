"""How far garments sink into the body through the character's clips.

Garment vertices and the body are posed with the same skinning the renderer uses (LBS); each
posed garment vertex gets a signed distance to the posed body surface: its distance to the
closest body point among its candidate faces, negative when it lies behind the body's
(interpolated) normal there. The depth of the deepest vertex over all sampled frames is the
garment's penetration.

The candidates are those the reference method (``tests/skins/penetration_reference.py``) picks
among all body faces near the garment: the ``CANDIDATES`` faces with the nearest centres within
``CLOSE`` of the vertex, or else its ``FAR_CANDIDATES`` nearest. The reference finds them with a
search tree of every pose's posed body, built afresh per fit; here they are picked, pose by
pose, from the vertex's ``BIND_CANDIDATES`` nearest faces in the bind pose, found once in the
rest body (:func:`bind_candidates`: the part of the body around the garment, searched once; a
fit hands the same faces to the weight transfer, which needs the nearest few of them). A
garment moves with the body under it (its weights are the body's there, or its joint is the
body's), so the faces nearest a vertex in a pose are among those nearest it at rest; only those
faces (and their neighbours, for the normals) are posed, and no search tree is built per pose.
The posed points, centres and triangles are held by component ((3, n) and (9, n) rows), where
numpy runs several times faster than on (n, 3) rows, with sums in the order the row-wise
functions took them: the same bits.

Tested equal to the reference within 1e-4 m (in practice to the bit) on the sample garments,
shrunk into the body, grown off it and roughened.
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
from reskin.skins.weight_transfer import (
    CANDIDATE_FACES,
    closest_points_soa,
    in_box,
    lengths,
    nearest_faces,
)

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
BIND_CANDIDATES = 32
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


def _near_face_index(vertices: np.ndarray, faces: np.ndarray, garments: Sequence[Garment]
                     ) -> np.ndarray:
    """(f,) indices of the body faces with a corner within ``NEAR`` of some garment's rest
    bounding box."""
    inside = np.zeros(len(vertices), bool)
    x, y, z = np.ascontiguousarray(np.asarray(vertices).T)  # (n,) rows: faster than (n, 3)
    for g in garments:
        gv = np.asarray(g.vertices, np.float64)
        lo, hi = gv.min(axis=0) - NEAR, gv.max(axis=0) + NEAR
        inside |= in_box(x, y, z, lo, hi)
    f0, f1, f2 = np.ascontiguousarray(np.asarray(faces).T)
    return np.flatnonzero(inside[f0] | inside[f1] | inside[f2])


def _near_faces(vertices: np.ndarray, faces: np.ndarray, garments: Sequence[Garment]
                ) -> np.ndarray:
    """Body faces with a corner within ``NEAR`` of some garment's rest bounding box."""
    return faces[_near_face_index(vertices, faces, garments)]


def bind_candidates(points: np.ndarray, vertices: np.ndarray, faces: np.ndarray
                    ) -> np.ndarray:
    """(q, k) the body faces with the nearest centres to garment vertices (q, 3) in the bind
    pose, nearest first, of the whole body (faces (m, 3) into vertices (n, 3)): what
    :func:`garment_penetration` takes as ``candidates`` (its ``BIND_CANDIDATES``) and the
    weight transfer as its (``CANDIDATE_FACES``, the first ones), so that a fit searches once.
    The search starts ``CLOSE`` around the garment, where most of its vertices lie."""
    k = max(BIND_CANDIDATES, CANDIDATE_FACES)
    return nearest_faces(points, vertices, faces, k, margin=CLOSE)[1]


def _bind_pose_candidates(rest: np.ndarray, bv: np.ndarray, near: np.ndarray,
                          body_faces: np.ndarray, given: np.ndarray | None, k: int
                          ) -> np.ndarray:
    """(q, k) each rest garment vertex's ``k`` nearest of the faces ``near`` (indices into
    body_faces (m, 3)) by centre, as positions in ``near``. ``given``: (q, >= k) its nearest
    faces of the whole body (:func:`bind_candidates`); a row whose k nearest all lie among
    ``near`` has them among ``near`` too (``near`` is part of the body), the others (a
    vertex far off the body) are searched among ``near`` alone."""
    at = np.full(len(body_faces), -1)
    at[near] = np.arange(len(near))
    if given is not None and given.shape[1] >= k:
        cand = at[given[:, :k]]
        redo = np.flatnonzero((cand < 0).any(axis=1))
    else:
        cand, redo = np.zeros((len(rest), k), np.int64), np.arange(len(rest))
    if len(redo):
        centres = bv[body_faces[near]].mean(axis=1)
        _, found = cKDTree(centres).query(rest[redo], k=k)
        cand[redo] = found.reshape(len(redo), k)
    return cand


def _cross(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """np.cross of (..., 3) arrays without its axis juggling (several times faster here)."""
    out = np.empty(np.broadcast_shapes(a.shape, b.shape))
    ax, ay, az = a[..., 0], a[..., 1], a[..., 2]
    bx, by, bz = b[..., 0], b[..., 1], b[..., 2]
    np.subtract(ay * bz, az * by, out=out[..., 0])
    np.subtract(az * bx, ax * bz, out=out[..., 1])
    np.subtract(ax * by, ay * bx, out=out[..., 2])
    return out



def _signed(points: np.ndarray, cand: np.ndarray, tri: np.ndarray, normals: np.ndarray,
            local: np.ndarray, u: int) -> np.ndarray:
    """(r,) signed distance of points (3, r) to the nearest of their candidate faces (r, c)
    (pose * m + face): tri (9, p m) every pose's triangles by component (corner, xyz),
    normals (p u, 3) its vertex normals, local (m, 3) the faces into the pose's u vertices."""
    r, c = cand.shape
    if r == 0:
        return np.zeros(0)
    m = len(local)
    rep = np.repeat(points, c, axis=1)  # (3, r c)
    closest, bary = closest_points_soa(rep, tri[:, cand.ravel()])
    d = lengths(closest - rep).reshape(r, c)
    best = np.argmin(d, axis=1)
    at = np.arange(r) * c + best
    chosen = cand[np.arange(r), best]
    corners = (chosen // m)[:, None] * u + local[chosen % m]  # (r, 3) rows of ``normals``
    n = np.einsum("rk,rkd->rd", np.ascontiguousarray(bary[:, at].T), normals[corners])
    inward = np.einsum("rd,rd->r", np.ascontiguousarray((points - closest[:, at]).T), n) < 0
    dist = d[np.arange(r), best]
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
    to candidates cand (r, k). Returns (near (r,) bool, near faces (a, CANDIDATES), far faces
    (r - a, FAR_CANDIDATES)), nearest first."""
    kn, kf = min(CANDIDATES, cand.shape[1]), min(FAR_CANDIDATES, cand.shape[1])
    top = np.argpartition(centre_dist, kn - 1, axis=1)[:, :kn]  # the kn nearest, unordered
    dist = np.take_along_axis(centre_dist, top, axis=1)
    order = np.argsort(dist, axis=1)
    dist = np.take_along_axis(dist, order, axis=1)
    ranked = np.take_along_axis(np.take_along_axis(cand, top, axis=1), order, axis=1)
    near = dist[:, 0] <= CLOSE
    close = dist[near, :kn] <= CLOSE
    near_cand = np.where(close, ranked[near, :kn], ranked[near, :1])
    return near, near_cand, ranked[~near, :kf]


def garment_penetration(
    body_vertices: np.ndarray, body_faces: np.ndarray, body_joints: np.ndarray,
    body_weights: np.ndarray, skeleton: Skeleton, garments: Sequence[Garment],
    clips: Sequence[Clip], frames_per_clip: int = 5, poses: np.ndarray | None = None,
    candidates: Sequence[np.ndarray] | None = None,
) -> dict[str, float]:
    """garment name -> deepest penetration in metres (0 when it never enters the body) over
    ``frames_per_clip`` evenly spaced frames of every clip (rest pose included).

    body_vertices (n, 3), body_faces (m, 3), body_joints/body_weights (n, k); each garment
    carries its rest vertices (g, 3) and the joints/weights it is skinned with. ``poses``:
    :func:`sample_poses` of the clips when the caller has them already; ``candidates``: each
    garment's :func:`bind_candidates` when the caller has them (the same depths either way).
    """
    if not garments:
        return {}
    mats = sample_poses(skeleton, clips, frames_per_clip) if poses is None else poses
    bv = np.asarray(body_vertices, np.float64)
    body_faces = np.asarray(body_faces, np.int64)
    near = _near_face_index(bv, body_faces, garments)
    if len(near) == 0:  # nothing of the body is within reach of any garment
        return {g.spec.name: 0.0 for g in garments}
    faces = body_faces[near]
    rest = np.concatenate([np.asarray(g.vertices, np.float64) for g in garments])  # (q, 3)
    owner = np.concatenate([np.full(len(g.vertices), i) for i, g in enumerate(garments)])
    # Once, in the bind pose: each garment vertex's nearest faces (one search, never redone).
    k = min(BIND_CANDIDATES, len(faces))
    given = (np.concatenate([np.asarray(c, np.int64) for c in candidates])
             if candidates is not None else bind_candidates(rest, bv, body_faces))
    cand = _bind_pose_candidates(rest, bv, near, body_faces, given, k)
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
    centres = (corner_avg @ by_pose).reshape(m, n_poses, 3).transpose(2, 1, 0)  # (3, p, m)
    # Every pose's triangles by component (corner, xyz): (9, p m), face f of pose p at p m + f.
    tri = np.ascontiguousarray(
        np.take(posed_body, local, axis=1).reshape(n_poses * m, 9).T)
    fn = _cross((tri[3:6] - tri[0:3]).T, (tri[6:9] - tri[0:3]).T)  # (p m, 3)
    incidence = csr_matrix((np.ones(3 * m), (local.T.ravel(), np.tile(np.arange(m), 3))),
                           shape=(u, m))
    fn = fn.reshape(n_poses, m, 3).transpose(1, 0, 2).reshape(m, -1)  # (m, 3 p)
    normals = (incidence @ fn).reshape(u, n_poses, 3)
    normals = normals.transpose(1, 0, 2).reshape(-1, 3)  # (p u, 3): pose p's at p * u
    # By component from here: every pose's points (3, p q), centres (3, p m), corners (9, p m).
    flat_cand = (cand[None] + (np.arange(n_poses) * m)[:, None, None]).reshape(-1, k)
    points = np.ascontiguousarray(posed_g.reshape(-1, 3).T)
    flat_centres = np.ascontiguousarray(centres.reshape(3, -1))
    off = [flat_centres[i][flat_cand] - points[i][:, None] for i in range(3)]  # (p q, k)
    # einsum's order of sums over (x, y, z): the reference's distances to the bit.
    centre_dist = np.sqrt((off[0] * off[0] + off[2] * off[2]) + off[1] * off[1])
    near_row, near_cand, far_cand = _pose_candidates(centre_dist, flat_cand)
    signed = np.empty(points.shape[1])
    signed[near_row] = _signed(points[:, near_row], near_cand, tri, normals, local, u)
    far = ~near_row
    signed[far] = _signed(points[:, far], far_cand, tri, normals, local, u)
    deepest = np.maximum(-signed.reshape(n_poses, q).min(axis=0), 0.0)  # (q,) over all poses
    return {g.spec.name: float(deepest[owner == i].max()) for i, g in enumerate(garments)}
