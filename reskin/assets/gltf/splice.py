"""Editing a GLB by splicing: its JSON and binary chunk kept as they are, bytes swapped or added.

A skin of a character from a file is that file with a new base colour and a few additions.
Re-emitting every accessor (:mod:`reskin.assets.gltf.write`) costs a decode and an encode of
the whole model; splicing keeps every byte the additions do not touch, so what the skin shares
with the file is the file's own bytes by construction (and can be compared as bytes):

- :func:`lazy_document` reads the accessors a job actually uses, when it uses them;
- :func:`replace_image` swaps one image's bytes in place, closing up the buffer (no dead bytes);
- :func:`append_part` appends accessors, views and animations made apart (e.g. cached);
- :func:`accessor_data` is what an accessor reads, to compare two files without decoding.
"""

from __future__ import annotations

import json

import numpy as np

from reskin.assets.gltf.accessors import decode_accessor
from reskin.assets.gltf.read import GltfDocument

# Extensions under which a bufferView's bytes are not what its accessors read.
_COMPRESSED = {"EXT_meshopt_compression", "KHR_meshopt_compression", "KHR_draco_mesh_compression"}
_WEBP = "EXT_texture_webp"


def spliceable(js: dict) -> bool:
    """Whether ``js`` (a GLB's JSON) keeps all its data in the GLB's one binary chunk, stored
    plainly (no external or data-URI buffer, no compressed views), so it can be spliced."""
    buffers = js.get("buffers", [])
    prims = [p for m in js.get("meshes", []) for p in m.get("primitives", [])]
    return (len(buffers) <= 1 and all("uri" not in b for b in buffers)
            and not _COMPRESSED & set(js.get("extensionsUsed", []))
            and not any(_COMPRESSED & set(x.get("extensions", {}))
                        for x in js.get("bufferViews", []) + prims)
            and all("uri" not in im for im in js.get("images", [])))


class _LazyAccessors(dict):
    """Accessor index -> decoded array, decoded on first lookup (``in`` and ``len`` count only
    the ones decoded so far, so use indexing)."""

    def __init__(self, js: dict, buffers: list[bytes]) -> None:
        super().__init__()
        self._js, self._buffers = js, buffers

    def __missing__(self, index: int) -> np.ndarray:
        arr = decode_accessor(self._js, self._buffers, int(index))
        self[int(index)] = arr
        return arr


def lazy_document(text: bytes | memoryview, binary: bytes | memoryview) -> GltfDocument:
    """A :class:`GltfDocument` of a spliceable GLB's JSON chunk ``text`` and ``binary`` chunk
    whose accessors are decoded when first read (images are sliced out at once: they are
    small). The document owns a JSON of its own: edit a separate copy, not this one."""
    js = json.loads(bytes(text))
    buffers = [binary]  # read only: it must not change while the document is in use
    doc = GltfDocument(json=js, accessors=_LazyAccessors(js, buffers))
    views = js.get("bufferViews", [])
    for i, img in enumerate(js.get("images", [])):
        if "bufferView" in img:
            v = views[int(img["bufferView"])]
            start = int(v.get("byteOffset", 0))
            doc.images[i] = (bytes(binary[start:start + int(v["byteLength"])]),
                             img.get("mimeType", ""))
    return doc


def _users(js: dict, view: int) -> int:
    """How many accessors (sparse parts included) and images read bufferView ``view``."""
    n = sum(int(im.get("bufferView", -1)) == view for im in js.get("images", []))
    for acc in js.get("accessors", []):
        n += int(acc.get("bufferView", -1)) == view
        sparse = acc.get("sparse")
        if sparse:
            n += (int(sparse["indices"]["bufferView"]) == view) + (
                int(sparse["values"]["bufferView"]) == view)
    return n


def replace_image(js: dict, binary: bytearray, image: int, data: bytes, mime: str) -> bytearray:
    """``binary`` with image ``image``'s bytes replaced by ``data`` of type ``mime``.

    When nothing else reads the image's bufferView and no other view overlaps it, the new
    bytes take its place and every later view moves by the difference (a multiple of 4, so
    alignment holds); otherwise they go in a new view at the end. A texture that showed the
    image through ``EXT_texture_webp`` shows it as its ``source`` once it is no longer WebP
    (and the extension is dropped from the file when no texture uses it any more). Returns
    the new binary (``js`` is edited in place, ``buffers[0].byteLength`` kept true).
    """
    from reskin.assets.gltf.accessors import BufferBuilder

    img = js["images"][image]
    views = js["bufferViews"]
    old = int(img.get("bufferView", -1))
    start = end = -1
    if old >= 0:
        v = views[old]
        start = int(v.get("byteOffset", 0))
        end = start + int(v["byteLength"])
        for k, other in enumerate(views):
            s = int(other.get("byteOffset", 0))
            if k != old and s < end and start < s + int(other["byteLength"]):
                start = -1  # shares bytes with another view: leave them be
    if old >= 0 and start >= 0 and _users(js, old) == 1:
        pad = -(len(data) - (end - start)) % 4
        shift = len(data) + pad - (end - start)
        binary[start:end] = bytes(data) + b"\x00" * pad  # the tail moves, in place
        for other in views:
            if int(other.get("byteOffset", 0)) >= end and other is not views[old]:
                other["byteOffset"] = int(other.get("byteOffset", 0)) + shift
        views[old]["byteLength"] = len(data)
    else:
        img["bufferView"] = BufferBuilder(js, binary).view(data)
    img["mimeType"] = mime
    img.pop("uri", None)
    if mime != "image/webp":
        _unwebp(js, image)
    binary += b"\x00" * (-len(binary) % 4)
    js.setdefault("buffers", [{}])[0]["byteLength"] = len(binary)
    return binary


