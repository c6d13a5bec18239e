"""The numba kernels behind :mod:`reskin.rigging.skinning_fast` (layouts described there).

Each kernel is compiled per influence count ``K`` (a closure constant: the influence loops
are unrolled) and once serial, once threaded (``prange`` over frame x vertex blocks). What
LLVM vectorises here is fragile: frame loops need a run-time trip count (a constant 32 is
unrolled into scalar code), few loads per loop (with dozens it gives up, "cannot identify
array bounds"), and influences loaded into scalars before the loop. Import only where numba
is present.
"""

from __future__ import annotations

import numpy as np
from numba import njit, prange

# Frames per block (the tables' last axis; see skinning_fast).
T = 32
# Vertices per parallel task.
VB = 256


def compile_kernels(K: int, parallel: bool) -> dict:  # noqa: C901 - one factory of five
    """{(method, K, parallel): kernel} for method in lbs, dqs (frame blocks), lbs_few,
    dqs_few (a few frames, per-vertex gathers) and normals (one frame, positions + normals)."""
    # error_model numpy: no zero-division checks in the loops (padded frames are valid).
    jit = njit(parallel=parallel, fastmath=True, cache=True, nogil=True, error_model="numpy")

    @jit
    def lbs_blocks(v, idx, w, tab, slot, d, out):  # noqa: ANN001, ANN202
        """out (f, n, 3); tab (nb, j, 12, T) matrices, d (nb, m + 1, 3, T) morph offsets."""
        n = v.shape[0]
        f = out.shape[0]
        nb, nt = tab.shape[0], tab.shape[3]  # nt == T, but a run-time trip count: LLVM
        # vectorises the frame loops instead of unrolling them into scalar code.
        nvb = (n + VB - 1) // VB
        for task in prange(nb * nvb):
            fb = task // nvb
            i0 = (task % nvb) * VB
            i1 = min(n, i0 + VB)
            b = min(nt, f - fb * nt)
            m = tab[fb]
            dd = d[fb]
            acc = np.empty((12, nt), np.float32)
            # Results of a vertex block, copied out per frame as contiguous rows: writing
            # each vertex to b frame rows directly thrashes the TLB.
            res = np.empty((nt, VB, 3), np.float32)
            for i in range(i0, i1):
                # Blend one influence at a time into the (12, T) accumulator: short simple
                # loops that LLVM vectorises (one long loop over every influence it does not).
                # The first influence sets the accumulator, the last is fused with the
                # transform: two passes over it fewer than zero, blend all, then transform.
                jj = idx[i, 0]
                ww = w[i, 0]
                for r in range(12):
                    for t in range(nt):
                        acc[r, t] = ww * m[jj, r, t]
                for c in range(1, K - 1):
                    ww = w[i, c]
                    if ww == 0.0:
                        continue
                    jj = idx[i, c]
                    for r in range(12):
                        for t in range(nt):
                            acc[r, t] += ww * m[jj, r, t]
                s = slot[i]
                vx, vy, vz = v[i, 0], v[i, 1], v[i, 2]
                row = i - i0
                jj = idx[i, K - 1]
                ww = w[i, K - 1]
                for t in range(nt):
                    x = vx + dd[s, 0, t]
                    y = vy + dd[s, 1, t]
                    z = vz + dd[s, 2, t]
                    res[t, row, 0] = ((acc[0, t] + ww * m[jj, 0, t]) * x
                                      + (acc[1, t] + ww * m[jj, 1, t]) * y
                                      + (acc[2, t] + ww * m[jj, 2, t]) * z
                                      + acc[3, t] + ww * m[jj, 3, t])
                    res[t, row, 1] = ((acc[4, t] + ww * m[jj, 4, t]) * x
                                      + (acc[5, t] + ww * m[jj, 5, t]) * y
                                      + (acc[6, t] + ww * m[jj, 6, t]) * z
                                      + acc[7, t] + ww * m[jj, 7, t])
                    res[t, row, 2] = ((acc[8, t] + ww * m[jj, 8, t]) * x
                                      + (acc[9, t] + ww * m[jj, 9, t]) * y
                                      + (acc[10, t] + ww * m[jj, 10, t]) * z
                                      + acc[11, t] + ww * m[jj, 11, t])
            for t in range(b):
                out[fb * nt + t, i0:i1] = res[t, : i1 - i0]

    @jit
    def dqs_blocks(v, idx, w, tab, slot, d, out):  # noqa: ANN001, ANN202
        """As lbs_blocks with tab (nb, j, 8, T) unit dual quaternions (x, y, z, w | dual)."""
        n = v.shape[0]
        f = out.shape[0]
        nb, nt = tab.shape[0], tab.shape[3]
        nvb = (n + VB - 1) // VB
        for task in prange(nb * nvb):
            fb = task // nvb
            i0 = (task % nvb) * VB
            i1 = min(n, i0 + VB)
            b = min(nt, f - fb * nt)
            m = tab[fb]
            dd = d[fb]
            res = np.empty((3, nt), np.float32)
            for i in range(i0, i1):
                s = slot[i]
                vx, vy, vz = v[i, 0], v[i, 1], v[i, 2]
                j0, j1, j2, j3 = idx[i, 0], idx[i, 1], idx[i, 2], idx[i, 3]
                w0, w1, w2, w3 = w[i, 0], w[i, 1], w[i, 2], w[i, 3]
                j4, j5, j6, j7 = (idx[i, 4], idx[i, 5], idx[i, 6], idx[i, 7]) if K == 8 \
                    else (j0, j0, j0, j0)
                w4, w5, w6, w7 = (w[i, 4], w[i, 5], w[i, 6], w[i, 7]) if K == 8 \
                    else (w0, w0, w0, w0)
                for t in range(nt):
                    # Each weight signed onto the first influence's hemisphere (short way).
                    s0, s1, s2, s3 = (_hemi(m, j0, j0, w0, t), _hemi(m, j0, j1, w1, t),
                                      _hemi(m, j0, j2, w2, t), _hemi(m, j0, j3, w3, t))
                    a = _b4(m, j0, j1, j2, j3, s0, s1, s2, s3, 0, t)
                    bq = _b4(m, j0, j1, j2, j3, s0, s1, s2, s3, 1, t)
                    c = _b4(m, j0, j1, j2, j3, s0, s1, s2, s3, 2, t)
                    e = _b4(m, j0, j1, j2, j3, s0, s1, s2, s3, 3, t)
                    g = _b4(m, j0, j1, j2, j3, s0, s1, s2, s3, 4, t)
                    h = _b4(m, j0, j1, j2, j3, s0, s1, s2, s3, 5, t)
                    k = _b4(m, j0, j1, j2, j3, s0, s1, s2, s3, 6, t)
                    ll = _b4(m, j0, j1, j2, j3, s0, s1, s2, s3, 7, t)
                    if K == 8:
                        s4, s5, s6, s7 = (_hemi(m, j0, j4, w4, t), _hemi(m, j0, j5, w5, t),
                                          _hemi(m, j0, j6, w6, t), _hemi(m, j0, j7, w7, t))
                        a += _b4(m, j4, j5, j6, j7, s4, s5, s6, s7, 0, t)
                        bq += _b4(m, j4, j5, j6, j7, s4, s5, s6, s7, 1, t)
                        c += _b4(m, j4, j5, j6, j7, s4, s5, s6, s7, 2, t)
                        e += _b4(m, j4, j5, j6, j7, s4, s5, s6, s7, 3, t)
                        g += _b4(m, j4, j5, j6, j7, s4, s5, s6, s7, 4, t)
                        h += _b4(m, j4, j5, j6, j7, s4, s5, s6, s7, 5, t)
                        k += _b4(m, j4, j5, j6, j7, s4, s5, s6, s7, 6, t)
                        ll += _b4(m, j4, j5, j6, j7, s4, s5, s6, s7, 7, t)
                    px, py, pz = dq_apply(a, bq, c, e, g, h, k, ll, vx + dd[s, 0, t],
                                           vy + dd[s, 1, t], vz + dd[s, 2, t])
                    res[0, t], res[1, t], res[2, t] = px, py, pz
                for t in range(b):  # no views in inner loops: each one costs a refcount
                    out[fb * nt + t, i, 0] = res[0, t]
                    out[fb * nt + t, i, 1] = res[1, t]
                    out[fb * nt + t, i, 2] = res[2, t]

    @jit
    def lbs_few(v, idx, w, tab, slot, d, morphed, out):  # noqa: ANN001, ANN202
        """out (f, n, 3) for tab (f, j, 12), frame by frame; d (f, m + 1, 3) or unused."""
        n = v.shape[0]
        f = out.shape[0]
        for blk in prange((n + VB - 1) // VB):
            for t in range(f):
                m = tab[t]
                for i in range(blk * VB, min(n, (blk + 1) * VB)):
                    # Four influences at a time, the groups written out (a loop over them
                    # compiles to much slower code for K = 8).
                    a0, a1, a2, a3, a4, a5, a6, a7, a8, a9, a10, a11 = _blend12(m, idx, w, i, 0)
                    if K >= 8:
                        b0, b1, b2, b3, b4, b5, b6, b7, b8, b9, b10, b11 = _blend12(m, idx, w,
                                                                                    i, 4)
                        a0, a1, a2, a3 = a0 + b0, a1 + b1, a2 + b2, a3 + b3
                        a4, a5 = a4 + b4, a5 + b5
                        a6, a7, a8, a9 = a6 + b6, a7 + b7, a8 + b8, a9 + b9
                        a10, a11 = a10 + b10, a11 + b11
                    for g in range(8, K, 4):
                        b0, b1, b2, b3, b4, b5, b6, b7, b8, b9, b10, b11 = _blend12(m, idx, w,
                                                                                    i, g)
                        a0, a1, a2, a3 = a0 + b0, a1 + b1, a2 + b2, a3 + b3
                        a4, a5 = a4 + b4, a5 + b5
                        a6, a7, a8, a9 = a6 + b6, a7 + b7, a8 + b8, a9 + b9
                        a10, a11 = a10 + b10, a11 + b11
                    x, y, z = v[i, 0], v[i, 1], v[i, 2]
                    if morphed:
                        s = slot[i]
                        x += d[t, s, 0]
                        y += d[t, s, 1]
                        z += d[t, s, 2]
                    out[t, i, 0] = a0 * x + a1 * y + a2 * z + a3
                    out[t, i, 1] = a4 * x + a5 * y + a6 * z + a7
                    out[t, i, 2] = a8 * x + a9 * y + a10 * z + a11

    @jit
    def dqs_few(v, idx, w, tab, slot, d, morphed, out):  # noqa: ANN001, ANN202
        """As lbs_few with tab (f, j, 8) unit dual quaternions."""
        n = v.shape[0]
        f = out.shape[0]
        nj = tab.shape[1]
        # Hemisphere signs of every joint pair per frame (j x j dot products, a few
        # microseconds): a vertex then looks its influences' signs up instead of taking
        # K dot products.
        sign = np.empty((f, nj, nj), np.float32)
        for t in range(f):
            for a in range(nj):
                for b in range(nj):
                    dot = (tab[t, a, 0] * tab[t, b, 0] + tab[t, a, 1] * tab[t, b, 1]
                           + tab[t, a, 2] * tab[t, b, 2] + tab[t, a, 3] * tab[t, b, 3])
                    sign[t, a, b] = np.float32(-1) if dot < 0 else np.float32(1)
        for blk in prange((n + VB - 1) // VB):
            for t in range(f):
                m = tab[t]
                sg = sign[t]
                for i in range(blk * VB, min(n, (blk + 1) * VB)):
                    j0 = idx[i, 0]
                    a0 = a1 = a2 = a3 = a4 = a5 = a6 = a7 = np.float32(0)
                    for c in range(K):
                        jj = idx[i, c]
                        sw = sg[j0, jj] * w[i, c]
                        a0 += sw * m[jj, 0]
                        a1 += sw * m[jj, 1]
                        a2 += sw * m[jj, 2]
                        a3 += sw * m[jj, 3]
                        a4 += sw * m[jj, 4]
                        a5 += sw * m[jj, 5]
                        a6 += sw * m[jj, 6]
                        a7 += sw * m[jj, 7]
                    x, y, z = v[i, 0], v[i, 1], v[i, 2]
                    if morphed:
                        s = slot[i]
                        x += d[t, s, 0]
                        y += d[t, s, 1]
                        z += d[t, s, 2]
                    out[t, i, 0], out[t, i, 1], out[t, i, 2] = dq_apply(
                        a0, a1, a2, a3, a4, a5, a6, a7, x, y, z)

    @jit
    def normals(v, nrm, idx, w, tab, out):  # noqa: ANN001, ANN202
        """out (n, 6): posed positions and normals (the blended 3x3 on them) of one frame."""
        n = v.shape[0]
        m = tab[0]
        for blk in prange((n + VB - 1) // VB):
            for i in range(blk * VB, min(n, (blk + 1) * VB)):
                a0, a1, a2, a3, a4, a5, a6, a7, a8, a9, a10, a11 = _blend12(m, idx, w, i, 0)
                for g in range(4, K, 4):
                    b0, b1, b2, b3, b4, b5, b6, b7, b8, b9, b10, b11 = _blend12(m, idx, w, i, g)
                    a0, a1, a2, a3, a4, a5 = a0 + b0, a1 + b1, a2 + b2, a3 + b3, a4 + b4, a5 + b5
                    a6, a7, a8, a9 = a6 + b6, a7 + b7, a8 + b8, a9 + b9
                    a10, a11 = a10 + b10, a11 + b11
                x, y, z = v[i, 0], v[i, 1], v[i, 2]
                nx, ny, nz = nrm[i, 0], nrm[i, 1], nrm[i, 2]
                out[i, 0] = a0 * x + a1 * y + a2 * z + a3
                out[i, 1] = a4 * x + a5 * y + a6 * z + a7
                out[i, 2] = a8 * x + a9 * y + a10 * z + a11
                out[i, 3] = a0 * nx + a1 * ny + a2 * nz
                out[i, 4] = a4 * nx + a5 * ny + a6 * nz
                out[i, 5] = a8 * nx + a9 * ny + a10 * nz

    return {("lbs", K, parallel): lbs_blocks, ("dqs", K, parallel): dqs_blocks,
            ("lbs_few", K, parallel): lbs_few, ("dqs_few", K, parallel): dqs_few,
            ("normals", K, parallel): normals}


@njit(fastmath=True, cache=True, nogil=True, inline="always", error_model="numpy")
def dq_apply(a0, a1, a2, a3, a4, a5, a6, a7, x, y, z):  # noqa: ANN001, ANN202
    """The point (x, y, z) moved by the blended dual quaternion (a0..a3 | a4..a7), normalised."""
    inv = np.float32(1) / np.sqrt(a0 * a0 + a1 * a1 + a2 * a2 + a3 * a3)
    qx, qy, qz, qw = a0 * inv, a1 * inv, a2 * inv, a3 * inv
    ex, ey, ez, ew = a4 * inv, a5 * inv, a6 * inv, a7 * inv
    # v + 2 q x (q x v + w v) + 2 (w qe - we q + q x qe)
    cx = qy * z - qz * y + qw * x
    cy = qz * x - qx * z + qw * y
    cz = qx * y - qy * x + qw * z
    return (x + np.float32(2) * (qy * cz - qz * cy + qw * ex - ew * qx + qy * ez - qz * ey),
            y + np.float32(2) * (qz * cx - qx * cz + qw * ey - ew * qy + qz * ex - qx * ez),
            z + np.float32(2) * (qx * cy - qy * cx + qw * ez - ew * qz + qx * ey - qy * ex))


@njit(fastmath=True, cache=True, nogil=True, inline="always", error_model="numpy")
def _b4(m, j0, j1, j2, j3, w0, w1, w2, w3, r, t):  # noqa: ANN001, ANN202
    """Entry r of four joints' blocked table rows at frame t, weighted and summed."""
    return w0 * m[j0, r, t] + w1 * m[j1, r, t] + w2 * m[j2, r, t] + w3 * m[j3, r, t]


@njit(fastmath=True, cache=True, nogil=True, inline="always", error_model="numpy")
def _hemi(m, j0, jc, wc, t):  # noqa: ANN001, ANN202
    """wc, negated where joint jc's quaternion at frame t is on the far side of j0's."""
    dot = (m[jc, 0, t] * m[j0, 0, t] + m[jc, 1, t] * m[j0, 1, t] + m[jc, 2, t] * m[j0, 2, t]
           + m[jc, 3, t] * m[j0, 3, t])
    return -wc if dot < 0 else wc






@njit(fastmath=True, cache=True, nogil=True, inline="always", error_model="numpy")
def _blend12(m, idx, w, i, g):  # noqa: ANN001, ANN202
    """Vertex i's influences g..g+3 blended: the 12 entries of their weighted (j, 12) rows."""
    j0, j1, j2, j3 = idx[i, g], idx[i, g + 1], idx[i, g + 2], idx[i, g + 3]
    w0, w1, w2, w3 = w[i, g], w[i, g + 1], w[i, g + 2], w[i, g + 3]
    return (w0 * m[j0, 0] + w1 * m[j1, 0] + w2 * m[j2, 0] + w3 * m[j3, 0],
            w0 * m[j0, 1] + w1 * m[j1, 1] + w2 * m[j2, 1] + w3 * m[j3, 1],
            w0 * m[j0, 2] + w1 * m[j1, 2] + w2 * m[j2, 2] + w3 * m[j3, 2],
            w0 * m[j0, 3] + w1 * m[j1, 3] + w2 * m[j2, 3] + w3 * m[j3, 3],
            w0 * m[j0, 4] + w1 * m[j1, 4] + w2 * m[j2, 4] + w3 * m[j3, 4],
            w0 * m[j0, 5] + w1 * m[j1, 5] + w2 * m[j2, 5] + w3 * m[j3, 5],
            w0 * m[j0, 6] + w1 * m[j1, 6] + w2 * m[j2, 6] + w3 * m[j3, 6],
            w0 * m[j0, 7] + w1 * m[j1, 7] + w2 * m[j2, 7] + w3 * m[j3, 7],
            w0 * m[j0, 8] + w1 * m[j1, 8] + w2 * m[j2, 8] + w3 * m[j3, 8],
            w0 * m[j0, 9] + w1 * m[j1, 9] + w2 * m[j2, 9] + w3 * m[j3, 9],
            w0 * m[j0, 10] + w1 * m[j1, 10] + w2 * m[j2, 10] + w3 * m[j3, 10],
            w0 * m[j0, 11] + w1 * m[j1, 11] + w2 * m[j2, 11] + w3 * m[j3, 11])


@njit(cache=True, nogil=True)
def dual_quat_table(mats, out):  # noqa: ANN001, ANN201
    """Unit dual quaternions of rigid transforms, as skinning.matrices_to_dual_quats.

    mats : (f, j, 4, 4) float64; out : (f, j, 8) float32, real (x, y, z, w) then dual parts.
    The rotation is the polar factor of the 3x3 block (scale and shear dropped), by scaled
    Newton iterations X <- (g X + X^-T / g) / 2 (quadratic: a few steps for a near-rigid
    matrix) instead of an SVD; then Shepperd's method. Returns False, leaving ``out``
    partly written, where a block is singular (the caller takes the SVD path).
    """
    x = np.empty((3, 3))
    y = np.empty((3, 3))
    for f in range(mats.shape[0]):
        for j in range(mats.shape[1]):
            for r in range(3):
                for c in range(3):
                    x[r, c] = mats[f, j, r, c]
            for _ in range(60):
                # cofactors: X^-T = cof(X) / det(X)
                y[0, 0] = x[1, 1] * x[2, 2] - x[1, 2] * x[2, 1]
                y[0, 1] = x[1, 2] * x[2, 0] - x[1, 0] * x[2, 2]
                y[0, 2] = x[1, 0] * x[2, 1] - x[1, 1] * x[2, 0]
                y[1, 0] = x[0, 2] * x[2, 1] - x[0, 1] * x[2, 2]
                y[1, 1] = x[0, 0] * x[2, 2] - x[0, 2] * x[2, 0]
                y[1, 2] = x[0, 1] * x[2, 0] - x[0, 0] * x[2, 1]
                y[2, 0] = x[0, 1] * x[1, 2] - x[0, 2] * x[1, 1]
                y[2, 1] = x[0, 2] * x[1, 0] - x[0, 0] * x[1, 2]
                y[2, 2] = x[0, 0] * x[1, 1] - x[0, 1] * x[1, 0]
                det = x[0, 0] * y[0, 0] + x[0, 1] * y[0, 1] + x[0, 2] * y[0, 2]
                if not abs(det) > 1e-200:
                    return False
                nx = 0.0
                ny = 0.0
                for r in range(3):
                    for c in range(3):
                        y[r, c] /= det
                        nx += x[r, c] * x[r, c]
                        ny += y[r, c] * y[r, c]
                g = np.sqrt(np.sqrt(ny / nx))
                step = 0.0
                for r in range(3):
                    for c in range(3):
                        v = 0.5 * (g * x[r, c] + y[r, c] / g)
                        step += (v - x[r, c]) ** 2
                        x[r, c] = v
                if step < 1e-30:
                    break
            t0 = 1 + x[0, 0] + x[1, 1] + x[2, 2]  # 4 w^2, 4 x^2, 4 y^2, 4 z^2
            t1 = 1 + x[0, 0] - x[1, 1] - x[2, 2]
            t2 = 1 - x[0, 0] + x[1, 1] - x[2, 2]
            t3 = 1 - x[0, 0] - x[1, 1] + x[2, 2]
            big, tb = 0, t0  # the first largest, as numpy's argmax
            if t1 > tb:
                big, tb = 1, t1
            if t2 > tb:
                big, tb = 2, t2
            if t3 > tb:
                big, tb = 3, t3
            s = 0.5 / np.sqrt(max(tb, 1e-300))
            d21, d02, d10 = x[2, 1] - x[1, 2], x[0, 2] - x[2, 0], x[1, 0] - x[0, 1]
            s21, s02, s10 = x[2, 1] + x[1, 2], x[0, 2] + x[2, 0], x[1, 0] + x[0, 1]
            if big == 0:
                qw, qx, qy, qz = 0.25 / s, d21 * s, d02 * s, d10 * s
            elif big == 1:
                qw, qx, qy, qz = d21 * s, 0.25 / s, s10 * s, s02 * s
            elif big == 2:
                qw, qx, qy, qz = d02 * s, s10 * s, 0.25 / s, s21 * s
            else:
                qw, qx, qy, qz = d10 * s, s02 * s, s21 * s, 0.25 / s
            inv = 1.0 / np.sqrt(qx * qx + qy * qy + qz * qz + qw * qw)
            qx, qy, qz, qw = qx * inv, qy * inv, qz * inv, qw * inv
            tx, ty, tz = mats[f, j, 0, 3], mats[f, j, 1, 3], mats[f, j, 2, 3]
            out[f, j, 0], out[f, j, 1], out[f, j, 2], out[f, j, 3] = qx, qy, qz, qw
            # 0.5 (t, 0) * real
            out[f, j, 4] = 0.5 * (tx * qw + ty * qz - tz * qy)
            out[f, j, 5] = 0.5 * (-tx * qz + ty * qw + tz * qx)
            out[f, j, 6] = 0.5 * (tx * qy - ty * qx + tz * qw)
            out[f, j, 7] = 0.5 * (-tx * qx - ty * qy - tz * qz)
    return True
