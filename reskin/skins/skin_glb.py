"""Post-processing a character GLB into a skin GLB: garments, accessories, material maps.

The character GLB (``write_character_glb``) already holds the body, skeleton, clips and base
texture. A skin adds to it without rewriting any of that: each garment becomes a new mesh and
node — a skinned mesh on the character's skin (transfer-bound) or a child node of its joint
(joint-bound, so it follows that bone rigidly) — and a metallic-roughness map may be attached to
the body's material. The JSON is edited as a plain dict and the binary chunk only grows, so
every byte of the body's accessors stays where and what it was.
"""

from __future__ import annotations

import json
import struct

import numpy as np
import pygltflib as gl

from reskin.skins.garments import Garment

_COMPONENT = {np.dtype(np.uint8): gl.UNSIGNED_BYTE, np.dtype(np.uint16): gl.UNSIGNED_SHORT,
              np.dtype(np.uint32): gl.UNSIGNED_INT, np.dtype(np.float32): gl.FLOAT}
_TYPE = {1: "SCALAR", 2: "VEC2", 3: "VEC3", 4: "VEC4", 16: "MAT4"}
_NP = {gl.UNSIGNED_BYTE: np.uint8, gl.UNSIGNED_SHORT: np.uint16, gl.UNSIGNED_INT: np.uint32,
       gl.FLOAT: np.float32}
_WIDTH = {v: k for k, v in _TYPE.items()}


def read_glb(data: bytes) -> tuple[dict, bytearray]:
    """GLB bytes -> (JSON document, binary chunk)."""
    magic, version, _ = struct.unpack_from("<4sII", data, 0)
    if magic != b"glTF" or version != 2:
        raise ValueError("not a GLB 2.0 file")
    length, kind = struct.unpack_from("<I4s", data, 12)
    doc = json.loads(data[20:20 + length])
    binary = bytearray()
    offset = 20 + length
    if offset < len(data):
        blen, _ = struct.unpack_from("<I4s", data, offset)
        binary = bytearray(data[offset + 8:offset + 8 + blen])
    return doc, binary


def write_glb(doc: dict, binary: bytes) -> bytes:
    """(JSON document, binary chunk) -> GLB bytes, padded as the spec requires."""
    binary = bytes(binary) + b"\x00" * (-len(binary) % 4)
    if doc.get("buffers"):
        doc["buffers"][0]["byteLength"] = len(binary)
    js = json.dumps(doc, separators=(",", ":"), ensure_ascii=False, allow_nan=False).encode()
    js += b" " * (-len(js) % 4)
    chunks = struct.pack("<I4s", len(js), b"JSON") + js
    if binary:
        chunks += struct.pack("<I4s", len(binary), b"BIN\x00") + binary
    return struct.pack("<4sII", b"glTF", 2, 12 + len(chunks)) + chunks


def accessor_array(doc: dict, binary: bytes, index: int) -> np.ndarray:
    """(count, width) or (count,) array of a (non-sparse) accessor."""
    acc = doc["accessors"][index]
    view = doc["bufferViews"][acc["bufferView"]]
    dtype = np.dtype(_NP[acc["componentType"]])
    width = _WIDTH[acc["type"]]
    start = view.get("byteOffset", 0) + acc.get("byteOffset", 0)
    stride = view.get("byteStride")
    count = acc["count"]
    if stride and stride != width * dtype.itemsize:
        raw = np.frombuffer(bytes(binary), np.uint8, count=stride * count, offset=start)
        raw = raw.reshape(count, stride)[:, :width * dtype.itemsize].copy()
        arr = raw.view(dtype).reshape(count, width)
    else:
        arr = np.frombuffer(bytes(binary), dtype, count=count * width, offset=start).reshape(
            count, width)
    return arr[:, 0] if width == 1 else arr


class _Appender:
    def __init__(self, doc: dict, binary: bytearray):
        self.doc, self.bin = doc, binary
        for key in ("bufferViews", "accessors", "meshes", "nodes", "materials", "images",
                    "textures", "samplers"):
            doc.setdefault(key, [])

    def view(self, payload: bytes, target: int | None = None) -> int:
        self.bin += b"\x00" * (-len(self.bin) % 4)
        v = {"buffer": 0, "byteOffset": len(self.bin), "byteLength": len(payload)}
        if target is not None:
            v["target"] = target
        self.doc["bufferViews"].append(v)
        self.bin += payload
        return len(self.doc["bufferViews"]) - 1

    def accessor(self, array: np.ndarray, target: int | None = None, bounds: bool = False) -> int:
        array = np.ascontiguousarray(array)
        width = 1 if array.ndim == 1 else int(array.shape[1])
        acc = {"bufferView": self.view(array.tobytes(), target), "byteOffset": 0,
               "componentType": _COMPONENT[array.dtype], "count": len(array),
               "type": _TYPE[width]}
        if bounds:
            flat = array.reshape(len(array), width)
            acc["min"] = [float(x) for x in flat.min(axis=0)]
            acc["max"] = [float(x) for x in flat.max(axis=0)]
        self.doc["accessors"].append(acc)
        return len(self.doc["accessors"]) - 1

    def texture(self, png: bytes, name: str) -> int:
        self.doc["images"].append({"bufferView": self.view(png), "mimeType": "image/png",
                                   "name": name})
        if not self.doc["samplers"]:
            self.doc["samplers"].append({"magFilter": gl.LINEAR,
                                         "minFilter": gl.LINEAR_MIPMAP_LINEAR,
                                         "wrapS": gl.REPEAT, "wrapT": gl.REPEAT})
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
    w = (w / w.sum(axis=1, keepdims=True)).astype(np.float32)
    rows = np.arange(len(w))
    top = np.argmax(w, axis=1)
    w[rows, top] = (1.0 - (w.astype(np.float64).sum(axis=1) - w[rows, top])).astype(np.float32)
    j = np.where(w > 0, joints, 0).astype(np.uint8 if joints.max(initial=0) < 256 else np.uint16)
    return j, w


