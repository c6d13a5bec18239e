"""Morph targets (glTF ``targets``, Blender shape keys) on arrays, stored sparsely.

A morphed mesh is ``rest + sum_k w_k * delta_k``, applied before skinning (glTF's order, and
Blender's: shape keys come before the armature modifier). Face targets touch a small part of a
mesh (the 65 expressions of the shared avatars move 4.5k of the head's 22k vertices, each one
about 1.3k), so the deltas are kept on the vertices some target moves, as a sparse matrix: the
offsets of f frames cost the deltas' non-zeros times f, not k * n * f.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from scipy.sparse import csr_matrix


@dataclass(frozen=True)
class MorphTargets:
    """k morph targets of an n-vertex mesh, kept on the m vertices any of them moves.

    n_vertices : n
    index      : (m,) int64 sorted indices of the vertices some target moves
    deltas     : (k, 3 m) sparse float64: target t moves vertex ``index[i]`` by
                 ``deltas[t, 3 i : 3 i + 3]``
    names      : the targets' names (glTF ``mesh.extras.targetNames``), () when unnamed
    """

    n_vertices: int
    index: np.ndarray
    deltas: csr_matrix
    names: tuple[str, ...] = ()

    @property
    def count(self) -> int:
        """k, the number of targets."""
        return self.deltas.shape[0]

    def dense(self) -> np.ndarray:
        """(k, n, 3) float64 deltas of every vertex (zeros where a target does not move it)."""
        out = np.zeros((self.count, self.n_vertices, 3))
        out[:, self.index] = self.deltas.toarray().reshape(self.count, -1, 3)
        return out

    def offsets(self, weights: np.ndarray, dtype: type = np.float64) -> np.ndarray:
        """(f, m, 3) displacement of the moved vertices for morph weights (f, k)."""
        w = np.asarray(weights, np.float64)
        if w.ndim != 2 or w.shape[1] != self.count:
            raise ValueError(f"morph weights must be (f, {self.count}), got {w.shape}")
        # (3 m, k) sparse @ (k, f) dense: cost is the deltas' non-zeros times f.
        out = (self.deltas.T @ w.T).T  # (f, 3 m)
        return np.asarray(out, dtype).reshape(len(w), -1, 3)


def morph_targets(deltas: np.ndarray, names: tuple[str, ...] | list[str] = ()) -> MorphTargets:
    """:class:`MorphTargets` from dense deltas (k, n, 3); exact zeros are not stored."""
    d = np.asarray(deltas, np.float64)
    if d.ndim != 3 or d.shape[2] != 3:
        raise ValueError(f"morph deltas must be (k, n, 3), got {d.shape}")
    names = tuple(names)
    if names and len(names) != len(d):
        raise ValueError(f"{len(names)} names for {len(d)} morph targets")
    index = np.flatnonzero(np.any(d != 0, axis=(0, 2))).astype(np.int64)
    compact = csr_matrix(d[:, index].reshape(len(d), 3 * len(index)))
    compact.eliminate_zeros()
    return MorphTargets(d.shape[1], index, compact, names)


def morph_weights_for(morphs: MorphTargets, weights: np.ndarray, frames: int) -> np.ndarray:
    """Morph weights as (frames, k): (k,) is held for every frame, (f, k) must have f frames."""
    w = np.asarray(weights, np.float64)
    if w.ndim == 1:
        w = np.broadcast_to(w, (frames, len(w)))
    if w.shape != (frames, morphs.count):
        raise ValueError(f"morph weights must be ({morphs.count},) or ({frames}, "
                         f"{morphs.count}), got {np.shape(weights)}")
    return w


def apply_morphs(vertices: np.ndarray, morphs: MorphTargets, weights: np.ndarray) -> np.ndarray:
    """Morphed positions: (n, 3) for weights (k,), (f, n, 3) for weights (f, k)."""
    v = np.asarray(vertices, np.float64)
    if v.shape != (morphs.n_vertices, 3):
        raise ValueError(f"vertices {v.shape} do not match morph targets of "
                         f"{morphs.n_vertices} vertices")
    w = np.asarray(weights, np.float64)
    single = w.ndim == 1
    w = w[None] if single else w
    out = np.repeat(v[None], len(w), axis=0)
    out[:, morphs.index] += morphs.offsets(w)
    return out[0] if single else out


def gltf_morph_targets(doc, prim: dict, names: list[str] | tuple[str, ...] = ()) -> MorphTargets:
    """The POSITION morph targets of glTF primitive ``prim`` of the parsed ``doc``
    (:class:`reskin.assets.gltf.read.GltfDocument`); ``names`` from ``mesh.extras.targetNames``."""
    from reskin.assets.gltf.read import as_float

    n = len(doc.accessors[int(prim["attributes"]["POSITION"])])
    deltas = np.zeros((len(prim.get("targets", [])), n, 3))
    for t, target in enumerate(prim.get("targets", [])):
        if "POSITION" in target:
            deltas[t] = as_float(doc, int(target["POSITION"]))
    names = tuple(names)
    return morph_targets(deltas, names if len(names) == len(deltas) else ())
