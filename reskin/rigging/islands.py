"""Skin weights that respect a mesh's disconnected parts: islands follow the part they sit on,
rigid pieces stay rigid.

Bone heat gives every vertex the heat of its nearest bone, and heat cannot flow between
islands (no edge joins them), so an island is weighted only by which bone happens to be
closest: a robot's head bolts near its shoulders go to the arms, teeth below the head joint go
to the neck, and a rigid forearm shell blends into the upper arm and bends. The rules here act
on the heat solution, one connected component at a time (the heat system is block-diagonal in
them, so a component's field is its own):

- a component *carries* a bone when a good part of the bone runs inside its convex hull (an
  eye around its eye bone, a head shell around the head bone). A carried-bone piece that
  carries only one bone (so nothing in it can bend) and is small or roughly convex is rigid:
  all of it goes to that bone.
- a component that carries no bone (teeth, bolts, buttons, tear glands, a backpack) takes its
  weights from the nearest surface of the body and the bone-carrying pieces, by proximity to
  the surface rather than to a bone (the nearest surface of a piece inside the body is the
  body around it); one far from every other piece keeps its own heat weights.
- such an island that is small or roughly convex is rigid: one constant weight vector, the
  area-weighted mean of what its vertices were given, so it moves as one piece.

The largest component (the body) is never changed, so a one-piece character's weights are
exactly the heat weights.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from scipy.sparse import coo_matrix
from scipy.sparse.csgraph import connected_components
from scipy.spatial import ConvexHull, QhullError, cKDTree

# A bone is carried by a piece when at least this fraction of the piece's diameter of it runs
# inside the piece's convex hull; a piece carrying two such bones spans a joint and may bend.
CARRY_FRACTION = 0.2
# Islands whose diameter is at most this fraction of the whole model's are rigid regardless of
# shape (eyes, teeth, bolts, buttons).
SMALL_FRACTION = 0.12
# Roughly convex: 90% of the piece's vertices lie within this fraction of its diameter of its
# convex hull's surface (a thick shell is convex, an L-shaped bracket or a T-shirt is not).
CONVEX_DEPTH = 0.08
# An island attaches to the surface around it when its closest vertex lies within this many of
# its own diameters of that surface; beyond that it is a free piece and keeps its heat weights.
ATTACH_DIAMETERS = 1.0
_SEGMENT_SAMPLES = 33  # points per bone segment for the inside-the-hull length
_HULL_POINTS = 4000  # vertices a hull is built from at most (evenly subsampled)
_NEIGHBOURS = 4  # surface vertices an island vertex takes its weights from


def components(n: int, faces: np.ndarray) -> np.ndarray:
    """(n,) int label of the connected component (shared vertices) of each of n vertices.

    faces (m, 3) int; vertices no face uses are components of their own.
    """
    f = np.asarray(faces, np.int64).reshape(-1, 3)
    rows = np.concatenate([f[:, 0], f[:, 1], f[:, 2]])
    cols = np.concatenate([f[:, 1], f[:, 2], f[:, 0]])
    graph = coo_matrix((np.ones(len(rows), np.int8), (rows, cols)), shape=(n, n))
    return connected_components(graph, directed=False)[1]


def _hull(points: np.ndarray) -> np.ndarray | None:
    """(h, 4) half-spaces ``n . x + d <= 0`` of the points' convex hull, None if it is flat."""
    if len(points) > _HULL_POINTS:
        points = points[np.linspace(0, len(points) - 1, _HULL_POINTS).astype(np.int64)]
    if len(points) < 4:
        return None
    try:
        return ConvexHull(points).equations
    except QhullError:  # flat or degenerate: nothing can run inside it
        return None


