"""Fast CPU skinning: LBS and DQS compiled with numba over a compact influence layout.

The same maths as :func:`reskin.rigging.skinning.lbs` and :func:`~reskin.rigging.skinning.dqs`
(the reference paths, which the tests compare these with), in float32, for one or many frames.

Layout and loop order are chosen for the cache and the vector units. First choice, for any
number of frames: vertices sorted into runs that share a joint set
(:mod:`reskin.rigging.influence_groups`; a rig has a few hundred), each run's matrices loaded
once and blended across 16 vertices per vector instruction
(:mod:`reskin.rigging.skinning_group_kernels`). Where a mesh's joint sets do not repeat enough
to fill the vector lanes, per-vertex kernels:

- influences are two (n, K) C-ordered arrays, int32 joint indices and float32 weights
  (:class:`Influences`), padded with zero weights to K = 4, 8, ... (a multiple of 4) so each
  kernel is compiled for a fixed count (its influence loops unrolled);
- many frames: a block of ``_T`` frames' matrices is laid out (j, 12, _T) (dual quaternions:
  (j, 8, _T)), so blending one vertex's influences over the block is short loops of
  contiguous, vectorised multiply-adds over frames (no gathers across joints in the inner
  loop); the whole clip's blocks are one table and one parallel loop over (frame block,
  vertex block) tasks, and results leave a task as contiguous per-frame rows;
- one or a few frames: per vertex, gather its K matrices (12 contiguous floats each);
- morph offsets are dense per frame block, (m + 1, 3, _T), the last row zeros for the vertices
  no target moves (no branch in the frame loop);
- threads (``prange``) only where a call has enough work to pay for waking them: on a shared
  machine a parallel region waits for its slowest thread, so a single frame runs on one.

:class:`Skinner` holds one mesh's prepared layout for repeated calls (a preview draws a frame
per call); :func:`lbs_fast` and :func:`dqs_fast` prepare one per call. Without numba (a pinned
dependency, but a stripped environment may lack it) the numpy reference paths run instead.
"""

from __future__ import annotations

from dataclasses import dataclass, replace

import numpy as np

from reskin.rigging.influence_groups import InfluenceGroups, group_influences
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
except ImportError:  # pragma: no cover - exercised only where numba is missing
    numba = None

# Frames per block: 4 AVX vectors; the (j, 12, _T) table of 63 joints is 97 kB (in L2),
# reused by every vertex block of the frame block.
_T = 32
# Below this many frames the per-vertex gather kernel beats filling frame blocks.
_FEW = 8
# Calls with fewer vertex-frames than this run on one thread (about half a millisecond).
_SERIAL = 150_000


@dataclass(frozen=True)
class Influences:
    """Per-vertex skinning influences in the kernels' layout.

    index  : (n, k) int32 joint index, C order
    weight : (n, k) float32 weight, C order (rows sum to 1)
    bound  : 1 + the largest joint index (checked against the matrices in O(1) per call)
    """

    index: np.ndarray
    weight: np.ndarray
    bound: int = 0

    @property
    def k(self) -> int:
        return self.index.shape[1]


