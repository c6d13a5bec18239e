"""Cheap checks that a file a wardrobe spec names is what its field expects (an image, a mesh),
so a wrong file is reported at the spec's line and field, with the file's path, when the spec
is read rather than deep inside skin making."""

from __future__ import annotations

import io
import json
from pathlib import Path

MESH_SUFFIXES = (".glb", ".gltf", ".obj", ".ply", ".stl")


def image_problem(data: bytes) -> str | None:
    """Why ``data`` is not a readable image (PNG, JPEG, ...), or None."""
    from PIL import Image, UnidentifiedImageError

    try:
        with Image.open(io.BytesIO(data)) as im:
            im.verify()
    except (UnidentifiedImageError, OSError, ValueError, SyntaxError):
        return "not a readable image (PNG or JPEG)"
    return None


def mesh_problem(path: Path, data: bytes) -> str | None:
    """Why ``data`` (the bytes of ``path``) is not a mesh file of a known type, or None.
    Only the header is checked (GLB magic, glTF JSON); the full parse comes later."""
    suffix = path.suffix.lower()
    if suffix not in MESH_SUFFIXES:
        return f"not a mesh file ({', '.join(s[1:].upper() for s in MESH_SUFFIXES)})"
    if suffix == ".glb" and data[:4] != b"glTF":
        return "not a GLB model (its header is not 'glTF')"
    if suffix == ".gltf":
        try:
            doc = json.loads(data.decode("utf-8"))
        except (UnicodeDecodeError, ValueError):
            return "not a glTF model (not JSON)"
        if not isinstance(doc, dict) or "asset" not in doc:
            return "not a glTF model (no 'asset' in its JSON)"
    if suffix in (".obj", ".ply", ".stl") and not data.strip():
        return "an empty file"
    return None
