"""The numba kernels over joint-set runs (:mod:`reskin.rigging.influence_groups`).

Per run, the outer loop loads the run's K matrices (or signed dual quaternions) once; an
inner loop over the run's vertices blends and applies them with the matrices as constants,
which LLVM vectorises across vertices. It does so only for a loop ``range(a.shape[0])`` over
1-D C-contiguous arrays (with a start offset, or 2-D indexing, it cannot identify the array
bounds and emits scalar code), so each run is handed over as contiguous slices. Results
go to a per-task scratch in sorted order and are then scattered to the caller's vertex order.
Compiled per influence count K (a closure constant: the influence loop is unrolled) and
serial or threaded (``prange`` over frame x task). Import only where numba is present.
"""

from __future__ import annotations

import numpy as np
from numba import njit, prange

from reskin.rigging.skinning_kernels import dq_apply

_OPTS = {"fastmath": True, "cache": True, "nogil": True, "error_model": "numpy"}


@njit(inline="always", **_OPTS)
def sum4(w, mm, i, r):  # noqa: ANN001, ANN201
    """Columns r..r+3 of four influences' rows mm (4, >= r + 4), weighted by vertex i's
    weights w (4, L) and summed: a third of a blended 3x4 matrix, or half a blended dual
    quaternion."""
    a0 = a1 = a2 = a3 = np.float32(0)
    for c in range(4):
        wc = w[c, i]
        a0 += wc * mm[c, r]
        a1 += wc * mm[c, r + 1]
        a2 += wc * mm[c, r + 2]
        a3 += wc * mm[c, r + 3]
    return a0, a1, a2, a3


