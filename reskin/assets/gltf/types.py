"""The glTF type tables: accessor component types (GL enums) and element types (SCALAR..MAT4).

Every reader and writer of accessors uses these, so a component type means the same thing
everywhere.
"""

from __future__ import annotations

import numpy as np

BYTE, UNSIGNED_BYTE, SHORT, UNSIGNED_SHORT, UNSIGNED_INT, FLOAT = (
    5120, 5121, 5122, 5123, 5125, 5126)
ARRAY_BUFFER, ELEMENT_ARRAY_BUFFER = 34962, 34963  # bufferView targets
TRIANGLES = 4  # primitive mode
LINEAR, LINEAR_MIPMAP_LINEAR, REPEAT = 9729, 9987, 10497  # texture sampler filters and wrap

# GL enum -> numpy dtype of an accessor component (item size = byte size of the component).
COMPONENT_DTYPES: dict[int, np.dtype] = {
    BYTE: np.dtype(np.int8),
    UNSIGNED_BYTE: np.dtype(np.uint8),
    SHORT: np.dtype(np.int16),
    UNSIGNED_SHORT: np.dtype(np.uint16),
    UNSIGNED_INT: np.dtype(np.uint32),
    FLOAT: np.dtype(np.float32),
}
# numpy dtype -> GL enum, for writing.
COMPONENT_TYPES: dict[np.dtype, int] = {dt: enum for enum, dt in COMPONENT_DTYPES.items()}
# Accessor type -> components per element.
TYPE_WIDTHS: dict[str, int] = {"SCALAR": 1, "VEC2": 2, "VEC3": 3, "VEC4": 4, "MAT2": 4,
                               "MAT3": 9, "MAT4": 16}
# Components per element -> the accessor type reskin writes (4 is VEC4, never MAT2).
ACCESSOR_TYPES: dict[int, str] = {1: "SCALAR", 2: "VEC2", 3: "VEC3", 4: "VEC4", 16: "MAT4"}


def texture_sampler() -> dict:
    """The texture sampler reskin writes: bilinear, mipmapped, repeating (a new dict)."""
    return {"magFilter": LINEAR, "minFilter": LINEAR_MIPMAP_LINEAR, "wrapS": REPEAT,
            "wrapT": REPEAT}
