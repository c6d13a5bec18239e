"""Accessors: decode one from its buffers (bounds-checked, strided, sparse) and build new ones.

:func:`decode_accessor` is the one reader (every importer and the rig reader use it);
:class:`BufferBuilder` is the one writer: it appends 4-byte aligned bufferViews to a single
binary buffer and records ``bufferViews`` and ``accessors`` as plain JSON dicts.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from reskin.assets.gltf.types import ACCESSOR_TYPES, COMPONENT_DTYPES, COMPONENT_TYPES, TYPE_WIDTHS
from reskin.core.errors import ReskinError


def accessor_layout(acc: dict, where: str) -> tuple[np.dtype, int, int]:
    """(component dtype, components per element, count) of an accessor's JSON; checks them."""
    dtype = COMPONENT_DTYPES.get(acc.get("componentType"))
    width = TYPE_WIDTHS.get(acc.get("type"))
    count = int(acc.get("count", -1))
    if dtype is None or width is None or count < 0:
        raise ReskinError("accessor has an unknown componentType or type, or no count",
                          field=where)
    if width in (4, 9) and acc["type"].startswith("MAT") and dtype.itemsize < 4:
        raise ReskinError("padded small-integer matrices are not supported", field=where)
    return dtype, width, count


def view_bytes(js: dict, buffers: Sequence[bytes], index: int) -> tuple[memoryview, int]:
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


def decode_accessor(js: dict, buffers: Sequence[bytes], index: int) -> np.ndarray:
    """Accessor ``index`` of ``js`` as a (count, width) or (count,) array in its component dtype.

    buffers : the bytes of each of ``js["buffers"]``. Sparse values are applied; an accessor
    without a bufferView starts as zeros. Normalised integers stay integers (see
    :func:`to_float`). Raises ReskinError when anything is out of bounds or malformed.
    """
    where = f"accessors[{index}]"
    acc = js["accessors"][index]
    dtype, width, count = accessor_layout(acc, where)
    if "bufferView" in acc:
        raw, stride = view_bytes(js, buffers, int(acc["bufferView"]))
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
        raw_i, _ = view_bytes(js, buffers, int(idx_info["bufferView"]))
        raw_v, _ = view_bytes(js, buffers, int(val_info["bufferView"]))
        idx = _strided(raw_i, int(idx_info.get("byteOffset", 0)), n, 1, idx_dtype, 0,
                       where)[:, 0].astype(np.int64)
        vals = _strided(raw_v, int(val_info.get("byteOffset", 0)), n, width, dtype, 0, where)
        if idx.max() >= count:
            raise ReskinError("sparse accessor index out of range", field=where)
        arr[idx] = vals
    return arr[:, 0] if width == 1 else arr


def accessor_array(doc: dict, binary: bytes, index: int) -> np.ndarray:
    """:func:`decode_accessor` of a GLB unpacked by ``glb.read_glb`` (one buffer: ``binary``)."""
    return decode_accessor(doc, [bytes(binary)], index)


def to_float(acc: dict, arr: np.ndarray) -> np.ndarray:
    """``arr`` (decoded accessor ``acc``) as float64; normalised ints map to [0, 1] or [-1, 1]."""
    if acc.get("normalized") and arr.dtype.kind in "iu":
        info = np.iinfo(arr.dtype)
        out = arr.astype(np.float64) / info.max
        return np.maximum(out, -1.0) if arr.dtype.kind == "i" else out
    return arr.astype(np.float64)


def json_number(x: np.generic) -> float | int:
    """A numpy scalar as the exact JSON number: int for integers, float (a double) otherwise."""
    return int(x) if np.issubdtype(type(x), np.integer) else float(x)


class BufferBuilder:
    """Appends bufferViews and accessors to a document with one binary buffer.

    doc    : the glTF JSON dict; its ``bufferViews`` and ``accessors`` lists are created if absent
    binary : the buffer so far, extended in place (a new one if None); ``self.data``
    """

    def __init__(self, doc: dict, binary: bytearray | None = None) -> None:
        self.doc = doc
        doc.setdefault("bufferViews", [])
        doc.setdefault("accessors", [])
        self.data = bytearray() if binary is None else binary

    def view(self, payload: bytes, target: int | None = None, stride: int | None = None) -> int:
        """Append ``payload`` as a new bufferView, 4-byte aligned; returns its index."""
        # 4-byte alignment keeps every accessor's elements aligned to their component size,
        # as the glTF spec requires for vertex attributes and for float data generally.
        self.data += b"\x00" * (-len(self.data) % 4)
        view = {"buffer": 0, "byteOffset": len(self.data), "byteLength": len(payload)}
        if target is not None:
            view["target"] = target
        if stride is not None:
            view["byteStride"] = stride
        self.doc["bufferViews"].append(view)
        self.data += payload
        return len(self.doc["bufferViews"]) - 1

    def accessor(self, array: np.ndarray, *, target: int | None = None,
                 bounds: bool = False) -> int:
        """Add ``array`` (count, width) or (count,) as an accessor; returns its index.

        The dtype must be one glTF has (uint8/16/32, int8/16, float32). ``bounds`` writes
        min/max, required for POSITION and for animation inputs.
        """
        array = np.ascontiguousarray(array)
        width = 1 if array.ndim == 1 else int(np.prod(array.shape[1:]))
        flat = array.reshape(len(array), width)
        acc = {
            "bufferView": self.view(array.tobytes(), target),
            "byteOffset": 0,
            "componentType": COMPONENT_TYPES[array.dtype],
            "count": len(array),
            "type": ACCESSOR_TYPES[width],
        }
        if bounds:
            # float(np.float32) is exact and JSON keeps doubles exactly, so the validator sees
            # bounds equal to the stored data, not merely close to it.
            acc["min"] = [json_number(x) for x in flat.min(axis=0)]
            acc["max"] = [json_number(x) for x in flat.max(axis=0)]
        self.doc["accessors"].append(acc)
        return len(self.doc["accessors"]) - 1
