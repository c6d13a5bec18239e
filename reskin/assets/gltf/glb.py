"""The GLB container: split GLB bytes into (JSON, binary chunk) and pack them back.

One implementation for every writer: the JSON chunk is compact UTF-8 JSON padded with spaces,
the BIN chunk (left out when empty) is padded with zeros, both to 4 bytes, in that order.
"""

from __future__ import annotations

import json
import struct

from reskin.core.errors import ReskinError


def split_glb(data: bytes, max_json_bytes: int | None = None) -> tuple[bytes, bytes | None]:
    """(JSON chunk, BIN chunk or None) of GLB container bytes; refuses truncation.

    Raises ReskinError on a bad header, a truncated chunk, no JSON chunk first, or a JSON
    chunk over ``max_json_bytes``.
    """
    if len(data) < 20:
        raise ReskinError("GLB is truncated (no header)")
    magic, version, length = struct.unpack_from("<4sII", data, 0)
    if magic != b"glTF":
        raise ReskinError("not a GLB file (bad magic)")
    if version != 2:
        raise ReskinError(f"GLB version {version} is not supported (glTF 2.0 only)")
    if length > len(data):
        raise ReskinError(f"GLB is truncated: header says {length} bytes, file has {len(data)}")
    chunks: list[tuple[bytes, bytes]] = []
    offset = 12
    while offset + 8 <= length:
        size, kind = struct.unpack_from("<I4s", data, offset)
        if offset + 8 + size > length:
            raise ReskinError("GLB is truncated inside a chunk")
        chunks.append((kind, data[offset + 8: offset + 8 + size]))
        offset += 8 + size + (-size % 4)
    if not chunks or chunks[0][0] != b"JSON":
        raise ReskinError("GLB has no JSON chunk first")
    if max_json_bytes is not None and len(chunks[0][1]) > max_json_bytes:
        raise ReskinError("GLB JSON chunk is over the size limit")
    binary = chunks[1][1] if len(chunks) > 1 and chunks[1][0] == b"BIN\x00" else None
    return chunks[0][1], binary


def read_glb(data: bytes) -> tuple[dict, bytearray]:
    """GLB bytes -> (JSON document, binary chunk, empty when there is none), to edit in place."""
    text, binary = split_glb(data)
    try:
        doc = json.loads(text)
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise ReskinError(f"GLB JSON is malformed ({str(exc)[:80]})") from None
    return doc, bytearray(binary or b"")


def pack_glb(document: dict, binary: bytes, *, sort_keys: bool = False) -> bytes:
    """GLB 2.0 bytes of a glTF JSON document and its single binary buffer.

    The first buffer's ``byteLength`` (if the document has buffers) is set to the padded
    binary's length, in ``document`` itself. ``sort_keys`` sorts the JSON's keys (the
    re-emitter's choice); otherwise they keep the document's order.
    """
    pad = -len(binary) % 4
    size = len(binary) + pad
    if document.get("buffers"):
        document["buffers"][0]["byteLength"] = size
    js = json.dumps(document, separators=(",", ":"), ensure_ascii=False, allow_nan=False,
                    sort_keys=sort_keys).encode("utf-8")
    js += b" " * (-len(js) % 4)  # the spec pads the JSON chunk with spaces, BIN with zeros
    parts = [b"", struct.pack("<I4s", len(js), b"JSON"), js]
    if size:  # one join: a 20 MB model is copied once, not once per concatenation
        parts += [struct.pack("<I4s", size, b"BIN\x00"), binary, b"\x00" * pad]
    parts[0] = struct.pack("<4sII", b"glTF", 2, 12 + sum(len(p) for p in parts))
    return b"".join(parts)
