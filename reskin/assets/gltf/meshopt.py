"""``EXT_meshopt_compression``: decompress buffer views before any accessor is read.

Web avatars (glTF-Transform, gltfpack) ship their vertex and index data meshopt-encoded, with a
"fallback" buffer that holds no bytes. Each compressed bufferView is decoded with the reference
decoder (the ``meshoptimizer`` package, zeux's C library) into a new in-memory buffer and the view
is pointed at it, so every later step (accessors, repair, write) sees plain glTF. The decoded
sizes come from the file (count x byteStride) and are bounded by the import limits first, so a
lying header cannot make the decoder allocate without limit.
"""

from __future__ import annotations

import numpy as np

from reskin.core.errors import ReskinError

EXTENSION = "EXT_meshopt_compression"
_MODES = ("ATTRIBUTES", "TRIANGLES", "INDICES")
_FILTERS = ("NONE", "OCTAHEDRAL", "QUATERNION", "EXPONENTIAL")


def is_fallback(buffer: dict) -> bool:
    """Whether a buffer is only a placeholder for decompressed data (it may hold no bytes)."""
    return bool(buffer.get("extensions", {}).get(EXTENSION, {}).get("fallback"))


def _decode(data: bytes, count: int, stride: int, mode: str, filt: str) -> bytes:
    import meshoptimizer as mo

    if mode == "ATTRIBUTES":
        raw = mo.decode_vertex_buffer(count, stride, data).view(np.uint8).reshape(-1)
        if filt == "OCTAHEDRAL":
            raw = mo.decode_filter_oct(raw, count, stride)
        elif filt == "QUATERNION":
            raw = mo.decode_filter_quat(raw, count, stride)
        elif filt == "EXPONENTIAL":
            raw = mo.decode_filter_exp(raw, count, stride)
        return np.ascontiguousarray(raw).tobytes()[: count * stride]
    decode = mo.decode_index_buffer if mode == "TRIANGLES" else mo.decode_index_sequence
    out = decode(count, stride, data)
    # The decoder writes ``stride`` bytes per index into a uint32 array: keep those bytes.
    return out.view(np.uint8).tobytes()[: count * stride]


def decompress_views(js: dict, buffers: list[bytes], max_bytes: int) -> None:
    """Decode every compressed bufferView of ``js`` in place.

    buffers : the bytes of each ``js["buffers"]`` entry (fallback buffers may be empty); the
    decoded data is appended as new buffers, which the views then point at. Raises ReskinError
    naming the view when its extension is malformed, over ``max_bytes`` or undecodable.
    """
    total = 0
    for i, view in enumerate(js.get("bufferViews", [])):
        ext = view.get("extensions", {}).get(EXTENSION)
        if ext is None:
            continue
        where = f"bufferViews[{i}].extensions.{EXTENSION}"
        try:
            b, count, stride = int(ext["buffer"]), int(ext["count"]), int(ext["byteStride"])
            start, length = int(ext.get("byteOffset", 0)), int(ext["byteLength"])
            mode, filt = str(ext.get("mode")), str(ext.get("filter", "NONE"))
        except (KeyError, TypeError, ValueError):
            raise ReskinError("compressed view lacks buffer, count, byteStride or byteLength",
                              field=where) from None
        if mode not in _MODES or filt not in _FILTERS:
            raise ReskinError(f"unknown meshopt mode {mode!r} or filter {filt!r}", field=where)
        if not 0 <= b < len(buffers) or start < 0 or length < 0 or start + length > len(buffers[b]):
            raise ReskinError("compressed data runs past the end of its buffer", field=where)
        bad_index = mode != "ATTRIBUTES" and stride not in (2, 4)
        if count < 0 or stride <= 0 or stride > 256 or bad_index:
            raise ReskinError(f"meshopt count {count} or byteStride {stride} is invalid",
                              field=where)
        total += count * stride
        if total > max_bytes:
            raise ReskinError("decompressed data is over the import size limit", field=where)
        try:
            data = _decode(bytes(buffers[b][start:start + length]), count, stride, mode, filt)
        except (RuntimeError, ValueError) as exc:
            raise ReskinError(f"meshopt data cannot be decoded ({exc})", field=where) from None
        buffers.append(data)
        js["buffers"].append({"byteLength": len(data)})
        view["buffer"], view["byteOffset"], view["byteLength"] = len(buffers) - 1, 0, len(data)
        if mode == "ATTRIBUTES":
            view["byteStride"] = stride
        del view["extensions"][EXTENSION]
        if not view["extensions"]:
            del view["extensions"]
    for key in ("extensionsUsed", "extensionsRequired"):
        if EXTENSION in js.get(key, []):
            js[key] = [e for e in js[key] if e != EXTENSION]
            if not js[key]:
                del js[key]
