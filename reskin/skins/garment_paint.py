"""A garment's fabric (stripes, checks, a tiled texture), baked into its own texture.

A garment with UVs is painted in its own layout. One without (procedural garments, most scanned
or generated meshes) is unwrapped first with xatlas. Unwrapping splits vertices along the
charts' seams; the split copies take the weights of the vertex they came from, so a garment
bound before it is painted stays in one piece when posed (binding the split mesh would let the
Laplace inpainting pull the two sides of a seam apart).

Texels are baked exactly as the body's atlas is (:func:`reskin.assets.texture_bake.
rasterize_surface`): every texel gets the rest-pose surface point it shows, and the fabric is a
function of that point (:func:`reskin.skins.paint.fabric`), so a scarf and a top in the
same stripes line up the same way on the body.
"""

from __future__ import annotations

from dataclasses import replace

import numpy as np

from reskin.core.errors import ReskinError
from reskin.skins.garments import Garment

GARMENT_ATLAS = 512
"""Texels a side of a painted garment's texture."""


def unwrap(vertices: np.ndarray, faces: np.ndarray
           ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """xatlas charts for a mesh without UVs.

    vertices (g, 3), faces (h, 3) -> (source vertex of each new vertex (g2,) int64,
    faces (h, 3) int32 into the new vertices, uvs (g2, 2) float32 in [0, 1], v up).
    Deterministic: the same mesh gives the same layout.
    """
    try:
        import xatlas
    except ImportError:  # pragma: no cover - the geometry extra is part of every install here
        raise ReskinError("painting a garment without UVs needs xatlas "
                          "(pip install 'reskin[geometry]')") from None
    vmap, index, uvs = xatlas.parametrize(np.ascontiguousarray(vertices, np.float32),
                                          np.ascontiguousarray(faces, np.uint32))
    return vmap.astype(np.int64), index.astype(np.int32), uvs.astype(np.float32)


def paint_garment(garment: Garment, images: dict[str, np.ndarray],
                  size: int = GARMENT_ATLAS) -> Garment:
    """``garment`` wearing its spec's fabric: its own UVs (or new ones) and a baked texture.

    A garment whose spec paints nothing is returned as it is. Joints, weights and ``matched``
    follow the vertices through any split. ``images``: texture reference -> (h, w, 4) RGBA.
    """
    from reskin.assets.characters import png_bytes
    from reskin.assets.texture_bake import rasterize_surface
    from reskin.core.mesh import Mesh
    from reskin.skins.paint import _to_u8, fabric

    spec = garment.spec
    if not spec.painted:
        return garment
    if garment.uvs is not None:
        source = np.arange(len(garment.vertices))
        faces = np.asarray(garment.faces, np.int32)
        uvs_up = np.column_stack([garment.uvs[:, 0], 1.0 - garment.uvs[:, 1]])  # glTF: v down
    else:
        source, faces, uvs_up = unwrap(garment.vertices, garment.faces)
    vertices = np.asarray(garment.vertices, np.float32)[source]
    surface = Mesh(vertices=vertices, faces=faces, uvs=uvs_up.astype(np.float32),
                   uv_faces=faces, parts=np.zeros(len(faces), np.int16),
                   part_names=(spec.name,))
    position, _, _ = rasterize_surface(surface, size)
    texels = fabric(position.reshape(-1, 3), garment.color, spec.pattern, spec.pattern_color,
                    spec.scale, images[spec.texture] if spec.texture else None)

    def follow(a: np.ndarray | None) -> np.ndarray | None:
        return None if a is None else np.asarray(a)[source]

    return replace(
        garment, vertices=vertices, faces=faces,
        uvs=np.column_stack([uvs_up[:, 0], 1.0 - uvs_up[:, 1]]).astype(np.float32),
        texture=png_bytes(_to_u8(texels.reshape(size, size, 3))),
        joints=follow(garment.joints), weights=follow(garment.weights),
        matched=follow(garment.matched))