def compile_group_kernels(K: int, parallel: bool) -> dict:  # noqa: C901 - one factory
    """{(method, K, parallel): kernel} for method in glbs, gdqs (positions of f frames) and
    gnormals (one frame's positions and normals)."""
    inner = njit(**_OPTS)
    jit = njit(parallel=parallel, **_OPTS)

    def make_blend12(add: bool):  # noqa: ANN202
        @inner
        def blend12(w, mm, x, y, z, rx, ry, rz):  # noqa: ANN001, ANN202
            """Vertices x, y, z (L,) moved by the blend of four influences: (4, 12) matrix
            rows mm, weights w (4, L); into (or, ``add``, onto) rx, ry, rz (L,). LBS is
            linear in the matrices, so K influences are K / 4 such passes (the vectoriser
            gives up on one loop with 8 x 12 loads)."""
            for i in range(x.shape[0]):
                a0, a1, a2, a3 = sum4(w, mm, i, 0)
                a4, a5, a6, a7 = sum4(w, mm, i, 4)
                a8, a9, a10, a11 = sum4(w, mm, i, 8)
                xi, yi, zi = x[i], y[i], z[i]
                px = a0 * xi + a1 * yi + a2 * zi + a3
                py = a4 * xi + a5 * yi + a6 * zi + a7
                pz = a8 * xi + a9 * yi + a10 * zi + a11
                if add:
                    rx[i] += px
                    ry[i] += py
                    rz[i] += pz
                else:
                    rx[i], ry[i], rz[i] = px, py, pz

        return blend12

    blend12_set, blend12_add = make_blend12(False), make_blend12(True)

    @inner
    def blend12(w, mm, used, x, y, z, rx, ry, rz):  # noqa: ANN001, ANN202
        """The run's first ``used`` influences (w (K, L), mm (K, 12); the rest weigh nothing)
        in passes of four."""
        blend12_set(w[0:4], mm[0:4], x, y, z, rx, ry, rz)
        for b in range(4, used, 4):
            blend12_add(w[b : b + 4], mm[b : b + 4], x, y, z, rx, ry, rz)

    def make_dq_sum(add: bool):  # noqa: ANN202
        @inner
        def dq_sum(w, mm, acc):  # noqa: ANN001, ANN202
            """acc (8, L) set to (or, ``add``, plus) four influences' weighted dual
            quaternions: mm (4, 8) signed onto the pivot's side, w (4, L)."""
            for i in range(acc.shape[1]):
                a0, a1, a2, a3 = sum4(w, mm, i, 0)
                a4, a5, a6, a7 = sum4(w, mm, i, 4)
                if add:
                    a0 += acc[0, i]
                    a1 += acc[1, i]
                    a2 += acc[2, i]
                    a3 += acc[3, i]
                    a4 += acc[4, i]
                    a5 += acc[5, i]
                    a6 += acc[6, i]
                    a7 += acc[7, i]
                acc[0, i], acc[1, i], acc[2, i], acc[3, i] = a0, a1, a2, a3
                acc[4, i], acc[5, i], acc[6, i], acc[7, i] = a4, a5, a6, a7

        return dq_sum

    dq_set, dq_add = make_dq_sum(False), make_dq_sum(True)

    @inner
    def blend_dq4(w, mm, x, y, z, rx, ry, rz):  # noqa: ANN001, ANN202
        """Four influences' dual quaternions (w (4, L), mm (4, 8)) blended and applied in
        one loop (it vectorises; with eight, the loads are too many and :func:`blend_dq`
        sums them into a scratch first)."""
        for i in range(x.shape[0]):
            a0, a1, a2, a3 = sum4(w, mm, i, 0)
            a4, a5, a6, a7 = sum4(w, mm, i, 4)
            rx[i], ry[i], rz[i] = dq_apply(a0, a1, a2, a3, a4, a5, a6, a7, x[i], y[i], z[i])

    @inner
    def blend_dq(w, mm, used, acc, x, y, z, rx, ry, rz):  # noqa: ANN001, ANN202
        """The run's first ``used`` influences' dual quaternions (w (K, L), mm (K, 8))
        blended and applied: four in one loop, more summed into acc (8, L) in passes of
        four first."""
        if used == 4:
            blend_dq4(w, mm, x, y, z, rx, ry, rz)
            return
        dq_set(w[0:4], mm[0:4], acc)
        for b in range(4, used, 4):
            dq_add(w[b : b + 4], mm[b : b + 4], acc)
        for i in range(x.shape[0]):
            rx[i], ry[i], rz[i] = dq_apply(acc[0, i], acc[1, i], acc[2, i], acc[3, i],
                                          acc[4, i], acc[5, i], acc[6, i], acc[7, i],
                                          x[i], y[i], z[i])

    @inner
    def load_rows(m, joints, g, mm, dq):  # noqa: ANN001, ANN202
        """The run g's K table rows into mm; dual quaternions signed onto slot 0's side."""
        p = joints[g, 0]
        for c in range(K):
            jj = joints[g, c]
            sg = np.float32(1)
            if dq:
                dot = (m[jj, 0] * m[p, 0] + m[jj, 1] * m[p, 1] + m[jj, 2] * m[p, 2]
                       + m[jj, 3] * m[p, 3])
                sg = np.float32(-1) if dot < 0 else np.float32(1)
            for r in range(mm.shape[1]):
                mm[c, r] = sg * m[jj, r]

    def make_positions(dq: bool):  # noqa: ANN202
        width = 8 if dq else 12

        @jit
        def kernel(grp_xyz, grp_w, joints, used, starts, tasks, order, slot, tab, d, morphed,
                   out):  # noqa: ANN001, ANN202
            """out (f, n, 3) of tab (f, j, 12 | 8); d (f, m + 1, 3) morph offsets or unused."""
            f = out.shape[0]
            nt = tasks.shape[0] - 1
            gx, gy, gz = grp_xyz[0], grp_xyz[1], grp_xyz[2]
            for task in prange(f * nt):
                t = task // nt
                k = task % nt
                g0, g1 = tasks[k], tasks[k + 1]
                i0, i1 = starts[g0], starts[g1]
                res = np.empty((3, i1 - i0), np.float32)
                rx, ry, rz = res[0], res[1], res[2]
                mm = np.empty((K, width), np.float32)
                acc = np.empty(8 * (i1 - i0) if dq else 0, np.float32)
                if morphed:
                    pos = np.empty((3, i1 - i0), np.float32)
                    dt = d[t]
                    for i in range(i0, i1):
                        q = slot[i]
                        pos[0, i - i0] = gx[i] + dt[q, 0]
                        pos[1, i - i0] = gy[i] + dt[q, 1]
                        pos[2, i - i0] = gz[i] + dt[q, 2]
                    px, py, pz = pos[0], pos[1], pos[2]
                    base = i0
                else:
                    px, py, pz = gx, gy, gz
                    base = 0
                m = tab[t]
                for g in range(g0, g1):
                    s, e = starts[g], starts[g + 1]
                    load_rows(m, joints, g, mm, dq)
                    w = grp_w[K * s : K * e].reshape((K, e - s))
                    a, b = s - i0, e - i0
                    x, y, z = px[s - base : e - base], py[s - base : e - base], \
                        pz[s - base : e - base]
                    if dq:
                        blend_dq(w, mm, used[g], acc[8 * a : 8 * b].reshape((8, b - a)), x,
                                 y, z, rx[a:b], ry[a:b], rz[a:b])
                    else:
                        blend12(w, mm, used[g], x, y, z, rx[a:b], ry[a:b], rz[a:b])
                ot = out[t]
                for i in range(i0, i1):
                    o = order[i]
                    ot[o, 0] = rx[i - i0]
                    ot[o, 1] = ry[i - i0]
                    ot[o, 2] = rz[i - i0]

        return kernel

    @jit
    def gnormals(v, nrm, grp_w, joints, used, starts, tasks, order, tab, out):  # noqa: ANN001, ANN202
        """out (n, 6): one frame's posed positions and normals (the blended 3x3 on them) of
        tab (1, j, 12); v, nrm (n, 3) rest positions and normals in the caller's order (read
        here, not sorted once: a preview replaces the rest positions every frame)."""
        nt = tasks.shape[0] - 1
        m = tab[0]
        for k in prange(nt):
            g0, g1 = tasks[k], tasks[k + 1]
            i0, i1 = starts[g0], starts[g1]
            res = np.empty((6, i1 - i0), np.float32)
            src = np.empty((6, i1 - i0), np.float32)  # the task's positions and normals, sorted
            for i in range(i0, i1):
                o = order[i]
                for c in range(3):
                    src[c, i - i0] = v[o, c]
                    src[3 + c, i - i0] = nrm[o, c]
            mm = np.empty((K, 12), np.float32)
            nm = np.empty((K, 12), np.float32)
            r0, r1, r2, r3, r4, r5 = res[0], res[1], res[2], res[3], res[4], res[5]
            s0, s1, s2, s3, s4, s5 = src[0], src[1], src[2], src[3], src[4], src[5]
            for g in range(g0, g1):
                load_rows(m, joints, g, mm, False)
                for c in range(K):  # translation dropped: normals only turn
                    for r in range(12):
                        nm[c, r] = np.float32(0) if r % 4 == 3 else mm[c, r]
                s, e = starts[g], starts[g + 1]
                w = grp_w[K * s : K * e].reshape((K, e - s))
                a, b = s - i0, e - i0
                blend12(w, mm, used[g], s0[a:b], s1[a:b], s2[a:b], r0[a:b], r1[a:b], r2[a:b])
                blend12(w, nm, used[g], s3[a:b], s4[a:b], s5[a:b], r3[a:b], r4[a:b], r5[a:b])
            for i in range(i0, i1):
                o = order[i]
                for c in range(6):
                    out[o, c] = res[c, i - i0]

    return {("glbs", K, parallel): make_positions(False),
            ("gdqs", K, parallel): make_positions(True),
            ("gnormals", K, parallel): gnormals}
