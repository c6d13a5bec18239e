"""Test utility: a rigged glTF stripped to the static textured mesh a 3D generator delivers.

The copy keeps each triangle primitive's bind-pose positions (baked into world metres: the
avatars' meshes sit under node scale 0.01 and a rotated Hips, and their quantised positions are
dequantised by the inverse bind matrices), its texture coordinates, material, textures and
images; skins, joints, weights, animations and morph targets are dropped. The artist's joints
(world positions in the same bind pose) come back beside it, to score a fitted skeleton.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

import reskin.assets.gltf.scene as gs
from reskin.assets.gltf.read import GltfDocument, as_float, load_gltf
from reskin.assets.gltf.write import write_glb
from reskin.assets.safe_io import Limits

_FLOAT = 5126
_UINT = 5125


def _bind_pose_matrices(doc: GltfDocument, skin: int, world: np.ndarray) -> np.ndarray:
    """(j, 4, 4) skin matrices of the file's node pose, checked to be its bind pose.

    In the bind pose every joint's skin matrix (joint world @ inverse bind) is the same (the
    mesh's placement, with any dequantisation); a file saved mid-animation has them differ.
    """
    m = gs.skin_matrices(doc, skin, world)
    scale = float(np.abs(m[0]).max()) or 1.0
    if np.abs(m - m[0]).max() > 1e-4 * scale:
        raise ValueError("the file's node pose is not its bind pose")
    return m


def strip_rig(src: str | Path, dst: str | Path) -> dict[str, np.ndarray]:
    """Write ``dst``: ``src`` as a static mesh in its bind pose (see the module docstring).

    returns {artist joint name: (3,) world position in the bind pose, file units}.
    """
    src = Path(src)
    doc = load_gltf(src, src.read_bytes(), Limits())
    js = doc.json
    world = gs.world_matrices(js)
    out = GltfDocument(json={}, images=dict(doc.images))
    accessors: list[dict] = []

    def add(array: np.ndarray, kind: str, ctype: int) -> int:
        out.accessors[len(accessors)] = array
        accessors.append({"componentType": ctype, "type": kind, "count": len(array)})
        return len(accessors) - 1

    nodes, meshes = [], []
    for i, node in enumerate(js.get("nodes", [])):
        if "mesh" not in node:
            continue
        skin_m = (_bind_pose_matrices(doc, int(node["skin"]), world) if "skin" in node
                  else None)
        prims = []
        for prim in js["meshes"][int(node["mesh"])].get("primitives", []):
            attrs = prim["attributes"]
            pos = as_float(doc, int(attrs["POSITION"]))
            faces = gs.triangles(doc, prim, len(pos))
            if faces is None or len(faces) == 0:
                continue
            m = skin_m[0] if skin_m is not None else world[i]
            baked = pos @ m[:3, :3].T + m[:3, 3]
            new = {"attributes": {"POSITION": add(baked.astype(np.float32), "VEC3", _FLOAT)},
                   "indices": add(faces.reshape(-1).astype(np.uint32), "SCALAR", _UINT),
                   "mode": 4}
            if "TEXCOORD_0" in attrs:
                uv = as_float(doc, int(attrs["TEXCOORD_0"])).astype(np.float32)
                new["attributes"]["TEXCOORD_0"] = add(uv, "VEC2", _FLOAT)
            if "material" in prim:
                new["material"] = prim["material"]
            prims.append(new)
        if prims:
            meshes.append({"name": js["meshes"][int(node["mesh"])].get("name", f"mesh{i}"),
                           "primitives": prims})
            nodes.append({"name": node.get("name", f"node{i}"), "mesh": len(meshes) - 1})
    used = [e for e in js.get("extensionsUsed", [])
            if e not in ("EXT_meshopt_compression", "KHR_mesh_quantization")]
    out.json = {
        "asset": {"version": "2.0", "generator": "reskin tests strip_rig"},
        "scene": 0, "scenes": [{"nodes": list(range(len(nodes)))}],
        "nodes": nodes, "meshes": meshes, "accessors": accessors,
        **{k: js[k] for k in ("materials", "textures", "images", "samplers") if k in js},
    }
    if used:
        out.json["extensionsUsed"] = used
    required = [e for e in js.get("extensionsRequired", []) if e in used]
    if required:
        out.json["extensionsRequired"] = required
    Path(dst).write_bytes(write_glb(out))
    joints = {int(j) for s in js.get("skins", []) for j in s.get("joints", [])}
    return {js["nodes"][j].get("name", f"node{j}"): world[j][:3, 3].copy()
            for j in sorted(joints)}
