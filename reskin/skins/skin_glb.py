"""Post-processing a character GLB into a skin GLB: garments, accessories, material maps.

The character GLB (``write_character_glb``) already holds the body, skeleton, clips and base
texture. A skin adds to it without rewriting any of that: each garment becomes a new mesh and
node — a skinned mesh on the character's skin (transfer-bound) or a child node of its joint
(joint-bound, so it follows that bone rigidly) — and a metallic-roughness map may be attached to
the body's material. The JSON is edited as a plain dict and the binary chunk only grows, so
every byte of the body's accessors stays where and what it was.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from reskin.assets.gltf.accessors import BufferBuilder, accessor_array
from reskin.assets.gltf.character import float32_weights
from reskin.assets.gltf.glb import pack_glb, read_glb
from reskin.assets.gltf.types import (
    ARRAY_BUFFER,
    ELEMENT_ARRAY_BUFFER,
    TRIANGLES,
    texture_sampler,
)
from reskin.skins.garments import Garment


@dataclass(frozen=True)
class GarmentPlacement:
    """Where garments bound to canonical joints go in a GLB with another skeleton.

    joint_nodes : (21,) the node each canonical joint's accessories hang under
    unplace     : (21, 4, 4) inverse of that node's rest world matrix (so a garment's
                  model-space vertices sit where they should at rest)
    skin        : the skin transfer-bound garments use (its inverse binds map model space)
    slots       : (21,) each canonical joint's index in that skin's joints
    """

    joint_nodes: np.ndarray
    unplace: np.ndarray
    skin: int
    slots: np.ndarray


class _Appender(BufferBuilder):
    """A :class:`BufferBuilder` on a character GLB that also embeds PNG textures."""

    def __init__(self, doc: dict, binary: bytearray):
        super().__init__(doc, binary)
        for key in ("meshes", "nodes", "materials", "images", "textures", "samplers"):
            doc.setdefault(key, [])

    def texture(self, png: bytes, name: str) -> int:
        """Embed ``png`` as a new image and texture (sharing one sampler); returns its index."""
        self.doc["images"].append({"bufferView": self.view(png), "mimeType": "image/png",
                                   "name": name})
        if not self.doc["samplers"]:
            self.doc["samplers"].append(texture_sampler())
        self.doc["textures"].append({"sampler": 0, "source": len(self.doc["images"]) - 1})
        return len(self.doc["textures"]) - 1


def srgb_to_linear(c: np.ndarray) -> np.ndarray:
    """glTF colour factors are linear; spec colours are sRGB."""
    c = np.asarray(c, np.float64)
    return np.where(c <= 0.04045, c / 12.92, ((c + 0.055) / 1.055) ** 2.4)


def _normals(v: np.ndarray, f: np.ndarray) -> np.ndarray:
    v = v.astype(np.float64)
    fn = np.cross(v[f[:, 1]] - v[f[:, 0]], v[f[:, 2]] - v[f[:, 0]])
    vn = np.zeros_like(v)
    for k in range(3):
        np.add.at(vn, f[:, k], fn)
    norm = np.linalg.norm(vn, axis=1, keepdims=True)
    vn = np.where(norm > 1e-12, vn / np.where(norm > 1e-12, norm, 1.0), [0.0, 1.0, 0.0])
    return vn.astype(np.float32)


def _influences(joints: np.ndarray, weights: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Float32 rows summing to 1 within an ulp, unused slots on joint 0 (validator rules)."""
    w = np.asarray(weights, np.float64)
    w = float32_weights(w / w.sum(axis=1, keepdims=True))
    j = np.where(w > 0, joints, 0).astype(np.uint8 if joints.max(initial=0) < 256 else np.uint16)
    return j, w


def add_to_skin_glb(glb: bytes, garments: list[Garment], heads: np.ndarray,
                    metal_rough_png: bytes | None = None) -> bytes:
    """The skin GLB: ``glb`` plus ``garments`` and, if given, the body's metallic-roughness map.

    heads : (j, 3) rest joint positions (joint-bound meshes are stored relative to theirs).
    """
    doc, binary = read_glb(glb)
    add_to_skin(doc, binary, garments, heads, metal_rough_png)
    return pack_glb(doc, binary)


