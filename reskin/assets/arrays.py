"""Deterministic bytes for named numpy arrays, so identical content hashes identically.

``np.savez`` stamps the current time into its zip entries; this writes the same ``.npz``
layout with a fixed timestamp and sorted names, readable by ``np.load``.
"""

from __future__ import annotations

import io
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


def unpack_arrays(data: bytes) -> dict[str, np.ndarray]:
    """Inverse of :func:`pack_arrays`; never unpickles."""
    with np.load(io.BytesIO(data), allow_pickle=False) as npz:
        return {k: npz[k] for k in npz.files}
