"""Thumbnails of library assets, drawn once per version with the preview rasterizer.

A thumbnail is derived data: it lives in ``.reskin/cache/thumbs/<content hash>.png``, never in
the immutable asset, and is drawn again only if that file is missing.
"""

from __future__ import annotations

import io
import math
import os
from collections.abc import Sequence
from pathlib import Path

import numpy as np

from reskin.assets.library import AssetRecord, Library
from reskin.core.atomic import atomic_path

BACKGROUND = (46, 46, 52)


def _scene_of(lib: Library, record: AssetRecord):
    """A trimesh scene for ``record``, or None for kinds with no geometry."""
    import trimesh

    for role in ("skin.glb", "model.glb"):
        if role in record.blobs:
            return trimesh.load(io.BytesIO(lib.read_blob(record.blobs[role])), file_type="glb",
                                force="scene")
    if "mesh.npz" in record.blobs:
        from reskin.assets.arrays import unpack_arrays
        from reskin.core.mesh import Mesh

        mesh = Mesh.from_arrays(unpack_arrays(lib.read_blob(record.blobs["mesh.npz"])))
        tm = trimesh.Trimesh(mesh.vertices, mesh.faces, process=False)
        tm.visual.vertex_colors = [170, 170, 180, 255]
        return trimesh.Scene(tm)
    return None


def render_thumbnail(lib: Library, record: AssetRecord, size: int = 256) -> np.ndarray:
    """(size, size, 3) uint8: a three-quarter view of the asset, or its image for textures."""
    from PIL import Image

    if "png" in "".join(record.blobs) and record.kind == "texture":
        role = next(r for r in record.blobs if r.endswith("png"))
        img = Image.open(io.BytesIO(lib.read_blob(record.blobs[role]))).convert("RGB")
        img.thumbnail((size, size))
        canvas = Image.new("RGB", (size, size), BACKGROUND)
        canvas.paste(img, ((size - img.width) // 2, (size - img.height) // 2))
        return np.asarray(canvas)
    scene = _scene_of(lib, record)
    if scene is None or scene.is_empty:
        return _placeholder(record.kind, size)
    os.environ.setdefault("PYOPENGL_PLATFORM", "egl")
    import pyrender

    from reskin.render.preview import look_at

    pr_scene = pyrender.Scene.from_trimesh_scene(scene, bg_color=[*np.array(BACKGROUND) / 255, 1],
                                                 ambient_light=[0.35, 0.35, 0.35])
    lo, hi = scene.bounds
    centre, radius = (lo + hi) / 2, float(np.linalg.norm(hi - lo)) / 2
    yfov = math.radians(35)
    distance = radius / math.sin(yfov / 2) * 1.05
    direction = np.array([0.55, 0.35, 1.0]) / np.linalg.norm([0.55, 0.35, 1.0])
    eye = centre + direction * distance
    pr_scene.add(pyrender.PerspectiveCamera(yfov=yfov, znear=distance / 100,
                                            zfar=distance * 10), pose=look_at(eye, centre))
    pr_scene.add(pyrender.DirectionalLight(intensity=3.0), pose=look_at(eye, centre))
    renderer = pyrender.OffscreenRenderer(size, size)
    try:
        color, _ = renderer.render(pr_scene)
    finally:
        renderer.delete()
    return np.ascontiguousarray(color[..., :3])


def _placeholder(kind: str, size: int) -> np.ndarray:
    from PIL import Image, ImageDraw

    img = Image.new("RGB", (size, size), BACKGROUND)
    ImageDraw.Draw(img).text((size // 2 - 20, size // 2 - 6), kind, fill=(200, 200, 200))
    return np.asarray(img)


def thumbnail(lib: Library, record: AssetRecord, size: int = 256) -> Path:
    """The cached thumbnail file of ``record``, drawn now if it is missing."""
    from PIL import Image

    path = lib.root / "cache" / "thumbs" / f"{record.content_hash}-{size}.png"
    if not path.exists():
        img = render_thumbnail(lib, record, size)
        with atomic_path(path) as tmp:
            Image.fromarray(img).save(tmp, format="PNG")
    return path


def library_sheet(lib: Library, records: Sequence[AssetRecord], out: Path, *,
                  size: int = 192, columns: int = 6) -> Path:
    """A contact sheet of ``records``' thumbnails, each labelled with its ref and kind."""
    from PIL import Image, ImageDraw

    label_h, pad = 28, 8
    rows = max(1, math.ceil(len(records) / columns))
    cols = min(columns, max(1, len(records)))
    sheet = Image.new("RGB", (pad + cols * (size + pad), pad + rows * (size + label_h + pad)),
                      (24, 24, 28))
    draw = ImageDraw.Draw(sheet)
    for i, rec in enumerate(records):
        x = pad + (i % columns) * (size + pad)
        y = pad + (i // columns) * (size + label_h + pad)
        sheet.paste(Image.open(thumbnail(lib, rec, size)), (x, y))
        draw.text((x + 2, y + size + 2), rec.ref, fill=(235, 235, 235))
        draw.text((x + 2, y + size + 14), rec.kind, fill=(160, 160, 170))
    with atomic_path(out) as tmp:
        sheet.save(tmp, format="PNG")
    return out
