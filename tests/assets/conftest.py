"""Small helpers for the asset tests: an empty library, snapshots, tiny files written on the fly."""

from __future__ import annotations

import base64
import json
import struct
from pathlib import Path

import numpy as np
import pytest

from reskin.assets.library import Library


@pytest.fixture
def libroot(tmp_path) -> Path:
    root = tmp_path / "series" / ".reskin"
    Library(root, create=True).close()
    return root


def snapshot(root: Path) -> dict[str, bytes]:
    """Every file under ``root`` with its bytes (the catalog included)."""
    return {str(p.relative_to(root)): p.read_bytes() for p in sorted(root.rglob("*"))
            if p.is_file()}


def triangle_gltf(image_uri: str | None = None, buffer_uri: str | None = None) -> dict:
    """A one-triangle glTF JSON document, buffer embedded as a data: URI unless given."""
    pos = np.array([[0, 0, 0], [1, 0, 0], [0, 1, 0]], np.float32)
    uv = np.array([[0, 0], [1, 0], [0, 1]], np.float32)
    data = pos.tobytes() + uv.tobytes()
    doc: dict = {
        "asset": {"version": "2.0"},
        "scene": 0, "scenes": [{"nodes": [0]}], "nodes": [{"mesh": 0, "name": "tri"}],
        "meshes": [{"primitives": [{"attributes": {"POSITION": 0, "TEXCOORD_0": 1},
                                    "material": 0}]}],
        "materials": [{"pbrMetallicRoughness": {}}],
        "buffers": [{"byteLength": len(data), "uri": buffer_uri or
                     "data:application/octet-stream;base64," + base64.b64encode(data).decode()}],
        "bufferViews": [{"buffer": 0, "byteOffset": 0, "byteLength": 36},
                        {"buffer": 0, "byteOffset": 36, "byteLength": 24}],
        "accessors": [
            {"bufferView": 0, "componentType": 5126, "count": 3, "type": "VEC3",
             "min": [0, 0, 0], "max": [1, 1, 0]},
            {"bufferView": 1, "componentType": 5126, "count": 3, "type": "VEC2"},
        ],
    }
    if image_uri is not None:
        doc["images"] = [{"uri": image_uri}]
        doc["textures"] = [{"source": 0}]
        doc["materials"][0]["pbrMetallicRoughness"]["baseColorTexture"] = {"index": 0}
    return doc


def write_gltf(path: Path, doc: dict) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(doc))
    return path


def box_obj(path: Path, size=(1.0, 2.0, 1.0), extra: str = "") -> Path:
    """A closed box OBJ (12 triangles) with its corner at the origin."""
    sx, sy, sz = size
    v = [(x, y, z) for x in (0, sx) for y in (0, sy) for z in (0, sz)]
    quads = [(1, 2, 4, 3), (5, 7, 8, 6), (1, 5, 6, 2), (3, 4, 8, 7), (1, 3, 7, 5), (2, 6, 8, 4)]
    lines = [extra] + [f"v {x} {y} {z}" for x, y, z in v] + [f"f {a} {b} {c} {d}"
                                                             for a, b, c, d in quads]
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text("\n".join(lines) + "\n")
    return path


def binary_stl(path: Path, vertices: np.ndarray, faces: np.ndarray) -> Path:
    tri = vertices[faces].astype(np.float32)
    rec = np.zeros(len(faces), dtype=[("n", "<f4", 3), ("v", "<f4", (3, 3)), ("a", "<u2")])
    rec["v"] = tri
    path.write_bytes(b"\0" * 80 + struct.pack("<I", len(faces)) + rec.tobytes())
    return path