def add_to_skin_glb(glb: bytes, garments: list[Garment], heads: np.ndarray,
                    metal_rough_png: bytes | None = None) -> bytes:
    """The skin GLB: ``glb`` plus ``garments`` and, if given, the body's metallic-roughness map.

    heads : (j, 3) rest joint positions (joint-bound meshes are stored relative to theirs).
    """
    doc, binary = read_glb(glb)
    add_to_skin(doc, binary, garments, heads, metal_rough_png)
    return write_glb(doc, binary)


def add_to_skin(doc: dict, binary: bytearray, garments: list[Garment], heads: np.ndarray,
                metal_rough_png: bytes | None = None) -> None:
    """:func:`add_to_skin_glb` on an unpacked GLB: appends to ``doc`` and ``binary`` in place."""
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
        if g.spec.bind == "joint":
            ji = int(g.joints[0, 0])
            v = (v.astype(np.float64) - heads[ji]).astype(np.float32)
            parent = skin_joints[ji]
        else:
            parent = character
            node["skin"] = 0
        attrs = {"POSITION": out.accessor(v, gl.ARRAY_BUFFER, bounds=True),
                 "NORMAL": out.accessor(_normals(v, f), gl.ARRAY_BUFFER)}
        pbr = {"baseColorFactor": [float(c) for c in srgb_to_linear(g.color)] + [1.0],
               "metallicFactor": float(g.spec.metallic),
               "roughnessFactor": float(g.spec.roughness)}
        if g.uvs is not None and g.texture is not None:
            attrs["TEXCOORD_0"] = out.accessor(np.asarray(g.uvs, np.float32), gl.ARRAY_BUFFER)
            pbr["baseColorTexture"] = {"index": out.texture(g.texture, f"{g.spec.name}_base")}
            pbr["baseColorFactor"] = [1.0, 1.0, 1.0, 1.0]
        if g.spec.bind == "transfer":
            j, w = _influences(g.joints, g.weights)
            attrs["JOINTS_0"] = out.accessor(j, gl.ARRAY_BUFFER)
            attrs["WEIGHTS_0"] = out.accessor(w, gl.ARRAY_BUFFER)
        index_dtype = np.uint16 if len(v) < 0xFFFF else np.uint32
        indices = out.accessor(f.reshape(-1).astype(index_dtype), gl.ELEMENT_ARRAY_BUFFER)
        doc["materials"].append({"name": f"{g.spec.name}_material", "doubleSided": True,
                                 "pbrMetallicRoughness": pbr})
        doc["meshes"].append({"name": g.spec.name, "primitives": [
            {"attributes": attrs, "indices": indices, "material": len(doc["materials"]) - 1,
             "mode": gl.TRIANGLES}]})
        node["mesh"] = len(doc["meshes"]) - 1
        doc["nodes"].append(node)
        doc["nodes"][parent].setdefault("children", []).append(len(doc["nodes"]) - 1)


def body_arrays(glb: bytes) -> dict[str, np.ndarray]:
    """What the identity lock compares: the body primitive's positions and influences, the
    skin's joint rest translations and inverse bind matrices (all as stored, bit for bit)."""
    return body_arrays_of(*read_glb(glb))


def body_arrays_of(doc: dict, binary: bytes) -> dict[str, np.ndarray]:
    """:func:`body_arrays` of an unpacked GLB (its JSON document and binary chunk)."""
    prim = doc["meshes"][0]["primitives"][0]
    a = prim["attributes"]
    skin = doc["skins"][0]
    return {
        "position": accessor_array(doc, binary, a["POSITION"]),
        "joints": accessor_array(doc, binary, a["JOINTS_0"]),
        "weights": accessor_array(doc, binary, a["WEIGHTS_0"]),
        "texcoord": accessor_array(doc, binary, a["TEXCOORD_0"]),
        "joint_translation": np.array([doc["nodes"][j].get("translation", [0, 0, 0])
                                       for j in skin["joints"]], np.float64),
        "joint_names": np.array([doc["nodes"][j].get("name", "") for j in skin["joints"]]),
        "inverse_bind": accessor_array(doc, binary, skin["inverseBindMatrices"]),
    }
