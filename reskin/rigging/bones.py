"""Bone segments of an arbitrary skinned skeleton, for bone-heat weights on someone else's rig.

Imported rigs give joints, not bones: a glTF skin has a bind matrix per joint and a hierarchy,
with any rest rotations (CesiumMan's joints are rolled, Fox's bones run along local +X, Blender's
along +Y). Bone heat needs segments in the mesh's bind space, and needs to know which joints
deform at all: game rigs carry root, socket and helper joints that artists leave unweighted.

Rules, all from the rig and the mesh, never from existing weights:
- a joint with children owns one segment to each child's head (a hip joint then covers the
  pelvis towards both thighs, as artists weight it);
- a leaf gets a segment along its bone axis (the local axis the rig's parent->child offsets
  use, when they agree; else the parent's direction continued), as long as the mesh region
  closest to it reaches;
- a joint deforms only if part of its bone lies inside the mesh (generalised winding number),
  and its name does not mark it as a control (root, socket, IK, pole, target, attachment).
"""

from __future__ import annotations

import re
from collections.abc import Sequence

import numpy as np

_CONTROL_NAME = re.compile(r"root|socket|(^|[_\W])ik([_\W]|$)|pole|target|ctrl|control|attach|"
                           r"prop|weapon|nub$|_end$|end_?site", re.IGNORECASE)
_SAMPLES = 5  # points per segment for the inside test


def winding_numbers(vertices: np.ndarray, faces: np.ndarray, points: np.ndarray) -> np.ndarray:
    """Generalised winding number (p,) of points (p, 3): ~1 inside a closed surface, ~0 outside,
    in between near holes (Jacobson et al. 2013; van Oosterom & Strackee solid angles).

    The sign of the surface's orientation does not matter here: the absolute value is used.
    """
    tri = np.asarray(vertices, np.float64)[np.asarray(faces, np.int64)]
    out = np.empty(len(points))
    for i, p in enumerate(np.asarray(points, np.float64)):
        a, b, c = (tri[:, k] - p for k in range(3))
        la, lb, lc = (np.linalg.norm(x, axis=1) for x in (a, b, c))
        num = np.einsum("ij,ij->i", a, np.cross(b, c))
        den = (la * lb * lc + np.einsum("ij,ij->i", a, b) * lc
               + np.einsum("ij,ij->i", b, c) * la + np.einsum("ij,ij->i", c, a) * lb)
        out[i] = abs(np.arctan2(num, den).sum() / (2 * np.pi))
    return out


def _bone_axis(bind: np.ndarray, parents: np.ndarray) -> np.ndarray | None:
    """The local axis (3,) the rig's single children sit along, if at least 70 % agree."""
    heads = bind[:, :3, 3]
    votes = []
    for i in range(len(parents)):
        kids = np.flatnonzero(parents == i)
        if len(kids) != 1:
            continue
        d = np.linalg.solve(bind[i, :3, :3], heads[kids[0]] - heads[i])
        norm = np.linalg.norm(d)
        if norm == 0:
            continue
        k = int(np.argmax(np.abs(d)))
        if abs(d[k]) > 0.95 * norm:  # within ~18 degrees of a local axis
            votes.append((k, np.sign(d[k])))
        else:
            votes.append((-1, 0.0))
    if not votes:
        return None
    (k, sign), count = max(((v, votes.count(v)) for v in set(votes)), key=lambda x: x[1])
    if k < 0 or count < 0.7 * len(votes):
        return None
    axis = np.zeros(3)
    axis[k] = sign
    return axis