def compact_influences(joints: np.ndarray, weights: np.ndarray, n_joints: int) -> Influences:
    """:class:`Influences` of (n, k) joint indices and weights, checked against ``n_joints``,
    zero-padded to k = 4 or a multiple of 4 (the kernels' fixed counts)."""
    jn = np.asarray(joints)
    w = np.asarray(weights)
    if jn.shape != w.shape or jn.ndim != 2:
        raise ValueError(f"joints {jn.shape} and weights {w.shape} must both be (n, k)")
    if jn.size and (jn.min() < 0 or jn.max() >= n_joints):
        raise ValueError(f"joint indices must be in [0, {n_joints})")
    n, k = jn.shape
    kk = max(4, -(-k // 4) * 4)
    index = np.zeros((n, kk), np.int32)
    weight = np.zeros((n, kk), np.float32)
    index[:, :k], weight[:, :k] = jn, w
    return Influences(index, weight, int(jn.max()) + 1 if jn.size else 0)


def has_numba() -> bool:
    """Whether the compiled kernels are available (else the numpy reference paths run)."""
    return numba is not None


class Skinner:
    """One mesh prepared for repeated fast skinning (the float32 layout made once).

    vertices   : (n, 3) rest positions
    influences : from :func:`compact_influences`
    morphs     : optional morph targets on these vertices (weights given per call)
    """

    def __init__(self, vertices: np.ndarray, influences: Influences,
                 morphs: MorphTargets | None = None):
        v = np.ascontiguousarray(vertices, np.float32)
        if v.ndim != 2 or v.shape[1] != 3 or influences.index.shape[0] != len(v):
            _check(v, influences.index, influences.weight, max(influences.bound, 1))
        self._vertices, self.influences, self.morphs = v, influences, morphs
        # Row of each vertex in a block's morph offsets; m (a zero row) where none moves it.
        m = 0 if morphs is None else len(morphs.index)
        self._slot = np.full(len(v), m, np.int32)
        if morphs is not None:
            self._slot[morphs.index] = np.arange(m, dtype=np.int32)
        self._no_offsets = np.zeros((1, 1, 3), np.float32)
        # Joint-set runs (influence_groups), made on the first call that pays for them.
        self._groups: InfluenceGroups | None | bool = numba is not None
        self._calls = 0
        self._stale = False

    @property
    def n(self) -> int:
        return len(self._vertices)

    @property
    def vertices(self) -> np.ndarray:
        """(n, 3) float32 rest positions; settable (a preview morphs the rest per frame)."""
        return self._vertices

    @vertices.setter
    def vertices(self, rest: np.ndarray) -> None:
        v = np.ascontiguousarray(rest, np.float32)
        if v.shape != self._vertices.shape:
            raise ValueError(f"rest positions must be {self._vertices.shape}, got {v.shape}")
        self._vertices = v
        self._stale = True  # the runs' sorted copy, re-made when a positions kernel needs it

    def lbs(self, matrices: np.ndarray, morph_weights: np.ndarray | None = None, *,
            out: np.ndarray | None = None, threads: int | None = None) -> np.ndarray:
        """Linear blend skinning of (j, 4, 4) or (f, j, 4, 4) matrices: (n, 3) or (f, n, 3)
        float32 (into ``out``, (f, n, 3) C-ordered float32, when given)."""
        return self._skin("lbs", matrices, morph_weights, out, threads)

    def dqs(self, matrices: np.ndarray, morph_weights: np.ndarray | None = None, *,
            out: np.ndarray | None = None, threads: int | None = None) -> np.ndarray:
        """Dual-quaternion skinning, as :meth:`lbs` (matrices rigid; scale is ignored)."""
        return self._skin("dqs", matrices, morph_weights, out, threads)

    def lbs_with_normals(self, matrices: np.ndarray, normals: np.ndarray,
                         out: np.ndarray) -> np.ndarray:
        """One frame's posed positions and normals side by side, for a vertex buffer.

        matrices : (j, 4, 4); normals : (n, 3) float32 rest normals
        out      : (n, 6) float32 C-ordered: posed x, y, z and the normal turned by the same
                   blended matrix (not renormalised: a shader normalises it)
        """
        j = matrices.shape[0]
        if self.influences.bound > j:
            raise ValueError(f"joint indices must be in [0, {j})")
        table = np.ascontiguousarray(matrices[:, :3, :], np.float32).reshape(1, j, 12)
        if numba is None:  # pragma: no cover
            blended = np.einsum("nk,nkrc->nrc", self.influences.weight,
                                table[0].reshape(j, 3, 4)[self.influences.index])
            out[:, :3] = np.einsum("nrc,nc->nr", blended[..., :3], self.vertices) \
                + blended[..., 3]
            out[:, 3:] = np.einsum("nrc,nc->nr", blended[..., :3], normals)
            return out
        nrm = np.ascontiguousarray(normals, np.float32)
        groups = self._runs(1)
        if groups is not None:
            kern = _kernel("gnormals", self.influences.k, self.n >= _SERIAL)
            kern(self.vertices, nrm, groups.weights, groups.joints, groups.used, groups.starts,
                 groups.tasks, groups.order, table, out)
            return out
        kern = _kernel("normals", self.influences.k, self.n >= _SERIAL)
        kern(self.vertices, nrm, self.influences.index, self.influences.weight, table, out)
        return out

    def _runs(self, frames: int) -> InfluenceGroups | None:
        """The mesh's joint-set runs, sorted on the second call or a first of 8+ frames
        (sorting costs about 0.4 ms per 1,000 vertices: a one-off single frame skips it)."""
        self._calls += 1
        if self._groups is True and (self._calls > 1 or frames >= _FEW):
            self._groups = group_influences(self.vertices, self.influences.index,
                                            self.influences.weight, self._slot)
            self._stale = False
        return self._groups if isinstance(self._groups, InfluenceGroups) else None

    def _skin(self, method, matrices, morph_weights, out, threads):  # noqa: ANN001, ANN202
        mats, single = _frames(matrices)
        f, j = mats.shape[:2]
        inf, n, morphs = self.influences, self.n, self.morphs
        if inf.bound > j:
            raise ValueError(f"joint indices must be in [0, {j})")
        mw = _morph_check(morphs, morph_weights, n, f) if morphs is not None else None
        if morphs is None and morph_weights is not None:
            raise ValueError("morph_weights given without morphs")
        if out is None:
            out = np.empty((f, n, 3), np.float32)
        elif out.shape != (f, n, 3) or out.dtype != np.float32 or not out.flags.c_contiguous:
            raise ValueError(f"out must be a C-ordered float32 ({f}, {n}, 3) array")
        if numba is None:  # pragma: no cover
            ref = lbs if method == "lbs" else dqs
            out[:] = ref(self.vertices, inf.index, inf.weight, mats, morphs=morphs,
                         morph_weights=mw)
            return out[0] if single else out
        if method == "lbs":
            table = mats[:, :, :3, :].reshape(f, j, 12)  # row-major 3x4 per joint
        else:
            table = _dual_quats(mats)  # (f, j, 8)
        parallel = n * f >= _SERIAL and threads != 1
        before = numba.get_num_threads()
        if parallel and threads is not None:
            numba.set_num_threads(max(1, min(threads, numba.config.NUMBA_NUM_THREADS)))
        try:
            groups = self._runs(f)
            # DQS's frame-block kernel is written out for K <= 8; more take the gathers.
            per_frame = f < _FEW or (method == "dqs" and inf.k > 8)
            if groups is not None or per_frame:  # morph offsets per frame, a zero row last
                d = (self._no_offsets if mw is None else
                     np.concatenate([morphs.offsets(mw, np.float32),
                                     np.zeros((f, 1, 3), np.float32)], axis=1))
                table = np.ascontiguousarray(table, np.float32)
            if groups is not None:
                if self._stale:
                    groups = self._groups = replace(groups, xyz=np.ascontiguousarray(
                        self._vertices[groups.order].T))
                    self._stale = False
                kern = _kernel("g" + method, inf.k, parallel)
                kern(groups.xyz, groups.weights, groups.joints, groups.used, groups.starts,
                     groups.tasks, groups.order, groups.slot, table, d, mw is not None, out)
            elif per_frame:
                kern = _kernel(method + "_few", inf.k, parallel)
                kern(self.vertices, inf.index, inf.weight, table, self._slot, d,
                     mw is not None, out)
            else:
                nb = -(-f // _T)
                # (frame block, j, c, _T): each block's frames last, padded with the last.
                tab = np.empty((nb * _T, j, table.shape[2]), np.float32)
                tab[:f], tab[f:] = table, table[-1]
                tab = np.ascontiguousarray(tab.reshape(nb, _T, j, -1).transpose(0, 2, 3, 1))
                if mw is None:
                    d = np.zeros((nb, 1, 3, _T), np.float32)
                    slot = np.zeros(n, np.int32)
                else:
                    off = np.zeros((nb * _T, len(morphs.index) + 1, 3), np.float32)
                    off[:f, :-1] = morphs.offsets(mw, np.float32)
                    d = np.ascontiguousarray(off.reshape(nb, _T, -1, 3).transpose(0, 2, 3, 1))
                    slot = self._slot
                kern = _kernel(method, inf.k, parallel)
                kern(self.vertices, inf.index, inf.weight, tab, slot, d, out)
        finally:
            if parallel and threads is not None:
                numba.set_num_threads(before)
        return out[0] if single else out


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
    threads : numba threads for this call (default: numba's, i.e. the cores; small calls one)
    out : optional (f, n, 3) float32 C-ordered array to write into (a stream of shots reuses
          one instead of faulting in fresh pages every call)
    returns (n, 3) or (f, n, 3) float32 posed positions

    A caller skinning the same mesh again and again keeps a :class:`Skinner` instead.
    """
    return _skinner(vertices, joints, weights, matrices, influences, morphs, morph_weights
                    ).lbs(matrices, morph_weights, out=out, threads=threads)


def dqs_fast(
    vertices: np.ndarray, joints: np.ndarray | None, weights: np.ndarray | None,
    matrices: np.ndarray, *, influences: Influences | None = None,
    morphs: MorphTargets | None = None, morph_weights: np.ndarray | None = None,
    threads: int | None = None, out: np.ndarray | None = None,
) -> np.ndarray:
    """Dual-quaternion skinning of one or many frames, float32, as :func:`~.skinning.dqs`.

    Arguments and result as :func:`lbs_fast`; matrices must be rigid (scale is ignored).
    """
    return _skinner(vertices, joints, weights, matrices, influences, morphs, morph_weights
                    ).dqs(matrices, morph_weights, out=out, threads=threads)


def _skinner(vertices, joints, weights, matrices, influences, morphs, morph_weights):  # noqa: ANN001, ANN202
    mats, _ = _frames(matrices)
    j = mats.shape[1]
    if influences is None:
        influences = compact_influences(joints, weights, j)
    elif influences.bound > j:
        raise ValueError(f"joint indices must be in [0, {j})")
    v = np.ascontiguousarray(vertices, np.float32)
    if v.ndim != 2 or v.shape[1] != 3 or influences.index.shape[0] != len(v):
        _check(v, influences.index, influences.weight, j)  # the reference path's message
    if morphs is not None and morph_weights is None:
        raise ValueError("morphs given without morph_weights")
    return Skinner(v, influences, morphs)


_KERNELS: dict = {}  # (method, K, parallel) -> kernel, made on first use


def _dual_quats(mats: np.ndarray) -> np.ndarray:
    """(f, j, 8) float32 dual quaternions (real | dual) of (f, j, 4, 4) rigid matrices.

    Compiled (a single frame spent most of its time in numpy's batched SVD and Shepperd's
    method over 63 joints); a singular rotation block takes the reference's SVD."""
    from reskin.rigging.skinning_kernels import dual_quat_table

    out = np.empty(mats.shape[:2] + (8,), np.float32)
    if dual_quat_table(np.ascontiguousarray(mats, np.float64), out):
        return out
    real, dual = matrices_to_dual_quats(mats)
    return np.concatenate([real, dual], axis=-1).astype(np.float32)


def _kernel(method: str, k: int, parallel: bool):  # noqa: ANN202
    key = (method, k, parallel)
    if key not in _KERNELS:
        if method.startswith("g"):
            from reskin.rigging.skinning_group_kernels import compile_group_kernels

            _KERNELS.update(compile_group_kernels(k, parallel))
        else:
            from reskin.rigging.skinning_kernels import T, compile_kernels

            assert T == _T
            _KERNELS.update(compile_kernels(k, parallel))
    return _KERNELS[key]
