"""``reskin asset export``: any asset version as GLB or USD.

Imported assets and skins already hold a GLB (``model.glb`` / ``skin.glb``). Characters the
build makes hold arrays (``mesh.npz``, and ``rig.npz`` once rigged); they are written as GLB by
:func:`reskin.assets.gltf.character.write_character_glb` (rigged) or as a static mesh. USD is always
made from that GLB, so both formats describe the same thing.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from reskin.assets.arrays import unpack_arrays
from reskin.assets.gltf.write import write_glb
from reskin.assets.library import AssetRecord, Library
from reskin.core.atomic import atomic_path, write_bytes_atomic
from reskin.core.errors import ReskinError
from reskin.core.mesh import Mesh

FORMATS = (".glb", ".usda", ".usdc", ".usd")


def static_mesh_glb(mesh: Mesh, name: str) -> bytes:
    """A GLB of a :class:`Mesh`, one node per part, UVs split at seams."""
    from reskin.assets.mesh_read import StaticPart, StaticScene, static_document

    src, uv, faces = mesh.split_for_export()
    positions = mesh.vertices[src]
    parts = []
    for k, part_name in enumerate(mesh.part_names):
        sel = faces[mesh.parts == k]
        if len(sel) == 0:
            continue
        used, local = np.unique(sel, return_inverse=True)
        parts.append(StaticPart(part_name, positions[used], local.reshape(-1, 3), uvs=uv[used]))
    doc = static_document(StaticScene(parts=parts))
    doc.json["scenes"][0]["name"] = name
    return write_glb(doc)


def asset_glb(lib: Library, record: AssetRecord) -> bytes:
    """The GLB bytes that represent ``record``."""
    for role in ("model.glb", "skin.glb"):
        if role in record.blobs:
            return lib.read_blob(record.blobs[role])
    if "mesh.npz" not in record.blobs:
        raise ReskinError(f"{record.ref} ({record.kind}) has no geometry to export "
                          f"(blobs: {', '.join(record.blobs) or 'none'})")
    mesh = Mesh.from_arrays(unpack_arrays(lib.read_blob(record.blobs["mesh.npz"])))
    if "rig.npz" in record.blobs:
        from reskin.assets.gltf.character import write_character_glb
        from reskin.core.skeleton import Skeleton

        rig = unpack_arrays(lib.read_blob(record.blobs["rig.npz"]))
        return write_character_glb(mesh, Skeleton.from_arrays(rig), rig["skin_joints"],
                                   rig["skin_weights"], name=record.name,
                                   extras={"reskin": {"asset": record.ref}})
    return static_mesh_glb(mesh, record.name)


def export_asset(lib: Library, ref: str, out: str | Path) -> AssetRecord:
    """Write the asset ``ref`` to ``out``; the format follows the suffix (.glb, .usda, .usdc)."""
    out = Path(out)
    suffix = out.suffix.lower()
    if suffix not in FORMATS:
        raise ReskinError(f"cannot export to {suffix or 'a file without suffix'!r}; use one of "
                          f"{', '.join(FORMATS)}", file=out)
    record = lib.get(ref)
    glb = asset_glb(lib, record)
    if suffix == ".glb":
        write_bytes_atomic(out, glb)
        return record
    from reskin.assets.export_usd import glb_to_usd

    with atomic_path(out) as tmp:  # the suffix is kept, so USD picks the right format
        glb_to_usd(glb, tmp, name=record.name)
    return record
