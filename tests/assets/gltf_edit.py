"""Editing a sample GLB's JSON (and, in place, its binary chunk) to make test variants."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from reskin.assets.arrays import unpack_arrays
from reskin.assets.gltf.glb import pack_glb, read_glb
from reskin.assets.library import Library
from reskin.core.transforms import quat_mul


def load(path: Path) -> tuple[dict, bytearray]:
    """(JSON, binary chunk) of a GLB, to edit and :func:`save`."""
    return read_glb(path.read_bytes())


def save(path: Path, js: dict, binary: bytearray) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(pack_glb(js, bytes(binary)))
    return path


def float_accessor(js: dict, binary: bytearray, index: int) -> np.ndarray:
    """A view (count, width) float32 onto a tightly packed float accessor's bytes, writable."""
    acc = js["accessors"][index]
    view = js["bufferViews"][acc["bufferView"]]
    start = view.get("byteOffset", 0) + acc.get("byteOffset", 0)
    width = {"SCALAR": 1, "VEC3": 3, "VEC4": 4, "MAT4": 16}[acc["type"]]
    return np.frombuffer(binary, np.float32, acc["count"] * width, start).reshape(-1, width)


def rotate(node: dict, axis: tuple[float, float, float], degrees: float) -> None:
    """Turn a TRS node by ``degrees`` about its local ``axis`` (a new pose, not a new bind)."""
    a = np.radians(degrees) / 2
    turn = np.append(np.asarray(axis, np.float64) / np.linalg.norm(axis) * np.sin(a), np.cos(a))
    node["rotation"] = [float(x) for x in quat_mul(
        np.asarray(node.get("rotation", (0, 0, 0, 1)), np.float64), turn)]


def pose_mid_animation(js: dict) -> None:
    """Put every TRS joint of skin 0 in another pose: each turned 25-50 degrees, the root moved."""
    joints = js["skins"][0]["joints"]
    for k, j in enumerate(joints):
        if "matrix" in js["nodes"][j]:
            continue
        axis = ((1, 0, 0), (0, 1, 0), (0, 0, 1), (1, 1, 0))[k % 4]
        rotate(js["nodes"][j], axis, 25 + 5 * (k % 6))
    root = js["nodes"][joints[0]]
    root["translation"] = [float(x) + d for x, d in zip(root.get("translation", (0, 0, 0)),
                                                        (0.1, -0.05, 0.2), strict=True)]


def library_mesh(libroot: Path, record) -> dict:
    with Library(libroot) as lib:
        return unpack_arrays(lib.read_blob(record.blobs["mesh.npz"]))


def library_glb(libroot: Path, record) -> bytes:
    with Library(libroot) as lib:
        return lib.read_blob(record.blobs["model.glb"])
