"""Giving a static glTF a skeleton: joint nodes, skins and per-vertex influences, appended.

A generator's output (one textured mesh, no skeleton) keeps every byte of its geometry, its
materials and textures; only new nodes, skins and JOINTS/WEIGHTS accessors are added. Joints
are scene roots placed at their rest positions in the scene's world space (rest rotations are
identity, as reskin's skeletons are), so a mesh node's inverse bind matrices are
``inverse(T(head)) @ world(mesh node)``: in the bind pose every vertex lands where the static
file put it, whatever transforms (units, up axis, the import's normalisation) sit above it.
"""

from __future__ import annotations

import numpy as np

from reskin.assets.gltf import scene as gs
from reskin.assets.gltf.accessors import BufferBuilder
from reskin.assets.gltf.character import float32_weights
from reskin.assets.gltf.types import ARRAY_BUFFER


def unit_weights(weights: np.ndarray) -> np.ndarray:
    """(n, k) weights -> float32 rows summing to 1 within an ulp (a row of zeros becomes
    (1, 0, ...), on joint 0 as the validator allows)."""
    w = np.clip(np.asarray(weights, np.float64), 0.0, None)
    s = w.sum(axis=1, keepdims=True)
    w = np.where(s > 0, w / np.where(s > 0, s, 1.0), 0.0)
    w[s[:, 0] <= 0, 0] = 1.0
    return float32_weights(w)


def influence_attributes(buf: BufferBuilder, joints: np.ndarray, weights: np.ndarray
                         ) -> dict[str, int]:
    """JOINTS_i / WEIGHTS_i accessors for (n, k) influences, k a multiple of 4 (8 becomes two
    sets); unused slots point at joint 0 with weight 0, as the validator asks."""
    joints = np.asarray(joints)
    k = joints.shape[1]
    pad = -k % 4
    w = unit_weights(weights)
    if pad:
        joints = np.pad(joints, ((0, 0), (0, pad)))
        w = np.pad(w, ((0, 0), (0, pad)))
    j = np.where(w > 0, joints, 0)
    j = j.astype(np.uint8 if j.max(initial=0) < 256 else np.uint16)
    out = {}
    for s in range(j.shape[1] // 4):
        out[f"JOINTS_{s}"] = buf.accessor(np.ascontiguousarray(j[:, 4 * s:4 * s + 4]),
                                          target=ARRAY_BUFFER)
        out[f"WEIGHTS_{s}"] = buf.accessor(np.ascontiguousarray(w[:, 4 * s:4 * s + 4]),
                                           target=ARRAY_BUFFER)
    return out


def add_skeleton_skin(doc: dict, binary: bytearray, names: tuple[str, ...],
                      parents: np.ndarray, heads: np.ndarray,
                      influences: dict[tuple[int, int], tuple[np.ndarray, np.ndarray]]
                      ) -> list[int]:
    """Append a joint hierarchy and skin the given primitives to it, in place.

    names, parents : the joints (parents before children, -1 for the root)
    heads          : (j, 3) rest joint positions in the scene's world space
    influences     : (mesh node, primitive) -> ((n, k) joint indices, (n, k) weights) for the
                     primitive's n vertices
    returns the node index of each joint. Mesh nodes with the same world matrix share a skin.
    """
    world = gs.world_matrices(doc)
    nodes = doc.setdefault("nodes", [])
    heads = np.asarray(heads, np.float64)
    first = len(nodes)
    for i, (name, p) in enumerate(zip(names, parents, strict=True)):
        local = heads[i] - (heads[p] if p >= 0 else 0.0)
        nodes.append({"name": name, "translation": [float(x) for x in local]})
    for i, p in enumerate(parents):
        if p >= 0:
            nodes[first + int(p)].setdefault("children", []).append(first + i)
    scene = doc["scenes"][int(doc.get("scene", 0))]
    scene.setdefault("nodes", []).append(first)
    joint_nodes = list(range(first, first + len(names)))

    buf = BufferBuilder(doc, binary)
    skins = doc.setdefault("skins", [])
    by_world: dict[bytes, int] = {}
    for (node, prim), (joints, weights) in sorted(influences.items()):
        w_mesh = world[node]
        k = np.round(w_mesh, 9).tobytes()
        if k not in by_world:
            ibm = np.tile(np.eye(4), (len(names), 1, 1))
            ibm[:, :3, 3] = -heads
            ibm = ibm @ w_mesh[None]
            # glTF stores matrices column-major.
            acc = buf.accessor(np.ascontiguousarray(ibm.transpose(0, 2, 1).reshape(-1, 16),
                                                    np.float32))
            skins.append({"joints": joint_nodes, "inverseBindMatrices": acc,
                          "skeleton": first, "name": f"{names[0]}_skin{len(skins)}"})
            by_world[k] = len(skins) - 1
        nodes[node]["skin"] = by_world[k]
        primitive = doc["meshes"][int(nodes[node]["mesh"])]["primitives"][prim]
        for key in [a for a in primitive["attributes"] if a.startswith(("JOINTS_", "WEIGHTS_"))]:
            del primitive["attributes"][key]
        primitive["attributes"].update(influence_attributes(buf, joints, weights))
    return joint_nodes