def bone_segments(
    bind: np.ndarray,
    parents: np.ndarray,
    names: Sequence[str],
    vertices: np.ndarray,
    faces: np.ndarray,
) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Bone segments in bind space and which joints deform.

    bind     : (j, 4, 4) joint bind matrices in mesh space (inverse of the inverse bind matrices)
    parents  : (j,) parent joint index, -1 for roots (any order)
    names    : (j,) joint names; vertices (n, 3), faces (m, 3): the bind-pose mesh
    returns heads (s, 3), tails (s, 3), owners (s,) int joint per segment, deforms (j,) bool;
    segments of non-deforming joints are left out.
    """
    bind = np.asarray(bind, np.float64)
    parents = np.asarray(parents, np.int64)
    v = np.asarray(vertices, np.float64)
    j = len(parents)
    heads_j = bind[:, :3, 3]
    axis = _bone_axis(bind, parents)
    extent = float(np.ptp(v, axis=0).max())
    control = np.array([bool(_CONTROL_NAME.search(n)) for n in names])
    # Which deforming joint's head is nearest each vertex: a leaf's bone reaches as far as its
    # region does (a socket at the fingertips must not cut the hand's bone short).
    cand = np.flatnonzero(~control) if (~control).any() else np.arange(j)
    near = cand[np.argmin(np.linalg.norm(v[:, None] - heads_j[None, cand], axis=2), axis=1)]
    segs: list[tuple[np.ndarray, np.ndarray, int]] = []
    for i in range(j):
        kids = [c for c in np.flatnonzero(parents == i)
                if np.linalg.norm(heads_j[c] - heads_j[i]) > 1e-3 * extent]
        if kids:
            segs += [(heads_j[i], heads_j[c], i) for c in kids]
            continue
        if axis is not None:
            d = bind[i, :3, :3] @ axis
        elif parents[i] >= 0:
            d = heads_j[i] - heads_j[parents[i]]
        else:
            d = np.zeros(3)
        norm = np.linalg.norm(d)
        if norm < 1e-9:
            segs.append((heads_j[i], heads_j[i], i))
            continue
        d /= norm
        mine = v[near == i]
        reach = float(((mine - heads_j[i]) @ d).max()) if len(mine) else 0.0
        if parents[i] >= 0:  # no further than the parent bone is long, into empty space
            reach = min(reach, np.linalg.norm(heads_j[i] - heads_j[parents[i]]))
        segs.append((heads_j[i], heads_j[i] + max(reach, 0.0) * 0.9 * d, i))
    heads = np.array([s[0] for s in segs])
    tails = np.array([s[1] for s in segs])
    owners = np.array([s[2] for s in segs], np.int64)
    # Inside test: a few points along every segment.
    t = np.linspace(0.0, 1.0, _SAMPLES)
    pts = heads[:, None] + t[None, :, None] * (tails - heads)[:, None]
    inside = winding_numbers(v, faces, pts.reshape(-1, 3)).reshape(len(segs), _SAMPLES) > 0.5
    deforms = np.zeros(j, bool)
    np.logical_or.at(deforms, owners, inside.any(axis=1))
    deforms &= ~control
    if not deforms.any():  # never leave a mesh without bones: fall back to every joint
        deforms[:] = True
    keep = deforms[owners]
    return heads[keep], tails[keep], owners[keep], deforms


# Heat constant c for imported rigs. Baran & Popovic's c = 1 suits dense meshes (reskin's own
# characters); game meshes have a handful of vertices across a joint, where c = 1 blends over
# whole limb segments. Measured by bench/rig_quality.py (mean deviation from the artists'
# weights, % of height, RiggedFigure/CesiumMan/Fox/greenman): c = 1: 0.19/0.24/1.13/2.04;
# c = 4: 0.14/0.14/0.80/1.08; c = 8: 0.14/0.15/0.74/0.96; c = 64: 0.15/0.19/0.73/1.12.
IMPORTED_HEAT_CONSTANT = 8.0


def rig_weights(
    vertices: np.ndarray,
    faces: np.ndarray,
    bind: np.ndarray,
    parents: np.ndarray,
    names: Sequence[str],
    max_influences: int = 4,
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """reskin's bone-heat weights for a mesh on its own (imported) skeleton.

    vertices (n, 3), faces (m, 3): the bind-pose mesh; bind (j, 4, 4), parents (j,), names (j,)
    as :func:`bone_segments`.
    returns joints (n, max_influences) uint16, weights (n, max_influences) float32 (rows sum to
    1, sorted descending) and deforms (j,) bool, the joints that were given weight.
    """
    from reskin.rigging.weights import heat_weights

    heads, tails, owners, deforms = bone_segments(bind, parents, names, vertices, faces)
    joints, weights = heat_weights(vertices, faces, heads, tails, owners, len(parents),
                                   max_influences, heat_constant=IMPORTED_HEAT_CONSTANT)
    return joints, weights, deforms
