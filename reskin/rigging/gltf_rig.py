"""Read a skinned glTF's rig: bind-space mesh, skin weights, joints and sampled animations.

trimesh drops skins and animation, so this small reader goes to the accessors with pygltflib.
It takes the first skinned mesh node (all its triangle primitives merged), follows the glTF
skinning rule (a skinned vertex is ``sum_k w_k * global(joint_k) @ inverseBind_k @ v``; the mesh
node's own transform is ignored) and samples node animations (STEP, LINEAR, CUBICSPLINE).
Used to compare reskin's weights with artists' on real rigs; the asset importers live elsewhere.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pygltflib as gl

from reskin.core.transforms import quat_to_matrix

_NP = {5120: np.int8, 5121: np.uint8, 5122: np.int16, 5123: np.uint16, 5125: np.uint32,
       5126: np.float32}
_WIDTH = {"SCALAR": 1, "VEC2": 2, "VEC3": 3, "VEC4": 4, "MAT4": 16}


@dataclass(frozen=True, eq=False)
class GltfRig:
    """A skinned mesh with its skeleton, in the mesh's bind space.

    vertices      : (n, 3) float64 bind-pose positions (the POSITION attribute)
    faces         : (m, 3) int64 triangles
    joints        : (n, k) int64 skin joint indices (k = 4 per JOINTS_i set)
    weights       : (n, k) float64, rows normalised to sum 1
    joint_names   : (j,) names of the skin's joints (node names, or ``joint<i>``)
    joint_parents : (j,) int64 index of the nearest ancestor that is a skin joint, -1 for none
    inverse_bind  : (j, 4, 4) float64 inverse bind matrices
    animations    : names of the document's animations (``anim<i>`` where unnamed)
    """

    vertices: np.ndarray
    faces: np.ndarray
    joints: np.ndarray
    weights: np.ndarray
    joint_names: tuple[str, ...]
    joint_parents: np.ndarray
    inverse_bind: np.ndarray
    animations: tuple[str, ...]
    _doc: gl.GLTF2
    _blob: bytes
    _joint_nodes: tuple[int, ...]

    @property
    def bind_matrices(self) -> np.ndarray:
        """(j, 4, 4) each joint's bind-pose transform in mesh space (inverse of inverse bind)."""
        return np.linalg.inv(self.inverse_bind)

    def world(self, animation: int | None = None, times: np.ndarray | None = None) -> np.ndarray:
        """(f, j, 4, 4) global joint matrices at ``times`` (s) of ``animation``; rest if None."""
        local = _rest_trs(self._doc)
        times = np.zeros(1) if times is None else np.asarray(times, np.float64)
        trs = {k: np.repeat(v[None], len(times), 0) for k, v in local.items()}
        if animation is not None:
            anim = self._doc.animations[animation]
            for ch in anim.channels:
                path = ch.target.path
                if ch.target.node is None or path not in trs:
                    continue  # morph weights and pointer targets do not move joints
                s = anim.samplers[ch.sampler]
                keys = _read(self._doc, self._blob, s.input).ravel().astype(np.float64)
                vals = _read(self._doc, self._blob, s.output).astype(np.float64)
                trs[path][:, ch.target.node] = _sample(keys, vals, times, s.interpolation, path)
        mats = _compose(trs, local["matrix"])  # (f, nodes, 4, 4)
        glob = np.empty_like(mats)
        for node in _topological(self._doc):
            p = _parents(self._doc)[node]
            glob[:, node] = mats[:, node] if p < 0 else glob[:, p] @ mats[:, node]
        return glob[:, list(self._joint_nodes)]

    def skin_matrices(self, animation: int | None = None,
                      times: np.ndarray | None = None) -> np.ndarray:
        """(f, j, 4, 4) ``global(joint) @ inverse_bind``: bind-space vertices to the scene."""
        return self.world(animation, times) @ self.inverse_bind[None]

    def duration(self, animation: int) -> float:
        anim = self._doc.animations[animation]
        return max(float(self._doc.accessors[s.input].max[0]) for s in anim.samplers)