def _inside_lengths(eq: np.ndarray, heads: np.ndarray, tails: np.ndarray, tol: float
                    ) -> np.ndarray:
    """(b,) length of each segment heads[b] -> tails[b] inside the hull ``eq``."""
    t = np.linspace(0.0, 1.0, _SEGMENT_SAMPLES)
    pts = heads[:, None] + t[None, :, None] * (tails - heads)[:, None]  # (b, s, 3)
    inside = (pts @ eq[:, :3].T + eq[:, 3] <= tol).all(axis=2)  # (b, s)
    return inside.mean(axis=1) * np.linalg.norm(tails - heads, axis=1)


_DIRECTIONS = np.array([(x, y, z) for x in (-1, 0, 1) for y in (-1, 0, 1) for z in (-1, 0, 1)
                        if (x, y, z) != (0, 0, 0)], np.float64)
_DIRECTIONS /= np.linalg.norm(_DIRECTIONS, axis=1, keepdims=True)


def _wrap_radius(points: np.ndarray, centre: np.ndarray) -> float:
    """How tightly points (p, 3) wrap ``centre``: the median over 26 directions of the nearest
    point's distance in that direction (infinite where a direction has none)."""
    rel = points - centre
    dist = np.linalg.norm(rel, axis=1)
    sector = np.argmax(rel @ _DIRECTIONS.T, axis=1)
    nearest = np.full(len(_DIRECTIONS), np.inf)
    np.minimum.at(nearest, sector, dist)
    return float(np.median(nearest))


def _roughly_convex(eq: np.ndarray, points: np.ndarray, diameter: float) -> bool:
    depth = -(points @ eq[:, :3].T + eq[:, 3]).max(axis=1)  # distance inside the hull
    return float(np.percentile(depth, 90)) <= CONVEX_DEPTH * diameter


@dataclass(frozen=True, eq=False)
class Parts:
    """What :func:`find_parts` learnt of a mesh's components, for :func:`respect_parts`.

    label (n,) component of each vertex; main the body's label; home (b,) the component a bone
    segment lives in (its head inside that piece and nearest to it, as an eye bone in an
    eyeball), -1 for the body or none: a homed bone heats only its own piece. rigid maps a
    bone-carrying rigid piece to its one joint; loose lists (vertices, diameter, convex) of
    the pieces that carry no bone.
    """

    label: np.ndarray
    main: int
    home: np.ndarray
    rigid: dict[int, int]
    members: list[np.ndarray]
    loose: list[tuple[np.ndarray, float, bool]]
    vertex_area: np.ndarray
    extent: float


def find_parts(vertices: np.ndarray, faces: np.ndarray, heads: np.ndarray, tails: np.ndarray,
               owners: np.ndarray, n_joints: int) -> Parts | None:
    """The components of a welded mesh (n, 3) / (m, 3) and how bone segments (b, 3) heads ->
    tails owned by joints (b,) sit in them; None for a one-piece mesh (nothing to do)."""
    v = np.asarray(vertices, np.float64)
    faces = np.asarray(faces, np.int64).reshape(-1, 3)
    n = len(v)
    label = components(n, faces)
    n_comp = int(label.max()) + 1 if n else 0
    if n_comp <= 1:
        return None
    tri = v[faces]
    face_area = 0.5 * np.linalg.norm(np.cross(tri[:, 1] - tri[:, 0], tri[:, 2] - tri[:, 0]),
                                     axis=1)
    vertex_area = np.zeros(n)
    np.add.at(vertex_area, faces.ravel(), np.repeat(face_area / 3.0, 3))
    comp_area = np.bincount(label, vertex_area, n_comp)
    comp_count = np.bincount(label, minlength=n_comp)
    main = int(np.lexsort((comp_count, comp_area))[-1])
    extent = float(np.linalg.norm(np.ptp(v, axis=0))) or 1.0
    order = np.argsort(label, kind="stable")
    members = np.split(order, np.cumsum(comp_count)[:-1])
    home = np.full(len(heads), -1)
    rigid: dict[int, int] = {}
    loose: list[tuple[np.ndarray, float, bool]] = []
    for c in range(n_comp):
        if c == main:
            continue
        idx = members[c]
        pts = v[idx]
        diameter = float(np.linalg.norm(np.ptp(pts, axis=0)))
        eq = _hull(pts)
        if eq is None:
            loose.append((idx, diameter, False))
            continue
        tol = 1e-6 * extent
        per_joint = np.bincount(owners, _inside_lengths(eq, heads, tails, tol), n_joints)
        carried = np.flatnonzero(per_joint >= CARRY_FRACTION * diameter)
        convex = _roughly_convex(eq, pts, diameter)
        if len(carried) == 0:
            loose.append((idx, diameter, convex))
            continue
        head_inside = (heads @ eq[:, :3].T + eq[:, 3] <= tol).all(axis=1)
        for b in np.flatnonzero(head_inside & np.isin(owners, carried)):
            # The bone lives in this piece if the piece wraps its joint more tightly than the
            # body does (an eyeball around its eye bone inside the head), not when the piece is
            # worn over the body's own surface there (a bracer over a forearm).
            if _wrap_radius(pts, heads[b]) < _wrap_radius(v[members[main]], heads[b]):
                home[b] = c
        if len(carried) == 1 and (diameter <= SMALL_FRACTION * extent or convex):
            rigid[c] = int(carried[0])
    return Parts(label, main, home, rigid, members, loose, vertex_area, extent)


