"""Scene math on a parsed glTF: node transforms, skinned rest poses, triangles, animation samples.

All matrices are (4, 4) float64 acting on column vectors (``p' = M @ p``); glTF stores them
column-major, which :func:`node_local` undoes. Quaternions are (x, y, z, w) as in glTF.
"""

from __future__ import annotations

import numpy as np

from reskin.assets.gltf.read import GltfDocument, as_float
from reskin.assets.gltf.sampler import sample
from reskin.core.errors import ReskinError
from reskin.core.transforms import trs_matrix


def node_trs(node: dict) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """The node's rest (translation (3,), rotation (4,), scale (3,)) (identity where absent)."""
    t = np.asarray(node.get("translation", (0, 0, 0)), np.float64)
    r = np.asarray(node.get("rotation", (0, 0, 0, 1)), np.float64)
    s = np.asarray(node.get("scale", (1, 1, 1)), np.float64)
    return t, r, s


def node_local(node: dict) -> np.ndarray:
    """(4, 4) local transform of a glTF node (``matrix`` or TRS)."""
    if "matrix" in node:
        m = np.asarray(node["matrix"], np.float64)
        if m.shape != (16,):
            raise ReskinError("node matrix must have 16 numbers")
        return m.reshape(4, 4).T  # column-major in the file
    return trs_matrix(*node_trs(node))


def parent_table(js: dict) -> np.ndarray:
    """(n_nodes,) int64 parent of each node, -1 for roots; refuses cycles and shared children."""
    nodes = js.get("nodes", [])
    parents = np.full(len(nodes), -1, np.int64)
    for i, node in enumerate(nodes):
        for c in node.get("children", []):
            if not 0 <= c < len(nodes) or c == i or parents[c] >= 0:
                raise ReskinError(f"node {i} has an invalid or shared child {c}")
            parents[c] = i
    for i in range(len(nodes)):  # walk up: a cycle never reaches a root
        seen, k = 0, i
        while parents[k] >= 0:
            k = parents[k]
            seen += 1
            if seen > len(nodes):
                raise ReskinError(f"node hierarchy has a cycle through node {i}")
    return parents


def scene_roots(js: dict) -> list[int]:
    """Root nodes of the default scene (or of all nodes when the file has no scene)."""
    scenes = js.get("scenes", [])
    if scenes:
        index = int(js.get("scene", 0))
        if not 0 <= index < len(scenes):
            raise ReskinError(f"scene {index} does not exist")
        return [int(n) for n in scenes[index].get("nodes", [])]
    parents = parent_table(js)
    return [i for i in range(len(parents)) if parents[i] < 0]


def world_matrices(js: dict, local: np.ndarray | None = None) -> np.ndarray:
    """(..., n_nodes, 4, 4) world transforms; ``local`` (..., n_nodes, 4, 4) overrides the rest
    pose (leading axes, e.g. animation frames, are carried through)."""
    nodes = js.get("nodes", [])
    parents = parent_table(js)
    if local is None:
        local = np.stack([node_local(n) for n in nodes]) if nodes else np.zeros((0, 4, 4))
    world = np.zeros_like(local)
    done = np.zeros(len(nodes), bool)

    def solve(i: int) -> None:
        chain = []
        while i >= 0 and not done[i]:
            chain.append(i)
            i = parents[i]
        for k in reversed(chain):
            p = parents[k]
            world[..., k, :, :] = (local[..., k, :, :] if p < 0
                                   else world[..., p, :, :] @ local[..., k, :, :])
            done[k] = True

    for i in range(len(nodes)):
        solve(i)
    return world


def triangles(doc: GltfDocument, prim: dict, n_vertices: int) -> np.ndarray | None:
    """(m, 3) int64 triangle indices of a primitive; None for points and lines."""
    mode = int(prim.get("mode", 4))
    if mode not in (4, 5, 6):
        return None
    if "indices" in prim:
        idx = doc.accessors[int(prim["indices"])].astype(np.int64).reshape(-1)
    else:
        idx = np.arange(n_vertices, dtype=np.int64)
    if mode == 4:
        return idx[: len(idx) // 3 * 3].reshape(-1, 3)
    if len(idx) < 3:
        return np.zeros((0, 3), np.int64)
    k = np.arange(len(idx) - 2)
    if mode == 5:  # strip: every other triangle flips to keep the winding
        even = k % 2 == 0
        return np.stack([idx[k], np.where(even, idx[k + 1], idx[k + 2]),
                         np.where(even, idx[k + 2], idx[k + 1])], axis=1)
    return np.stack([np.full(len(k), idx[0]), idx[k + 1], idx[k + 2]], axis=1)  # fan


def skin_matrices(doc: GltfDocument, skin_index: int, world: np.ndarray) -> np.ndarray:
    """(j, 4, 4) joint world matrices times inverse bind matrices of skin ``skin_index``."""
    skin = doc.json["skins"][skin_index]
    joints = [int(j) for j in skin["joints"]]
    if "inverseBindMatrices" in skin:
        ibm = as_float(doc, int(skin["inverseBindMatrices"])).reshape(-1, 4, 4).transpose(0, 2, 1)
        if len(ibm) < len(joints):
            raise ReskinError("inverseBindMatrices has fewer matrices than joints",
                              field=f"skins[{skin_index}]")
    else:
        ibm = np.tile(np.eye(4), (len(joints), 1, 1))
    return world[joints] @ ibm[: len(joints)]


def influence_sets(prim: dict) -> list[tuple[int, int]]:
    """(JOINTS_k accessor, WEIGHTS_k accessor) pairs of a primitive."""
    attrs = prim.get("attributes", {})
    out, k = [], 0
    while f"JOINTS_{k}" in attrs and f"WEIGHTS_{k}" in attrs:
        out.append((int(attrs[f"JOINTS_{k}"]), int(attrs[f"WEIGHTS_{k}"])))
        k += 1
    return out


def skinned_positions(positions: np.ndarray, joints: np.ndarray, weights: np.ndarray,
                      matrices: np.ndarray) -> np.ndarray:
    """Linear blend skinning.

    positions : (n, 3); joints : (n, k) ints into matrices; weights : (n, k) summing to ~1;
    matrices : (j, 4, 4). Returns (n, 3).
    """
    homo = np.concatenate([positions, np.ones((len(positions), 1))], axis=1)
    blended = np.einsum("nk,nkab->nab", weights, matrices[joints])
    return np.einsum("nab,nb->na", blended, homo)[:, :3]


def animation_duration(doc: GltfDocument, anim: dict) -> float:
    """Seconds to the last key of any of the animation's samplers (0 when it has none)."""
    return max((float(as_float(doc, int(s["input"])).max(initial=0.0))
                for s in anim.get("samplers", [])), default=0.0)


def sample_animation(doc: GltfDocument, anim: dict, at: np.ndarray
                     ) -> dict[int, dict[str, np.ndarray]]:
    """node -> {"translation"|"rotation"|"scale": (s, 3|4)} sampled at times ``at`` (s,).

    Morph-target ("weights") channels are skipped.
    """
    out: dict[int, dict[str, np.ndarray]] = {}
    samplers = anim.get("samplers", [])
    for ch in anim.get("channels", []):
        target = ch.get("target", {})
        path = target.get("path")
        if path not in ("translation", "rotation", "scale") or "node" not in target:
            continue
        s = samplers[int(ch["sampler"])]
        times = as_float(doc, int(s["input"])).reshape(-1)
        values = as_float(doc, int(s["output"]))
        out.setdefault(int(target["node"]), {})[path] = sample(
            times, values, s.get("interpolation", "LINEAR"), at, path == "rotation")
    return out
