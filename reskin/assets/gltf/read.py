"""Reading glTF 2.0 (``.gltf`` + files, or ``.glb``) safely into a JSON document and numpy arrays.

Only what the file itself contains, or files beside it (see :mod:`reskin.assets.safe_io`), is
read. Every accessor is bounds-checked against its buffer view and buffer before it is decoded, so
a truncated or lying file is refused with one line instead of crashing or over-reading.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from reskin.assets.gltf.accessors import accessor_layout, decode_accessor, to_float, view_bytes
from reskin.assets.gltf.glb import split_glb
from reskin.assets.gltf.meshopt import decompress_views, is_fallback
from reskin.assets.safe_io import ExternalReader, Limits, check_image, decode_data_uri
from reskin.core.errors import ReskinError

# Extensions whose absence of support changes nothing we store (materials are kept verbatim).
SUPPORTED_REQUIRED = {"KHR_texture_transform", "KHR_mesh_quantization", "KHR_materials_unlit",
                      "KHR_materials_emissive_strength", "EXT_texture_webp",
                      "EXT_meshopt_compression"}


@dataclass
class GltfDocument:
    """A parsed glTF: its JSON, decoded accessors and image bytes.

    json      : the glTF JSON as plain dicts and lists (unknown fields and extensions kept)
    accessors : accessor index -> (count, width) or (count,) array in the component dtype
                (normalised integers stay integers; see :func:`as_float`)
    images    : image index -> (bytes, mime type)
    missing_images : indices of images whose file was absent (only with ``allow_missing``)
    external_files : names of the files beside it that were read
    """

    json: dict
    accessors: dict[int, np.ndarray] = field(default_factory=dict)
    images: dict[int, tuple[bytes, str]] = field(default_factory=dict)
    missing_images: list[int] = field(default_factory=list)
    external_files: list[str] = field(default_factory=list)


def _parse_json(text: bytes) -> dict:
    try:
        doc = json.loads(text.decode("utf-8"))
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise ReskinError(f"glTF JSON is malformed ({str(exc)[:80]})") from None
    if not isinstance(doc, dict):
        raise ReskinError("glTF JSON is not an object")
    version = str(doc.get("asset", {}).get("version", ""))
    if not version.startswith("2."):
        raise ReskinError(f"glTF asset.version {version!r} is not supported (2.x only)")
    return doc


def load_gltf(path: Path, data: bytes, limits: Limits, *, allow_missing: bool = False
              ) -> GltfDocument:
    """Parse ``data`` (the bytes of ``path``) and everything it references beside it."""
    if data[:4] == b"glTF":
        text, binary = split_glb(data, limits.max_json_bytes)
    else:
        if len(data) > limits.max_json_bytes:
            raise ReskinError("glTF JSON is over the size limit")
        text, binary = data, None
    doc = GltfDocument(json=_parse_json(text))
    unsupported = set(doc.json.get("extensionsRequired", [])) - SUPPORTED_REQUIRED
    if unsupported:
        raise ReskinError(f"needs unsupported glTF extension(s): {', '.join(sorted(unsupported))}")
    ext = ExternalReader(path.parent, limits)
    buffers = _load_buffers(doc.json, binary, ext, limits)
    decompress_views(doc.json, buffers, limits.max_elements * 4)
    _decode_accessors(doc, buffers, limits)
    _load_images(doc, buffers, ext, limits, allow_missing)
    doc.external_files = ext.read_files
    return doc


def _load_buffers(js: dict, binary: bytes | None, ext: ExternalReader, limits: Limits
                  ) -> list[bytes]:
    buffers = []
    for i, buf in enumerate(js.get("buffers", [])):
        where = f"buffers[{i}]"
        uri = buf.get("uri")
        if uri is None and is_fallback(buf) and (i != 0 or binary is None):
            buffers.append(b"")  # room for meshopt-decoded data only: it holds no bytes
            continue
        if uri is None:
            if i != 0 or binary is None:
                raise ReskinError("buffer has no uri and there is no GLB binary chunk",
                                  field=where)
            data = binary
        elif uri.startswith("data:"):
            data, _ = decode_data_uri(uri, limits.max_data_uri_bytes, where=where)
        else:
            data = ext.read(uri, where=where, what="buffer file")
        length = int(buf.get("byteLength", -1))
        if length < 0 or len(data) < length:
            raise ReskinError(f"buffer is truncated: {len(data)} bytes, byteLength {length}",
                              field=where)
        buffers.append(data[:length])
    return buffers


def _decode_accessors(doc: GltfDocument, buffers: list[bytes], limits: Limits) -> None:
    js = doc.json
    total = 0
    for i, acc in enumerate(js.get("accessors", [])):
        where = f"accessors[{i}]"
        _, width, count = accessor_layout(acc, where)
        total += count * width
        if total > limits.max_elements:
            raise ReskinError("accessors hold more elements than the import limit", field=where)
        doc.accessors[i] = decode_accessor(js, buffers, i)


def _load_images(doc: GltfDocument, buffers: list[bytes], ext: ExternalReader, limits: Limits,
                 allow_missing: bool) -> None:
    for i, img in enumerate(doc.json.get("images", [])):
        where = f"images[{i}]"
        uri = img.get("uri")
        if "bufferView" in img:
            data = bytes(view_bytes(doc.json, buffers, int(img["bufferView"]))[0])
        elif uri is None:
            raise ReskinError("image has neither uri nor bufferView", field=where)
        elif uri.startswith("data:"):
            data, _ = decode_data_uri(uri, limits.max_data_uri_bytes, where=where)
        else:
            if not ext.exists(uri, where=where):  # resolve first: an escaping uri is refused
                if allow_missing:
                    doc.missing_images.append(i)
                    continue
                raise ReskinError(f"missing texture {uri!r} (pass --allow-missing to import "
                                  "without it)", field=where)
            data = ext.read(uri, where=where, what="texture")
        doc.images[i] = (data, check_image(data, limits, where=where))


def as_float(doc: GltfDocument, index: int) -> np.ndarray:
    """Accessor ``index`` as float64, with normalised integers mapped to [0, 1] or [-1, 1]."""
    return to_float(doc.json["accessors"][index], doc.accessors[index])
