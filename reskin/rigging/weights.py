"""Skin weights by bone heat diffusion (Baran & Popovic 2007, "Automatic Rigging and Animation
of 3D Characters").

Each bone's weight field is the equilibrium temperature of the surface when that bone is a heat
source: heat reaches a vertex from its nearest bone and diffuses along the surface. Unlike plain
distance-to-bone weights, diffusion follows the surface, so an arm vertex that is close in space
to the torso stays bound to the arm, weights vary smoothly across joints, and every field is
found from one sparse linear system shared by all bones. It needs no volumetric mesh, which
imported characters (open, non-manifold, split into islands) rarely give.
"""

from __future__ import annotations

import re
from collections.abc import Sequence

import numpy as np
from scipy.sparse import coo_matrix, diags
from scipy.sparse.linalg import splu

from reskin.core.skeleton import Skeleton
from reskin.rigging.islands import find_parts, respect_parts, source_mask
from reskin.rigging.regions import head_joint, rigid_head

# Heat-transfer constant c of H_ii = c / d_i^2; Baran & Popovic found 1 works for all shapes.
HEAT_CONSTANT = 1.0
# The constant bind_weights uses: sharper than Baran & Popovic's, as artists blend joints over
# a band about as wide as the limb is thick, not along whole bones. Measured by
# bench/rig_weights.py (ratio of the mean deviation from the artists' weights to nearest-bone
# rigid weights' on the three avatars, with the rigid head): c = 1: 0.76/0.35/0.79;
# c = 8: 0.43/0.21/0.41 (bones.py found 8 best on game meshes too).
BIND_HEAT_CONSTANT = 8.0
# Every mesh edge conducts at least this much (in cotangent units): clamping negative cotangent
# weights can otherwise cut a vertex off its neighbours on sliver-rich meshes (marching cubes).
_EDGE_FLOOR = 1e-2


def normalize_top_k(weights_dense: np.ndarray, k: int) -> tuple[np.ndarray, np.ndarray]:
    """Keep each row's ``k`` largest weights and renormalise them.

    weights_dense : (n, j) float, non-negative influence of joint j on vertex n
    returns joints (n, k) uint16 and weights (n, k) float32: rows sorted by weight descending,
    summing to 1; slots without influence have weight 0 and point at joint 0.
    Raises ValueError when a row has no positive weight.
    """
    w = np.asarray(weights_dense, np.float64)
    if w.ndim != 2:
        raise ValueError(f"weights_dense must be (n, j), got shape {w.shape}")
    if k < 1:
        raise ValueError(f"k must be at least 1, got {k}")
    if w.shape[1] > np.iinfo(np.uint16).max + 1:
        raise ValueError(f"at most 65536 joints fit uint16 indices, got {w.shape[1]}")
    n, j = w.shape
    w = np.where(np.isfinite(w) & (w > 0), w, 0.0)
    kk = min(k, j)
    # Stable sort on the negated weights: ties keep joint order, so the result is reproducible.
    order = np.argsort(-w, axis=1, kind="stable")[:, :kk]
    top = np.take_along_axis(w, order, axis=1)
    total = top.sum(axis=1)
    empty = np.flatnonzero(total <= 0)
    if len(empty):
        raise ValueError(f"{len(empty)} rows have no positive weight (first: row {empty[0]})")
    top /= total[:, None]
    joints = np.zeros((n, k), np.uint16)
    weights = np.zeros((n, k), np.float32)
    joints[:, :kk] = order
    weights[:, :kk] = top
    joints[weights == 0] = 0
    return joints, weights


