"""Named arrays as deterministic npz bytes, read back without the zip's CRC pass."""

from __future__ import annotations

import io

import numpy as np
import pytest

from reskin.assets.arrays import pack_arrays, unpack_arrays

ARRAYS = {
    "position": np.random.default_rng(0).random((64, 64, 3)).astype(np.float16),
    "part": np.arange(-1, 63, dtype=np.int16).reshape(8, 8),
    "fortran": np.asfortranarray(np.arange(35.0).reshape(5, 7)),
    "names": np.array(["hips", "leftUpperArm"]),
    "empty": np.zeros((0, 3)),
}


def test_round_trip_keeps_values_dtypes_shapes_and_order():
    data = pack_arrays(ARRAYS)
    assert pack_arrays(dict(reversed(ARRAYS.items()))) == data  # deterministic bytes
    for copy in (True, False):
        out = unpack_arrays(data, copy=copy)
        assert sorted(out) == sorted(ARRAYS)
        for k, a in ARRAYS.items():
            assert out[k].dtype == a.dtype and out[k].shape == a.shape and np.array_equal(
                out[k], a), k
            assert out[k].flags.writeable == copy  # views of immutable data are read-only


def test_fortran_ordered_entries_read_right():
    buf = io.BytesIO()
    a = np.asfortranarray(np.arange(35.0).reshape(5, 7))
    np.savez(buf, a=a)  # stored (not compressed), header says fortran_order: True
    for copy in (True, False):
        assert np.array_equal(unpack_arrays(buf.getvalue(), copy=copy)["a"], a)


def test_compressed_npz_takes_numpys_path():
    buf = io.BytesIO()
    np.savez_compressed(buf, a=np.arange(10), b=np.eye(3))
    out = unpack_arrays(buf.getvalue())
    assert np.array_equal(out["a"], np.arange(10)) and np.array_equal(out["b"], np.eye(3))


def test_an_entry_that_is_not_the_size_its_header_says_is_refused():
    data = bytearray(pack_arrays({"a": np.arange(4, dtype=np.int64)}))
    i = data.find(b"(4,)")  # the .npy header's shape
    data[i:i + 4] = b"(5,)"
    with pytest.raises(ValueError, match="not the size its header says"):
        unpack_arrays(bytes(data))