def _unwebp(js: dict, image: int) -> None:
    """Textures that show ``image`` through EXT_texture_webp show it as their source."""
    used = False
    for tex in js.get("textures", []):
        ext = tex.get("extensions", {})
        if int(ext.get(_WEBP, {}).get("source", -1)) == image:
            tex["source"] = image
            del ext[_WEBP]
            if not ext:
                del tex["extensions"]
        used |= _WEBP in tex.get("extensions", {})
    if not used:
        for key in ("extensionsUsed", "extensionsRequired"):
            if _WEBP in js.get(key, []):
                js[key] = [e for e in js[key] if e != _WEBP]
                if not js[key]:
                    del js[key]


def append_part(js: dict, binary: bytearray, part: dict, data: bytes) -> None:
    """Append ``part`` ({"bufferViews", "accessors", "animations"}, made against an empty
    buffer ``data``) to ``js`` and ``binary`` (in place): its views move to the end of the
    buffer, its accessor and sampler indices past the document's own."""
    binary += b"\x00" * (-len(binary) % 4)
    base, views = len(binary), js.setdefault("bufferViews", [])
    accessors = js.setdefault("accessors", [])
    v0, a0 = len(views), len(accessors)
    binary += data
    for v in part.get("bufferViews", []):
        views.append({**v, "byteOffset": int(v.get("byteOffset", 0)) + base})
    for a in part.get("accessors", []):
        accessors.append({**a, "bufferView": int(a["bufferView"]) + v0} if "bufferView" in a
                         else dict(a))
    for anim in part.get("animations", []):
        js.setdefault("animations", []).append({
            **anim, "samplers": [{**s, "input": int(s["input"]) + a0,
                                  "output": int(s["output"]) + a0} for s in anim["samplers"]]})
    binary += b"\x00" * (-len(binary) % 4)
    js.setdefault("buffers", [{}])[0]["byteLength"] = len(binary)


def accessor_data(js: dict, binary: bytes | memoryview, index: int
                  ) -> tuple[bytes, tuple[np.ndarray, ...]]:
    """What accessor ``index`` of a spliceable GLB reads: (its layout as bytes (types, count,
    normalisation, byte stride, sparse count), the stored bytes its elements span as uint8
    views of ``binary``, sparse parts included). Two accessors for which :func:`same_data`
    holds decode to equal arrays; comparing them reads each byte once and copies nothing."""
    from reskin.assets.gltf.accessors import accessor_layout

    acc = js["accessors"][int(index)]
    views = js.get("bufferViews", [])
    dtype, width, count = accessor_layout(acc, f"accessors[{index}]")
    layout = {k: acc.get(k) for k in ("componentType", "type", "count", "normalized")}
    whole = np.frombuffer(binary, np.uint8)

    def span(view: int, offset: int, n: int, elem: int) -> np.ndarray:
        v = views[view]
        stride = int(v.get("byteStride", 0)) or elem
        start = int(v.get("byteOffset", 0)) + offset
        return whole[start:start + (n - 1) * stride + elem] if n else whole[:0]

    parts = []
    if "bufferView" in acc:
        layout["byteStride"] = views[int(acc["bufferView"])].get("byteStride")
        parts.append(span(int(acc["bufferView"]), int(acc.get("byteOffset", 0)), count,
                          width * dtype.itemsize))
    sparse = acc.get("sparse")
    if sparse:
        from reskin.assets.gltf.types import COMPONENT_DTYPES

        n, idx = int(sparse["count"]), sparse["indices"]
        layout["sparse"] = [n, idx.get("componentType")]
        item = COMPONENT_DTYPES[idx.get("componentType")].itemsize
        parts.append(span(int(idx["bufferView"]), int(idx.get("byteOffset", 0)), n, item))
        val = sparse["values"]
        parts.append(span(int(val["bufferView"]), int(val.get("byteOffset", 0)), n,
                          width * dtype.itemsize))
    return json.dumps(layout, sort_keys=True).encode(), tuple(parts)


def same_data(a: tuple[bytes, tuple[np.ndarray, ...]] | None,
              b: tuple[bytes, tuple[np.ndarray, ...]] | None) -> bool:
    """Whether two :func:`accessor_data` are the same layout over the same bytes."""
    if a is None or b is None:
        return a is b
    return a[0] == b[0] and len(a[1]) == len(b[1]) and all(
        x.shape == y.shape and np.array_equal(x, y) for x, y in zip(a[1], b[1], strict=True))
