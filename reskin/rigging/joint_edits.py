"""Skeletons from joint positions: the canonical skeleton from a position for every joint, and
an existing skeleton with some joints moved (``reskin rig --skeleton FILE``)."""

from __future__ import annotations

import numpy as np

from reskin.core.skeleton import HUMANOID_JOINTS, Skeleton
from reskin.rigging.names import CANONICAL


def _tails(names: tuple[str, ...], parents: np.ndarray, heads: np.ndarray,
           leaf_tails: np.ndarray) -> np.ndarray:
    """(j, 3) tails: the first child's head, or ``leaf_tails`` for joints without children
    (the convention :func:`reskin.rigging.fit.fit_skeleton` follows)."""
    tails = leaf_tails.copy()
    for i in range(len(names)):
        kids = np.flatnonzero(parents == i)
        if len(kids):
            tails[i] = heads[kids[0]]
    return tails


def apply_overrides(skeleton: Skeleton, overrides: dict[str, np.ndarray]) -> Skeleton:
    """``skeleton`` with the joints in ``overrides`` moved there; tails follow their children,
    a leaf's tail moves with its head (the crown stays above the skull, the fingertip beyond the
    wrist). Raises ValueError naming a bone the move made zero length."""
    heads = skeleton.heads.astype(np.float64).copy()
    moved_tails = skeleton.tails.astype(np.float64).copy()
    for name, point in overrides.items():
        i = skeleton.index(name)
        moved_tails[i] += point - heads[i]
        heads[i] = point
    tails = _tails(skeleton.names, skeleton.parents, heads, moved_tails)
    check_bones(skeleton.names, heads, tails, set(overrides))
    return Skeleton(names=skeleton.names, parents=skeleton.parents,
                    heads=heads.astype(np.float32), tails=tails.astype(np.float32))


def skeleton_from_joints(joints: dict[str, np.ndarray]) -> Skeleton:
    """The canonical skeleton from a position for every joint (no fitting).

    A leaf's tail extends its parent bone by half its length (the hand past the wrist, the crown
    above the skull base), enough for weighting to read a direction from it.
    """
    names = CANONICAL
    parents = np.array([names.index(p) if p else -1 for _, p in HUMANOID_JOINTS], np.int32)
    heads = np.array([joints[n] for n in names], np.float64)
    leaf = heads.copy()
    for i, p in enumerate(parents):
        if p >= 0:
            leaf[i] = heads[i] + 0.5 * (heads[i] - heads[p])
    tails = _tails(names, parents, heads, leaf)
    check_bones(names, heads, tails, set(names))
    return Skeleton(names=names, parents=parents, heads=heads.astype(np.float32),
                    tails=tails.astype(np.float32))


def check_bones(names: tuple[str, ...], heads: np.ndarray, tails: np.ndarray,
                 moved: set[str]) -> None:
    # Weights are bone segments: a zero-length one (a joint put on its child) has no direction.
    extent = float(np.ptp(heads, axis=0).max()) or 1.0
    for i, n in enumerate(names):
        if n in moved and np.linalg.norm(tails[i] - heads[i]) < 1e-4 * extent:
            raise ValueError(f"joint {n!r} is on top of the joint it points at")
