"""Vertices sorted into runs that share the same joints: the layout of the grouped kernels.

A rig's influences are spatially coherent: the vertices of a forearm are all weighted to the
same few joints, with weights that vary smoothly. Sorted by their joint set, a mesh falls into
a few hundred runs (the shared avatars: 22k vertices in ~230 sets; a generated body with 63
joints: 57k vertices in ~250). Within a run every vertex blends the same K matrices, so the
matrices are per-run constants and the blend is a straight loop over vertices that the
compiler vectorises (16 vertices per AVX-512 instruction) with no gathers.

Where the joint sets do not repeat (a mesh weighted vertex by vertex at random) the runs are
too short to fill vector lanes; :func:`group_influences` then returns None and the per-vertex
kernels run instead.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

# Vertices per run at most (a longer run is split) and about per parallel task: a task's
# scratch (3 x CHUNK floats, 24 kB) stays in L1/L2.
CHUNK = 2048
# Vector width the lane estimate assumes (AVX-512 float32).
_LANES = 16
# Fewer than this fraction of lanes busy, and grouping does not pay.
_MIN_FILL = 0.6


@dataclass(frozen=True)
class InfluenceGroups:
    """A mesh's vertices sorted by joint set, in the grouped kernels' layout.

    order   : (n,) int64 original index of each sorted vertex
    joints  : (g, k) int32 the joints of each run; slot 0 is its vertices' first influence
              (the dual-quaternion hemisphere pivot), the rest ascending, unused slots last
              (the pivot's joint, weight 0)
    used    : (g,) int32 slots the run's vertices weigh, rounded up to a multiple of 4 (the
              kernels' passes over the rest would add zeros)
    starts  : (g + 1,) int64 first sorted vertex of each run (``starts[-1] == n``)
    weights : (k * n,) float32 per run g the block ``[k * starts[g], k * starts[g + 1])``
              holding its (k, count) weights, influence-major (one contiguous row per slot)
    xyz     : (3, n) float32 rest positions in sorted order, coordinate-major
    tasks   : (t + 1,) int64 run bounds of each parallel task (about :data:`CHUNK` vertices)
    slot    : (n,) int32 per sorted vertex its row in a frame's morph offsets (m: no target)
    """

    order: np.ndarray
    joints: np.ndarray
    used: np.ndarray
    starts: np.ndarray
    weights: np.ndarray
    xyz: np.ndarray
    tasks: np.ndarray
    slot: np.ndarray

    @property
    def count(self) -> int:
        return len(self.joints)


def group_influences(vertices: np.ndarray, index: np.ndarray, weight: np.ndarray,
                     slot: np.ndarray, *, chunk: int = CHUNK,
                     force: bool = False) -> InfluenceGroups | None:
    """Sort (n, 3) vertices with (n, k) influences into joint-set runs, or None where the runs
    would leave most vector lanes idle (unless ``force``).

    Zero-weight slots other than the first take the first slot's joint (they add nothing, and
    a vertex with three influences then shares its run with its neighbours); the first slot is
    kept in place because dual-quaternion skinning flips every influence onto its hemisphere.
    ``slot`` (n,) is each vertex's morph-offset row, carried into sorted order.
    """
    n, k = index.shape
    if n == 0:
        return None
    pivot = index[:, :1].astype(np.int32)
    zero = weight[:, 1:] <= 0
    rest = np.where(zero, pivot, index[:, 1:]).astype(np.int32)
    # The influences ascending by joint, the zero-weight slots last: a run whose vertices use
    # only the first four slots skips the passes over the others.
    by = np.argsort(rest + zero * np.int64(1 << 40), axis=1, kind="stable")
    key = np.concatenate([pivot, np.take_along_axis(rest, by, 1)], axis=1)
    w = np.concatenate([weight[:, :1], np.take_along_axis(weight[:, 1:], by, 1)], axis=1)
    last = np.where(w > 0, np.arange(k), 0).max(axis=1)  # each vertex's last weighted slot
    order, sets, counts = _runs_of(key)
    if not force and n / (np.ceil(counts / _LANES) * _LANES).sum() < _MIN_FILL:
        return None
    # Split runs longer than a chunk, so every task is a whole number of runs.
    pieces = -(-counts // chunk)
    joints = np.repeat(sets.astype(np.int32), pieces, axis=0)
    sizes = np.minimum(chunk, counts.repeat(pieces)
                       - chunk * (np.arange(pieces.sum()) - np.repeat(np.cumsum(pieces) - pieces,
                                                                        pieces)))
    starts = np.zeros(len(joints) + 1, np.int64)
    np.cumsum(sizes, out=starts[1:])
    # Slots in use per run (a multiple of 4): past its vertices' last weighted slot.
    used = (np.maximum.reduceat(last[order], starts[:-1]) // 4 + 1).astype(np.int32) * 4
    sw = w[order].astype(np.float32)
    weights = np.empty(k * n, np.float32)
    for g in range(len(joints)):  # (k, count) blocks: a few hundred copies, once per mesh
        s, e = starts[g], starts[g + 1]
        weights[k * s : k * e] = sw[s:e].T.ravel()
    # Task bounds: whole runs, a new task once the vertices reach the next multiple of chunk.
    marks = np.searchsorted(starts, np.arange(chunk, n, chunk), side="left")
    tasks = np.unique(np.concatenate([[0], marks, [len(joints)]])).astype(np.int64)
    xyz = np.ascontiguousarray(np.asarray(vertices, np.float32)[order].T)
    return InfluenceGroups(order.astype(np.int64), joints, used, starts, weights, xyz, tasks,
                           np.ascontiguousarray(slot[order], np.int32))


def _runs_of(key: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(n, k) int32 keys -> (the stable sorting order (n,), the distinct keys (g, k) in that
    order, their counts (g,)). Keys packed into one int64 where their bits fit (a sort of
    integers, ~30x faster than numpy's sort of rows)."""
    n, k = key.shape
    bits = max(1, int(key.max()).bit_length())
    if bits * k <= 63:
        code = np.zeros(n, np.int64)
        for c in range(k):  # slot 0 most significant: runs ordered by pivot, then the rest
            code = (code << bits) | key[:, c].astype(np.int64)
        order = np.argsort(code, kind="stable")
        sc = code[order]
        first = np.flatnonzero(np.r_[True, sc[1:] != sc[:-1]])
    else:
        sets, inverse = np.unique(key, axis=0, return_inverse=True)
        order = np.argsort(inverse.ravel(), kind="stable")
        si = inverse.ravel()[order]
        first = np.flatnonzero(np.r_[True, si[1:] != si[:-1]])
    counts = np.diff(np.r_[first, n])
    return order, key[order[first]], counts
