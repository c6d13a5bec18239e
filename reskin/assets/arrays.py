"""Deterministic bytes for named numpy arrays, so identical content hashes identically.

``np.savez`` stamps the current time into its zip entries; this writes the same ``.npz``
layout with a fixed timestamp and sorted names, readable by ``np.load``.
"""

from __future__ import annotations

import io
import struct
import zipfile

import numpy as np

_EPOCH = (1980, 1, 1, 0, 0, 0)


def pack_arrays(arrays: dict[str, np.ndarray]) -> bytes:
    """Serialise ``arrays`` to npz bytes that depend only on names, dtypes, shapes and values."""
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", compression=zipfile.ZIP_STORED) as zf:
        for name in sorted(arrays):
            arr = np.ascontiguousarray(arrays[name])
            if arr.dtype == object:
                raise ValueError(f"array {name!r} has dtype object; store text as unicode arrays")
            entry = io.BytesIO()
            np.save(entry, arr, allow_pickle=False)
            info = zipfile.ZipInfo(f"{name}.npy", date_time=_EPOCH)
            info.external_attr = 0o644 << 16
            zf.writestr(info, entry.getvalue())
    return buf.getvalue()


def unpack_arrays(data: bytes, *, copy: bool = True) -> dict[str, np.ndarray]:
    """Inverse of :func:`pack_arrays`; never unpickles.

    Stored entries are copied straight out of ``data`` without the zip's CRC pass (the library
    has already checked the blob's SHA-256): a third of ``np.load``'s time on a rig.
    ``copy=False`` returns read-only views of ``data`` instead (no copy at all), for loaders of
    immutable library data. Anything else (a compressed entry, a name not ending ``.npy``)
    goes through ``np.load``.
    """
    out: dict[str, np.ndarray] = {}
    view = memoryview(data)
    with zipfile.ZipFile(io.BytesIO(data)) as zf:
        infos = zf.infolist()
        for info in infos:
            if (info.compress_type != zipfile.ZIP_STORED or info.flag_bits & 0x1
                    or not info.filename.endswith(".npy")):
                break  # compressed or encrypted: np.load's general path
            at = info.header_offset
            name_len, extra_len = struct.unpack("<HH", view[at + 26:at + 30])
            start = at + 30 + name_len + extra_len
            header = io.BytesIO(view[start:start + min(info.file_size, 65536 + 12)])
            version = np.lib.format.read_magic(header)
            if version not in ((1, 0), (2, 0)):
                break
            read_header = (np.lib.format.read_array_header_1_0 if version == (1, 0)
                           else np.lib.format.read_array_header_2_0)
            shape, fortran, dtype = read_header(header)
            if dtype.hasobject:
                raise ValueError(f"array {info.filename!r} holds Python objects")
            count = int(np.prod(shape, dtype=np.int64))
            if header.tell() + count * dtype.itemsize != info.file_size:
                raise ValueError(f"array {info.filename!r} is not the size its header says")
            arr = np.frombuffer(data, dtype, count, start + header.tell()).reshape(
                shape, order="F" if fortran else "C")
            out[info.filename[:-4]] = arr.copy() if copy else arr
        else:
            return out
    with np.load(io.BytesIO(data), allow_pickle=False) as npz:
        return {k: npz[k] for k in npz.files}