def _read(doc: gl.GLTF2, blob: bytes, index: int) -> np.ndarray:
    """Accessor ``index`` as (count, width) float or int array (normalised ints -> [0, 1])."""
    acc = doc.accessors[index]
    if acc.sparse is not None:
        raise ValueError(f"accessor {index}: sparse accessors are not supported for rigs")
    dtype = np.dtype(_NP[acc.componentType])
    width = _WIDTH[acc.type]
    view = doc.bufferViews[acc.bufferView]
    if view.buffer != 0 or doc.buffers[0].uri is not None:
        raise ValueError("only self-contained GLB (or embedded) buffers are supported")
    start = (view.byteOffset or 0) + (acc.byteOffset or 0)
    stride = view.byteStride or dtype.itemsize * width
    rows = np.ndarray((acc.count, width), dtype, blob, start, (stride, dtype.itemsize))
    out = np.array(rows)
    if acc.normalized:
        out = out.astype(np.float64) / np.iinfo(dtype).max
    return out


def _parents(doc: gl.GLTF2) -> np.ndarray:
    p = np.full(len(doc.nodes), -1)
    for i, n in enumerate(doc.nodes):
        for c in n.children or []:
            p[c] = i
    return p


def _topological(doc: gl.GLTF2) -> list[int]:
    parents = _parents(doc)
    order, stack = [], [i for i in range(len(doc.nodes)) if parents[i] < 0][::-1]
    while stack:
        i = stack.pop()
        order.append(i)
        stack.extend((doc.nodes[i].children or [])[::-1])
    return order


def _rest_trs(doc: gl.GLTF2) -> dict[str, np.ndarray]:
    n = len(doc.nodes)
    t, r, s = np.zeros((n, 3)), np.tile([0.0, 0, 0, 1], (n, 1)), np.ones((n, 3))
    matrix = np.full((n, 4, 4), np.nan)
    for i, node in enumerate(doc.nodes):
        if node.matrix is not None:
            matrix[i] = np.array(node.matrix, np.float64).reshape(4, 4).T  # column-major
        t[i] = node.translation or t[i]
        r[i] = node.rotation or r[i]
        s[i] = node.scale or s[i]
    return {"translation": t, "rotation": r, "scale": s, "matrix": matrix}


def _compose(trs: dict[str, np.ndarray], matrix: np.ndarray) -> np.ndarray:
    f, n = trs["translation"].shape[:2]
    m = np.zeros((f, n, 4, 4))
    m[..., :3, :3] = quat_to_matrix(trs["rotation"]) * trs["scale"][..., None, :]
    m[..., :3, 3] = trs["translation"]
    m[..., 3, 3] = 1.0
    fixed = ~np.isnan(matrix[:, 0, 0])  # a node with a matrix cannot be animated (spec)
    m[:, fixed] = matrix[fixed]
    return m


def _slerp(a: np.ndarray, b: np.ndarray, u: np.ndarray) -> np.ndarray:
    b = np.where((np.einsum("ij,ij->i", a, b) < 0)[:, None], -b, b)
    dot = np.clip(np.einsum("ij,ij->i", a, b), -1.0, 1.0)
    theta = np.arccos(dot)
    small = theta < 1e-6
    sin = np.where(small, 1.0, np.sin(theta))
    wa = np.where(small, 1 - u, np.sin((1 - u) * theta) / sin)
    wb = np.where(small, u, np.sin(u * theta) / sin)
    q = wa[:, None] * a + wb[:, None] * b
    return q / np.linalg.norm(q, axis=1, keepdims=True)


