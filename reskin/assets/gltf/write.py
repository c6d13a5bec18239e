"""Re-emitting a parsed (and repaired) glTF as one clean, self-contained GLB.

Every accessor that something references is written again, densely (sparse accessors are
expanded), 4-byte aligned, with exact min/max; images are embedded; external URIs disappear.
Nodes, meshes, materials, skins and animations keep their JSON (names, extensions, extras).
An optional root node carries the import normalisation (units, up axis, feet at the origin),
so skins, animations and morph targets stay exactly as authored underneath it.
"""

from __future__ import annotations

import copy
import json

import numpy as np

from reskin import __version__
from reskin.assets.gltf.accessors import BufferBuilder, json_number
from reskin.assets.gltf.glb import pack_glb
from reskin.assets.gltf.read import GltfDocument
from reskin.assets.gltf.types import ARRAY_BUFFER, ELEMENT_ARRAY_BUFFER

# A 1x1 magenta PNG stands in for a texture that was missing at import (with --allow-missing),
# so material and texture indices stay valid and the gap is obvious in a render.
PLACEHOLDER_PNG = bytes.fromhex(
    "89504e470d0a1a0a0000000d4948445200000001000000010802000000907753de0000000c4944415478"
    "9c63f8cff01f0005fe02fe33125e2a0000000049454e44ae426082"
)


def _referenced_accessors(js: dict) -> tuple[list[int], set[int], set[int]]:
    """(accessors in first-use order, vertex-attribute ones, index ones)."""
    order: dict[int, None] = {}
    attributes: set[int] = set()
    indices: set[int] = set()
    for mesh in js.get("meshes", []):
        for prim in mesh.get("primitives", []):
            for acc in prim.get("attributes", {}).values():
                order[int(acc)] = None
                attributes.add(int(acc))
            for target in prim.get("targets", []):
                for acc in target.values():
                    order[int(acc)] = None
                    attributes.add(int(acc))
            if "indices" in prim:
                order[int(prim["indices"])] = None
                indices.add(int(prim["indices"]))
    for skin in js.get("skins", []):
        if "inverseBindMatrices" in skin:
            order[int(skin["inverseBindMatrices"])] = None
    for anim in js.get("animations", []):
        for s in anim.get("samplers", []):
            order[int(s["input"])] = None
            order[int(s["output"])] = None
    return list(order), attributes, indices


def _remap(js: dict, new: dict[int, int]) -> None:
    for mesh in js.get("meshes", []):
        for prim in mesh.get("primitives", []):
            prim["attributes"] = {k: new[int(v)] for k, v in prim["attributes"].items()}
            prim["targets"] = [{k: new[int(v)] for k, v in t.items()}
                               for t in prim.get("targets", [])]
            if not prim["targets"]:
                del prim["targets"]
            if "indices" in prim:
                prim["indices"] = new[int(prim["indices"])]
    for skin in js.get("skins", []):
        if "inverseBindMatrices" in skin:
            skin["inverseBindMatrices"] = new[int(skin["inverseBindMatrices"])]
    for anim in js.get("animations", []):
        for s in anim.get("samplers", []):
            s["input"], s["output"] = new[int(s["input"])], new[int(s["output"])]


def write_glb(doc: GltfDocument, *, root_matrix: np.ndarray | None = None,
              root_name: str = "reskin_normalize", extras: dict | None = None) -> bytes:
    """A self-contained GLB of ``doc``; ``root_matrix`` (4, 4) wraps the scene's roots.

    ``extras`` (JSON) is stored as ``asset.extras``. The same document gives the same bytes.
    """
    js = copy.deepcopy(doc.json)
    js.pop("buffers", None)
    js.pop("bufferViews", None)
    store = BufferBuilder({})  # the new bufferViews, kept apart until the end
    add_view = store.view

    order, attributes, indices = _referenced_accessors(js)
    old = js.get("accessors", [])
    accessors, new = [], {}
    for i in order:
        arr = np.ascontiguousarray(doc.accessors[i])
        src = old[i]
        flat = arr.reshape(len(arr), -1)
        acc = {k: src[k] for k in ("componentType", "type", "normalized", "name", "extras")
               if k in src}
        acc["count"] = len(arr)
        payload, stride = flat.tobytes(), None
        elem = flat.shape[1] * arr.dtype.itemsize
        if i in attributes and elem % 4:
            # Vertex attribute elements must start on 4-byte boundaries: pad each one.
            stride = elem + (-elem % 4)
            padded = np.zeros((len(flat), stride), np.uint8)
            padded[:, :elem] = flat.view(np.uint8).reshape(len(flat), elem)
            payload = padded.tobytes()
        target = (ARRAY_BUFFER if i in attributes
                  else ELEMENT_ARRAY_BUFFER if i in indices else None)
        if len(arr):
            acc["bufferView"] = add_view(payload, target, stride)
            acc["min"] = [json_number(x) for x in flat.min(axis=0)]
            acc["max"] = [json_number(x) for x in flat.max(axis=0)]
        new[i] = len(accessors)
        accessors.append(acc)
    _remap(js, new)
    js["accessors"] = accessors

    for i, img in enumerate(js.get("images", [])):
        data, mime = doc.images.get(i, (PLACEHOLDER_PNG, "image/png"))
        for key in ("uri", "bufferView"):
            img.pop(key, None)
        img["bufferView"] = add_view(data)
        img["mimeType"] = mime

    if root_matrix is not None and not np.allclose(root_matrix, np.eye(4), atol=1e-12):
        nodes = js.setdefault("nodes", [])
        scenes = js.setdefault("scenes", [{"nodes": []}])
        s = int(js.get("scene", 0))
        nodes.append({"name": root_name, "children": list(scenes[s].get("nodes", [])),
                      "matrix": [float(x) for x in np.asarray(root_matrix).T.reshape(-1)]})
        wrapped = set(scenes[s].get("nodes", []))
        scenes[s]["nodes"] = [len(nodes) - 1]
        for k, other in enumerate(scenes):  # a scene sharing roots now starts at the new root
            if k != s and wrapped & set(other.get("nodes", [])):
                roots = [len(nodes) - 1] + [n for n in other["nodes"] if n not in wrapped]
                other["nodes"] = roots
        js["scene"] = s

    binary = bytes(store.data)
    if binary:
        js["buffers"] = [{"byteLength": len(binary) + (-len(binary) % 4)}]
        js["bufferViews"] = store.doc["bufferViews"]
    asset = js.setdefault("asset", {})
    source_generator = asset.get("generator")
    asset["version"] = "2.0"
    asset.pop("minVersion", None)
    asset["generator"] = f"reskin {__version__}" + (
        f" (from {source_generator})" if source_generator else "")
    if extras:
        asset["extras"] = json.loads(json.dumps(extras, sort_keys=True, allow_nan=False))
    return pack_glb(js, binary, sort_keys=True)
