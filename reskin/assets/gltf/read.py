"""Reading glTF 2.0 (``.gltf`` + files, or ``.glb``) safely into a JSON document and numpy arrays.

Only what the file itself contains, or files beside it (see :mod:`reskin.assets.safe_io`), is
read. Every accessor is bounds-checked against its buffer view and buffer before it is decoded, so
a truncated or lying file is refused with one line instead of crashing or over-reading.
"""

from __future__ import annotations

import json
import struct
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from reskin.assets.safe_io import ExternalReader, Limits, check_image, decode_data_uri
from reskin.core.errors import ReskinError

COMPONENT_DTYPES = {
    5120: np.dtype(np.int8),
    5121: np.dtype(np.uint8),
    5122: np.dtype(np.int16),
    5123: np.dtype(np.uint16),
    5125: np.dtype(np.uint32),
    5126: np.dtype(np.float32),
}
TYPE_WIDTHS = {"SCALAR": 1, "VEC2": 2, "VEC3": 3, "VEC4": 4, "MAT2": 4, "MAT3": 9, "MAT4": 16}
# Extensions whose absence of support changes nothing we store (materials are kept verbatim).
SUPPORTED_REQUIRED = {"KHR_texture_transform", "KHR_mesh_quantization", "KHR_materials_unlit",
                      "KHR_materials_emissive_strength"}


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


def split_glb(data: bytes, limits: Limits) -> tuple[bytes, bytes | None]:
    """(JSON chunk, BIN chunk or None) of GLB container bytes; refuses truncation."""
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
    if len(chunks[0][1]) > limits.max_json_bytes:
        raise ReskinError("GLB JSON chunk is over the size limit")
    binary = chunks[1][1] if len(chunks) > 1 and chunks[1][0] == b"BIN\x00" else None
    return chunks[0][1], binary


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
        text, binary = split_glb(data, limits)
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


def _view_bytes(js: dict, buffers: list[bytes], index: int) -> tuple[memoryview, int]:
    """(bytes of buffer view ``index``, its byteStride or 0), bounds-checked."""
    views = js.get("bufferViews", [])
    if not 0 <= index < len(views):
        raise ReskinError(f"bufferView {index} does not exist")
    view = views[index]
    b = int(view["buffer"])
    if not 0 <= b < len(buffers):
        raise ReskinError(f"buffer {b} does not exist", field=f"bufferViews[{index}]")
    start = int(view.get("byteOffset", 0))
    length = int(view["byteLength"])
    if start < 0 or length < 0 or start + length > len(buffers[b]):
        raise ReskinError("bufferView runs past the end of its buffer (truncated file?)",
                          field=f"bufferViews[{index}]")
    return memoryview(buffers[b])[start: start + length], int(view.get("byteStride", 0))


def _strided(raw: memoryview, offset: int, count: int, width: int, dtype: np.dtype,
             stride: int, where: str) -> np.ndarray:
    """(count, width) array of ``dtype`` read from ``raw`` at ``offset`` every ``stride`` bytes."""
    elem = width * dtype.itemsize
    stride = stride or elem
    if stride < elem or offset < 0:
        raise ReskinError("byteStride is smaller than one element", field=where)
    need = offset + (count - 1) * stride + elem if count else 0
    if need > len(raw):
        raise ReskinError("accessor runs past the end of its bufferView (truncated file?)",
                          field=where)
    if count == 0:
        return np.zeros((0, width), dtype)
    if offset % dtype.itemsize or stride % dtype.itemsize:
        # Misaligned data is invalid glTF but harmless to read: copy bytes, then reinterpret.
        rows = [bytes(raw[offset + i * stride: offset + i * stride + elem]) for i in range(count)]
        return np.frombuffer(b"".join(rows), dtype).reshape(count, width).copy()
    arr = np.ndarray((count, width), dtype, buffer=raw, offset=offset,
                     strides=(stride, dtype.itemsize))
    return arr.copy()


def _decode_accessors(doc: GltfDocument, buffers: list[bytes], limits: Limits) -> None:
    js = doc.json
    total = 0
    for i, acc in enumerate(js.get("accessors", [])):
        where = f"accessors[{i}]"
        dtype = COMPONENT_DTYPES.get(acc.get("componentType"))
        width = TYPE_WIDTHS.get(acc.get("type"))
        count = int(acc.get("count", -1))
        if dtype is None or width is None or count < 0:
            raise ReskinError("accessor has an unknown componentType or type, or no count",
                              field=where)
        if width in (4, 9) and acc["type"].startswith("MAT") and dtype.itemsize < 4:
            raise ReskinError("padded small-integer matrices are not supported", field=where)
        total += count * width
        if total > limits.max_elements:
            raise ReskinError("accessors hold more elements than the import limit", field=where)
        if "bufferView" in acc:
            raw, stride = _view_bytes(js, buffers, int(acc["bufferView"]))
            arr = _strided(raw, int(acc.get("byteOffset", 0)), count, width, dtype, stride, where)
        else:
            arr = np.zeros((count, width), dtype)
        sparse = acc.get("sparse")
        if sparse:
            n = int(sparse["count"])
            idx_info, val_info = sparse["indices"], sparse["values"]
            idx_dtype = COMPONENT_DTYPES.get(idx_info.get("componentType"))
            if idx_dtype is None or n < 1 or n > count:
                raise ReskinError("sparse accessor is malformed", field=where)
            raw_i, _ = _view_bytes(js, buffers, int(idx_info["bufferView"]))
            raw_v, _ = _view_bytes(js, buffers, int(val_info["bufferView"]))
            idx = _strided(raw_i, int(idx_info.get("byteOffset", 0)), n, 1, idx_dtype, 0,
                           where)[:, 0].astype(np.int64)
            vals = _strided(raw_v, int(val_info.get("byteOffset", 0)), n, width, dtype, 0, where)
            if idx.max() >= count:
                raise ReskinError("sparse accessor index out of range", field=where)
            arr[idx] = vals
        doc.accessors[i] = arr[:, 0] if width == 1 else arr


def _load_images(doc: GltfDocument, buffers: list[bytes], ext: ExternalReader, limits: Limits,
                 allow_missing: bool) -> None:
    for i, img in enumerate(doc.json.get("images", [])):
        where = f"images[{i}]"
        uri = img.get("uri")
        if "bufferView" in img:
            data = bytes(_view_bytes(doc.json, buffers, int(img["bufferView"]))[0])
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
    acc = doc.json["accessors"][index]
    arr = doc.accessors[index]
    if acc.get("normalized") and arr.dtype.kind in "iu":
        info = np.iinfo(arr.dtype)
        out = arr.astype(np.float64) / info.max
        return np.maximum(out, -1.0) if arr.dtype.kind == "i" else out
    return arr.astype(np.float64)