def _segment_distances(points: np.ndarray, heads: np.ndarray, tails: np.ndarray) -> np.ndarray:
    """(n, b) distance from each point (n, 3) to each segment heads[b] -> tails[b]."""
    d = tails - heads  # (b, 3)
    len2 = np.einsum("ij,ij->i", d, d)
    rel = points[:, None, :] - heads[None, :, :]  # (n, b, 3)
    t = np.einsum("nbk,bk->nb", rel, d) / np.where(len2 > 0, len2, 1.0)
    t = np.clip(np.where(len2 > 0, t, 0.0), 0.0, 1.0)
    diff = rel - t[..., None] * d[None]
    return np.sqrt(np.einsum("nbk,nbk->nb", diff, diff))


def _cotangent_laplacian(v: np.ndarray, f: np.ndarray) -> tuple[coo_matrix, np.ndarray]:
    """Clamped cotangent stiffness L (n, n) and lumped (barycentric) vertex areas (n,).

    Duplicated and non-manifold faces simply add their terms, so any triangle soup works.
    """
    n = len(v)
    rows, cols, vals = [], [], []
    tri = v[f]
    area2 = np.linalg.norm(np.cross(tri[:, 1] - tri[:, 0], tri[:, 2] - tri[:, 0]), axis=1)
    for k in range(3):
        i, j = f[:, (k + 1) % 3], f[:, (k + 2) % 3]
        e1, e2 = v[i] - v[f[:, k]], v[j] - v[f[:, k]]
        dot = np.einsum("ij,ij->i", e1, e2)
        scale = np.einsum("ij,ij->i", e1, e1) + np.einsum("ij,ij->i", e2, e2)
        # Zero-area faces carry no cotangent (it would be infinite); the edge floor still
        # connects their vertices.
        good = area2 > 1e-12 * np.maximum(scale, 1e-300)
        cot = np.where(good, dot / np.where(good, area2, 1.0), 0.0)
        keep = i != j
        rows += [i[keep], j[keep]]
        cols += [j[keep], i[keep]]
        vals += [0.5 * cot[keep]] * 2
    r, c = np.concatenate(rows), np.concatenate(cols)
    w = coo_matrix((np.concatenate(vals), (r, c)), shape=(n, n)).tocsr()
    w.sum_duplicates()
    # Clamp per edge (the sum over the faces sharing it) so every off-diagonal weight is
    # positive: the system is then an M-matrix and weights stay in [0, 1] without overshoot.
    w.data = np.maximum(w.data, 0.0) + _EDGE_FLOOR
    lap = diags(np.asarray(w.sum(axis=1)).ravel()) - w
    mass = np.zeros(n)
    np.add.at(mass, f.ravel(), np.repeat(area2 / 6.0, 3))
    return lap.tocoo(), mass


