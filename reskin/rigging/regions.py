"""Rigid body regions artists weight by hand, applied to bone-heat weights.

Heat diffuses over the surface, so it blends every joint over a wide band and splits the head
between neck and head: the head joint of a humanoid sits at the base of the skull, level with
the mouth, and the jaw, chin and lower face are as near the top of the neck bone as they are to
the head bone. Artists (and Mixamo's auto-rigger) instead weight everything above the neck's
narrowest cross-section 100% to the head, blending with the neck only in a band about as wide
as the neck is thick, so the whole face turns with the head. On the three artist-weighted
avatars of ../shared/data/avatars the neck/head weights cross 50% at 0.4-0.5 of the neck bone,
where the neck is narrowest, in a band of about +-0.7 neck radii.
"""

from __future__ import annotations

import re

import numpy as np

# Where along the neck bone (0 its base, 1 the head joint) the neck/head boundary may lie.
_BOUNDARY_RANGE = (0.3, 0.7)
# Half-width of the neck/head blend band, in neck radii (clamped to these fractions of the bone).
BAND_RADII = 0.7
_BAND_LIMITS = (0.1, 0.5)
_SLAB = 0.1  # slab thickness, as a fraction of the neck bone, for the cross-section radius
_MIN_SLAB_VERTICES = 8


def head_joint(names: tuple[str, ...] | list[str], parents: np.ndarray) -> int | None:
    """Index of the head joint (named so in a known convention, else plainly "head"), None when
    there is none or it has no neck (its parent) with a parent of its own."""
    from reskin.rigging.names import map_to_canonical

    try:
        name = map_to_canonical(names).get("head")
    except ValueError:
        name = None
    if name is None:
        plain = [n for n in names if re.split(r"[:|]", n)[-1].strip().lower() == "head"]
        name = plain[0] if len(plain) == 1 else None
    if name is None:
        return None
    h = list(names).index(name)
    neck = int(parents[h])
    return h if neck >= 0 else None


def _subtree(parents: np.ndarray, root: int) -> np.ndarray:
    """(j,) bool: ``root`` and its descendants (parents listed before children)."""
    inside = np.zeros(len(parents), bool)
    inside[root] = True
    for i in range(root + 1, len(parents)):
        if parents[i] >= 0 and inside[parents[i]]:
            inside[i] = True
    return inside


def neck_boundary(vertices: np.ndarray, base: np.ndarray, head: np.ndarray
                  ) -> tuple[float, float]:
    """Where the neck/head boundary lies along the neck bone base -> head and its band.

    vertices (n, 3) the body surface; base, head (3,) the neck and head joints.
    returns (t, half_width) as fractions of the bone: t the centre of the neck's narrowest
    cross-section within :data:`_BOUNDARY_RANGE` (its median distance from the bone), 0.5 when
    too few vertices tell.
    """
    axis = head - base
    length = float(np.linalg.norm(axis))
    axis = axis / length
    rel = vertices - base
    along = rel @ axis
    t = along / length
    rad = np.linalg.norm(rel - along[:, None] * axis, axis=1)
    best_t, best_r = 0.5, np.inf
    for c in np.arange(_BOUNDARY_RANGE[0], _BOUNDARY_RANGE[1] + 1e-9, _SLAB / 2):
        # Only the neck itself: shoulders, collar and hair lie further out than the neck is long.
        sel = (np.abs(t - c) <= _SLAB / 2) & (rad < length)
        if sel.sum() < _MIN_SLAB_VERTICES:
            continue
        r = float(np.median(rad[sel]))
        if r < best_r - 1e-9:
            best_t, best_r = float(c), r
    if not np.isfinite(best_r):
        return 0.5, 0.3
    half = float(np.clip(BAND_RADII * best_r / length, *_BAND_LIMITS))
    # Everything above the head joint is the head's (the artists' weights are 99% there).
    return best_t, min(half, 1.0 - best_t)


def rigid_head(vertices: np.ndarray, dense: np.ndarray, heads: np.ndarray, parents: np.ndarray,
               head: int, body: np.ndarray | None = None,
               pieces: list[np.ndarray] = ()) -> np.ndarray:
    """Heat weights with the head a rigid region above the neck's narrowest cross-section.

    vertices (n, 3); dense (n, j) non-negative weights; heads (j, 3) joint positions; parents
    (j,); head the head joint (its parent is the neck); body (n,) bool the vertices that tell
    the neck's shape (default all); pieces: vertex indices of islands that move as one (teeth,
    eyes, bolts: each is split by its mean position, so it stays rigid).
    The weight a vertex has on the neck and the head's subtree together is split between them
    by its position along the neck bone: all to the neck below the band, all to the head's
    subtree above it (in the proportions heat gave its joints, or to the head where heat gave
    the subtree nothing), smoothly in between. Other joints' weights fade out the same way on
    vertices the neck and head hold most of, and are kept elsewhere.
    returns (n, j) weights; ``dense`` unchanged.
    """
    v = np.asarray(vertices, np.float64)
    neck = int(parents[head])
    base, top = np.asarray(heads[neck], np.float64), np.asarray(heads[head], np.float64)
    length = float(np.linalg.norm(top - base))
    out = dense.copy()
    if length <= 0:
        return out
    t_b, half = neck_boundary(v if body is None else v[body], base, top)
    t = (v - base) @ (top - base) / length**2
    for idx in pieces:
        t[idx] = t[idx].mean()
    x = np.clip((t - (t_b - half)) / (2 * half), 0.0, 1.0)
    share = x * x * (3 - 2 * x)  # smoothstep: no kink at the band's edges
    sub = _subtree(np.asarray(parents), head)
    sub_w = dense[:, sub]
    sub_total = sub_w.sum(axis=1)
    pool = dense[:, neck] + sub_total
    # Only the two bones meet here: where the neck and head hold most of a vertex, what heat
    # leaked to other joints (chest, shoulders) fades out across the band, so the head moves
    # as one. A vertex mostly someone else's (a hand held by the face) keeps its weights.
    others = np.ones(dense.shape[1], bool)
    others[sub] = False
    others[neck] = False
    rest = dense[:, others].sum(axis=1)
    fold = np.where(pool >= rest, share, 0.0)
    out[:, others] = dense[:, others] * (1 - fold)[:, None]
    pool = pool + fold * rest
    # Proportions within the head's subtree (a jaw keeps its share); the head where none.
    prop = np.where(sub_total[:, None] > 0, sub_w / np.maximum(sub_total, 1e-300)[:, None],
                    (np.flatnonzero(sub) == head)[None, :].astype(np.float64))
    out[:, neck] = pool * (1 - share)
    out[:, sub] = (pool * share)[:, None] * prop
    return out