def add_to_skin(doc: dict, binary: bytearray, garments: list[Garment], heads: np.ndarray,
                metal_rough_png: bytes | None = None, placement: GarmentPlacement | None = None
                ) -> None:
    """:func:`add_to_skin_glb` on an unpacked GLB: appends to ``doc`` and ``binary`` in place.

    placement : where garments go on a skeleton other than the character GLB's canonical one
    (a character from a file); None for the canonical one.
    """
    out = _Appender(doc, binary)
    if metal_rough_png is not None:
        tex = out.texture(metal_rough_png, "body_metal_rough")
        pbr = doc["materials"][0].setdefault("pbrMetallicRoughness", {})
        pbr["metallicRoughnessTexture"] = {"index": tex}
        # The map holds the values; factors of 1 leave them as painted.
        pbr["metallicFactor"], pbr["roughnessFactor"] = 1.0, 1.0
    skin_joints = doc["skins"][0]["joints"]
    character = doc["scenes"][doc.get("scene", 0)]["nodes"][0]
    for g in garments:
        v = np.asarray(g.vertices, np.float32)
        f = np.asarray(g.faces, np.uint32)
        node: dict = {"name": g.spec.name}
        if g.spec.bind == "joint" and placement is not None:
            ji = int(g.joints[0, 0])
            parent = placement.joint_nodes[ji]
            # Model-space vertices under the joint: the node undoes the joint's rest placement.
            node["matrix"] = [float(x) for x in placement.unplace[ji].T.reshape(-1)]
        elif g.spec.bind == "joint":
            ji = int(g.joints[0, 0])
            v = (v.astype(np.float64) - heads[ji]).astype(np.float32)
            parent = skin_joints[ji]
        else:
            parent = character
            node["skin"] = 0 if placement is None else placement.skin
        attrs = {"POSITION": out.accessor(v, target=ARRAY_BUFFER, bounds=True),
                 "NORMAL": out.accessor(_normals(v, f), target=ARRAY_BUFFER)}
        pbr = {"baseColorFactor": [float(c) for c in srgb_to_linear(g.color)] + [1.0],
               "metallicFactor": float(g.spec.metallic),
               "roughnessFactor": float(g.spec.roughness)}
        if g.uvs is not None and g.texture is not None:
            uvs = np.asarray(g.uvs, np.float32)
            attrs["TEXCOORD_0"] = out.accessor(uvs, target=ARRAY_BUFFER)
            pbr["baseColorTexture"] = {"index": out.texture(g.texture, f"{g.spec.name}_base")}
            pbr["baseColorFactor"] = [1.0, 1.0, 1.0, 1.0]
        if g.spec.bind == "transfer":
            joints = g.joints if placement is None else placement.slots[g.joints.astype(np.int64)]
            j, w = _influences(joints, g.weights)
            attrs["JOINTS_0"] = out.accessor(j, target=ARRAY_BUFFER)
            attrs["WEIGHTS_0"] = out.accessor(w, target=ARRAY_BUFFER)
        index_dtype = np.uint16 if len(v) < 0xFFFF else np.uint32
        indices = out.accessor(f.reshape(-1).astype(index_dtype), target=ELEMENT_ARRAY_BUFFER)
        doc["materials"].append({"name": f"{g.spec.name}_material", "doubleSided": True,
                                 "pbrMetallicRoughness": pbr})
        doc["meshes"].append({"name": g.spec.name, "primitives": [
            {"attributes": attrs, "indices": indices, "material": len(doc["materials"]) - 1,
             "mode": TRIANGLES}]})
        node["mesh"] = len(doc["meshes"]) - 1
        doc["nodes"].append(node)
        doc["nodes"][parent].setdefault("children", []).append(len(doc["nodes"]) - 1)


def body_arrays(glb: bytes) -> dict[str, np.ndarray]:
    """What the identity lock compares: the body primitive's positions, influences and morph
    targets (``targets`` (t, s, 3) offsets, ``target_names`` (t,)), the skin's joint rest
    translations and inverse bind matrices (all as stored, bit for bit)."""
    return body_arrays_of(*read_glb(glb))


def body_arrays_of(doc: dict, binary: bytes) -> dict[str, np.ndarray]:
    """:func:`body_arrays` of an unpacked GLB (its JSON document and binary chunk)."""
    mesh = doc["meshes"][0]
    prim = mesh["primitives"][0]
    a = prim["attributes"]
    skin = doc["skins"][0]
    position = accessor_array(doc, binary, a["POSITION"])
    targets = prim.get("targets", [])
    offsets = (np.stack([accessor_array(doc, binary, t["POSITION"]) for t in targets])
               if targets else np.zeros((0,) + position.shape, np.float32))
    names = mesh.get("extras", {}).get("targetNames", []) if targets else []
    return {
        "target_names": np.array([str(n) for n in names], dtype=str),
        "targets": offsets,
        "position": position,
        "joints": accessor_array(doc, binary, a["JOINTS_0"]),
        "weights": accessor_array(doc, binary, a["WEIGHTS_0"]),
        "texcoord": accessor_array(doc, binary, a["TEXCOORD_0"]),
        "joint_translation": np.array([doc["nodes"][j].get("translation", [0, 0, 0])
                                       for j in skin["joints"]], np.float64),
        "joint_names": np.array([doc["nodes"][j].get("name", "") for j in skin["joints"]]),
        "inverse_bind": accessor_array(doc, binary, skin["inverseBindMatrices"]),
    }