def source_mask(parts: Parts, n_segments: int) -> np.ndarray:
    """(n, b) bool: may segment b heat vertex n? Homed bones heat only their own piece (a
    piece left with no bone at all keeps every bone)."""
    allowed = (parts.home[None, :] < 0) | (parts.home[None, :] == parts.label[:, None])
    for idx in parts.members:
        if not allowed[idx[0]].any():
            allowed[idx] = True
    return allowed


def respect_parts(parts: Parts, vertices: np.ndarray, dense: np.ndarray) -> np.ndarray:
    """Heat weights with islands following what they sit on and rigid pieces rigid.

    parts from :func:`find_parts` on the same mesh; vertices (n, 3) welded; dense (n, j)
    non-negative weights (the heat solution).
    returns (n, j) weights (rows not normalised, as ``dense``); ``dense`` itself unchanged.
    """
    v = np.asarray(vertices, np.float64)
    out = dense.copy()
    final = np.zeros(len(v), bool)  # vertices whose weights islands may copy
    final[parts.members[parts.main]] = True
    for c, joint in parts.rigid.items():
        # Nothing inside it can bend: all of it follows the one bone it carries.
        out[parts.members[c]] = 0.0
        out[parts.members[c], joint] = 1.0
    loose_set = {id(idx) for idx, _, _ in parts.loose}
    for c, idx in enumerate(parts.members):
        if c != parts.main and id(idx) not in loose_set:
            final[idx] = True
    if not parts.loose:
        return out
    surface = np.flatnonzero(final)
    tree = cKDTree(v[surface])
    extent = parts.extent
    for idx, diameter, convex in parts.loose:
        dist, near = tree.query(v[idx], k=min(_NEIGHBOURS, len(surface)))
        dist, near = dist.reshape(len(idx), -1), near.reshape(len(idx), -1)
        if dist[:, 0].min() > ATTACH_DIAMETERS * max(diameter, 1e-9 * extent):
            continue  # a free piece: only its own heat knows which bone it belongs to
        inv = 1.0 / np.maximum(dist, 1e-9 * extent)
        inv /= inv.sum(axis=1, keepdims=True)
        got = np.einsum("nk,nkj->nj", inv, out[surface[near]])
        if diameter <= SMALL_FRACTION * extent or convex:
            area = parts.vertex_area[idx]
            wts = area if area.sum() > 0 else np.ones(len(idx))
            got[:] = (wts[:, None] * got).sum(axis=0) / wts.sum()
        out[idx] = got
    return out
