"""Fast CPU skinning: LBS and DQS compiled with numba over a compact influence layout.

The same maths as :func:`reskin.rigging.skinning.lbs` and :func:`~reskin.rigging.skinning.dqs`
(the reference paths, which the tests compare these with), in float32, for many frames at once.

Layout and loop order are chosen for the cache and the vector units:

- influences are two (n, k) C-ordered arrays, int32 joint indices and float32 weights
  (:class:`Influences`), read once per block of frames instead of once per frame;
- a block of ``T`` frames' skinning matrices is laid out (j, 12, T), so blending one influence
  into a vertex's matrix is 12 contiguous, vectorisable multiply-adds over the frames (no
  gathers across joints in the inner loop), and the table of one block stays in L2;
- vertex blocks are spread over threads (``prange``) where there is more than one core.

Without numba (it is a pinned dependency, but a stripped environment may lack it) the
functions fall back to the numpy reference paths with the same signature and results.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from reskin.rigging.morphs import MorphTargets
from reskin.rigging.skinning import (
    _check,
    _frames,
    _morph_check,
    dqs,
    lbs,
    matrices_to_dual_quats,
)

try:  # numba compiles the kernels; without it the reference numpy paths run
    import numba
    from numba import njit, prange
except ImportError:  # pragma: no cover - exercised only where numba is missing
    numba = None

# Frames per block: the (j, 12, T) table of 63 joints is 97 kB at T = 32 (fits L2), and the
# (12, T) accumulator stays in registers/L1.
_T = 32
# Below this many frames the per-frame gather kernel beats filling frame vectors.
_FEW = 8
# Vertices per parallel task: their (T, _VB, 3) results stay in L1/L2 before the copy out.
_VB = 64


@dataclass(frozen=True)
class Influences:
    """Per-vertex skinning influences in the kernels' layout.

    index  : (n, k) int32 joint index, C order
    weight : (n, k) float32 weight, C order (rows sum to 1)
    """

    index: np.ndarray
    weight: np.ndarray

    @property
    def k(self) -> int:
        return self.index.shape[1]


def compact_influences(joints: np.ndarray, weights: np.ndarray, n_joints: int) -> Influences:
    """:class:`Influences` of (n, k) joint indices and weights, checked against ``n_joints``."""
    jn = np.asarray(joints)
    w = np.asarray(weights)
    if jn.shape != w.shape or jn.ndim != 2:
        raise ValueError(f"joints {jn.shape} and weights {w.shape} must both be (n, k)")
    if jn.size and (jn.min() < 0 or jn.max() >= n_joints):
        raise ValueError(f"joint indices must be in [0, {n_joints})")
    return Influences(np.ascontiguousarray(jn, np.int32), np.ascontiguousarray(w, np.float32))


def has_numba() -> bool:
    """Whether the compiled kernels are available (else the numpy reference paths run)."""
    return numba is not None


def _morph_slots(morphs: MorphTargets | None, n: int) -> np.ndarray:
    """(n,) int32: row of each vertex in the morph offsets, -1 where no target moves it."""
    slot = np.full(n, -1, np.int32)
    if morphs is not None:
        slot[morphs.index] = np.arange(len(morphs.index), dtype=np.int32)
    return slot


def _influences(joints, weights, influences, n_joints) -> Influences:  # noqa: ANN001
    if influences is not None:
        if influences.index.shape[0] and influences.index.max() >= n_joints:
            raise ValueError(f"joint indices must be in [0, {n_joints})")
        return influences
    return compact_influences(joints, weights, n_joints)


def lbs_fast(
    vertices: np.ndarray, joints: np.ndarray | None, weights: np.ndarray | None,
    matrices: np.ndarray, *, influences: Influences | None = None,
    morphs: MorphTargets | None = None, morph_weights: np.ndarray | None = None,
    threads: int | None = None, out: np.ndarray | None = None,
) -> np.ndarray:
    """Linear blend skinning of one or many frames, float32, as :func:`~.skinning.lbs`.

    vertices : (n, 3) rest positions
    joints, weights : (n, k) influences, or None when ``influences`` (precomputed) is given
    matrices : (j, 4, 4) or (f, j, 4, 4) skinning matrices (world @ inverse bind)
    morphs, morph_weights : optional morph targets and weights (k,) or (f, k), applied first
    threads : numba threads for this call (default: numba's, i.e. the cores)
    out : optional (f, n, 3) float32 C-ordered array to write into (a stream of shots reuses
          one instead of faulting in fresh pages every call)
    returns (n, 3) or (f, n, 3) float32 posed positions
    """
    return _skin("lbs", vertices, joints, weights, matrices, influences, morphs,
                 morph_weights, threads, out)


def dqs_fast(
    vertices: np.ndarray, joints: np.ndarray | None, weights: np.ndarray | None,
    matrices: np.ndarray, *, influences: Influences | None = None,
    morphs: MorphTargets | None = None, morph_weights: np.ndarray | None = None,
    threads: int | None = None, out: np.ndarray | None = None,
) -> np.ndarray:
    """Dual-quaternion skinning of one or many frames, float32, as :func:`~.skinning.dqs`.

    Arguments and result as :func:`lbs_fast`; matrices must be rigid (scale is ignored).
    """
    return _skin("dqs", vertices, joints, weights, matrices, influences, morphs,
                 morph_weights, threads, out)


def _skin(method, vertices, joints, weights, matrices, influences, morphs, morph_weights,
          threads, out):  # noqa: ANN001, ANN202
    mats, single = _frames(matrices)
    f, j = mats.shape[:2]
    v = np.ascontiguousarray(vertices, np.float32)
    inf = _influences(joints, weights, influences, j)  # indices checked here
    if v.ndim != 2 or v.shape[1] != 3 or inf.index.shape[0] != len(v):
        _check(v, inf.index, inf.weight, j)  # raises the reference path's message
    n = len(v)
    mw = _morph_check(morphs, morph_weights, n, f)
    if numba is None:  # pragma: no cover
        ref = lbs if method == "lbs" else dqs
        out = ref(v, inf.index, inf.weight, mats, morphs=morphs, morph_weights=mw)
        out = out.astype(np.float32)
        return out if not single else out[0]
    if method == "lbs":
        table = mats[:, :, :3, :].reshape(f, j, 12)  # row-major 3x4 per joint
    else:
        real, dual = matrices_to_dual_quats(mats)  # float64, cheap: f x j
        table = np.concatenate([real, dual], axis=-1)  # (f, j, 8)
    slot = _morph_slots(morphs, n)
    if out is None:
        out = np.empty((f, n, 3), np.float32)
    elif out.shape != (f, n, 3) or out.dtype != np.float32 or not out.flags.c_contiguous:
        raise ValueError(f"out must be a C-ordered float32 ({f}, {n}, 3) array")
    before = numba.get_num_threads()
    if threads is not None:
        numba.set_num_threads(max(1, min(threads, numba.config.NUMBA_NUM_THREADS)))
    try:
        if method == "lbs" and f < _FEW:
            # Few frames: per vertex and frame, gather the k matrices (no frame vector to fill).
            d = (np.zeros((f, 1, 3), np.float32) if mw is None
                 else morphs.offsets(mw, np.float32))
            _lbs_few_kernel(v, inf.index, inf.weight, np.ascontiguousarray(table, np.float32),
                            slot, d, out, morphs is not None)
            return out[0] if single else out
        block = min(_T, f)
        for s in range(0, f, block):
            b = min(block, f - s)
            # (j, c, T) with the frames last, zero-padded to a full block.
            tab = np.zeros((j, table.shape[2], block), np.float32)
            tab[..., :b] = table[s : s + b].transpose(1, 2, 0)
            d = np.zeros((block, 1 if morphs is None else len(morphs.index), 3), np.float32)
            if mw is not None:
                d[:b] = morphs.offsets(mw[s : s + b], np.float32)
            kernel = _lbs_kernel if method == "lbs" else _dqs_kernel
            kernel(v, inf.index, inf.weight, tab, slot, d, out[s : s + b], morphs is not None)
    finally:
        numba.set_num_threads(before)
    return out[0] if single else out


if numba is not None:

    @njit(parallel=True, fastmath=True, cache=True, nogil=True)
    def _lbs_kernel(v, idx, w, tab, slot, d, out, morphed):  # noqa: ANN001, ANN202
        """out (b, n, 3) of vertices v (n, 3) for table tab (j, 12, T); d (T, m, 3)."""
        n, k = idx.shape
        b = out.shape[0]
        T = tab.shape[2]
        for blk in prange((n + _VB - 1) // _VB):
            acc = np.empty((12, T), np.float32)
            px = np.empty((3, T), np.float32)
            # Results of a chunk, copied out per frame as contiguous rows: writing each
            # vertex to b frame rows directly thrashes the TLB.
            res = np.empty((T, _VB, 3), np.float32)
            i0 = blk * _VB
            i1 = min(n, i0 + _VB)
            for i in range(i0, i1):
                acc[:] = 0.0
                for c in range(k):
                    ww = w[i, c]
                    if ww == 0.0:
                        continue
                    jj = idx[i, c]
                    for r in range(12):
                        for t in range(T):
                            acc[r, t] += ww * tab[jj, r, t]
                s = slot[i] if morphed else -1
                for a in range(3):
                    if s >= 0:
                        for t in range(T):
                            px[a, t] = v[i, a] + d[t, s, a]
                    else:
                        px[a, :] = v[i, a]
                row = i - i0
                for t in range(T):
                    x, y, z = px[0, t], px[1, t], px[2, t]
                    res[t, row, 0] = acc[0, t] * x + acc[1, t] * y + acc[2, t] * z + acc[3, t]
                    res[t, row, 1] = acc[4, t] * x + acc[5, t] * y + acc[6, t] * z + acc[7, t]
                    res[t, row, 2] = (acc[8, t] * x + acc[9, t] * y + acc[10, t] * z
                                      + acc[11, t])
            for t in range(b):
                out[t, i0:i1] = res[t, : i1 - i0]

    @njit(parallel=True, fastmath=True, cache=True, nogil=True)
    def _lbs_few_kernel(v, idx, w, tab, slot, d, out, morphed):  # noqa: ANN001, ANN202
        """out (f, n, 3) for tab (f, j, 12), frame by frame; d (f, m, 3)."""
        n, k = idx.shape
        f = out.shape[0]
        for blk in prange((n + _VB - 1) // _VB):
            for t in range(f):
                for i in range(blk * _VB, min(n, (blk + 1) * _VB)):
                    m0 = m1 = m2 = m3 = m4 = m5 = m6 = m7 = m8 = m9 = m10 = m11 = np.float32(0)
                    for c in range(k):
                        ww = w[i, c]
                        m = tab[t, idx[i, c]]
                        m0 += ww * m[0]
                        m1 += ww * m[1]
                        m2 += ww * m[2]
                        m3 += ww * m[3]
                        m4 += ww * m[4]
                        m5 += ww * m[5]
                        m6 += ww * m[6]
                        m7 += ww * m[7]
                        m8 += ww * m[8]
                        m9 += ww * m[9]
                        m10 += ww * m[10]
                        m11 += ww * m[11]
                    x, y, z = v[i, 0], v[i, 1], v[i, 2]
                    s = slot[i] if morphed else -1
                    if s >= 0:
                        x += d[t, s, 0]
                        y += d[t, s, 1]
                        z += d[t, s, 2]
                    out[t, i, 0] = m0 * x + m1 * y + m2 * z + m3
                    out[t, i, 1] = m4 * x + m5 * y + m6 * z + m7
                    out[t, i, 2] = m8 * x + m9 * y + m10 * z + m11

    @njit(parallel=True, fastmath=True, cache=True, nogil=True)
    def _dqs_kernel(v, idx, w, tab, slot, d, out, morphed):  # noqa: ANN001, ANN202
        """As _lbs_kernel with tab (j, 8, T) unit dual quaternions (x, y, z, w | dual)."""
        n, k = idx.shape
        b = out.shape[0]
        T = tab.shape[2]
        for blk in prange((n + _VB - 1) // _VB):
            acc = np.empty((8, T), np.float32)
            res = np.empty((T, _VB, 3), np.float32)
            i0 = blk * _VB
            i1 = min(n, i0 + _VB)
            for i in range(i0, i1):
                acc[:] = 0.0
                j0 = idx[i, 0]
                for c in range(k):
                    ww = w[i, c]
                    if ww == 0.0:
                        continue
                    jj = idx[i, c]
                    for t in range(T):
                        # Flip onto the first influence's hemisphere: the short way round.
                        dot = (tab[jj, 0, t] * tab[j0, 0, t] + tab[jj, 1, t] * tab[j0, 1, t]
                               + tab[jj, 2, t] * tab[j0, 2, t] + tab[jj, 3, t] * tab[j0, 3, t])
                        sw = -ww if dot < 0.0 else ww
                        for r in range(8):
                            acc[r, t] += sw * tab[jj, r, t]
                s = slot[i] if morphed else -1
                row = i - i0
                for t in range(T):
                    x, y, z = v[i, 0], v[i, 1], v[i, 2]
                    if s >= 0:
                        x += d[t, s, 0]
                        y += d[t, s, 1]
                        z += d[t, s, 2]
                    inv = 1.0 / np.sqrt(acc[0, t] ** 2 + acc[1, t] ** 2 + acc[2, t] ** 2
                                        + acc[3, t] ** 2)
                    qx, qy, qz, qw = (acc[0, t] * inv, acc[1, t] * inv, acc[2, t] * inv,
                                      acc[3, t] * inv)
                    ex, ey, ez, ew = (acc[4, t] * inv, acc[5, t] * inv, acc[6, t] * inv,
                                      acc[7, t] * inv)
                    # v + 2 q x (q x v + w v) + 2 (w qe - we q + q x qe)
                    cx = qy * z - qz * y + qw * x
                    cy = qz * x - qx * z + qw * y
                    cz = qx * y - qy * x + qw * z
                    res[t, row, 0] = (x + 2.0 * (qy * cz - qz * cy)
                                      + 2.0 * (qw * ex - ew * qx + qy * ez - qz * ey))
                    res[t, row, 1] = (y + 2.0 * (qz * cx - qx * cz)
                                      + 2.0 * (qw * ey - ew * qy + qz * ex - qx * ez))
                    res[t, row, 2] = (z + 2.0 * (qx * cy - qy * cx)
                                      + 2.0 * (qw * ez - ew * qz + qx * ey - qy * ex))
            for t in range(b):
                out[t, i0:i1] = res[t, : i1 - i0]