def _sample(keys: np.ndarray, vals: np.ndarray, times: np.ndarray, interp: str | None,
            path: str) -> np.ndarray:
    """Values (len(times), width) of one channel; times outside the keys clamp to the ends."""
    cubic = interp == "CUBICSPLINE"
    if cubic:  # (in-tangent, value, out-tangent) per key
        tri = vals.reshape(len(keys), 3, -1)
        vals, tin, tout = tri[:, 1], tri[:, 0], tri[:, 2]
    t = np.clip(times, keys[0], keys[-1])
    i = np.clip(np.searchsorted(keys, t, side="right") - 1, 0, len(keys) - 1)
    i1 = np.minimum(i + 1, len(keys) - 1)
    dt = keys[i1] - keys[i]
    u = np.where(dt > 0, (t - keys[i]) / np.where(dt > 0, dt, 1.0), 0.0)
    if interp == "STEP":
        return vals[i]
    if cubic:
        u2, u3 = u * u, u * u * u
        h = [2 * u3 - 3 * u2 + 1, u3 - 2 * u2 + u, -2 * u3 + 3 * u2, u3 - u2]
        out = (h[0][:, None] * vals[i] + (h[1] * dt)[:, None] * tout[i]
               + h[2][:, None] * vals[i1] + (h[3] * dt)[:, None] * tin[i1])
        if path == "rotation":
            out /= np.linalg.norm(out, axis=1, keepdims=True)
        return out
    if path == "rotation":
        return _slerp(vals[i], vals[i1], u)
    return (1 - u)[:, None] * vals[i] + u[:, None] * vals[i1]


def load_gltf_rig(path: str | Path) -> GltfRig:
    """The first skinned mesh of a .glb/.gltf (embedded buffers) with its skin and animations.

    Raises ValueError when the file has no skinned triangle mesh.
    """
    doc = gl.GLTF2().load(str(path))
    blob = doc.binary_blob()
    if blob is None and doc.buffers and doc.buffers[0].uri:
        doc.convert_buffers(gl.BufferFormat.BINARYBLOB)
        blob = doc.binary_blob()
    node = next((n for n in doc.nodes if n.mesh is not None and n.skin is not None), None)
    if node is None:
        raise ValueError(f"{path}: no skinned mesh")
    skin = doc.skins[node.skin]
    verts, faces, joints, weights = [], [], [], []
    offset = 0
    for prim in doc.meshes[node.mesh].primitives:
        if (prim.mode if prim.mode is not None else 4) != 4:
            continue
        a = prim.attributes
        v = _read(doc, blob, a.POSITION).astype(np.float64)
        idx = (_read(doc, blob, prim.indices).ravel() if prim.indices is not None
               else np.arange(len(v)))
        verts.append(v)
        faces.append(idx.reshape(-1, 3).astype(np.int64) + offset)
        js = [getattr(a, f"JOINTS_{k}", None) for k in range(4)]
        ws = [getattr(a, f"WEIGHTS_{k}", None) for k in range(4)]
        js = [_read(doc, blob, x).astype(np.int64) for x in js if x is not None]
        ws = [_read(doc, blob, x).astype(np.float64) for x in ws if x is not None]
        if not js or len(js) != len(ws):
            raise ValueError(f"{path}: a skinned primitive lacks JOINTS_n/WEIGHTS_n pairs")
        joints.append(np.concatenate(js, axis=1))
        weights.append(np.concatenate(ws, axis=1))
        offset += len(v)
    k = max(j.shape[1] for j in joints)
    joints = np.concatenate([np.pad(j, ((0, 0), (0, k - j.shape[1]))) for j in joints])
    weights = np.concatenate([np.pad(w, ((0, 0), (0, k - w.shape[1]))) for w in weights])
    weights /= np.maximum(weights.sum(axis=1, keepdims=True), 1e-12)
    jn = tuple(skin.joints)
    ibm = (_read(doc, blob, skin.inverseBindMatrices).reshape(-1, 4, 4).transpose(0, 2, 1)
           .astype(np.float64) if skin.inverseBindMatrices is not None
           else np.tile(np.eye(4), (len(jn), 1, 1)))
    node_parent = _parents(doc)
    slot = {n: i for i, n in enumerate(jn)}
    jp = np.full(len(jn), -1)
    for i, n in enumerate(jn):
        p = node_parent[n]
        while p >= 0 and p not in slot:
            p = node_parent[p]
        jp[i] = slot.get(p, -1) if p >= 0 else -1
    names = tuple(doc.nodes[n].name or f"joint{i}" for i, n in enumerate(jn))
    anims = tuple(a.name or f"anim{i}" for i, a in enumerate(doc.animations))
    return GltfRig(np.concatenate(verts), np.concatenate(faces), joints, weights, names, jp,
                   ibm, anims, doc, blob, jn)
