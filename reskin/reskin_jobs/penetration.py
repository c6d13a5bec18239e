"""How far garments sink into the body through the character's clips.

Garment vertices and the body are posed with the same skinning the renderer uses (LBS); each
posed garment vertex gets a signed distance to the posed body surface — its distance to the
closest body point, negative when it lies behind the body's (interpolated) normal there. The
depth of the deepest vertex over all sampled frames is the garment's penetration.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from reskin.reskin_jobs.garments import Garment
from reskin.reskin_jobs.weight_transfer import closest_on_mesh
from reskin.rigging.clip import Clip
from reskin.rigging.skeleton import Skeleton, forward_kinematics, skinning_matrices
from reskin.rigging.skinning import lbs

WARN_DEPTH = 0.01
"""Metres of penetration above which the job warns (a centimetre shows at close-up)."""
NEAR = 0.12
"""Only body faces within this distance of a garment's rest bounds can be hit by it."""
SEARCH_MARGIN = 0.1
"""Closest-point search looks first within this distance of the posed garment (exact: it
widens to every near face when a candidate lies farther, see ``closest_on_mesh``)."""


def signed_distance(points: np.ndarray, vertices: np.ndarray, faces: np.ndarray
                    ) -> np.ndarray:
    """(q,) signed distance of points (q, 3) to a closed mesh: negative inside.

    The sign comes from the barycentric blend of vertex normals at the closest point, which is
    robust at edges and corners where a single face normal would misjudge it.
    """
    v = np.asarray(vertices, np.float64)
    closest, face, bary = closest_on_mesh(points, v, faces, margin=SEARCH_MARGIN)
    fn = np.cross(v[faces[:, 1]] - v[faces[:, 0]], v[faces[:, 2]] - v[faces[:, 0]])
    # Area-weighted vertex normals; bincount adds corner 0, 1, 2 of each face in the order
    # np.add.at would, so the sums are the same.
    corner = np.asarray(faces, np.int64).T.ravel()
    vn = np.stack([np.bincount(corner, weights=np.tile(fn[:, d], 3), minlength=len(v))
                   for d in range(3)], axis=1)
    n = np.einsum("qk,qkd->qd", bary, vn[faces[face]])
    d = np.asarray(points, np.float64) - closest
    dist = np.linalg.norm(d, axis=1)
    return np.where(np.einsum("qd,qd->q", d, n) < 0, -dist, dist)


def _near_faces(vertices: np.ndarray, faces: np.ndarray, lo: np.ndarray, hi: np.ndarray
                ) -> np.ndarray:
    inside = np.all((vertices >= lo - NEAR) & (vertices <= hi + NEAR), axis=1)
    return faces[inside[faces].any(axis=1)]


def pose_matrices(skeleton: Skeleton, clip: Clip, frames: Sequence[int]) -> np.ndarray:
    """(f, j, 4, 4) skinning matrices of ``clip`` at ``frames``."""
    rot = clip.for_skeleton(skeleton.names)[list(frames)]
    return skinning_matrices(skeleton, forward_kinematics(
        skeleton, rot, clip.root_translation[list(frames)]))


def garment_penetration(
    body_vertices: np.ndarray, body_faces: np.ndarray, body_joints: np.ndarray,
    body_weights: np.ndarray, skeleton: Skeleton, garments: Sequence[Garment],
    clips: Sequence[Clip], frames_per_clip: int = 5,
) -> dict[str, float]:
    """garment name -> deepest penetration in metres (0 when it never enters the body) over
    ``frames_per_clip`` evenly spaced frames of every clip (rest pose included)."""
    out: dict[str, float] = {}
    if not garments:
        return out
    mats = [np.tile(np.eye(4), (1, len(skeleton.names), 1, 1))]  # the rest pose
    for clip in clips:
        frames = np.unique(np.linspace(0, clip.frames - 1, frames_per_clip).round().astype(int))
        mats.append(pose_matrices(skeleton, clip, frames))
    # A pose met twice (a looping clip's first and last frame, a clip starting at rest) gives
    # the same depth twice: each distinct pose is measured once.
    all_mats = np.unique(np.concatenate(mats), axis=0)
    for g in garments:
        gv = np.asarray(g.vertices, np.float64)
        faces = _near_faces(body_vertices, body_faces, gv.min(axis=0), gv.max(axis=0))
        used, local = np.unique(faces, return_inverse=True)
        local = local.reshape(-1, 3)
        posed_body = lbs(body_vertices[used], body_joints[used], body_weights[used], all_mats)
        posed_g = lbs(gv, g.joints, g.weights, all_mats)
        deepest = 0.0
        for b, p in zip(posed_body, posed_g, strict=True):
            deepest = max(deepest, float(-signed_distance(p, b, local).min()))
        out[g.spec.name] = max(deepest, 0.0)
    return out
