"""Read a skinned glTF's rig: bind-space mesh, skin weights, joints and sampled animations.

trimesh drops skins and animation, so this goes to the accessors with reskin's glTF reader
(:mod:`reskin.assets.gltf`). It takes the first skinned mesh node (all its triangle primitives
merged), follows the glTF skinning rule (a skinned vertex is
``sum_k w_k * global(joint_k) @ inverseBind_k @ v``; the mesh node's own transform is ignored)
and samples node animations with the package's sampler (STEP, LINEAR, CUBICSPLINE).
Used to compare reskin's weights with artists' on real rigs; the asset importers live elsewhere.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np

from reskin.assets.gltf import scene as gs
from reskin.assets.gltf.read import GltfDocument, as_float, load_gltf
from reskin.assets.gltf.sampler import sample
from reskin.assets.safe_io import Limits
from reskin.core.transforms import trs_matrix

_TRS = ("translation", "rotation", "scale")


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
    _doc: GltfDocument
    _joint_nodes: tuple[int, ...]

    @property
    def bind_matrices(self) -> np.ndarray:
        """(j, 4, 4) each joint's bind-pose transform in mesh space (inverse of inverse bind)."""
        return np.linalg.inv(self.inverse_bind)

    def world(self, animation: int | None = None, times: np.ndarray | None = None) -> np.ndarray:
        """(f, j, 4, 4) global joint matrices at ``times`` (s) of ``animation``; rest if None."""
        js = self._doc.json
        nodes = js.get("nodes", [])
        times = np.zeros(1) if times is None else np.asarray(times, np.float64)
        rest = [gs.node_trs(n) for n in nodes]
        trs = {path: np.repeat(np.array([r[k] for r in rest]).reshape(len(nodes), -1)[None],
                               len(times), 0) for k, path in enumerate(_TRS)}
        if animation is not None:
            anim = js["animations"][animation]
            for ch in anim.get("channels", []):
                target = ch.get("target", {})
                path = target.get("path")
                if "node" not in target or path not in trs:
                    continue  # morph weights and pointer targets do not move joints
                s = anim["samplers"][int(ch["sampler"])]
                keys = as_float(self._doc, int(s["input"])).ravel()
                vals = as_float(self._doc, int(s["output"]))
                trs[path][:, int(target["node"])] = sample(
                    keys, vals, s.get("interpolation", "LINEAR"), times, path == "rotation")
        mats = trs_matrix(trs["translation"], trs["rotation"], trs["scale"])  # (f, nodes, 4, 4)
        for i, node in enumerate(nodes):
            if "matrix" in node:  # a node with a matrix cannot be animated (spec)
                mats[:, i] = gs.node_local(node)
        return gs.world_matrices(js, mats)[:, list(self._joint_nodes)]

    def skin_matrices(self, animation: int | None = None,
                      times: np.ndarray | None = None) -> np.ndarray:
        """(f, j, 4, 4) ``global(joint) @ inverse_bind``: bind-space vertices to the scene."""
        return self.world(animation, times) @ self.inverse_bind[None]

    def duration(self, animation: int) -> float:
        """Seconds to the last key of ``animation`` (the largest ``max`` of its inputs)."""
        js = self._doc.json
        anim = js["animations"][animation]
        return max(float(js["accessors"][int(s["input"])]["max"][0]) for s in anim["samplers"])


def load_gltf_rig(path: str | Path) -> GltfRig:
    """The first skinned mesh of a .glb/.gltf (buffers embedded or in files beside it) with its
    skin and animations, read with :func:`reskin.assets.gltf.read.load_gltf`.

    Raises ValueError when the file has no skinned triangle mesh.
    """
    path = Path(path)
    doc = load_gltf(path, path.read_bytes(), Limits(), allow_missing=True)
    js = doc.json
    node = next((n for n in js.get("nodes", []) if "mesh" in n and "skin" in n), None)
    if node is None:
        raise ValueError(f"{path}: no skinned mesh")
    skin = js["skins"][int(node["skin"])]
    verts, faces, joints, weights = [], [], [], []
    offset = 0
    for prim in js["meshes"][int(node["mesh"])].get("primitives", []):
        if int(prim.get("mode", 4)) != 4:
            continue
        a = prim["attributes"]
        v = as_float(doc, int(a["POSITION"]))
        verts.append(v)
        faces.append(gs.triangles(doc, prim, len(v)) + offset)
        js_k = [int(a[f"JOINTS_{k}"]) for k in range(4) if f"JOINTS_{k}" in a]
        ws_k = [int(a[f"WEIGHTS_{k}"]) for k in range(4) if f"WEIGHTS_{k}" in a]
        if not js_k or len(js_k) != len(ws_k):
            raise ValueError(f"{path}: a skinned primitive lacks JOINTS_n/WEIGHTS_n pairs")
        joints.append(np.concatenate([doc.accessors[j].astype(np.int64) for j in js_k], 1))
        weights.append(np.concatenate([as_float(doc, w) for w in ws_k], 1))
        offset += len(v)
    k = max(j.shape[1] for j in joints)
    joints = np.concatenate([np.pad(j, ((0, 0), (0, k - j.shape[1]))) for j in joints])
    weights = np.concatenate([np.pad(w, ((0, 0), (0, k - w.shape[1]))) for w in weights])
    weights /= np.maximum(weights.sum(axis=1, keepdims=True), 1e-12)
    jn = tuple(int(j) for j in skin["joints"])
    ibm = (as_float(doc, int(skin["inverseBindMatrices"])).reshape(-1, 4, 4).transpose(0, 2, 1)
           if "inverseBindMatrices" in skin else np.tile(np.eye(4), (len(jn), 1, 1)))
    node_parent = gs.parent_table(js)
    slot = {n: i for i, n in enumerate(jn)}
    jp = np.full(len(jn), -1)
    for i, n in enumerate(jn):
        p = node_parent[n]
        while p >= 0 and p not in slot:
            p = node_parent[p]
        jp[i] = slot.get(p, -1) if p >= 0 else -1
    names = tuple(js["nodes"][n].get("name") or f"joint{i}" for i, n in enumerate(jn))
    anims = tuple(a.get("name") or f"anim{i}" for i, a in enumerate(js.get("animations", [])))
    return GltfRig(np.concatenate(verts), np.concatenate(faces), joints, weights, names, jp,
                   ibm, anims, doc, jn)