def weld(vertices: np.ndarray, faces: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Merge vertices at exactly the same position (UV and normal seams of exported meshes).

    Without it a seam is a cut that heat cannot cross, and the two sides of a seam would get
    different weights and tear apart when posed.
    returns welded vertices (u, 3), faces (m, 3) into them, and inverse (n,) old -> welded index
    """
    v = np.asarray(vertices, np.float64)
    # First occurrence order keeps the result independent of np.unique's sort.
    _, first, inverse = np.unique(v, axis=0, return_index=True, return_inverse=True)
    inverse = inverse.ravel()
    order = np.argsort(first, kind="stable")
    rank = np.empty_like(order)
    rank[order] = np.arange(len(order))
    inverse = rank[inverse]
    return v[np.sort(first)], inverse[np.asarray(faces, np.int64)], inverse


def heat_weights(
    vertices: np.ndarray,
    faces: np.ndarray,
    heads: np.ndarray,
    tails: np.ndarray,
    owners: np.ndarray,
    n_joints: int,
    max_influences: int = 4,
    *,
    heat_constant: float = HEAT_CONSTANT,
    head: tuple[np.ndarray, np.ndarray, int] | None = None,
) -> tuple[np.ndarray, np.ndarray]:
    """Bone heat weights of bone segments, summed per owning joint.

    vertices : (n, 3) float; faces : (m, 3) int, any soup (islands, duplicated or non-manifold
    faces, coincident seam vertices: those are welded first)
    heads, tails : (b, 3) bone segments; owners : (b,) int joint of each segment (a joint may own
    several, e.g. one to each child) in [0, n_joints)
    Solves (L + M H) w_s = M H p_s for all segments s with one sparse factorisation: L the
    clamped cotangent Laplacian, M the lumped vertex areas, H_ii = c / d_i^2 with d_i the
    distance to the nearest segment, p_s(i) = 1 / (number of equally nearest segments) for the
    nearest segments, else 0.
    head : optional (joint heads (n_joints, 3), parents (n_joints,), head joint): make the head
    a rigid region above the neck's narrowest cross-section (:func:`regions.rigid_head`).
    returns joints (n, max_influences) uint16 and weights (n, max_influences) float32, as
    :func:`normalize_top_k`. Deterministic: the same input gives bit-identical output.
    """
    v = np.asarray(vertices, np.float64)
    f = np.asarray(faces, np.int64).reshape(-1, 3)
    if v.ndim != 2 or v.shape[1] != 3 or len(v) == 0:
        raise ValueError(f"vertices must be a non-empty (n, 3) array, got shape {v.shape}")
    if len(f) and (f.min() < 0 or f.max() >= len(v)):
        raise ValueError("faces index outside vertices")
    if not np.isfinite(v).all():
        raise ValueError("vertices contain NaN or Inf")
    heads = np.asarray(heads, np.float64).reshape(-1, 3)
    tails = np.asarray(tails, np.float64).reshape(-1, 3)
    owners = np.asarray(owners, np.int64).ravel()
    if len(heads) == 0 or heads.shape != tails.shape or owners.shape != (len(heads),):
        raise ValueError("need at least one bone segment, with heads, tails and owners alike")
    if owners.min() < 0 or owners.max() >= n_joints:
        raise ValueError(f"segment owners must be joints in [0, {n_joints})")
    v, f, inverse = weld(v, f)
    n = len(v)

    dist = _segment_distances(v, heads, tails)  # (n, b)
    parts = find_parts(v, f, heads, tails, owners, n_joints) if len(f) else None
    if parts is not None:  # a bone inside an island (an eye bone) heats only that island
        dist = np.where(source_mask(parts, len(heads)), dist, np.inf)
    extent = float(np.ptp(np.concatenate([v, heads, tails]), axis=0).max()) or 1.0
    nearest = dist.min(axis=1)
    # Ties (a vertex equidistant from two bones, e.g. around a shared joint) split the source.
    near = dist <= nearest[:, None] * (1.0 + 1e-6) + 1e-9 * extent
    p = near / near.sum(axis=1, keepdims=True)
    d = np.maximum(nearest, 1e-4 * extent)  # a vertex on a bone would get infinite heat
    heat = heat_constant / d**2

    if len(f):
        lap, mass = _cotangent_laplacian(v, f)
    else:
        lap, mass = coo_matrix((n, n)), np.zeros(n)
    # Vertices without area (unreferenced, or only on degenerate faces) still need a heat term
    # for the system to be non-singular; give them a sliver of the typical area.
    positive = mass[mass > 0]
    floor = 1e-6 * (float(positive.mean()) if len(positive) else extent**2)
    mass = np.maximum(mass, floor)

    mh = mass * heat
    system = (lap + diags(mh)).tocsc()
    # Sum the sources per joint before solving: the system is linear, so this equals summing
    # the per-segment solutions, with one right-hand side per joint instead of per segment.
    used = np.unique(owners)
    to_col = np.searchsorted(used, owners)
    rhs = np.zeros((n, len(used)))
    np.add.at(rhs.T, to_col, (mh[:, None] * p).T)
    # The system is symmetric positive definite: a symmetric fill-reducing ordering with
    # diagonal pivots factors it an order of magnitude faster than SuperLU's default pivoting.
    lu = splu(
        system,
        permc_spec="MMD_AT_PLUS_A",
        diag_pivot_thresh=0.0,
        options={"SymmetricMode": True},
    )
    solved = lu.solve(rhs)
    dense = np.zeros((n, n_joints))
    dense[:, used] = np.clip(solved, 0.0, None)
    if parts is not None:
        dense = respect_parts(parts, v, dense)
    if head is not None:
        # After the islands took their weights: a piece that carries the neck bone's end (the
        # upper teeth and palate) or copied the mouth's surface goes with the head, as one.
        body = None if parts is None else parts.label == parts.main
        pieces = [] if parts is None else [m for c, m in enumerate(parts.members)
                                           if c != parts.main]
        dense = rigid_head(v, dense, head[0], head[1], head[2], body, pieces)
    joints, weights = normalize_top_k(dense, max_influences)
    return joints[inverse], weights[inverse]


# Joints named as end sites: they mark where a chain ends (Mixamo's HeadTop_End, Blender's
# "_end", 3ds Max's "Nub", chains of them such as HeadEnd_end_end), not a bone of flesh;
# artists leave them unweighted, and as heat sources they take the head top or the toe tips.
# A bare "end" (or "legend") is a name like any other: only "_end", ".End", camel-case "End".
_END_NAME = re.compile(r"(?:[_.\s-](?i:end)|(?<=[a-z0-9])End|(?i:nub))$|(?i:end_?site)")


def end_site_names(skeleton: Skeleton) -> list[str]:
    """Joints that are end sites by name, with every descendant one too (so a real bone
    whose name happens to end so, with bones below it, is kept)."""
    named = np.array([bool(_END_NAME.search(re.split(r"[:|]", n)[-1])) for n in skeleton.names])
    all_end = named.copy()
    for i in range(len(named) - 1, -1, -1):  # children come after parents
        p = int(skeleton.parents[i])
        if p >= 0 and not all_end[i]:
            all_end[p] = False
    return [n for n, e in zip(skeleton.names, all_end, strict=True) if e]


def bind_weights(
    vertices: np.ndarray,
    faces: np.ndarray,
    skeleton: Skeleton,
    max_influences: int = 4,
    *,
    exclude: Sequence[str] = (),
    heat_constant: float = BIND_HEAT_CONSTANT,
    rigid_head: bool = True,
    skip_end_sites: bool = True,
) -> tuple[np.ndarray, np.ndarray]:
    """Skin weights of ``skeleton`` on a triangle mesh by bone heat diffusion.

    vertices : (n, 3) float rest positions; faces : (m, 3) int (any soup: islands, duplicated or
    non-manifold faces are fine); bones are the segments head -> tail of every joint except the
    names in ``exclude``. ``max_influences`` is 4 for glTF, 8 for engines that take two sets.
    returns joints (n, max_influences) uint16 and weights (n, max_influences) float32, as
    :func:`normalize_top_k`; see :func:`heat_weights`. Deterministic.
    """
    unknown = sorted(set(exclude) - set(skeleton.names))
    if unknown:
        raise ValueError(f"exclude names joints the skeleton lacks: {unknown}")
    skip = set(exclude) | (set(end_site_names(skeleton)) if skip_end_sites else set())
    if skip >= set(skeleton.names):  # only end sites left: they are all there is to weight
        skip = set(exclude)
    bones = np.array([i for i, name in enumerate(skeleton.names) if name not in skip])
    if len(bones) == 0:
        raise ValueError("every joint is excluded; at least one bone must receive weights")
    h = head_joint(skeleton.names, skeleton.parents) if rigid_head else None
    head = None if h is None or skeleton.names[h] in skip else (
        skeleton.heads.astype(np.float64), skeleton.parents, h)
    return heat_weights(
        vertices, faces, skeleton.heads[bones], skeleton.tails[bones], bones,
        len(skeleton.names), max_influences, heat_constant=heat_constant, head=head,
    )
